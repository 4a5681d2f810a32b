"""``jaunt-prompts diff`` as text (terminal) or Markdown (a pull-request comment).

Both list only what changed (unchanged fixtures and messages are counted); the Markdown
starts with a summary table, then the shared prefix and cost tables, then one collapsible
``<details>`` section per changed fixture. A comment is kept under GitHub's size limit:
when the diffs would not fit, the last sections say how many were left out.
"""

from __future__ import annotations

import re

from jaunt.promptkit.cost import format_usd
from jaunt.promptkit.prefix import CACHE_MINIMUM_TOKENS
from jaunt.promptkit.review import CostEffect, FixtureDiff, PrefixDiff, PromptDiff

COMMENT_MARKER = "<!-- jaunt-prompts-diff -->"
"""First line of the Markdown: the workflow finds its earlier comment by it and updates it."""
MARKDOWN_BUDGET = 60_000
"""GitHub refuses comments over 65,536 characters; stay clear of it."""

_BACKTICKS = re.compile(r"`{3,}")


def _signed(n: int) -> str:
    return f"{n:+,}" if n else "±0"


def _tokens(diff: PromptDiff, n: int | None) -> str:
    return "–" if n is None else diff.tokenizer.format(n)


def _fixture_line(diff: PromptDiff, f: FixtureDiff) -> str:
    tokens = f"{_tokens(diff, f.tokens_before)} -> {_tokens(diff, f.tokens_after)} tokens"
    if f.tokens_before is not None and f.tokens_after is not None:
        tokens += f" ({_signed(f.token_change)})"
    kind = f" ({f.kind})" if f.kind else ""
    detail = f"{len(f.changes)} message(s) changed, {f.unchanged_messages} unchanged"
    if f.status == "failed":
        detail = "failed to render"
    elif f.status in ("added", "removed"):
        detail = f"fixture {f.status}"
    return f"{f.set_name} / {f.fixture}{kind}: {tokens}; {detail}"


def _prefix_tokens(diff: PromptDiff, p: PrefixDiff) -> str:
    return f"{_tokens(diff, p.tokens_before)} -> {_tokens(diff, p.tokens_after)}"


def _cacheable(p: PrefixDiff) -> str:
    after = p.after
    if after is None or not after.comparable:
        return "n/a"
    return "yes" if after.reaches_minimum else f"no (< {CACHE_MINIMUM_TOKENS:,})"


def _cost_line(c: CostEffect) -> str:
    b, a = c.before, c.after
    return (
        f"{c.set_name}: standard {format_usd(b.standard_usd)} -> {format_usd(a.standard_usd)} "
        f"({_signed_usd(a.standard_usd - b.standard_usd)}); with prompt caching "
        f"{format_usd(b.cached_usd)} -> {format_usd(a.cached_usd)} "
        f"({_signed_usd(a.cached_usd - b.cached_usd)})"
    )


def _signed_usd(usd: float) -> str:
    if abs(usd) < 0.00005:
        return "±$0"
    return ("+" if usd > 0 else "-") + format_usd(abs(usd))


def _counts(diff: PromptDiff) -> str:
    changed = sum(f.status != "unchanged" for f in diff.fixtures)
    unchanged = len(diff.fixtures) - changed
    messages = len(diff.changes)
    return (
        f"{changed} fixture render(s) changed, {unchanged} unchanged; {messages} message(s) changed"
    )


def text_report(diff: PromptDiff) -> list[str]:
    """Lines for a terminal."""
    lines = [f"prompt diff {diff.base} -> {diff.head} (tokens: {diff.tokenizer.label})"]
    for f in diff.fixtures:
        if f.status == "unchanged":
            continue
        lines += ["", _fixture_line(diff, f)]
        lines += [f"  {e}" for e in f.errors]
        for change in f.changes:
            lines.append(
                f"  message {change.index} ({change.role}) {change.status}: "
                f"{_tokens(diff, change.tokens_before)} -> {_tokens(diff, change.tokens_after)}"
                f" tokens"
            )
            lines += change.diff.rstrip("\n").split("\n")
    lines += ["", f"shared prefix per kind (cache minimum {CACHE_MINIMUM_TOKENS:,} tokens):"]
    for p in diff.prefixes:
        lines.append(
            f"  {p.set_name} {p.kind}: {_prefix_tokens(diff, p)} tokens, "
            f"cacheable: {_cacheable(p)}; {p.verdict()}"
        )
        if p.changed and p.after and p.after.ends_at:
            lines.append(f"    now ends at {p.after.ends_at}")
    if diff.costs:
        first = diff.costs[0]
        lines += [
            "",
            f"cost effect ({first.model}, {first.builds:,} builds, input tokens only):",
            *(f"  {_cost_line(c)}" for c in diff.costs),
        ]
    lines += ["", _counts(diff) + "."]
    return lines


