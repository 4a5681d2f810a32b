"""jaunt adopting this layer: jaunt's own settings objects, errors, the manifest and scripts.

The full check (jaunt's suite with the layer inside) is scripts/check_jaunt_adoption.sh,
run by .ci/run; these tests keep its pieces honest on every pytest run.
"""

from __future__ import annotations

import ast
import asyncio
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers.fake_openai import FakeOpenAIServer, Reply
from shop_context import SHOP_CTX

from jaunt.errors import JauntConfigError
from jaunt.generate.openai_backend import OpenAIBackend
from jaunt.promptkit.errors import ConfigError, TemplateError
from jaunt.promptkit.settings import JAUNT_DEFAULTS, LLMConfig, llm_settings

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
# Next to the checkout (../shared), or one level up from a worktree (/work/wt/<name>).
PEER_JAUNT = next(
    (
        base / "shared" / "peer" / "jaunt"
        for base in (ROOT.parent, ROOT.parent.parent)
        if (base / "shared" / "peer" / "jaunt").is_dir()
    ),
    ROOT.parent / "shared" / "peer" / "jaunt",
)
KEY_ENV = "JAUNT_TEST_OPENAI_KEY"
GOOD = "def apply_discount(price, percent):\n    return price\n\n\nclass Cart:\n    pass"


@dataclass(frozen=True)
class JauntLLMConfig:
    """jaunt's own ``jaunt.config.LLMConfig`` at ffb457e: three fields, nothing of ours."""

    provider: str
    model: str
    api_key_env: str


@dataclass(frozen=True)
class JauntPromptsConfig:
    build_system: str
    build_module: str
    test_system: str
    test_module: str


JAUNT_LLM = JauntLLMConfig(provider="openai", model="gpt-test", api_key_env=KEY_ENV)


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-test-adoption")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


# --- settings ---------------------------------------------------------------------------------


def test_jaunt_llm_config_gets_jaunt_defaults() -> None:
    settings = llm_settings(JAUNT_LLM)
    assert (settings.provider, settings.model, settings.api_key_env) == (
        "openai",
        "gpt-test",
        KEY_ENV,
    )
    assert settings.timeout_s == JAUNT_DEFAULTS["timeout_s"] == 600.0
    assert settings.max_output_tokens == JAUNT_DEFAULTS["max_output_tokens"]
    assert settings.max_retries == JAUNT_DEFAULTS["max_retries"]
    assert settings.temperature is None
    assert settings.base_url is None  # the SDK then reads OPENAI_BASE_URL, as jaunt's did


def test_fields_jaunt_adds_are_taken() -> None:
    @dataclass(frozen=True)
    class Extended(JauntLLMConfig):
        max_output_tokens: int = 999
        max_source_chars: int = 5000
        temperature: float | None = 0.2

    settings = llm_settings(Extended("openai", "m", KEY_ENV))
    assert (settings.max_output_tokens, settings.max_source_chars, settings.temperature) == (
        999,
        5000,
        0.2,
    )


def test_our_llm_config_is_used_as_is() -> None:
    ours = LLMConfig(provider="openai", model="m", api_key_env=KEY_ENV)
    assert llm_settings(ours) is ours


def test_settings_object_without_required_fields_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"LLM settings \(object\) have no 'provider'"):
        llm_settings(object())


def test_backend_from_jaunt_settings_sends_jaunt_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with FakeOpenAIServer() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        server.script(Reply(content=f"```python\n{GOOD}\n```"))

        async def main() -> str:
            async with OpenAIBackend(JAUNT_LLM, JauntPromptsConfig("", "", "", "")) as backend:
                return await backend.generate_module(SHOP_CTX)

        assert asyncio.run(main()) == GOOD  # the code as fenced, no newline added
        body = server.requests[0].body
    assert body["model"] == "gpt-test"
    assert body["max_tokens"] == JAUNT_DEFAULTS["max_output_tokens"]
    assert "temperature" not in body


# --- errors jaunt's CLI catches ---------------------------------------------------------------


def test_missing_key_keeps_jaunt_wording_and_adds_ours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(JauntConfigError) as info:
        OpenAIBackend(JAUNT_LLM)
    text = str(info.value)
    assert text.startswith(f"Missing API key: {KEY_ENV}. Set it in the environment or add it")
    assert f"environment variable {KEY_ENV} is not set or empty" in text
    assert "\n" not in text


def test_repr_never_raises_even_when_init_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV)
    backend = OpenAIBackend.__new__(OpenAIBackend)
    assert repr(backend).startswith("OpenAIBackend(")  # nothing set at all
    with pytest.raises(ConfigError):
        backend.__init__(JAUNT_LLM)  # type: ignore[misc]
    assert "gpt-test" in repr(backend)


def test_old_jaunt_template_literal_braces_are_a_one_line_config_error(tmp_path: Path) -> None:
    # jaunt's renderer left unknown `{{...}}` alone; ours refuses them with the escape to use.
    template = tmp_path / "build_module.md"
    template.write_text('Write {{generated_module}}.\nReturn JSON like {{"a": 1}}.\n')
    prompts = JauntPromptsConfig("", str(template), "", "")
    with pytest.raises(JauntConfigError) as info:
        OpenAIBackend(JAUNT_LLM, prompts)  # type: ignore[arg-type]
    assert isinstance(info.value, TemplateError)
    text = str(info.value)
    assert text.startswith(f"{template}:2:18: invalid placeholder")
    assert "write '\\{{' for a literal '{{'" in text
    assert "\n" not in text


