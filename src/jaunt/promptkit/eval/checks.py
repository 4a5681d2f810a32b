"""Behavioural checks: run model-written code, carefully, only when asked.

Running what a model wrote is running untrusted code. ``eval`` does it only with
``--run-checks``, and then each check runs:

* in a separate process (``python -I``: no user site, no ``PYTHON*`` variables, no current
  folder on ``sys.path``), started in its own session so the whole process group is killed;
* in a fresh temporary folder outside the project (removed afterwards), which is also its
  ``HOME`` and ``TMPDIR``;
* with a wall-clock limit (the group is killed with SIGKILL when it passes) and, set in the
  child before the code is loaded, limits on address space (memory), CPU seconds, file size
  and core dumps;
* with a minimal environment built from scratch: ``PATH``, ``HOME``, ``TMPDIR``, ``LANG`` and
  ``PYTEST_DISABLE_PLUGIN_AUTOLOAD``; never an API key, ``*_API_KEY``, ``OPENAI_*`` or any other
  variable of the calling process.

This is damage limitation, not a sandbox: the code still runs as your user, can read your
files and use the network. Run checks on answers of models you trust, or inside a container.

A build fixture passes when every snippet of ``checks.asserts`` runs without an exception in a
namespace holding the generated module's names. A test fixture passes when the generated tests
pass (pytest exit 0) against ``checks.good`` and fail (exit 1) against ``checks.bad``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from jaunt.promptkit.fixtures import Fixture, FixtureChecks

DEFAULT_TIMEOUT_S = 20.0
DEFAULT_MEMORY_MB = 1024
MAX_OUTPUT_CHARS = 4000
TEST_FILE = "test_generated_eval.py"

# Runs in the child before anything else: sets the limits, then replaces itself with the
# real command, so the model's code never runs without them (and no thread-unsafe
# preexec_fn is needed in the parent).
_LIMITER = """\
import os, resource, sys
memory, cpu = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024 * 1024, 64 * 1024 * 1024))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
os.execv(sys.argv[3], sys.argv[3:])
"""

_BUILD_RUNNER = """\
import importlib, json, sys, traceback
sys.path.insert(0, sys.argv[1])
module = importlib.import_module(sys.argv[2])
with open(sys.argv[3], encoding="utf-8") as handle:
    snippets = json.load(handle)
for number, snippet in enumerate(snippets, 1):
    namespace = {k: v for k, v in vars(module).items() if not k.startswith("__")}
    try:
        exec(compile(snippet, f"<check {number}>", "exec"), namespace)
    except BaseException:
        print(f"check {number} failed:", file=sys.stderr)
        traceback.print_exc()
        sys.exit(1)
"""


@dataclass(frozen=True)
class CheckLimits:
    timeout_s: float = DEFAULT_TIMEOUT_S
    memory_mb: int = DEFAULT_MEMORY_MB


@dataclass(frozen=True)
class CheckResult:
    passed: bool
    detail: str  # why it failed ("" when it passed); the end of the output
    timed_out: bool = False


@dataclass(frozen=True)
class _Run:
    returncode: int
    output: str
    timed_out: bool


def child_environment(home: Path) -> dict[str, str]:
    """The whole environment a check gets: built from nothing, so no secret can leak in."""
    return {
        "PATH": os.defpath,
        "HOME": str(home),
        "TMPDIR": str(home),
        "LANG": "C.UTF-8",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    }


def run_checks(fixture: Fixture, source: str, limits: CheckLimits | None = None) -> CheckResult:
    """Run ``fixture``'s checks against the generated ``source`` (blocking; call it off-loop)."""
    checks = fixture.checks
    if checks is None:
        raise ValueError(f"fixture {fixture.name} has no checks")
    limits = limits or CheckLimits()
    if fixture.context.kind == "test":
        return _run_test_checks(checks, source, limits)
    return _run_build_checks(fixture.context.generated_module, checks, source, limits)


def _run_build_checks(
    module: str, checks: FixtureChecks, source: str, limits: CheckLimits
) -> CheckResult:
    with _workdir() as root:
        _write_modules(root, {**checks.modules, module: source})
        (root / "_checks.json").write_text(json.dumps(checks.asserts), encoding="utf-8")
        (root / "_runner.py").write_text(_BUILD_RUNNER, encoding="utf-8")
        run = _run(
            [sys.executable, "-I", str(root / "_runner.py"), str(root), module, "_checks.json"],
            root,
            limits,
        )
    if run.timed_out:
        return CheckResult(False, f"killed after {limits.timeout_s:g} s (time limit)", True)
    if run.returncode != 0:
        return CheckResult(False, run.output or f"exit code {run.returncode}")
    return CheckResult(True, "")


def _run_test_checks(checks: FixtureChecks, source: str, limits: CheckLimits) -> CheckResult:
    outcomes: dict[str, _Run] = {}
    for label, implementation in (("good", checks.good), ("bad", checks.bad)):
        with _workdir() as root:
            _write_modules(root, {**checks.modules, **implementation})
            (root / TEST_FILE).write_text(source, encoding="utf-8")
            (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
            command = [sys.executable, "-I", "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]
            command += ["-c", str(root / "pytest.ini"), "--rootdir", str(root), TEST_FILE]
            outcomes[label] = _run(command, root, limits)
        if outcomes[label].timed_out:
            return CheckResult(
                False, f"killed after {limits.timeout_s:g} s (time limit, {label} implementation)"
            )
    good, bad = outcomes["good"], outcomes["bad"]
    if good.returncode != 0:
        return CheckResult(False, f"the tests fail on the good implementation:\n{good.output}")
    if bad.returncode != 1:
        return CheckResult(False, f"the tests do not fail on the bad implementation:\n{bad.output}")
    return CheckResult(True, "")


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    """A fresh temporary folder (outside the project), removed on exit."""
    path = Path(tempfile.mkdtemp(prefix="jaunt-eval-check-")).resolve()
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _write_modules(root: Path, modules: dict[str, str]) -> None:
    for name, text in modules.items():
        parts = name.split(".")
        folder = root
        for part in parts[:-1]:
            folder = folder / part
            folder.mkdir(exist_ok=True)
            init = folder / "__init__.py"
            if not init.exists():
                init.write_text("", encoding="utf-8")
        (folder / f"{parts[-1]}.py").write_text(text, encoding="utf-8")


def _run(command: list[str], cwd: Path, limits: CheckLimits) -> _Run:
    memory = limits.memory_mb * 1024 * 1024
    cpu = max(1, int(limits.timeout_s) + 1)
    wrapped = [sys.executable, "-I", "-c", _LIMITER, str(memory), str(cpu), *command]
    process = subprocess.Popen(
        wrapped,
        cwd=cwd,
        env=child_environment(cwd),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: killed whole, children included
    )
    deadline = time.monotonic() + limits.timeout_s
    try:
        output, _ = process.communicate(timeout=max(0.0, deadline - time.monotonic()))
        timed_out = False
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        timed_out = True
    text = output.decode("utf-8", "replace")[-MAX_OUTPUT_CHARS:]
    return _Run(process.returncode, text.strip(), timed_out)
