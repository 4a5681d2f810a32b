"""The lint rules: stable codes, names, severities and the documentation of each.

Codes never change meaning once released; a retired rule keeps its code reserved. The docs
here are what ``jaunt-prompts lint --explain CODE`` and ``--list-rules`` print.
"""

from __future__ import annotations

from dataclasses import dataclass

from jaunt.promptkit.lint.findings import Finding, Severity


@dataclass(frozen=True)
class Rule:
    """A lint rule: ``code`` (``JP001``), a kebab-case ``name``, a one-line ``summary``, a doc."""

    code: str
    name: str
    severity: Severity
    applies_to: str
    summary: str
    doc: str

    def finding(self, path: str, line: int, column: int, message: str) -> Finding:
        return Finding(path, line, column, self.code, self.severity, message)


_RULES = (
    Rule(
        "JP001",
        "invalid-syntax",
        "error",
        "every template",
        "Malformed placeholder syntax.",
        "A placeholder is `{{name}}` with a Python identifier inside (spaces inside the braces "
        "are allowed, the placeholder stays on one line). `{{name}`, `{name}}`, `{{ }}`, "
        "`{{1x}}`, `{{a.b}}` and an unclosed `{{` are errors: jaunt refuses to load the "
        "template. Write `\\{{` (and `\\}}`) for literal double braces.",
    ),
    Rule(
        "JP002",
        "unknown-placeholder",
        "error",
        "every template",
        "A placeholder that jaunt never fills.",
        "Only `spec_module`, `generated_module`, `expected_names`, `specs_block`, "
        "`deps_api_block`, `deps_generated_block` and `error_context_block` have values; any "
        "other name makes every render fail. Near misses get a suggestion "
        "(`{{spec_modul}}` -> `spec_module`).",
    ),
    Rule(
        "JP003",
        "missing-placeholder",
        "error",
        "module templates",
        "A module template leaves out a placeholder it must use.",
        "Without these the model cannot do its job or a retry cannot tell it what went wrong. "
        "`build_module.md` must use `generated_module`, `expected_names`, `specs_block` and "
        "`error_context_block`; `test_module.md` must also use `deps_api_block`, the only "
        "place that says where to import the code under test from. System templates need "
        "none (see JP007).",
    ),
    Rule(
        "JP004",
        "unused-context-block",
        "warning",
        "module templates",
        "A module template drops a context block jaunt provides.",
        "`build_module.md` without `deps_api_block` hides the dependency APIs the specs may "
        "call; a module template without `deps_generated_block` hides the previously "
        "generated modules. The prompt still works, but the model sees less than it could.",
    ),
    Rule(
        "JP005",
        "error-context-not-last",
        "error",
        "module templates",
        "`{{error_context_block}}` is not the last thing in a module template.",
        "On a retry only the error context changes. When it is the very end of the user "
        "message, everything before it is a prefix identical to the first attempt and the "
        "provider's prompt cache is reused; text or placeholders after it break that and bury "
        "the errors in the middle of the prompt. Only whitespace may follow it.",
    ),
    Rule(
        "JP006",
        "repeated-block",
        "warning",
        "every template",
        "A block placeholder is used more than once.",
        "`specs_block`, `deps_api_block`, `deps_generated_block` and `error_context_block` can "
        "be large; using one twice pays for its tokens twice and rarely helps the model. "
        "Short names (`generated_module`, ...) may repeat freely.",
    ),
    Rule(
        "JP007",
        "placeholder-in-system-template",
        "warning",
        "system templates",
        "A placeholder in a system template defeats prompt caching.",
        "Providers cache an identical message prefix. A static system prompt is the same for "
        "every module and is cached across all of them; a placeholder makes it differ per "
        "module. Put variable content in the module template instead.",
    ),
    Rule(
        "JP008",
        "unknown-template-file",
        "warning",
        "template set directories",
        "A file in a template set directory that jaunt never reads.",
        "A set directory is read for `build_system.md`, `build_module.md`, `test_system.md` "
        "and `test_module.md` only; any other `*.md` file is ignored, so a misspelt name "
        "(`build_sytem.md`) silently leaves the packaged default in place.",
    ),
    Rule(
        "JP009",
        "placeholder-lookalike",
        "warning",
        "every template",
        "Text that looks like a placeholder but is not one.",
        "`{spec_module}` (str.format style), `${spec_module}` (string.Template style) and "
        "`\\{{spec_module}}` (escaped) all reach the model as literal text. Only names jaunt "
        "fills are flagged, so code examples such as `{x}` stay quiet. Write `{{spec_module}}` "
        "to have it filled in.",
    ),
    Rule(
        "JP010",
        "missing-code-only-instruction",
        "error",
        "each kind (system + module template together)",
        "Neither template of a kind demands code-only output.",
        "Phrase-based: the system or module template of the kind must say the answer is "
        "code only, e.g. 'Output Python code only', 'no Markdown fences', 'no commentary', "
        "'nothing but the code' (case-insensitive). Checked on the pair the model receives: a "
        "file linted alone is paired with the packaged template of the other role. Reported "
        "at the start of the system template.",
    ),
    Rule(
        "JP011",
        "missing-required-names-instruction",
        "error",
        "each kind (system + module template together)",
        "Neither template of a kind tells the model to define the required names.",
        "Phrase-based: one of the pair must say so, e.g. 'the required names', 'must define', "
        "'define every top-level name', 'these top-level names'. Listing the names is JP003's "
        "job (`{{expected_names}}`); this rule wants the instruction to define them.",
    ),
    Rule(
        "JP012",
        "missing-user-files-instruction",
        "error",
        "each kind (system + module template together)",
        "Neither template of a kind says never to edit user files.",
        "Phrase-based: one of the pair must forbid editing the user's files, e.g. 'never edit "
        "user files', 'do not modify the spec files', 'leave the user's files untouched'. The "
        "model must emit only the generated module.",
    ),
    Rule(
        "JP013",
        "build-asks-for-tests",
        "error",
        "build templates",
        "A build template asks the model to write tests.",
        "Phrase-based: a request such as 'write tests', 'add unit tests', 'include a test "
        "suite', 'with tests' in `build_system.md` or `build_module.md`. Tests are the test "
        "templates' job and would end up inside the implementation module. Prohibitions are "
        "not requests: a clause with a negation before the phrase ('Do not write tests', "
        "'never add tests') is ignored.",
    ),
    Rule(
        "JP014",
        "test-asks-for-implementation",
        "error",
        "test templates",
        "A test template asks the model to write the implementation.",
        "Phrase-based: a request such as 'write the implementation', 'provide an "
        "implementation', 'implement the functions' in `test_system.md` or `test_module.md`. "
        "Generated tests must import the code under test, never reimplement it. Negated "
        "clauses ('Do not write implementation code') and implementing the tests themselves "
        "('implementing the test specs') are ignored.",
    ),
    Rule(
        "JP015",
        "missing-test-import-rules",
        "error",
        "test kind (system + module template together)",
        "The test templates leave out one of jaunt's import rules for generated tests.",
        "Phrase-based, one finding per missing rule: the pair must say to import the code "
        "under test from the modules the dependency APIs name ('Import it from the modules "
        "named by the dependency APIs'), never from the generated module or the test spec "
        "module ('Never import from `{{generated_module}}`'), and not to guess module names "
        "('Do not guess module names such as `app` or `main`'). Without them small models "
        "import the stubs or invent an `app` module, and the tests fail to import.",
    ),
    Rule(
        "JP020",
        "unreadable-file",
        "error",
        "every template file",
        "A template file cannot be read or is not valid UTF-8.",
        "The file is missing, is a directory, cannot be read, or holds bytes that are not "
        "UTF-8 (reported at the line and column of the first bad byte). jaunt cannot load "
        "it; nothing else in the file is checked.",
    ),
    Rule(
        "JP021",
        "cache-contract-placeholder",
        "error",
        "system templates, with `cache_contract = true`",
        "A placeholder in a system template of a project that declares a cache contract.",
        "`[prompts] cache_contract = true` in `jaunt.toml` declares the system templates "
        "static: the prefix every module's request shares, which the provider caches. A "
        "placeholder there gives every module its own prefix, so the warning JP007 becomes "
        "this error when `jaunt-prompts lint` runs without paths in such a project. "
        "`jaunt-prompts diff --fail-on-cache-break` guards the rest of the contract in CI.",
    ),
)

RULES: dict[str, Rule] = {rule.code: rule for rule in _RULES}


def rule(code: str) -> Rule:
    return RULES[code]


def find_rule(code_or_name: str) -> Rule | None:
    """A rule by code (any case) or by name; ``None`` when there is none."""
    wanted = code_or_name.strip()
    found = RULES.get(wanted.upper())
    if found is not None:
        return found
    return next((r for r in _RULES if r.name == wanted.lower()), None)