# --- the manifest and the scripts ------------------------------------------------------------

STAND_INS = {"jaunt/__init__.py", "jaunt/config.py", "jaunt/errors.py", "jaunt/spec_ref.py"}
LAYER1_REPLACED = {
    "jaunt/validation.py",
    "jaunt/generate/base.py",
    "jaunt/generate/openai_backend.py",
    *(
        f"jaunt/prompts/{n}.md"
        for n in ("build_system", "build_module", "test_system", "test_module")
    ),
}
# What jaunt (ffb457e) has under src/jaunt, besides the Layer 1 files above.
JAUNT_OWN = [
    *STAND_INS,
    "jaunt/__main__.py",
    "jaunt/builder.py",
    "jaunt/cli.py",
    "jaunt/tester.py",
    "jaunt/skill/__init__.py",
]


def _fake_jaunt_tree(root: Path, extra: tuple[str, ...] = ()) -> Path:
    for rel in [*JAUNT_OWN, *LAYER1_REPLACED, *extra]:
        path = root / "src" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# jaunt's own\n")
    return root


def _apply(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "apply_adoption_manifest.py"), str(tree)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _layer_files() -> set[str]:
    tracked = subprocess.run(
        ["git", "ls-files", "jaunt"], cwd=SRC, capture_output=True, text=True, check=True
    ).stdout.split()
    return set(tracked) - STAND_INS


def test_manifest_overlays_every_layer_file_and_keeps_jaunts_own(tmp_path: Path) -> None:
    tree = _fake_jaunt_tree(tmp_path)
    done = _apply(tree)
    assert done.returncode == 0, done.stderr
    for rel in _layer_files():
        assert (tree / "src" / rel).read_bytes() == (SRC / rel).read_bytes(), rel
    for rel in JAUNT_OWN:
        assert (tree / "src" / rel).read_text() == "# jaunt's own\n", rel


def test_manifest_refuses_to_shadow_a_jaunt_module(tmp_path: Path) -> None:
    tree = _fake_jaunt_tree(tmp_path, extra=("jaunt/templates.py",))
    done = _apply(tree)
    assert done.returncode == 1
    assert "would replace jaunt's own jaunt/templates.py (not a Layer 1 file)" in done.stderr
    assert done.stderr.count("\n") == 1


def test_our_code_imports_only_names_jaunts_modules_define() -> None:
    # jaunt keeps its own errors.py / config.py / spec_ref.py / __init__.py: whatever the layer
    # takes from them must exist there (jaunt ffb457e's names).
    jaunt_names = {
        "jaunt.errors": {
            "JauntError",
            "JauntConfigError",
            "JauntDiscoveryError",
            "JauntNotBuiltError",
            "JauntGenerationError",
            "JauntDependencyCycleError",
        },
        "jaunt.spec_ref": {"SpecRef", "normalize_spec_ref", "spec_ref_from_object"},
        "jaunt.config": set(),  # the layer reads jaunt's settings objects, never imports them
        "jaunt": set(),
    }
    wrong = []
    for rel in sorted(_layer_files()):
        if not rel.endswith(".py"):
            continue
        tree = ast.parse((SRC / rel).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in jaunt_names and not node.level:
                wrong += [
                    f"{rel}: {node.module}.{a.name}"
                    for a in node.names
                    if a.name not in jaunt_names[node.module]
                ]
            if isinstance(node, ast.Import):
                wrong += [f"{rel}: import {a.name}" for a in node.names if a.name == "jaunt.config"]
    assert wrong == []


def test_adopt_pyproject_edits_packaging_only(tmp_path: Path) -> None:
    source = PEER_JAUNT / "pyproject.toml"
    if not source.is_file():
        pytest.skip("jaunt's source is not next to this checkout (../shared/peer/jaunt)")
    (tmp_path / "pyproject.toml").write_text(source.read_text())
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "adopt_pyproject.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    adopted = tomllib.loads((tmp_path / "pyproject.toml").read_text())
    ours = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = adopted["project"]
    assert project["name"] == "jaunt"
    assert project["requires-python"] == ">=3.11"
    assert set(ours["project"]["dependencies"]) <= set(project["dependencies"])
    assert not any(d.startswith("openai") and "<2" in d for d in project["dependencies"])
    assert project["scripts"] == {
        "jaunt": "jaunt.cli:main",
        "jaunt-prompts": "jaunt.promptkit.cli.main:main",
    }
    assert project["entry-points"]["pytest11"] == {
        "jaunt_prompts": "jaunt.promptkit.snapshots.plugin"
    }
    assert "pytest>=8" in adopted["dependency-groups"]["dev"]
    assert "pytest>=8" in done.stdout.splitlines()


def test_manifest_may_replace_only_layer1_files(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.txt"
    manifest.write_text("replace jaunt/templates.py\n")
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import apply_adoption_manifest as apply_script
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    with pytest.raises(apply_script.ManifestError, match="not one of jaunt's Layer 1 files"):
        apply_script.read_manifest(manifest)
    replace, _ = apply_script.read_manifest()
    assert set(replace) == LAYER1_REPLACED