def _fence(body: str, info: str = "diff") -> str:
    longest = max((len(m.group(0)) for m in _BACKTICKS.finditer(body)), default=2)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{body.rstrip(chr(10))}\n{fence}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_report(diff: PromptDiff, *, budget: int = MARKDOWN_BUDGET) -> str:
    """A pull-request comment: summary table, prefix and cost tables, one section per fixture."""
    out = [
        COMMENT_MARKER,
        f"## Prompt diff: `{diff.base}` → {_head(diff.head)}",
        "",
        f"{_counts(diff)}. Tokens: {diff.tokenizer.label}.",
        "",
    ]
    changed = [f for f in diff.fixtures if f.status != "unchanged"]
    if changed:
        out += [
            "| Set | Fixture | Kind | Status | Messages changed | Tokens before | Tokens after "
            "| Change |",
            "|---|---|---|---|---:|---:|---:|---:|",
        ]
        for f in changed:
            change = (
                _signed(f.token_change)
                if f.tokens_before is not None and f.tokens_after is not None
                else "–"
            )
            out.append(
                f"| {_cell(f.set_name)} | {_cell(f.fixture)} | {f.kind or '–'} | {f.status} "
                f"| {len(f.changes)} | {_tokens(diff, f.tokens_before)} "
                f"| {_tokens(diff, f.tokens_after)} | {change} |"
            )
        out.append("")
    else:
        out += ["No rendered message changed.", ""]
    out += [
        "### Shared prefix per kind",
        "",
        f"What a provider can cache across modules (minimum {CACHE_MINIMUM_TOKENS:,} tokens).",
        "",
        "| Set | Kind | Tokens before | Tokens after | Cacheable | Verdict |",
        "|---|---|---:|---:|---|---|",
    ]
    for p in diff.prefixes:
        verdict = p.verdict()
        if p.broken or p.changed:
            verdict = f"**{verdict}**"
        out.append(
            f"| {_cell(p.set_name)} | {p.kind} | {_tokens(diff, p.tokens_before)} "
            f"| {_tokens(diff, p.tokens_after)} | {_cacheable(p)} | {_cell(verdict)} |"
        )
    out.append("")
    if diff.costs:
        first = diff.costs[0]
        out += [
            f"### Cost effect ({first.model}, {first.builds:,} builds, input tokens only)",
            "",
            "| Set | Standard before | Standard after | With caching before | With caching after |",
            "|---|---:|---:|---:|---:|",
        ]
        for c in diff.costs:
            out.append(
                f"| {_cell(c.set_name)} | {format_usd(c.before.standard_usd)} "
                f"| {format_usd(c.after.standard_usd)} | {format_usd(c.before.cached_usd)} "
                f"| {format_usd(c.after.cached_usd)} |"
            )
        out.append("")
    text = "\n".join(out)
    left_out = 0
    for f in changed:
        section = _details(diff, f)
        if left_out or len(text) + len(section) > budget:
            left_out += 1
            continue
        text += "\n" + section
    if left_out:
        text += (
            f"\n_{left_out} more fixture section(s) left out to fit a comment; run "
            f"`jaunt-prompts diff {diff.base}` locally for all of them._\n"
        )
    return text


def _head(head: str) -> str:
    return head if " " in head else f"`{head}`"


def _details(diff: PromptDiff, f: FixtureDiff) -> str:
    summary = _cell(_fixture_line(diff, f))
    body = [f"<details><summary>{_escape_html(summary)}</summary>", ""]
    for e in f.errors:
        body.append(f"- `{e}`")
    for change in f.changes:
        body += [
            f"Message {change.index} ({change.role}) {change.status}: "
            f"{_tokens(diff, change.tokens_before)} → {_tokens(diff, change.tokens_after)} tokens",
            "",
            _fence(change.diff),
            "",
        ]
    body += ["</details>", ""]
    return "\n".join(body)


def _escape_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
