"""The shared message renderer: deterministic blocks, explicit empty markers, retry prefix."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from jaunt.generate.base import ModuleSpecContext, build_error_context
from jaunt.promptkit.fixtures import load_fixture
from jaunt.promptkit.messages import (
    EMPTY_BLOCK,
    fenced,
    messages_to_markdown,
    placeholder_values,
    render_messages,
)
from jaunt.promptkit.template_set import load_packaged_set
from jaunt.spec_ref import SpecRef

ROOT = Path(__file__).resolve().parent.parent
PACKAGED = load_packaged_set()


def _ctx(**changes: object) -> ModuleSpecContext:
    base = ModuleSpecContext(
        kind="build",
        spec_module="shop.pricing",
        generated_module="shop.__generated__.pricing",
        expected_names=["apply_discount", "Cart"],
        spec_sources={
            SpecRef("shop.pricing:apply_discount"): "def apply_discount(p, n): ...\n",
            SpecRef("shop.pricing:Cart"): "class Cart: ...\n",
        },
        decorator_prompts={},
        dependency_apis={},
        dependency_generated_modules={},
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_rendering_is_deterministic_and_has_no_trailing_whitespace() -> None:
    ctx = load_fixture(ROOT / "prompt_fixtures" / "unicode_adversarial.toml").context
    first = render_messages(PACKAGED, ctx)
    assert first == render_messages(PACKAGED, ctx)
    for message in first:
        assert "\r" not in message["content"]
        for line in message["content"].split("\n"):
            assert line == line.rstrip(), repr(line)


def test_specs_keep_given_order_other_blocks_are_sorted() -> None:
    ctx = _ctx(
        dependency_apis={SpecRef("z.mod:f"): "def f(): ...", SpecRef("a.mod:g"): "def g(): ..."},
        dependency_generated_modules={"z.gen": "X = 1", "a.gen": "Y = 2"},
    )
    values = placeholder_values(ctx)
    specs = values["specs_block"]
    assert specs.index("shop.pricing:apply_discount") < specs.index("shop.pricing:Cart")
    apis = values["deps_api_block"]
    assert apis.index("a.mod:g") < apis.index("z.mod:f")
    modules = values["deps_generated_block"]
    assert modules.index("a.gen") < modules.index("z.gen")
    # Insertion order of the dicts must not matter for the sorted blocks.
    swapped = _ctx(
        dependency_apis=dict(reversed(list(ctx.dependency_apis.items()))),
        dependency_generated_modules=dict(reversed(list(ctx.dependency_generated_modules.items()))),
    )
    assert placeholder_values(swapped) == values


def test_empty_blocks_render_the_explicit_marker() -> None:
    values = placeholder_values(_ctx(spec_sources={}, expected_names=[]))
    assert EMPTY_BLOCK == "(none)"
    for key in ("specs_block", "deps_api_block", "deps_generated_block", "expected_names"):
        assert values[key] == EMPTY_BLOCK, key
    assert values["error_context_block"] == ""  # a first attempt: nothing at all
    user = render_messages(PACKAGED, _ctx())[-1]["content"]
    assert user.count("\n\n(none)") == 2  # no dependency APIs, no generated modules


def test_placeholder_text_in_values_reaches_the_model_verbatim() -> None:
    source = 'def f():\n    """Lists {{expected_names}} and \\{{ and {{ nope }}."""\n'
    ctx = _ctx(spec_sources={SpecRef("shop.pricing:f"): source}, expected_names=["f"])
    user = render_messages(PACKAGED, ctx)[-1]["content"]
    assert "Lists {{expected_names}} and \\{{ and {{ nope }}." in user
    assert user.count("- `f`") == 1  # the real placeholder rendered once, the fake not at all


def test_code_with_fences_cannot_close_its_block() -> None:
    block = fenced("x = '''\n```\n````\n'''")
    assert block.startswith("`````python\n")
    assert block.endswith("\n`````")


def test_decorator_prompt_follows_its_spec() -> None:
    ctx = _ctx(decorator_prompts={SpecRef("shop.pricing:Cart"): "Use slots."})
    specs = placeholder_values(ctx)["specs_block"]
    assert specs.index("### Spec `shop.pricing:Cart`") < specs.index("Use slots.")
    assert "Extra instructions for `shop.pricing:Cart`" in specs


def test_skills_block_is_its_own_user_message_before_the_module() -> None:
    plain = render_messages(PACKAGED, _ctx())
    with_skills = render_messages(
        PACKAGED, _ctx(skills_block="# httpx notes\n\nUse AsyncClient.\n")
    )
    assert [m["role"] for m in plain] == ["system", "user"]
    assert [m["role"] for m in with_skills] == ["system", "user", "user"]
    # jaunt's framing: reference material, not instructions.
    assert with_skills[1]["content"] == (
        "External library skills (reference):\n# httpx notes\n\nUse AsyncClient."
    )
    assert with_skills[0] == plain[0]
    assert with_skills[2] == plain[1]
    assert "httpx" not in with_skills[2]["content"]
    # Whitespace-only notes are no notes.
    assert render_messages(PACKAGED, _ctx(skills_block=" \n")) == plain


def test_retry_keeps_system_message_and_user_prefix_identical() -> None:
    for kind in ("build", "test"):
        ctx = _ctx(kind=kind)
        first = render_messages(PACKAGED, ctx)
        errors = ["line 1:5: SyntaxError: invalid syntax"]
        retry = render_messages(PACKAGED, ctx, build_error_context(errors, "def f(:\n    pass\n"))
        assert retry[0] == first[0]
        assert len(retry) == len(first)
        assert retry[-1]["content"].startswith(first[-1]["content"])
        tail = retry[-1]["content"][len(first[-1]["content"]) :]
        assert "previous output errors: line 1:5: SyntaxError: invalid syntax" in tail
        assert "1 | def f(:" in tail


def test_error_context_lines_stay_in_order_and_the_listing_is_set_apart() -> None:
    block = placeholder_values(
        _ctx(), ["previous output errors: a", "b\n\n```text\n1 | x\n```", "c"]
    )
    body = block["error_context_block"]
    assert body.index("errors: a") < body.index("b\n") < body.index("\nc")
    assert "previous output errors: a\n\nb" in body
    assert "```\n\nc" in body
    two_lines = placeholder_values(
        _ctx(), ["previous output errors: a", "previous output errors: b"]
    )
    assert "errors: a\nprevious output errors: b" in two_lines["error_context_block"]


def test_markdown_form_has_a_heading_per_message_and_reads_back() -> None:
    messages = render_messages(PACKAGED, _ctx(skills_block="notes"))
    text = messages_to_markdown(messages)
    assert text.startswith("# system\n\n")
    assert text.count("\n# user\n\n") == 2
    assert text.endswith("\n")
    assert not text.endswith("\n\n")
    for message in messages:
        assert f"# {message['role']}\n\n{message['content']}\n" in text
