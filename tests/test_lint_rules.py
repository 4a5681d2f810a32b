"""Each lint rule with a failing and a passing example, and the packaged prompts lint clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from jaunt.promptkit.lint import (
    RULES,
    Finding,
    find_rule,
    lint_file,
    lint_prompts_config,
    lint_set_dir,
    lint_template_set,
    lint_text,
    template_name_of,
)
from jaunt.promptkit.settings import PromptsConfig
from jaunt.promptkit.template_set import (
    TEMPLATE_NAMES,
    TemplateName,
    load_packaged_set,
    load_set_dir,
    packaged_template_path,
)

PACKAGED = {name: Path(packaged_template_path(name)).read_text("utf-8") for name in TEMPLATE_NAMES}
GOOD_SYSTEM = (
    "You write Python modules.\n\n"
    "Output Python code only, no Markdown fences. Define every required top-level name. "
    "Never edit the user's files.\n"
)
# The packaged test_module leaves "do not guess module names" to the system template
# (JP015 checks the pair), so a test_system of ours must say it.
GOOD_TEST_SYSTEM = GOOD_SYSTEM + "Do not guess module names such as `app` or `main`.\n"
GOOD_BUILD_MODULE = (
    "Write `{{generated_module}}` for `{{spec_module}}`.\n\n"
    "{{expected_names}}\n\n{{specs_block}}\n\n{{deps_api_block}}\n\n{{deps_generated_block}}\n"
    "{{error_context_block}}\n"
)
GOOD_TEST_MODULE = GOOD_BUILD_MODULE.replace(
    "Write",
    # jaunt's import rules (JP015)
    "Import the code under test from the modules the dependency APIs name, never from "
    "`{{generated_module}}` or the test spec module. Do not guess module names.\n\n"
    "Write the tests",
    1,
)


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def lint(text: str, role: TemplateName | None = "build_module") -> list[Finding]:
    return lint_text(text, path=f"set/{role or 'notes'}.md", template_name=role)


def write_set(root: Path, **files: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / f"{name}.md").write_text(text, encoding="utf-8")
    return root


# ---- the packaged prompts -------------------------------------------------------------------


def test_packaged_set_lints_clean() -> None:
    assert lint_template_set(load_packaged_set()) == []


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_each_packaged_file_lints_clean(name: TemplateName) -> None:
    assert lint_file(packaged_template_path(name)) == []


def test_rule_registry_is_complete_and_documented() -> None:
    assert list(RULES) == sorted(RULES)
    for code, rule in RULES.items():
        assert code.startswith("JP")
        assert rule.code == code
        assert rule.summary
        assert "\n" not in rule.summary
        assert len(rule.doc) > 40
        assert find_rule(code.lower()) is rule
        assert find_rule(rule.name) is rule
    assert find_rule("JP999") is None


# ---- JP001 invalid-syntax ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "column"),
    [("a {{name} b", 3), ("a {name}} b", 3), ("a {{ }}", 3), ("a {{1x}}", 3), ("a {{", 3)],
)
def test_jp001_flags_malformed_placeholders_at_their_place(text: str, column: int) -> None:
    findings = lint("line one\n" + text, role=None)
    assert codes(findings) == ["JP001"]
    assert (findings[0].line, findings[0].column) == (2, column)
    assert findings[0].severity == "error"


def test_jp001_accepts_escapes_and_spaces() -> None:
    assert lint(r"a \{{literal}} and {{ spec_module }}", role=None) == []


# ---- JP002 unknown-placeholder ------------------------------------------------------------------


def test_jp002_unknown_placeholder_with_did_you_mean() -> None:
    findings = lint("x\n  {{spec_modul}}", role=None)
    assert codes(findings) == ["JP002"]
    assert (findings[0].line, findings[0].column) == (2, 3)
    assert "did you mean {{spec_module}}?" in findings[0].message


def test_jp002_far_off_name_lists_the_allowed_names() -> None:
    [finding] = lint("{{banana}}", role=None)
    assert finding.code == "JP002"
    assert "did you mean" not in finding.message
    assert "specs_block" in finding.message


def test_jp002_known_placeholders_pass() -> None:
    assert lint("{{spec_module}} {{deps_api_block}}", role=None) == []


# ---- JP003 missing-placeholder / JP004 unused-context-block ----------------------------------


@pytest.mark.parametrize(
    "name", ["generated_module", "expected_names", "specs_block", "error_context_block"]
)
def test_jp003_build_module_requires(name: str) -> None:
    text = GOOD_BUILD_MODULE.replace("{{" + name + "}}", "")
    findings = [f for f in lint(text) if f.code == "JP003"]
    assert len(findings) == 1
    assert "{{" + name + "}}" in findings[0].message
    assert (findings[0].line, findings[0].column) == (1, 1)


def test_jp003_test_module_also_requires_deps_api_block() -> None:
    text = GOOD_BUILD_MODULE.replace("{{deps_api_block}}", "")
    assert codes(lint(text, "test_module")) == ["JP003"]
    assert codes(lint(text, "build_module")) == ["JP004"]


def test_jp003_jp004_pass_with_every_block() -> None:
    assert lint(GOOD_BUILD_MODULE) == []
    assert lint(GOOD_TEST_MODULE, "test_module") == []


def test_jp003_does_not_apply_to_system_or_unknown_roles() -> None:
    assert lint(GOOD_SYSTEM, "build_system") == []
    assert lint("no placeholders at all", role=None) == []


def test_jp004_warns_on_dropped_generated_modules() -> None:
    [finding] = lint(GOOD_BUILD_MODULE.replace("{{deps_generated_block}}", ""))
    assert (finding.code, finding.severity) == ("JP004", "warning")


# ---- JP005 error-context-not-last ------------------------------------------------------------


def test_jp005_text_after_error_context_block() -> None:
    text = GOOD_BUILD_MODULE + "\nRemember: code only.\n"
    [finding] = lint(text)
    assert finding.code == "JP005"
    assert finding.line == GOOD_BUILD_MODULE.count("\n")
    assert f"line {GOOD_BUILD_MODULE.count(chr(10)) + 2}, column 1" in finding.message


def test_jp005_trailing_whitespace_is_fine() -> None:
    assert lint(GOOD_BUILD_MODULE + "\n\n   \n") == []


# ---- JP006 repeated-block ------------------------------------------------------------------


def test_jp006_block_used_twice() -> None:
    text = GOOD_BUILD_MODULE.replace("{{expected_names}}", "{{specs_block}} {{expected_names}}")
    [finding] = lint(text)
    assert (finding.code, finding.severity) == ("JP006", "warning")
    assert "first at line 1" not in finding.message  # the first use is on line 3
    assert "first at line 3, column 1" in finding.message


def test_jp006_short_names_may_repeat() -> None:
    text = GOOD_BUILD_MODULE.replace("Write", "Answer with `{{generated_module}}`. Write")
    assert text.count("{{generated_module}}") == 2
    assert lint(text) == []


# ---- JP007 placeholder-in-system-template ------------------------------------------------------


def test_jp007_placeholder_in_system_template() -> None:
    [finding] = lint(GOOD_TEST_SYSTEM + "\nYou write {{generated_module}}.\n", "test_system")
    assert (finding.code, finding.severity) == ("JP007", "warning")
    assert (finding.line, finding.column) == (6, 11)


def test_jp007_static_system_template_passes() -> None:
    assert lint(GOOD_SYSTEM, "build_system") == []


# ---- JP008 unknown-template-file ---------------------------------------------------------------


def test_jp008_misspelt_file_in_set_dir(tmp_path: Path) -> None:
    root = write_set(tmp_path / "myset", build_sytem=GOOD_SYSTEM)
    [finding] = lint_set_dir(root)
    assert finding.code == "JP008"
    assert finding.path == str(root / "build_sytem.md")
    assert "did you mean build_system.md?" in finding.message


def test_jp008_template_names_pass(tmp_path: Path) -> None:
    root = write_set(tmp_path / "myset", build_system=GOOD_SYSTEM, build_module=GOOD_BUILD_MODULE)
    assert lint_set_dir(root) == []


# ---- JP009 placeholder-lookalike ---------------------------------------------------------------


@pytest.mark.parametrize(
    "lookalike", ["{spec_module}", "{ specs_block }", "${spec_module}", r"\{{spec_module}}"]
)
def test_jp009_lookalikes_of_known_names(lookalike: str) -> None:
    findings = lint(f"Module: {lookalike}.", role=None)
    assert codes(findings) == ["JP009"]
    assert findings[0].column == 9


@pytest.mark.parametrize(
    "text", ["f'{x}' and {name}", r"\\{{spec_module}}", "{{spec_module}}", "${HOME}"]
)
def test_jp009_quiet_on_code_and_real_placeholders(text: str) -> None:
    assert lint(text, role=None) == []


# ---- JP010-JP012 instruction rules (on the system + module pair) ------------------------------


@pytest.mark.parametrize(
    ("code", "phrase"),
    [
        ("JP010", "Output Python code only, no Markdown fences."),
        ("JP011", "Define every required top-level name."),
        ("JP012", "Never edit the user's files."),
    ],
)
def test_instruction_rules_fail_when_the_pair_lacks_the_phrase(
    tmp_path: Path, code: str, phrase: str
) -> None:
    assert phrase in GOOD_SYSTEM
    system = GOOD_SYSTEM.replace(phrase, "")
    root = write_set(tmp_path / "s", build_system=system, build_module=GOOD_BUILD_MODULE)
    [finding] = lint_set_dir(root)
    assert finding.code == code
    assert (finding.path, finding.line, finding.column) == (str(root / "build_system.md"), 1, 1)
    # The same phrase in the module template satisfies the rule: the model reads both.
    module = GOOD_BUILD_MODULE.replace("Write", phrase + "\nWrite")
    write_set(root, build_module=module)
    assert lint_set_dir(root) == []


@pytest.mark.parametrize(
    "phrase",
    [
        "Reply with code only.",
        "Return only the Python source.",
        "Answer with the source of the module only.",
        "Do not use fences.",
        "Respond without Markdown.",
        "NO COMMENTARY.",
        "Send nothing but the code.",
    ],
)
def test_jp010_accepts_several_phrasings(tmp_path: Path, phrase: str) -> None:
    system = f"{phrase}\nThe required names must be defined. Do not modify user files.\n"
    root = write_set(tmp_path / "s", test_system=system, test_module=GOOD_TEST_MODULE)
    assert lint_set_dir(root) == []


@pytest.mark.parametrize(
    "phrase",
    [
        "Do not touch any files of the user.",
        "You must not modify existing files.",
        "Don't change spec files.",
        "Leave the user's files untouched.",
    ],
)
def test_jp012_accepts_several_phrasings(tmp_path: Path, phrase: str) -> None:
    system = f"Code only. You must define the expected names.\n{phrase}\n"
    root = write_set(tmp_path / "s", build_system=system, build_module=GOOD_BUILD_MODULE)
    assert lint_set_dir(root) == []


def test_instruction_rules_pair_a_lone_file_with_the_packaged_partner() -> None:
    # The packaged build_system carries every instruction, so a lean module template is fine...
    assert lint(GOOD_BUILD_MODULE) == []
    # ...and a set with both templates custom is checked on its own texts.
    ts = load_packaged_set()
    assert ts.templates["build_system"].text == PACKAGED["build_system"]


def test_instruction_findings_land_on_the_custom_template(tmp_path: Path) -> None:
    root = write_set(tmp_path / "s", test_system="Be nice.\n", test_module=GOOD_TEST_MODULE)
    findings = lint_template_set(load_set_dir(root))
    assert sorted(codes(findings)) == ["JP010", "JP011", "JP012"]
    assert {f.path for f in findings} == {str(root / "test_system.md")}


# ---- JP013 build-asks-for-tests / JP014 test-asks-for-implementation -------------------------


@pytest.mark.parametrize(
    "request_text",
    [
        "Also write tests for every function.",
        "Please add some unit tests at the end.",
        "Include a test suite.",
        "Implement the module, and WRITE PYTEST TESTS too.",
        "Return the implementation with tests.",
        "Do not edit user files, and add tests.",
    ],
)
def test_jp013_build_template_asking_for_tests(request_text: str) -> None:
    findings = lint(GOOD_SYSTEM + request_text + "\n", "build_system")
    assert codes(findings) == ["JP013"]
    assert findings[0].line == 4


@pytest.mark.parametrize(
    "prohibition",
    [
        "Do not write tests: no test functions, no test classes.",
        "Never add tests.",
        "Don't include unit tests or demos.",
        "You must not generate tests.",
        "Write the implementation of the specs; no tests.",
        "Write the module without tests.",
        "Write code for the tests to import.",
        "Stay consistent with tests in the repository.",
        "Write testable code.",
    ],
)
def test_jp013_prohibitions_are_not_requests(prohibition: str) -> None:
    assert lint(GOOD_SYSTEM + prohibition + "\n", "build_system") == []


def test_jp013_only_for_build_templates() -> None:
    assert lint(GOOD_TEST_SYSTEM + "Write tests.\n", "test_system") == []


@pytest.mark.parametrize(
    "request_text",
    [
        "Also write the implementation of each function.",
        "Provide an implementation for the code under test.",
        "Implement the functions, then test them.",
        "implement every class named in the specs.",
    ],
)
def test_jp014_test_template_asking_for_implementation(request_text: str) -> None:
    findings = lint(GOOD_TEST_MODULE + request_text, "test_module")
    assert "JP014" in codes(findings)


@pytest.mark.parametrize(
    "fine",
    [
        "Do not write implementation code.",
        "Never implement, stub or redefine the code under test.",
        "Write the tests, implementing the test specs of the module.",
        "Implement the test functions the specs describe.",
        "Do not reimplement the code under test.",
        "Write tests for the implementation.",
    ],
)
def test_jp014_prohibitions_and_test_work_pass(fine: str) -> None:
    assert lint(GOOD_TEST_SYSTEM + fine + "\n", "test_system") == []


def test_jp014_only_for_test_templates() -> None:
    assert lint(GOOD_SYSTEM + "Write the implementation.\n", "build_system") == []


# ---- JP020 unreadable-file -------------------------------------------------------------------


def test_jp020_invalid_utf8_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "build_system.md"
    path.write_bytes(b"fine line\nab\xff cd\n")
    [finding] = lint_file(path)
    assert finding.code == "JP020"
    assert (finding.path, finding.line, finding.column) == (str(path), 2, 3)
    assert "UTF-8" in finding.message


def test_jp020_missing_file_and_directory(tmp_path: Path) -> None:
    [missing] = lint_file(tmp_path / "nope.md")
    assert (missing.code, missing.message) == ("JP020", "template file not found")
    [directory] = lint_file(tmp_path)
    assert directory.code == "JP020"


def test_jp020_in_a_set_dir_skips_pair_checks(tmp_path: Path) -> None:
    root = write_set(tmp_path / "s", build_module=GOOD_BUILD_MODULE)
    (root / "build_system.md").write_bytes(b"\xc3\x28")
    assert codes(lint_set_dir(root)) == ["JP020"]


def test_readable_utf8_with_bom_passes(tmp_path: Path) -> None:
    path = tmp_path / "build_system.md"
    path.write_bytes("\ufeff".encode() + GOOD_SYSTEM.encode())
    assert lint_file(path) == []


# ---- API details -------------------------------------------------------------------------------


def test_role_is_inferred_from_the_file_name(tmp_path: Path) -> None:
    assert template_name_of("x/test_module.md") == "test_module"
    assert template_name_of("x/test_module.txt") is None
    assert template_name_of("notes.md") is None
    path = tmp_path / "notes.md"
    path.write_text("{{spec_module}} only", encoding="utf-8")
    assert lint_file(path) == []  # no role: no JP003
    assert codes(lint_file(path, template_name="build_module"))[0] == "JP003"


def test_findings_are_sorted_and_comparable() -> None:
    findings = lint("{{b_x}}\n{{a_x}} {{spec_modul}}", role=None)
    assert findings == sorted(findings)
    assert [(f.line, f.column) for f in findings] == [(1, 1), (2, 1), (2, 9)]
    assert str(findings[0]).startswith("set/notes.md:1:1: JP002 ")


def test_prompts_config_overrides(tmp_path: Path) -> None:
    module = tmp_path / "mod.md"
    module.write_text(GOOD_BUILD_MODULE.replace("{{specs_block}}", "{{spec_block}}"), "utf-8")
    findings = lint_prompts_config(PromptsConfig(build_module=str(module)))
    assert sorted(codes(findings)) == ["JP002", "JP003"]
    assert lint_prompts_config(PromptsConfig()) == []
    [missing] = lint_prompts_config(PromptsConfig(test_system=str(tmp_path / "gone.md")))
    assert missing.code == "JP020"


def test_missing_set_dir_is_a_finding(tmp_path: Path) -> None:
    [finding] = lint_set_dir(tmp_path / "nope")
    assert (finding.code, finding.message) == ("JP020", "template set directory not found")


# ---- JP015 missing-test-import-rules (on the test pair) -------------------------------------


def test_jp015_packaged_test_templates_carry_jaunts_import_rules() -> None:
    assert "JP015" not in codes(lint_template_set(load_packaged_set()))


@pytest.mark.parametrize(
    ("rule_text", "what"),
    [
        (
            "Import the code under test from the modules the dependency APIs name, never from "
            "`{{generated_module}}` or the test spec module. ",
            "dependency APIs name",
        ),
        ("never from `{{generated_module}}` or the test spec module", "generated module"),
        ("Do not guess module names.", "guessing module names"),
    ],
)
def test_jp015_each_missing_import_rule_is_one_finding(
    tmp_path: Path, rule_text: str, what: str
) -> None:
    assert rule_text in GOOD_TEST_MODULE
    module = GOOD_TEST_MODULE.replace(rule_text, "")
    root = write_set(tmp_path / "s", test_system=GOOD_SYSTEM, test_module=module)
    found = [f for f in lint_set_dir(root) if f.code == "JP015"]
    assert len(found) >= 1
    assert any(what in f.message for f in found), [f.message for f in found]


def test_jp015_does_not_apply_to_build_templates(tmp_path: Path) -> None:
    root = write_set(tmp_path / "s", build_system=GOOD_SYSTEM, build_module=GOOD_BUILD_MODULE)
    assert lint_set_dir(root) == []


def test_jp015_accepts_jaunts_own_wording(tmp_path: Path) -> None:
    # jaunt e0d804b's test_module.md lines, as jaunt wrote them.
    jaunt_rules = (
        "- Do not import from `{{generated_module}}` (that would be a circular import).\n"
        "- Do not guess or search for application modules like `app`, `main`, `token`, etc.\n"
        "- Import the production APIs under test from the modules listed in Dependency APIs "
        "above.\n"
    )
    module = GOOD_BUILD_MODULE.replace("Write", jaunt_rules + "Write the tests", 1)
    root = write_set(tmp_path / "s", test_system=GOOD_SYSTEM, test_module=module)
    assert lint_set_dir(root) == []
