"""`jaunt-prompts eval` against SmolLM2-135M on loopback (``-m real_model``, e2e group).

The model is reached through a recording proxy, so the test can take the endpoint away
(stop the proxy) and prove that a replay from the response cache sends nothing and prints
the same report.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.llama_server import LlamaServer
from helpers.recording_proxy import RecordingProxy

from jaunt.promptkit.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
KEY_ENV = "OPENAI_API_KEY"


@pytest.mark.real_model
def test_eval_two_sets_then_replay_without_the_server(
    real_model_server: LlamaServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(KEY_ENV, "local")  # llama.cpp ignores keys; the backend wants one
    monkeypatch.chdir(ROOT)
    cache = tmp_path / "cache"
    with RecordingProxy(real_model_server.base_url) as proxy:
        args = [
            "eval", "b12_retry_syntax_error", "b05_palindrome",
            "--prompts", "eval_sets/jaunt_original", "--set", "packaged",
            "--base-url", proxy.base_url, "--model", real_model_server.model,
            "--seed", "1", "--temperature", "0.7", "--max-output-tokens", "256",
            "--cache", str(cache),
        ]  # fmt: skip
        code = main(args)
        first, err = capsys.readouterr()
        assert code == 0, err
        assert proxy.exchanges  # the model was asked
    assert "set jaunt_original: valid " in first
    assert "set packaged: valid " in first
    assert "% [" in first  # the Wilson interval
    assert "packaged vs jaunt_original on valid: " in first
    assert "sign test p = " in first
    # The proxy is gone: the endpoint refuses connections. The replay needs none.
    code = main(args)
    second, err = capsys.readouterr()
    assert code == 0, err
    assert "0 request(s) sent" in err
    assert second == first
