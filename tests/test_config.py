"""``jaunt.toml`` loading: values, defaults, path resolution, and errors naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from jaunt.promptkit.errors import ConfigError
from jaunt.promptkit.settings import (
    DEFAULT_MAX_OUTPUT_TOKENS,
    JauntConfig,
    LLMConfig,
    PromptsConfig,
    find_config,
    load_config,
    parse_config,
)
from jaunt.promptkit.template_set import load_set_from_config


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "jaunt.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_full_llm_table_is_read(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
[llm]
provider = "openai"
model = "gpt-5-mini"
api_key_env = "MY_KEY"
base_url = "http://127.0.0.1:8080/v1"
timeout_s = 30
max_retries = 0
max_output_tokens = 512
temperature = 0.2
token_limit_param = "max_tokens"
""",
    )
    config = load_config(path)
    assert config.llm == LLMConfig(
        provider="openai",
        model="gpt-5-mini",
        api_key_env="MY_KEY",
        base_url="http://127.0.0.1:8080/v1",
        timeout_s=30.0,
        max_retries=0,
        max_output_tokens=512,
        temperature=0.2,
        token_limit_param="max_tokens",
    )
    assert config.prompts == PromptsConfig()
    assert config.path == path.absolute()


def test_defaults_and_other_tables_ignored(tmp_path: Path) -> None:
    path = _write(tmp_path, '[build]\nwhatever = 1\n\n[llm]\nmodel = "m"\n')
    llm = load_config(path).llm
    assert llm is not None
    assert (llm.provider, llm.api_key_env, llm.base_url) == ("openai", "OPENAI_API_KEY", None)
    assert llm.max_output_tokens == DEFAULT_MAX_OUTPUT_TOKENS
    assert llm.token_limit_param == "auto"
    assert llm.temperature is None


def test_no_llm_table_gives_none(tmp_path: Path) -> None:
    assert load_config(_write(tmp_path, "")) == JauntConfig(
        path=(tmp_path / "jaunt.toml").absolute(), llm=None, prompts=PromptsConfig()
    )


def test_relative_prompt_paths_resolve_against_the_config_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    (project / "prompts").mkdir(parents=True)
    (project / "prompts" / "bs.md").write_text("Static build system prompt.\n", encoding="utf-8")
    _write(
        project,
        '[prompts]\nbuild_system = "prompts/bs.md"\ntest_module = "/abs/tm.md"\n'
        "allow_outside_project = true\n",
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    prompts = load_config(project / "jaunt.toml").prompts
    assert prompts.build_system == str(project / "prompts" / "bs.md")
    assert Path(prompts.build_system).is_absolute()
    assert prompts.test_module == "/abs/tm.md"
    assert prompts.build_module == ""
    # The loaded set really uses the file, though the current directory is elsewhere.
    templates = load_set_from_config(
        PromptsConfig(build_system=prompts.build_system),
    )
    assert templates.system("build").render({}) == "Static build system prompt.\n"


def test_relative_config_path_gives_absolute_prompt_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path, '[prompts]\nbuild_module = "p/bm.md"\n')
    monkeypatch.chdir(tmp_path)
    prompts = load_config("jaunt.toml").prompts
    assert prompts.build_module == str(tmp_path / "p" / "bm.md")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[llm]\nmodel = "m"\nmodle = "x"\n', "key 'llm.modle': unknown key"),
        ("[llm]\nmodel = 3\n", "key 'llm.model': must be a string, not integer"),
        ('[llm]\nprovider = "openai"\n', "key 'llm.model': missing required key"),
        ('[llm]\nmodel = ""\n', "key 'llm.model': must not be empty"),
        ('[llm]\nmodel = "m"\ntimeout_s = "10"\n', "key 'llm.timeout_s': must be a number"),
        ('[llm]\nmodel = "m"\ntimeout_s = 0\n', "key 'llm.timeout_s': must be greater than 0"),
        ('[llm]\nmodel = "m"\nmax_retries = true\n', "key 'llm.max_retries': must be an integer"),
        ('[llm]\nmodel = "m"\nmax_retries = -1\n', "key 'llm.max_retries': must be at least 0"),
        ('[llm]\nmodel = "m"\nmax_output_tokens = 0\n', "'llm.max_output_tokens': must be at"),
        ('[llm]\nmodel = "m"\ntemperature = 3\n', "key 'llm.temperature': must be between"),
        ('[llm]\nmodel = "m"\ntoken_limit_param = "x"\n', "'llm.token_limit_param': must be one"),
        ('[llm]\nmodel = "m"\nprovider = "anthropic"\n', "key 'llm.provider': unsupported"),
        ('[llm]\nmodel = "m"\napi_key_env = " "\n', "key 'llm.api_key_env': must name"),
        ('[llm]\nmodel = "m"\nbase_url = "localhost:8080/v1"\n', "key 'llm.base_url': must be"),
        ('llm = "gpt"\n', "key 'llm': must be a table ([llm]), not string"),
        ('[prompts]\nbuild_sytem = "x.md"\n', "key 'prompts.build_sytem': unknown key"),
        ("[prompts]\nbuild_system = 1\n", "key 'prompts.build_system': must be a string"),
    ],
)
def test_bad_values_name_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert expected in message


def test_invalid_toml_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, '[llm]\nmodel = "m"\nbroken = \n')
    with pytest.raises(ConfigError, match=r"invalid TOML: .*line 3") as info:
        load_config(path)
    assert str(info.value).startswith(str(path))


