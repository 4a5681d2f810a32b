"""Generate many modules at once through a Batch API: half the price, resumable.

:func:`generate_batch` takes ``(id, ModuleSpecContext)`` pairs and returns one
:class:`~jaunt.generate.base.GenerationResult` per id, like
:meth:`~jaunt.generate.base.GeneratorBackend.generate_with_retry` would, but through
files of requests instead of one call per module:

1. Every module's request is rendered by :func:`~jaunt.promptkit.messages.render_messages`
   and built by :func:`~jaunt.generate.openai_backend.chat_request_body` (the messages and
   body the online backend sends), written as a batch line
   ``{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body"}`` and split into
   files within :attr:`BatchOptions.max_requests_per_file` and
   :attr:`BatchOptions.max_bytes_per_file`.
2. An *engine* runs each file: ``openai`` uploads it (``files.create(purpose="batch")``),
   creates a batch and polls it with backoff; ``local`` sends each line to an
   OpenAI-compatible server itself (:func:`run_batch_file`); ``external`` waits for an
   output file that another tool (``vllm run-batch``) writes next to the input.
3. Each answer goes through the online path's checks: :func:`completion_answer`
   (refusal, cut off, empty), :func:`~jaunt.generate.extract.module_from_answer` and
   :func:`~jaunt.validation.validate_generated_source`. A failed attempt is asked again in
   a later file with the same retry text (:func:`build_error_context`) until
   :attr:`BatchOptions.max_attempts`. A request that got no answer (a failed, expired or
   cancelled batch, a line in the error file) is sent once more, then reported failed.

Everything lives in a state folder, every file written atomically (temp file + rename):

``state.json``
    the run token, settings, each module's request fingerprint, and every job (one input
    file: its entries, then file id, batch id and status as they become known)
``requests/<job>.jsonl``
    the input file exactly as uploaded
``results/<job>.output.jsonl``, ``results/<job>.errors.jsonl``
    the downloaded output and error files
``results/<job>.json``
    the checked attempts of the job (written once, when it is collected)

Before each remote call that creates something, the job records that it is about to make
it; a run that finds such a record without the id looks the object up (uploaded files by
their unique name, batches by their ``metadata``) before creating it again. So a process
killed at any point and started again never submits a request twice and never pays twice
for a collected answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args

from jaunt.generate.answer import answer_problem, completion_from_data
from jaunt.generate.base import (
    AttemptRecord,
    GenerationResult,
    ModuleSpecContext,
    TokenUsage,
    validate_record,
)
from jaunt.generate.extract import module_from_answer
from jaunt.generate.openai_backend import chat_request_body, token_limit_field
from jaunt.promptkit.context import build_error_context, usage_from_json
from jaunt.promptkit.errors import (
    ConfigError,
    GenerationBackendError,
    GenerationError,
    ModelAnswerError,
)
from jaunt.promptkit.files import atomic_write
from jaunt.promptkit.messages import Message, render_messages
from jaunt.promptkit.scrub import scrub, scrub_url
from jaunt.promptkit.settings import llm_settings
from jaunt.promptkit.template_set import TemplateSet
from jaunt.validation import MAX_SOURCE_CHARS

if TYPE_CHECKING:
    import openai

logger = logging.getLogger("jaunt.generate.batch")

Engine = Literal["openai", "local", "external"]
ENGINES: tuple[str, ...] = get_args(Engine)

ENDPOINT = "/v1/chat/completions"
# The provider's limits for one input file (OpenAI: 50,000 requests, 200 MB).
MAX_REQUESTS_PER_FILE = 50_000
# 200 MB counted in SI units: under the limit however the provider counts a megabyte.
MAX_BYTES_PER_FILE = 200_000_000
STATE_FORMAT = 1
# How often a request without an answer is sent: once, then once more.
MAX_DELIVERIES = 2
TERMINAL_STATUSES = frozenset({"completed", "failed", "expired", "cancelled"})
# Batches are listed newest first; a create older than this before the intent is not ours.
_RECONCILE_SLACK_S = 3600.0

Phase = Literal[
    "written",  # input file on disk, nothing remote yet
    "uploading",  # files.create may have happened: look it up before uploading again
    "uploaded",  # file id known
    "creating",  # batches.create may have happened: look it up before creating again
    "submitted",  # batch id known (local/external engines: handed to the runner)
    "ended",  # terminal status seen (or output file present): collect next
    "dropped",  # cancelled before it reached the provider
    "collected",  # answers checked and stored in results/<job>.json
]


class BatchStateError(GenerationError):
    """The state folder cannot be used for this run (other inputs, settings or a lock)."""


@dataclass(frozen=True)
class BatchOptions:
    """How a batch run splits, submits and waits.

    ``poll_interval_s`` is the first wait between status checks; every check without news
    multiplies it by ``backoff`` up to ``max_poll_interval_s``. ``max_wait_s`` bounds how
    long one :func:`generate_batch` call waits (``None``: until everything ended); what
    is still in flight then is picked up by the next call with the same state folder.
    """

    max_attempts: int = 2
    max_requests_per_file: int = MAX_REQUESTS_PER_FILE
    max_bytes_per_file: int = MAX_BYTES_PER_FILE
    poll_interval_s: float = 5.0
    max_poll_interval_s: float = 60.0
    backoff: float = 1.5
    max_wait_s: float | None = None
    engine: Engine = "openai"
    completion_window: str = "24h"
    # Same static prefix (system message) -> same prompt_cache_key, so the provider routes
    # those requests to one cache.
    prompt_cache_key: bool = True
    # Parallel requests of the local engine.
    local_concurrency: int = 4

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {self.max_attempts}")
        if self.max_requests_per_file < 1 or self.max_bytes_per_file < 1:
            raise ValueError("the per-file limits must be at least 1")
        if self.poll_interval_s <= 0 or self.max_poll_interval_s <= 0 or self.backoff < 1:
            raise ValueError("poll intervals must be positive and backoff at least 1")
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {self.engine!r}")


@dataclass
class BatchAttempt:
    """One request of one module and what came back for it.

    ``answered`` means a 200 response arrived; then ``errors`` are the answer's problems
    (the same as the online path reports; empty = valid module). Without an answer,
    ``errors`` holds why (the error line, or the batch's end status).
    """

    module: str
    custom_id: str
    attempt: int
    delivery: int
    job: str
    batch_id: str | None = None
    answered: bool = False
    status_code: int | None = None
    answer: str | None = None
    source: str | None = None
    errors: list[str] = field(default_factory=list)
    usage: TokenUsage | None = None
    finish_reason: str | None = None
    # From the batch's creation (or the job's hand-over to its engine) to collection.
    latency_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.answered and not self.errors and self.source is not None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)  # the usage becomes a dict too

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BatchAttempt:
        values = dict(data)
        usage = usage_from_json(values.pop("usage", None))
        return cls(**values, usage=usage)


@dataclass(frozen=True)
class BatchProgress:
    """Counts of modules: ``submitted`` ever reached an engine; the others partition them.

    ``waiting_for`` lists ``(input, output)`` paths the ``external`` engine waits on.
    """

    modules: int
    submitted: int
    in_progress: int
    completed: int
    failed: int
    batches: int
    usage: TokenUsage
    waiting_for: tuple[tuple[str, str], ...] = ()

    @property
    def pending(self) -> int:
        return self.modules - self.completed - self.failed - self.in_progress


@dataclass
class BatchOutcome:
    """What a :func:`generate_batch` call ended with.

    ``results`` holds the modules that are finished (validated or out of attempts);
    ``unfinished`` the ids still in flight when ``max_wait_s`` ran out.
    """

    results: dict[str, GenerationResult]
    attempts: dict[str, list[BatchAttempt]]
    unfinished: list[str]
    cancelled: bool
    progress: BatchProgress
    state_dir: Path | None = None

    @property
    def complete(self) -> bool:
        return not self.unfinished

    def messages_of(self, attempt: BatchAttempt) -> list[Message]:
        """The messages ``attempt`` sent, read back from its input file in the state folder."""
        if self.state_dir is None:
            raise ValueError("this outcome has no state folder")
        path = self.state_dir / "requests" / f"{attempt.job}.jsonl"
        with path.open("rb") as handle:
            for raw in handle:
                line = json.loads(raw)
                if line.get("custom_id") == attempt.custom_id:
                    return list(line["body"]["messages"])
        raise KeyError(f"{attempt.custom_id} is not in {path}")


ProgressCallback = Callable[[BatchProgress], None]


# --- files --------------------------------------------------------------------------------------


def _json_bytes(data: object) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def prompt_cache_key(model: str, messages: Sequence[Message]) -> str:
    """The key shared by requests with the same static prefix (model and system message)."""
    digest = hashlib.sha256(f"{model}\0{messages[0]['content']}".encode()).hexdigest()
    return f"jaunt-{digest[:24]}"


def batch_line(custom_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """One request line of a Chat Completions batch input file."""
    return {"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": dict(body)}


# --- answers --------------------------------------------------------------------------------------


def check_answer(
    body: Mapping[str, Any],
    ctx: ModuleSpecContext,
    *,
    token_field: str,
    max_output_tokens: int,
    max_source_chars: int = MAX_SOURCE_CHARS,
) -> tuple[str | None, str | None, list[str], TokenUsage | None, str | None]:
    """Judge one completion body as the online path does: ``(answer, source, errors, usage,
    finish_reason)``; ``errors`` empty means a valid module.

    The same checks, in the same functions, as a live response: the body's shape
    (:func:`~jaunt.generate.answer.completion_from_data`), the answer's problems
    (:func:`~jaunt.generate.answer.answer_problem`), extraction and
    :func:`~jaunt.generate.base.validate_record`.
    """
    try:
        completion = completion_from_data(body)
    except ModelAnswerError as exc:
        return None, None, [str(exc)], None, None
    answer, usage, finish_reason = completion.content, completion.usage, completion.finish_reason
    problem = answer_problem(
        completion, token_field=token_field, max_output_tokens=max_output_tokens
    )
    if problem is not None:
        return answer, None, [scrub(problem)], usage, finish_reason
    try:
        source = module_from_answer(answer or "")
    except ModelAnswerError as exc:
        return answer, None, [str(exc)], usage, finish_reason
    record = validate_record(
        AttemptRecord(1, answer=answer, source=source, usage=usage, finish_reason=finish_reason),
        ctx,
        max_chars=max_source_chars,
    )
    return answer, source, record.errors, usage, finish_reason


def _line_error(line: Mapping[str, Any]) -> tuple[int | None, str]:
    """Why an output/error line holds no usable response: status code and message."""
    response = line.get("response")
    status = response.get("status_code") if isinstance(response, dict) else None
    error = line.get("error")
    message = ""
    if isinstance(error, dict):
        message = str(error.get("message") or error.get("code") or "")
    if not message and isinstance(response, dict):
        body = response.get("body")
        inner = body.get("error") if isinstance(body, dict) else None
        if isinstance(inner, dict):
            message = str(inner.get("message") or inner.get("code") or "")
    prefix = f"HTTP {status}" if isinstance(status, int) else "request failed"
    return (status if isinstance(status, int) else None), f"{prefix}: {message or 'no detail'}"


def parse_output_lines(text: str) -> dict[str, dict[str, Any]]:
    """Lines of a Batch output or error file by ``custom_id`` (unreadable lines skipped).

    Reads OpenAI's format and ``vllm run-batch``'s (the same shape).
    """
    lines: dict[str, dict[str, Any]] = {}
    for raw in text.splitlines():
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except json.JSONDecodeError:
            logger.warning("skipping an unreadable output line (%d characters)", len(raw))
            continue
        if isinstance(line, dict) and isinstance(line.get("custom_id"), str):
            # The first line for an id wins: a provider does not repeat ids.
            lines.setdefault(line["custom_id"], line)
    return lines


# --- the run ------------------------------------------------------------------------------------


@dataclass
class _Job:
    name: str
    entries: list[tuple[str, str, int, int]]  # module id, custom_id, attempt, delivery
    bytes: int
    sha256: str
    phase: Phase = "written"
    intent_at: float = 0.0
    submitted_at: float = 0.0
    file_id: str | None = None
    batch_id: str | None = None
    status: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    output_file_id: str | None = None
    error_file_id: str | None = None
    batch_errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> _Job:
        values = dict(data)
        values["entries"] = [tuple(e) for e in values["entries"]]
        return cls(**values)

    @property
    def open(self) -> bool:
        return self.phase not in ("collected",)


class ModelSettings(Protocol):
    """What a batch needs of an ``[llm]`` config: ours, or jaunt's three-field one."""

    @property
    def provider(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def api_key_env(self) -> str: ...


def _custom_id(module: str, attempt: int, delivery: int) -> str:
    return f"{module}#a{attempt}" + (f".r{delivery}" if delivery > 1 else "")


class BatchRun:
    """One state folder's run; see the module docstring. Use :func:`generate_batch`."""

    def __init__(
        self,
        state_dir: str | os.PathLike[str],
        requests: Sequence[tuple[str, ModuleSpecContext]] | Mapping[str, ModuleSpecContext],
        *,
        llm: ModelSettings,
        templates: TemplateSet,
        options: BatchOptions | None = None,
        client: openai.AsyncOpenAI | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        pairs = list(requests.items()) if isinstance(requests, Mapping) else list(requests)
        self.contexts: dict[str, ModuleSpecContext] = {}
        for module_id, ctx in pairs:
            if not isinstance(module_id, str) or not module_id:
                raise ValueError(f"module ids must be non-empty strings, not {module_id!r}")
            if module_id in self.contexts:
                raise ValueError(f"module id {module_id!r} is given twice")
            self.contexts[module_id] = ctx
        self.state_dir = Path(state_dir)
        self.llm = llm_settings(llm)
        self.templates = templates
        self.options = options or BatchOptions()
        self.on_progress = on_progress
        self._client = client
        self._own_client = False
        self._api_key: str | None = None
        # Where the SDK will send requests (as OpenAIBackend resolves it): it decides the
        # token-limit field, so the lines ask what the online backend would.
        self.base_url = (
            self.llm.base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        )
        if client is not None:
            self.base_url = str(client.base_url)
        self.token_field = token_limit_field(self.llm, self.base_url)
        self.jobs: list[_Job] = []
        self.collected: dict[str, list[BatchAttempt]] = {}
        self.run_token = ""
        self.cancelled = False
        self.next_job = 1
        self.fingerprints: dict[str, str] = {}

    # --- state ----------------------------------------------------------------------------------

    @property
    def state_path(self) -> Path:
        return self.state_dir / "state.json"

    def _input_path(self, job: _Job) -> Path:
        return self.state_dir / "requests" / f"{job.name}.jsonl"

    def _output_path(self, job: _Job, which: str = "output") -> Path:
        return self.state_dir / "results" / f"{job.name}.{which}.jsonl"

    def _results_path(self, job: _Job) -> Path:
        return self.state_dir / "results" / f"{job.name}.json"

    def _remote_name(self, job: _Job) -> str:
        return f"jaunt-{self.run_token}-{job.name}.jsonl"

    def _load(self) -> None:
        if not self.state_path.exists():
            self.run_token = secrets.token_hex(8)
            return
        try:
            data = json.loads(self.state_path.read_bytes())
        except (OSError, ValueError) as exc:
            raise BatchStateError(
                f"cannot read the batch state: {exc}", path=str(self.state_path)
            ) from None
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
            raise BatchStateError(
                f"not a batch state of format {STATE_FORMAT}", path=str(self.state_path)
            )
        for key, now in (("engine", self.options.engine), ("model", self.llm.model)):
            if data.get(key) != now:
                raise BatchStateError(
                    f"this state folder belongs to a run with {key} {data.get(key)!r}, not "
                    f"{now!r}: use another --state folder (or remove this one to start over)",
                    path=str(self.state_dir),
                )
        try:
            self.run_token = str(data["run"])
            self.cancelled = bool(data.get("cancelled"))
            self.next_job = int(data["next_job"])
            self.fingerprints = dict(data["modules"])
            self.jobs = [_Job.from_json(job) for job in data["jobs"]]
            for job in self.jobs:
                if job.phase == "collected":
                    self._remember(self._read_results(job))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BatchStateError(
                f"the batch state is damaged ({type(exc).__name__}: {exc}); remove the folder "
                "to start over",
                path=str(self.state_dir),
            ) from None

    def _save(self) -> None:
        data = {
            "format": STATE_FORMAT,
            "run": self.run_token,
            "engine": self.options.engine,
            "model": self.llm.model,
            "base_url": scrub_url(self.base_url),
            "cancelled": self.cancelled,
            "next_job": self.next_job,
            "modules": self.fingerprints,
            "jobs": [job.to_json() for job in self.jobs],
        }
        atomic_write(self.state_path, json.dumps(data, indent=1).encode("utf-8"))

    def _read_results(self, job: _Job) -> list[BatchAttempt]:
        data = json.loads(self._results_path(job).read_bytes())
        return [BatchAttempt.from_json(entry) for entry in data]

    def _remember(self, attempts: list[BatchAttempt]) -> None:
        for attempt in attempts:
            self.collected.setdefault(attempt.module, []).append(attempt)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no lock, one run at a time please
            yield
            return
        with open(self.state_dir / "lock", "a+b") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise BatchStateError(
                    "another process is using this state folder", path=str(self.state_dir)
                ) from None
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    # --- requests -------------------------------------------------------------------------------

    def _body(self, ctx: ModuleSpecContext, error_context: Sequence[str] = ()) -> dict[str, Any]:
        messages = render_messages(self.templates, ctx, error_context)
        key = prompt_cache_key(self.llm.model, messages) if self.options.prompt_cache_key else None
        return chat_request_body(
            self.llm, messages, token_field=self.token_field, prompt_cache_key=key
        )

    def _check_fingerprints(self) -> None:
        """Record each module's first request; a changed one cannot share this state."""
        for module_id, ctx in self.contexts.items():
            body = self._body(ctx)
            digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
            known = self.fingerprints.setdefault(module_id, digest)
            if known != digest:
                raise BatchStateError(
                    f"module {module_id!r} asks something else than when this state folder "
                    "was started (its context, the templates or the settings changed): use "
                    "another --state folder",
                    path=str(self.state_dir),
                )

    def _attempts_of(self, module_id: str) -> list[BatchAttempt]:
        return sorted(self.collected.get(module_id, []), key=lambda a: (a.attempt, a.delivery))

    def _in_flight(self) -> set[str]:
        return {entry[0] for job in self.jobs if job.open for entry in job.entries}

    def _next_request(self, module_id: str) -> tuple[int, int, list[str]] | None:
        """``(attempt, delivery, error_context)`` still to send for a module, or ``None``."""
        attempts = self._attempts_of(module_id)
        if any(a.ok for a in attempts):
            return None
        if not attempts:
            return (1, 1, [])
        last = attempts[-1]
        if last.answered:
            if last.attempt >= self.options.max_attempts:
                return None
            return (last.attempt + 1, 1, build_error_context(last.errors, last.source))
        if last.delivery >= MAX_DELIVERIES:
            return None
        return (last.attempt, last.delivery + 1, self._error_context(module_id, last.attempt))

    def _error_context(self, module_id: str, attempt: int) -> list[str]:
        if attempt == 1:
            return []
        answered = [
            a for a in self._attempts_of(module_id) if a.attempt == attempt - 1 and a.answered
        ]
        last = answered[-1]
        return build_error_context(last.errors, last.source)

    def _plan_jobs(self) -> list[_Job]:
        """Write the input files for every request still to send (CPU work: off the loop)."""
        busy = self._in_flight()
        lines: list[tuple[str, str, int, int, bytes]] = []
        for module_id, ctx in self.contexts.items():
            if module_id in busy:
                continue
            wanted = self._next_request(module_id)
            if wanted is None:
                continue
            attempt, delivery, error_context = wanted
            custom_id = _custom_id(module_id, attempt, delivery)
            data = _json_bytes(batch_line(custom_id, self._body(ctx, error_context))) + b"\n"
            if len(data) > self.options.max_bytes_per_file:
                raise BatchStateError(
                    f"the request for {module_id!r} is {len(data):,} bytes, more than the "
                    f"{self.options.max_bytes_per_file:,}-byte file limit"
                )
            lines.append((module_id, custom_id, attempt, delivery, data))
        jobs: list[_Job] = []
        chunk: list[tuple[str, str, int, int, bytes]] = []
        size = 0
        for line in [*lines, None]:
            full = line is not None and (
                len(chunk) >= self.options.max_requests_per_file
                or size + len(line[4]) > self.options.max_bytes_per_file
            )
            if chunk and (line is None or full):
                jobs.append(self._write_job(chunk))
                chunk, size = [], 0
            if line is not None:
                chunk.append(line)
                size += len(line[4])
        return jobs

    def _write_job(self, chunk: list[tuple[str, str, int, int, bytes]]) -> _Job:
        data = b"".join(line[4] for line in chunk)
        job = _Job(
            name=f"job-{self.next_job:05d}",
            entries=[(m, c, a, d) for m, c, a, d, _ in chunk],
            bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )
        self.next_job += 1
        atomic_write(self._input_path(job), data)
        # The external engine's output goes here; the folder must exist for the tool.
        self._output_path(job).parent.mkdir(parents=True, exist_ok=True)
        return job

    # --- remote calls ---------------------------------------------------------------------------

    def _client_for_run(self) -> openai.AsyncOpenAI:
        if self._client is None:
            import openai

            api_key = os.environ.get(self.llm.api_key_env, "").strip()
            if not api_key:
                hint = (
                    f" (a server that ignores keys still needs a value, e.g. export "
                    f"{self.llm.api_key_env}=local)"
                    if self.llm.base_url is not None
                    else ""
                )
                raise ConfigError(
                    f"environment variable {self.llm.api_key_env} is not set or empty; it must "
                    f"hold the API key ([llm] api_key_env = {self.llm.api_key_env!r}){hint}"
                )
            self._api_key = api_key
            self._client = openai.AsyncOpenAI(
                api_key=api_key,
                base_url=self.llm.base_url,
                timeout=self.llm.timeout_s,
                max_retries=self.llm.max_retries,
            )
            self._own_client = True
            self.base_url = str(self._client.base_url)
        return self._client

    async def _api(self, what: str, call: Any) -> Any:
        """Await an SDK call; an :class:`openai.APIError` becomes a scrubbed backend error."""
        import openai

        try:
            return await call
        except openai.APIError as exc:
            where = scrub_url(self.base_url)
            text = f"{what} at {where} failed: {exc.message}"
            if isinstance(exc, openai.APIStatusError):
                text = f"{what} at {where} failed (HTTP {exc.status_code}): {exc.message}"
            key = self._api_key or (self._client.api_key if self._client is not None else None)
            if key:
                text = text.replace(key, "[API key]")
            raise GenerationBackendError(text) from None

    async def _find_upload(self, job: _Job) -> str | None:
        client = self._client_for_run()
        name = self._remote_name(job)

        async def scan() -> str | None:
            async for item in client.files.list(purpose="batch"):
                if item.filename == name and item.bytes == job.bytes:
                    return str(item.id)
                if item.created_at < job.intent_at - _RECONCILE_SLACK_S:
                    return None  # newest first: older ones cannot be ours
            return None

        found: str | None = await self._api("listing files", scan())
        return found

    async def _find_batch(self, job: _Job) -> str | None:
        client = self._client_for_run()

        async def scan() -> str | None:
            async for batch in client.batches.list(limit=100):
                metadata = batch.metadata or {}
                if (
                    metadata.get("jaunt_run") == self.run_token
                    and metadata.get("jaunt_job") == job.name
                ):
                    return str(batch.id)
                if batch.created_at < job.intent_at - _RECONCILE_SLACK_S:
                    return None  # newest first: older ones cannot be ours
            return None

        found: str | None = await self._api("listing batches", scan())
        return found

    async def _advance(self, job: _Job) -> bool:
        """Move ``job`` as far as it goes without waiting; ``True`` when its phase changed."""
        before = job.phase
        engine = self.options.engine
        waiting_locally = (
            engine != "openai" and job.phase == "submitted" and not self._output_path(job).exists()
        )
        if self.cancelled and (
            job.phase in ("written", "uploading", "uploaded", "creating") or waiting_locally
        ):
            await self._drop(job)
        elif engine == "openai":
            await self._advance_openai(job)
        elif job.phase in ("written", "submitted"):
            # local and external: the output file (written whole, by rename) is the answer.
            if job.phase == "written":
                job.phase, job.submitted_at = "submitted", time.time()
                self._save()
            if engine == "local" and not self._output_path(job).exists():
                await run_batch_file(
                    self._input_path(job),
                    self._output_path(job),
                    client=self._client_for_run(),
                    concurrency=self.options.local_concurrency,
                )
            if self._output_path(job).exists():
                job.phase, job.status = "ended", "completed"
                self._save()
        if job.phase == "ended":
            await self._collect(job)
        return job.phase != before

    async def _drop(self, job: _Job) -> None:
        if job.phase == "creating" and self.options.engine == "openai":
            found = await self._find_batch(job)
            if found is not None:
                job.batch_id, job.phase = found, "submitted"
                self._save()
                with contextlib.suppress(GenerationBackendError):  # it may have ended already
                    await self._api(
                        "cancelling a batch", self._client_for_run().batches.cancel(found)
                    )
                return
        job.phase = "dropped"
        job.status = "cancelled before submission"
        self._save()
        await self._collect(job)

    async def _advance_openai(self, job: _Job) -> None:
        client = self._client_for_run()
        if job.phase == "uploading":
            found = await self._find_upload(job)
            if found is not None:
                job.file_id, job.phase = found, "uploaded"
                self._save()
        if job.phase in ("written", "uploading"):
            job.phase, job.intent_at = "uploading", time.time()
            self._save()
            data = self._input_path(job).read_bytes()
            uploaded = await self._api(
                "uploading a batch file",
                client.files.create(
                    file=(self._remote_name(job), data, "application/jsonl"), purpose="batch"
                ),
            )
            job.file_id, job.phase = str(uploaded.id), "uploaded"
            self._save()
        if job.phase == "creating":
            found = await self._find_batch(job)
            if found is not None:
                job.batch_id, job.phase, job.submitted_at = found, "submitted", job.intent_at
                self._save()
        if job.phase in ("uploaded", "creating"):
            job.phase, job.intent_at = "creating", time.time()
            self._save()
            assert job.file_id is not None
            batch = await self._api(
                "creating a batch",
                client.batches.create(
                    input_file_id=job.file_id,
                    endpoint="/v1/chat/completions",
                    completion_window=self.options.completion_window,  # type: ignore[arg-type]
                    metadata={"jaunt_run": self.run_token, "jaunt_job": job.name},
                ),
            )
            job.batch_id, job.phase, job.status = str(batch.id), "submitted", str(batch.status)
            job.submitted_at = time.time()
            self._save()
            logger.info("%s: batch %s created", job.name, job.batch_id)
            return  # just created: nothing to learn from asking again right away
        if job.phase == "submitted":
            assert job.batch_id is not None
            batch = await self._api("checking a batch", client.batches.retrieve(job.batch_id))
            changed = batch.status != job.status
            job.status = str(batch.status)
            if batch.request_counts is not None:
                job.counts = {
                    "total": batch.request_counts.total,
                    "completed": batch.request_counts.completed,
                    "failed": batch.request_counts.failed,
                }
            if batch.status in TERMINAL_STATUSES:
                job.output_file_id = batch.output_file_id
                job.error_file_id = batch.error_file_id
                if batch.errors is not None and batch.errors.data:
                    job.batch_errors = [
                        f"{e.code or 'error'}: {e.message or ''}" for e in batch.errors.data
                    ]
                job.phase = "ended"
                changed = True
            if changed:
                self._save()

    async def _download(self, job: _Job) -> tuple[str, str]:
        """The output and error file texts (downloaded once, kept in the state folder)."""
        texts: list[str] = []
        for which, file_id in (("output", job.output_file_id), ("errors", job.error_file_id)):
            path = self._output_path(job, which)
            if not path.exists() and file_id is not None and self.options.engine == "openai":
                content = await self._api(
                    "downloading results", self._client_for_run().files.content(file_id)
                )
                atomic_write(path, content.read())
            texts.append(path.read_text("utf-8", "replace") if path.exists() else "")
        return texts[0], texts[1]

    async def _collect(self, job: _Job) -> None:
        output, errors = ("", "") if job.phase == "dropped" else await self._download(job)
        attempts = await asyncio.to_thread(self._judge, job, output, errors)
        atomic_write(self._results_path(job), _json_bytes([a.to_json() for a in attempts]))
        job.phase = "collected"
        self._save()
        self._remember(attempts)

    def _judge(self, job: _Job, output: str, errors: str) -> list[BatchAttempt]:
        answers = parse_output_lines(output)
        failures = parse_output_lines(errors)
        why_missing = f"no answer: batch {job.batch_id or job.name} ended {job.status or '?'}"
        if job.batch_errors:
            why_missing += f" ({'; '.join(job.batch_errors)})"
        attempts: list[BatchAttempt] = []
        latency = time.time() - job.submitted_at if job.submitted_at else None
        for module_id, custom_id, number, delivery in job.entries:
            attempt = BatchAttempt(module_id, custom_id, number, delivery, job.name, job.batch_id)
            attempt.latency_s = latency
            line = answers.get(custom_id) or failures.get(custom_id)
            response = line.get("response") if line is not None else None
            ctx = self.contexts.get(module_id)
            if line is None:
                attempt.errors = [why_missing]
            elif (
                isinstance(response, dict)
                and response.get("status_code") == 200
                and isinstance(response.get("body"), dict)
                and ctx is not None
            ):
                attempt.answered, attempt.status_code = True, 200
                (
                    attempt.answer,
                    attempt.source,
                    attempt.errors,
                    attempt.usage,
                    attempt.finish_reason,
                ) = check_answer(
                    response["body"],
                    ctx,
                    token_field=self.token_field,
                    max_output_tokens=self.llm.max_output_tokens,
                    max_source_chars=self.llm.max_source_chars,
                )
            else:
                attempt.status_code, message = _line_error(line)
                attempt.errors = [message]
            attempts.append(attempt)
        return attempts

    # --- the loop -------------------------------------------------------------------------------

    def progress(self) -> BatchProgress:
        in_flight = self._in_flight()
        submitted = {
            entry[0]
            for job in self.jobs
            if job.phase not in ("written", "uploading", "uploaded", "creating", "dropped")
            for entry in job.entries
        }
        completed = failed = 0
        usage = TokenUsage()
        for module_id in self.contexts:
            attempts = self._attempts_of(module_id)
            for attempt in attempts:
                if attempt.usage is not None:
                    usage += attempt.usage
            if module_id in in_flight:
                continue
            if any(a.ok for a in attempts):
                completed += 1
            elif attempts and (self.cancelled or self._next_request(module_id) is None):
                failed += 1
        waiting = tuple(
            (str(self._input_path(job)), str(self._output_path(job)))
            for job in self.jobs
            if self.options.engine == "external" and job.phase == "submitted"
        )
        return BatchProgress(
            modules=len(self.contexts),
            submitted=len(submitted & set(self.contexts)),
            in_progress=len(in_flight & set(self.contexts)),
            completed=completed,
            failed=failed,
            batches=sum(1 for job in self.jobs if job.batch_id is not None),
            usage=usage,
            waiting_for=waiting,
        )

    def _report(self) -> BatchProgress:
        progress = self.progress()
        if self.on_progress is not None:
            self.on_progress(progress)
        return progress

    async def run(self, *, cancel: bool = False) -> BatchOutcome:
        """Submit what is left, wait (within ``max_wait_s``) and collect; see the module doc.

        ``cancel=True`` cancels what is in flight instead, collects what the provider
        still returns, and marks the state so no later run submits anything new.
        """
        with self._locked():
            try:
                return await self._run(cancel)
            finally:
                if self._own_client and self._client is not None:
                    await self._client.close()
                    self._client, self._own_client = None, False

    async def _run(self, cancel: bool) -> BatchOutcome:
        self._load()
        started = time.monotonic()
        await asyncio.to_thread(self._check_fingerprints)
        if cancel and not self.cancelled:
            self.cancelled = True
            self._save()
            for job in self.jobs:
                if job.phase == "submitted" and job.batch_id is not None:
                    with contextlib.suppress(GenerationBackendError):
                        # Already ended batches refuse a cancel; the poll below collects them.
                        await self._api(
                            "cancelling a batch",
                            self._client_for_run().batches.cancel(job.batch_id),
                        )
        else:
            self._save()
        interval = self.options.poll_interval_s
        while True:
            if not self.cancelled:
                new_jobs = await asyncio.to_thread(self._plan_jobs)
                if new_jobs:
                    self.jobs.extend(new_jobs)
                    self._save()
            changed = False
            for job in [j for j in self.jobs if j.open]:
                changed = await self._advance(job) or changed
            progress = self._report()
            if not any(job.open for job in self.jobs) and not self._has_pending():
                break
            if changed:
                interval = self.options.poll_interval_s
                continue
            waited = time.monotonic() - started
            if self.options.max_wait_s is not None and waited >= self.options.max_wait_s:
                break
            pause = interval
            if self.options.max_wait_s is not None:
                pause = min(pause, self.options.max_wait_s - waited)
            await asyncio.sleep(max(pause, 0.0))
            interval = min(interval * self.options.backoff, self.options.max_poll_interval_s)
        return self._outcome(progress)

    def _has_pending(self) -> bool:
        if self.cancelled:
            return False
        busy = self._in_flight()
        return any(
            module_id not in busy and self._next_request(module_id) is not None
            for module_id in self.contexts
        )

    def _outcome(self, progress: BatchProgress) -> BatchOutcome:
        results: dict[str, GenerationResult] = {}
        attempts_by_id: dict[str, list[BatchAttempt]] = {}
        unfinished: list[str] = []
        busy = self._in_flight()
        for module_id in self.contexts:
            attempts = self._attempts_of(module_id)
            attempts_by_id[module_id] = attempts
            finished = any(a.ok for a in attempts) or (
                module_id not in busy and (self.cancelled or self._next_request(module_id) is None)
            )
            if not finished:
                unfinished.append(module_id)
                continue
            results[module_id] = result_from_attempts(attempts, cancelled=self.cancelled)
        return BatchOutcome(
            results, attempts_by_id, unfinished, self.cancelled, progress, self.state_dir
        )


def result_from_attempts(
    attempts: Sequence[BatchAttempt], *, cancelled: bool = False
) -> GenerationResult:
    """The :class:`GenerationResult` of one module from its batch attempts.

    An attempt that was sent twice (no answer the first time) counts once, with the usage
    of both deliveries and the errors of the last.
    """
    result = GenerationResult(attempts=0, source=None)
    by_number: dict[int, list[BatchAttempt]] = {}
    for attempt in attempts:
        by_number.setdefault(attempt.attempt, []).append(attempt)
    for number in sorted(by_number):
        deliveries = by_number[number]
        last = deliveries[-1]
        usages = [d.usage for d in deliveries if d.usage is not None]
        total: TokenUsage | None = None
        for usage in usages:
            total = usage if total is None else total + usage
        result.attempts = number
        result.errors = list(last.errors)
        result.records.append(
            AttemptRecord(
                number,
                answer=last.answer,
                source=last.source,
                errors=list(last.errors),
                usage=total,
                finish_reason=last.finish_reason,
                latency_s=last.latency_s,
            )
        )
        if last.ok:
            result.source = last.source
            break
    if result.attempts == 0:
        result.errors = [
            "batch run cancelled before this module was sent" if cancelled else "never sent"
        ]
    return result


async def generate_batch(
    requests: Sequence[tuple[str, ModuleSpecContext]] | Mapping[str, ModuleSpecContext],
    *,
    state_dir: str | os.PathLike[str],
    llm: ModelSettings,
    templates: TemplateSet,
    options: BatchOptions | None = None,
    client: openai.AsyncOpenAI | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: bool = False,
) -> BatchOutcome:
    """Generate every module of ``requests`` through a batch; one result per id.

    Call it again with the same ``state_dir`` (and the same requests) to continue a run
    that was interrupted or stopped by ``options.max_wait_s``: nothing already submitted is
    submitted again. ``cancel=True`` cancels the batches in flight. Raises
    :class:`~jaunt.errors.ConfigError` (no API key),
    :class:`~jaunt.errors.GenerationBackendError` (the provider refused or is unreachable
    after the SDK's retries; the state is saved, so calling again resumes) and
    :class:`BatchStateError`.
    """
    run = BatchRun(
        state_dir,
        requests,
        llm=llm,
        templates=templates,
        options=options,
        client=client,
        on_progress=on_progress,
    )
    return await run.run(cancel=cancel)


# --- the local engine -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchFileStats:
    requests: int
    succeeded: int
    failed: int


async def run_batch_file(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    client: openai.AsyncOpenAI,
    concurrency: int = 4,
) -> BatchFileStats:
    """Run a Batch input file against an OpenAI-compatible server; write the output file.

    Each line's ``body`` is POSTed to its ``url`` (relative to the client's base URL,
    ``/v1`` dropped) and the answer written as a Batch output line, in input order:
    ``{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}``.
    A request that got no HTTP answer has ``response: null`` and an ``error``. The output
    is written atomically once all lines are done, so a killed run leaves no half file.
    """
    import openai

    raw_lines = [line for line in Path(input_path).read_text("utf-8").splitlines() if line.strip()]
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(index: int, raw: str) -> dict[str, Any]:
        request = json.loads(raw)
        custom_id = request.get("custom_id")
        url = str(request.get("url", ENDPOINT)).removeprefix("/v1")
        result: dict[str, Any] = {"id": f"batch_req_{index}", "custom_id": custom_id}
        async with gate:
            try:
                answer: dict[str, Any] = await client.post(
                    url, body=request.get("body"), cast_to=dict
                )
            except openai.APIStatusError as exc:
                body = (
                    exc.body if isinstance(exc.body, dict) else {"error": {"message": exc.message}}
                )
                if "error" not in body:
                    body = {"error": body}
                result["response"] = {
                    "status_code": exc.status_code,
                    "request_id": exc.request_id,
                    "body": body,
                }
                result["error"] = None
                return result
            except openai.APIError as exc:
                result["response"] = None
                result["error"] = {"code": type(exc).__name__, "message": exc.message}
                return result
        result["response"] = {"status_code": 200, "request_id": None, "body": answer}
        result["error"] = None
        return result

    results = await asyncio.gather(*(one(i, raw) for i, raw in enumerate(raw_lines)))
    data = b"".join(_json_bytes(r) + b"\n" for r in results)
    atomic_write(Path(output_path), data)
    ok = sum(
        1 for r in results if r["response"] is not None and r["response"]["status_code"] == 200
    )
    return BatchFileStats(len(results), ok, len(results) - ok)


__all__ = [
    "ENDPOINT",
    "ENGINES",
    "MAX_BYTES_PER_FILE",
    "MAX_REQUESTS_PER_FILE",
    "BatchAttempt",
    "BatchFileStats",
    "BatchOptions",
    "BatchOutcome",
    "BatchProgress",
    "BatchRun",
    "BatchStateError",
    "Engine",
    "ModelSettings",
    "batch_line",
    "check_answer",
    "generate_batch",
    "parse_output_lines",
    "prompt_cache_key",
    "result_from_attempts",
    "run_batch_file",
]
