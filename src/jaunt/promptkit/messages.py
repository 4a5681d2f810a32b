"""The one message renderer: (template set, context, error context) -> chat messages.

The OpenAI backend, the snapshot tests and ``jaunt-prompts render``/``watch`` all call
:func:`render_messages`, so what a reviewer reads in a snapshot is byte for byte what the
model is sent.

Block formatting is deterministic:

* Each spec, API and module is a Markdown heading naming its key, followed by its text in a
  fenced block. The fence is longer than any backtick run inside the text, so code holding
  triple backticks cannot close it early, and no delimiter can be mistaken for Python.
* Specs keep the order jaunt gives (the order of the spec module); dependency APIs and
  generated modules are sorted by key.
* Line endings inside texts are normalised to ``\\n``, trailing whitespace is dropped from
  every line, and leading and trailing blank lines are dropped; an empty block renders as
  the explicit marker ``(none)``.
* Error context entries keep their order: one-line entries (``previous output errors:
  ...``) one per line, a multi-line entry (the previous output) between blank lines.
* The error context block is empty on a first attempt, so a retry only appends to the
  user message: the system message and the start of the user message stay identical and
  the provider's prompt cache is reused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import TypeVar

from jaunt.promptkit.context import ModuleSpecContext
from jaunt.promptkit.markdown import fenced, normalise_text
from jaunt.promptkit.scrub import scrub
from jaunt.promptkit.template_set import TemplateSet

Message = dict[str, str]

EMPTY_BLOCK = "(none)"
SKILLS_HEADING = "External library skills (reference):"
PLACEHOLDER_NAMES: tuple[str, ...] = (
    "spec_module",
    "generated_module",
    "expected_names",
    "specs_block",
    "deps_api_block",
    "deps_generated_block",
    "error_context_block",
)

_Key = TypeVar("_Key", bound=str)


def format_expected_names(names: Sequence[str]) -> str:
    if not names:
        return EMPTY_BLOCK
    return "\n".join(f"- `{name}`" for name in names)


def format_specs_block(ctx: ModuleSpecContext) -> str:
    if not ctx.spec_sources:
        return EMPTY_BLOCK
    parts: list[str] = []
    for ref, source in ctx.spec_sources.items():
        part = f"### Spec `{ref}`\n\n{fenced(source)}"
        prompt = ctx.decorator_prompts.get(ref, "")
        if prompt.strip():
            part += f"\n\nExtra instructions for `{ref}`:\n\n{fenced(prompt, 'text')}"
        parts.append(part)
    # A decorator prompt for a ref without a spec source must not vanish silently.
    for ref in sorted(set(ctx.decorator_prompts) - set(ctx.spec_sources)):
        prompt = ctx.decorator_prompts[ref]
        if prompt.strip():
            parts.append(f"### Extra instructions for `{ref}`\n\n{fenced(prompt, 'text')}")
    return "\n\n".join(parts)


def format_keyed_block(items: Mapping[_Key, str], heading: str) -> str:
    if not items:
        return EMPTY_BLOCK
    return "\n\n".join(f"### {heading} `{key}`\n\n{fenced(items[key])}" for key in sorted(items))


def format_error_context_block(error_context: Sequence[str]) -> str:
    entries = [text for text in map(normalise_text, error_context) if text]
    if not entries:
        return ""
    # One-line entries (the error lines) stay a compact list; a multi-line entry (the
    # previous output) is set off by blank lines so its fence starts on a line of its own.
    body = entries[0]
    for before, entry in pairwise(entries):
        body += "\n\n" if "\n" in before or "\n" in entry else "\n"
        body += entry
    return (
        "\n## Errors in your previous answer\n\n"
        "Your previous answer was rejected. Fix every problem below and answer again with the "
        "complete module.\n\n"
        f"{body}"
    )


def placeholder_values(ctx: ModuleSpecContext, error_context: Sequence[str] = ()) -> dict[str, str]:
    """The value of every placeholder a template may use, for ``ctx``."""
    return {
        "spec_module": ctx.spec_module,
        "generated_module": ctx.generated_module,
        "expected_names": format_expected_names(ctx.expected_names),
        "specs_block": format_specs_block(ctx),
        "deps_api_block": format_keyed_block(ctx.dependency_apis, "API"),
        "deps_generated_block": format_keyed_block(ctx.dependency_generated_modules, "Module"),
        "error_context_block": format_error_context_block(error_context),
    }


def render_messages(
    templates: TemplateSet,
    ctx: ModuleSpecContext,
    error_context: Sequence[str] = (),
) -> list[Message]:
    """The chat messages for ``ctx``: system, then (if any) the skills notes, then the module.

    Raises :class:`~jaunt.errors.TemplateError` when a template needs a value that is not
    one of :data:`PLACEHOLDER_NAMES`.
    """
    values = placeholder_values(ctx, error_context)
    # Trailing whitespace carries nothing for the model; dropping it keeps every consumer's
    # copy (and the Markdown form below) exact.
    messages: list[Message] = [
        {"role": "system", "content": templates.system(ctx.kind).render(values).rstrip()},
    ]
    if ctx.skills_block.strip():
        # jaunt's framing: the notes are reference material, not instructions to follow.
        skills = f"{SKILLS_HEADING}\n{ctx.skills_block.strip()}"
        messages.append({"role": "user", "content": skills})
    module = templates.module(ctx.kind).render(values).rstrip()
    messages.append({"role": "user", "content": module})
    return messages


def messages_to_markdown(messages: Sequence[Message]) -> str:
    """The readable form used by snapshots and ``render --out``: a heading per message role.

    Each message is ``# <role>``, a blank line, its content and a newline; messages are
    separated by a blank line. The role is a level-1 heading because the templates use
    ``##`` for their own sections, so the outline reads message > section > spec.
    Message contents never end in whitespace (see :func:`render_messages`), so the contents
    can be read back exactly: each is the text between its heading's blank line and the
    newline that ends it.

    Scrubbed (:func:`~jaunt.promptkit.scrub.scrub`): this text is written to snapshot files
    and ``render --out`` files, so a key pasted into a spec or a fixture never lands in a
    committed file; such a key shows as ``***`` (the model is sent the messages as they are).
    """
    return scrub("\n".join(f"# {m['role']}\n\n{m['content']}\n" for m in messages))