def test_missing_and_undecodable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "jaunt.toml"
    bad.write_bytes(b'[llm]\nmodel = "\xff"\n')
    with pytest.raises(ConfigError, match=r"jaunt\.toml:2:\d+: not valid UTF-8"):
        load_config(bad)


def test_find_config_walks_up(tmp_path: Path) -> None:
    _write(tmp_path, "")
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert find_config(nested) == (tmp_path / "jaunt.toml").resolve()
    assert find_config(tmp_path / "a") == (tmp_path / "jaunt.toml").resolve()


def test_find_config_none(tmp_path: Path) -> None:
    # /tmp-like directories normally have no jaunt.toml above them; guard the assumption.
    if any((p / "jaunt.toml").exists() for p in (tmp_path, *tmp_path.parents)):
        pytest.skip("a jaunt.toml exists above the temporary directory")
    assert find_config(tmp_path) is None


def test_capture_dir_resolves_against_config(tmp_path: Path) -> None:
    path = _write(tmp_path, '[llm]\nmodel = "m"\ncapture_fixtures_dir = "captured"\n')
    llm = load_config(path).llm
    assert llm is not None
    assert llm.capture_fixtures_dir == str(tmp_path / "captured")


def test_repr_holds_the_variable_name_only() -> None:
    llm = LLMConfig(provider="openai", model="m", api_key_env="SOME_KEY_VAR")
    assert "SOME_KEY_VAR" in repr(llm)


def test_max_source_chars_is_read_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "jaunt.toml"
    path.write_text('[llm]\nmodel = "m"\nmax_source_chars = 5000\n')
    config = load_config(path)
    assert config.llm is not None
    assert config.llm.max_source_chars == 5000
    path.write_text('[llm]\nmodel = "m"\nmax_source_chars = 0\n')
    with pytest.raises(ConfigError, match=r"llm\.max_source_chars.*at least 1"):
        load_config(path)


# --- hostile and faulty settings: one line naming the key ------------------------------------


@pytest.mark.parametrize(
    ("toml", "key", "message"),
    [
        ('[llm]\nmodel = "m"\ntimeout_s = nan\n', "llm.timeout_s", "finite"),
        ('[llm]\nmodel = "m"\ntimeout_s = inf\n', "llm.timeout_s", "finite"),
        ('[llm]\nmodel = "m"\ntemperature = nan\n', "llm.temperature", "finite"),
        ('[llm]\nmodel = "m"\nbase_url = "http://::1:8080/v1"\n', "llm.base_url", "brackets"),
        ('[llm]\nmodel = "m"\nbase_url = "http://h:99999/v1"\n', "llm.base_url", "valid URL"),
        ('[llm]\nmodel = "m"\nbase_url = "http://10.0.0.5:8080/v1"\n', "llm.base_url", "https"),
        ('[prompts]\nbuild_system = "a\\u0000b.md"\n', "prompts.build_system", "NUL"),
        (
            '[llm]\nmodel = "m"\ncapture_fixtures_dir = "x\\u0000"\n',
            "llm.capture_fixtures_dir",
            "NUL",
        ),
        ('[prompts]\nbuild_system = "/etc/passwd"\n', "prompts.build_system", "outside"),
        ('[prompts]\nbuild_system = "../x.md"\n', "prompts.build_system", "allow_outside_project"),
        (
            '[llm]\nmodel = "m"\ncapture_fixtures_dir = "/tmp/c"\n',
            "llm.capture_fixtures_dir",
            "outside",
        ),
        (
            '[prompts]\nallow_outside_project = "yes"\n',
            "prompts.allow_outside_project",
            "true or false",
        ),
    ],
)
def test_hostile_settings_are_one_line_errors_naming_the_key(
    tmp_path: Path, toml: str, key: str, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(toml, path="jaunt.toml", base_dir=tmp_path)
    text = str(info.value)
    assert f"key '{key}'" in text
    assert message in text
    assert "\n" not in text


def test_a_symlink_out_of_the_project_is_refused_without_consent(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("id_rsa", "utf-8")
    project = tmp_path / "project"
    project.mkdir()
    (project / "bs.md").symlink_to(secret)
    with pytest.raises(ConfigError, match="outside the project folder"):
        parse_config('[prompts]\nbuild_system = "bs.md"\n', path="jaunt.toml", base_dir=project)
    allowed = parse_config(
        '[prompts]\nbuild_system = "bs.md"\nallow_outside_project = true\n',
        path="jaunt.toml",
        base_dir=project,
    )
    assert allowed.prompts.build_system == str(project / "bs.md")


def test_plain_http_elsewhere_needs_consent_and_loopback_does_not(tmp_path: Path) -> None:
    for url in ("http://127.0.0.1:8080/v1", "http://localhost/v1", "http://[::1]:9/v1"):
        config = parse_config(
            f'[llm]\nmodel = "m"\nbase_url = "{url}"\n', path="jaunt.toml", base_dir=tmp_path
        )
        assert config.llm is not None
        assert config.llm.base_url == url
    config = parse_config(
        '[llm]\nmodel = "m"\nbase_url = "http://gpu-box:8080/v1"\nallow_insecure_base_url = true\n',
        path="jaunt.toml",
        base_dir=tmp_path,
    )
    assert config.llm is not None
    assert config.llm.allow_insecure_base_url


def test_base_url_error_hides_user_info(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(
            '[llm]\nmodel = "m"\nbase_url = "http://bob:hunter2@gpu-box/v1"\n',
            path="jaunt.toml",
            base_dir=tmp_path,
        )
    assert "hunter2" not in str(info.value)
