"""Loading templates: packaged defaults, override directories, ``[prompts]`` paths, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from jaunt.promptkit.errors import TemplateFileError, TemplateSyntaxError
from jaunt.promptkit.messages import PLACEHOLDER_NAMES
from jaunt.promptkit.settings import PromptsConfig
from jaunt.promptkit.template_set import (
    TEMPLATE_NAMES,
    load_packaged_set,
    load_set_dir,
    load_set_from_config,
    load_template_file,
    packaged_template_path,
)


def test_packaged_set_has_all_four_templates_from_real_files() -> None:
    ts = load_packaged_set()
    assert ts.name == "packaged"
    for name in TEMPLATE_NAMES:
        path = Path(packaged_template_path(name))
        assert path.is_file()
        assert ts.templates[name].path == str(path)
        assert ts.templates[name].placeholders <= set(PLACEHOLDER_NAMES)


def test_packaged_templates_are_parsed_once() -> None:
    assert load_packaged_set().templates["build_module"] is load_packaged_set().module("build")


def test_system_templates_are_static_for_prompt_caching() -> None:
    ts = load_packaged_set()
    assert ts.system("build").placeholders == frozenset()
    assert ts.system("test").placeholders == frozenset()


def test_error_context_is_the_last_thing_in_module_templates() -> None:
    for kind in ("build", "test"):
        template = load_packaged_set().module(kind)
        assert template.occurrences[-1].name == "error_context_block"
        assert template.literals[-1].strip() == ""


def test_override_dir_replaces_present_files_and_falls_back_for_others(tmp_path: Path) -> None:
    (tmp_path / "build_module.md").write_text("Only {{specs_block}}\n", encoding="utf-8")
    ts = load_set_dir(tmp_path)
    assert ts.name == tmp_path.name
    assert ts.module("build").path == str(tmp_path / "build_module.md")
    assert ts.module("build").placeholders == frozenset({"specs_block"})
    assert ts.module("test") is load_packaged_set().module("test")


def test_missing_set_dir_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(TemplateFileError, match="template set directory not found") as info:
        load_set_dir(missing)
    assert info.value.path == str(missing)


def test_config_paths_override_one_by_one(tmp_path: Path) -> None:
    custom = tmp_path / "sys.md"
    custom.write_text("Static system prompt.\n", encoding="utf-8")
    ts = load_set_from_config(PromptsConfig(test_system=str(custom)))
    assert ts.system("test").path == str(custom)
    assert ts.system("build") is load_packaged_set().system("build")
    assert load_set_from_config(PromptsConfig()).name == "packaged"
    assert load_set_from_config(None).name == "packaged"


def test_missing_override_file_names_its_path(tmp_path: Path) -> None:
    missing = tmp_path / "gone.md"
    with pytest.raises(TemplateFileError) as info:
        load_set_from_config(PromptsConfig(build_module=str(missing)))
    assert str(missing) in str(info.value)
    assert "not found" in str(info.value)


def test_directory_given_as_template_file(tmp_path: Path) -> None:
    with pytest.raises(TemplateFileError, match="is a directory"):
        load_template_file(tmp_path)


def test_invalid_utf8_names_file_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_bytes(b"fine line\nab\xff cd {{x}}\n")
    with pytest.raises(TemplateFileError) as info:
        load_template_file(bad)
    err = info.value
    assert (err.path, err.line, err.column) == (str(bad), 2, 3)
    assert "not valid UTF-8" in str(err)
    assert "0xff" in str(err)


def test_bom_is_dropped(tmp_path: Path) -> None:
    f = tmp_path / "bom.md"
    f.write_bytes("\ufeff{{x}}".encode())
    assert load_template_file(f).render({"x": "v"}) == "v"


def test_syntax_error_in_override_file_names_file_line_col(tmp_path: Path) -> None:
    f = tmp_path / "build_module.md"
    f.write_text("ok\n  {{specs_block}\n", encoding="utf-8")
    with pytest.raises(TemplateSyntaxError) as info:
        load_set_dir(tmp_path)
    assert str(info.value).startswith(f"{f}:2:3: ")
