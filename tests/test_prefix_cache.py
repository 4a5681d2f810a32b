"""The cacheable prefix: shared tokens across requests, where they end, the cache minimum."""

from __future__ import annotations

from pathlib import Path

from jaunt.promptkit.fixtures import Fixture, parse_fixture
from jaunt.promptkit.messages import render_messages
from jaunt.promptkit.prefix import (
    CACHE_MINIMUM_TOKENS,
    PrefixReport,
    analyze_prefix,
    cached_tokens,
    common_prefix_length,
    request_tokens,
)
from jaunt.promptkit.template_set import TemplateSet, load_packaged_set
from jaunt.promptkit.tokens import get_tokenizer
from jaunt.templates import Template

TOKENIZER = get_tokenizer("o200k_base")


def fixture(name: str, module: str, *, skills: str = "") -> Fixture:
    text = f"""
kind = "build"
spec_module = "{module}"
generated_module = "{module}_gen"
expected_names = ["f"]
skills_block = "{skills}"

[[specs]]
ref = "{module}:f"
source = "def f() -> int: ..."
"""
    return parse_fixture(text, path=f"{name}.toml")


def with_templates(system: str, module: str) -> TemplateSet:
    packaged = load_packaged_set()
    templates = dict(packaged.templates)
    templates["build_system"] = Template(system, path="set/build_system.md")
    templates["build_module"] = Template(module, path="set/build_module.md")
    return TemplateSet("custom", templates)


def report(ts: TemplateSet, fixtures: list[Fixture]) -> PrefixReport:
    requests = []
    for f in fixtures:
        messages = render_messages(ts, f.context, f.error_context)
        requests.append((f, messages, request_tokens(messages, TOKENIZER)))
    return analyze_prefix(ts, "build", requests)


MODULE = "Write `{{generated_module}}` from:\n{{specs_block}}\n{{error_context_block}}"


def test_common_prefix_length() -> None:
    assert common_prefix_length([]) == 0
    assert common_prefix_length([[1, 2, 3], [1, 2, 4], [1, 2]]) == 2
    assert common_prefix_length([[1, 2], [1, 2]]) == 2
    assert common_prefix_length([[9], [1]]) == 0


def test_cached_tokens_follow_the_minimum_and_128_token_steps() -> None:
    assert cached_tokens(CACHE_MINIMUM_TOKENS - 1) == 0
    assert cached_tokens(1024) == 1024
    assert cached_tokens(1151) == 1024
    assert cached_tokens(1152) == 1152


def test_static_system_prompt_is_shared_up_to_the_first_differing_placeholder() -> None:
    ts = with_templates("You write Python. " * 10, MODULE)
    rep = report(ts, [fixture("a", "pkg.alpha"), fixture("b", "pkg.beta")])
    system_tokens = TOKENIZER.count("You write Python. " * 10)
    # Framing (start, role, end) around the system message, then start + role of the user
    # message and the tokens of "Write `".
    assert rep.shared_tokens == system_tokens + 3 + 2 + TOKENIZER.count("Write `")
    assert rep.ends_at is not None
    assert rep.ends_at.placeholder == "generated_module"
    assert (rep.ends_at.path, rep.ends_at.line, rep.ends_at.column) == ("set/build_module.md", 1, 8)
    assert not rep.reaches_minimum
    text = rep.describe(TOKENIZER)
    assert "{{generated_module}} at set/build_module.md:1:8 (user message)" in text
    assert "below the 1,024-token cache minimum" in text


def test_placeholder_in_the_system_prompt_ends_the_prefix_there() -> None:
    static = "".join(f"Rule number {i} applies to every module.\n" for i in range(200))
    cached = report(
        with_templates(static, MODULE), [fixture("a", "pkg.alpha"), fixture("b", "pkg.beta")]
    )
    assert cached.reaches_minimum
    assert cached.cached_tokens >= CACHE_MINIMUM_TOKENS
    assert "cacheable" in cached.describe(TOKENIZER)

    broken = report(
        with_templates("You write {{spec_module}}.\n" + static, MODULE),
        [fixture("a", "pkg.alpha"), fixture("b", "pkg.beta")],
    )
    assert broken.shared_tokens < 10
    assert not broken.reaches_minimum
    assert broken.ends_at is not None
    assert broken.ends_at.placeholder == "spec_module"
    assert broken.ends_at.role == "system"
    assert (broken.ends_at.line, broken.ends_at.column) == (1, 11)


def test_skills_notes_in_one_request_end_the_prefix_after_the_system_message() -> None:
    ts = with_templates("Static system text.", MODULE)
    rep = report(ts, [fixture("a", "pkg.alpha"), fixture("b", "pkg.alpha", skills="notes")])
    assert rep.ends_at is not None
    assert rep.ends_at.index == 1
    assert rep.ends_at.placeholder is None
    assert rep.shared_tokens == TOKENIZER.count("Static system text.") + 3 + 2


def test_one_request_has_nothing_to_compare_and_identical_requests_share_everything() -> None:
    ts = with_templates("Static.", MODULE)
    one = report(ts, [fixture("a", "pkg.alpha")])
    assert one.requests == 1
    assert "nothing to compare" in one.describe(TOKENIZER)
    same = report(ts, [fixture("a", "pkg.alpha"), fixture("b", "pkg.alpha")])
    assert same.shared_tokens == same.shortest
    assert same.ends_at is None


def test_packaged_set_on_the_committed_fixtures_reports_its_real_prefix() -> None:
    from jaunt.promptkit.fixtures import load_fixture

    root = Path(__file__).resolve().parent.parent / "prompt_fixtures"
    fixtures = [load_fixture(root / f"{n}.toml") for n in ("pure_function", "class_methods")]
    rep = report(load_packaged_set(), fixtures)
    assert rep.ends_at is not None
    assert rep.ends_at.placeholder == "generated_module"
    assert rep.ends_at.path is not None
    assert rep.ends_at.path.endswith("build_module.md")
    # The whole system message is shared: at least its own token count.
    system = load_packaged_set().system("build").text.rstrip()
    assert rep.shared_tokens > TOKENIZER.count(system)
