"""``jaunt-prompts cost``: an offline forecast of N builds, in three pricing modes.

Renders the project's fixtures with its set (no model call), splits the input tokens into
the part a provider caches across modules and the rest, adds an output estimate, and prices
the result standard, with prompt caching, and through the Batch API. Exit 0; 2 on usage or
I/O errors, including a model missing from the price table.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from jaunt.promptkit.cli.common import (
    add_encoding_option,
    add_project_options,
    project_from_args,
    usage_error,
)
from jaunt.promptkit.cli.main import EXIT_FINDINGS, EXIT_OK
from jaunt.promptkit.pricing import DEFAULT_PRICED_MODEL


def add_parser(subparsers: Any) -> None:
    from jaunt.promptkit.cost import DEFAULT_OUTPUT_TOKENS

    parser = subparsers.add_parser(
        "cost",
        help="forecast the price of N builds of the project's fixtures, offline",
        description=(
            "Forecast what N builds cost: input tokens of every fixture rendered with the "
            "project's set (split into cacheable and uncached), an output estimate, and the "
            "price standard, with prompt caching, and through the Batch API. Offline."
        ),
    )
    add_project_options(parser)
    parser.add_argument(
        "--model", help=f"model to price (default: [llm] model, else {DEFAULT_PRICED_MODEL})"
    )
    parser.add_argument(
        "--builds", type=int, default=1, metavar="N", help="number of builds (default: 1)"
    )
    parser.add_argument(
        "--modules",
        metavar="build=N,test=M",
        help="modules per kind per build, each as large as the kind's average fixture "
        "(default: one module per fixture)",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--output-tokens",
        type=int,
        default=DEFAULT_OUTPUT_TOKENS,
        metavar="N",
        help=f"output tokens per request (an estimate; default: {DEFAULT_OUTPUT_TOKENS:,})",
    )
    output.add_argument(
        "--output-tokens-from",
        metavar="ATTEMPTS.jsonl",
        help="the mean output tokens per request recorded by `eval --attempts-file`",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    add_encoding_option(parser)
    parser.set_defaults(func=run)


def parse_modules(text: str) -> dict[str, int]:
    """``build=40,test=12`` -> ``{"build": 40, "test": 12}``; ValueError on anything else."""
    counts: dict[str, int] = {}
    for part in text.split(","):
        kind, sep, number = part.strip().partition("=")
        if not sep or kind.strip() not in ("build", "test"):
            raise ValueError(f"--modules: expected build=N,test=M, not {part.strip()!r}")
        try:
            value = int(number)
        except ValueError:
            raise ValueError(f"--modules: {number.strip()!r} is not a whole number") from None
        if value < 0:
            raise ValueError(f"--modules: {kind.strip()} must not be negative")
        counts[kind.strip()] = value
    return counts


def run(args: argparse.Namespace) -> int:
    from jaunt.promptkit.cost import forecast, format_usd, recorded_output_tokens
    from jaunt.promptkit.errors import ConfigError, FixtureError, ProjectError
    from jaunt.promptkit.pricing import project_price_table
    from jaunt.promptkit.review import kind_loads
    from jaunt.promptkit.tokens import get_tokenizer

    if args.builds < 0 or args.output_tokens < 0:
        return usage_error("cost", "--builds and --output-tokens must not be negative")
    try:
        modules = parse_modules(args.modules) if args.modules else None
    except ValueError as exc:
        return usage_error("cost", exc)
    tokenizer = get_tokenizer(args.encoding)
    try:
        project = project_from_args(args)
        table = project_price_table(project.config)
        model = args.model
        if model is None:
            llm = project.config.llm if project.config else None
            model = llm.model if llm else DEFAULT_PRICED_MODEL
        price = table.get(model)
        loads, failed = kind_loads(project, tokenizer)
        output_tokens, output_source = args.output_tokens, "estimate"
        if args.output_tokens_from:
            recorded = recorded_output_tokens(args.output_tokens_from)
            output_tokens = recorded.tokens_per_request
            output_source = (
                f"mean of {recorded.attempts:,} recorded attempt(s) in {args.output_tokens_from}"
            )
    except (ProjectError, ConfigError, FixtureError) as exc:
        return usage_error("cost", exc)
    if modules is not None:
        by_kind = {load.kind: load for load in loads}
        missing = [k for k, n in modules.items() if n and k not in by_kind]
        if missing:
            return usage_error(
                "cost", f"--modules: no {'/'.join(missing)} fixture to measure a module by"
            )
        loads = [by_kind[k].scaled(n) for k, n in modules.items() if k in by_kind]
    result = forecast(loads, price, builds=args.builds, output_tokens_per_request=output_tokens)
    fmt = tokenizer.format
    if args.format == "json":
        document = {
            "model": price.model,
            "price": {
                "input_per_mtok": price.input_per_mtok,
                "cached_input_per_mtok": price.cached_input_per_mtok,
                "output_per_mtok": price.output_per_mtok,
                "batch_discount": price.batch_discount,
                "source": price.source,
                "read_on": price.read_on,
            },
            "tokenizer": {"name": tokenizer.name, "exact": tokenizer.exact},
            "builds": result.builds,
            "output_tokens_per_request": result.output_tokens_per_request,
            "output_tokens_source": output_source,
            "kinds": [
                {
                    "kind": k.kind,
                    "requests": k.requests,
                    "input_tokens": k.input_tokens,
                    "cached_input_tokens": k.cached_input_tokens,
                    "uncached_input_tokens": k.uncached_input_tokens,
                    "output_tokens": k.output_tokens,
                }
                for k in result.kinds
            ],
            "usd": {
                "standard": result.standard_usd,
                "prompt_caching": result.cached_usd,
                "batch": result.batch_usd,
            },
        }
        json.dump(document, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(
            f"cost forecast: {result.builds:,} build(s) of {project.set_source.name}, "
            f"model {price.model} (prices read {price.read_on or '?'} from {price.source})"
        )
        print(f"tokens: {tokenizer.label}")
        for k in result.kinds:
            print(
                f"  {k.kind}: {k.requests:,} requests, input {fmt(k.input_tokens)} "
                f"(cacheable {fmt(k.cached_input_tokens)}, uncached "
                f"{fmt(k.uncached_input_tokens)}), output {k.output_tokens:,} "
                f"({output_source}: {result.output_tokens_per_request:,} per request)"
            )
        print("price:")
        for mode, usd in result.modes():
            print(f"  {mode:<15} {format_usd(usd)}")
        for f in failed:
            for error in f.errors:
                print(f"not counted: {error}", file=sys.stderr)
    return EXIT_FINDINGS if failed else EXIT_OK
