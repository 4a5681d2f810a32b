"""The OpenAI (and any OpenAI-compatible server) backend, over Chat Completions.

* One ``openai.AsyncOpenAI`` client per backend: connections are reused and concurrent
  ``generate_module`` calls run in parallel.
* Messages come from :func:`jaunt.promptkit.messages.render_messages`, the renderer the snapshot
  tests and ``jaunt-prompts render`` use, so the request is byte for byte the snapshot.
* Transport retries (429, 5xx, timeouts, connection errors) are the SDK's alone
  (``llm.max_retries``, with its backoff and ``Retry-After`` handling). What survives them
  is a :class:`~jaunt.errors.GenerationBackendError`; jaunt never retries it.
* A truncated answer (``finish_reason == "length"``), an empty one or a refusal is a
  :class:`~jaunt.errors.ModelAnswerError`: a failed attempt, with an error that says why.
* One deadline per HTTP request (``llm.timeout_s``) covers connecting, sending and reading
  the whole answer, so a server that trickles its answer a few bytes at a time is cut off
  like a silent one (the SDK's per-read timeout alone would wait forever). Each SDK retry
  gets its own deadline.
* The body of a 200 is read raw and checked field by field
  (:mod:`jaunt.generate.answer`): an HTML page, bad JSON or wrong types are a failed
  attempt saying what was wrong, never a traceback.
* The API key is read from the variable ``llm.api_key_env`` names and handed to the SDK;
  jaunt keeps no copy of its own and registers it with the scrubber
  (:mod:`jaunt.promptkit.scrub`), so no message, log line or file shows it.
* ``base_url`` must be ``https://`` or a loopback address unless
  ``llm.allow_insecure_base_url`` says otherwise: prompts hold the user's source.
* The HTTP client is injectable, the way httpx users do it: pass an ``openai.AsyncOpenAI``
  (``client=``) or an httpx transport (``transport=``, e.g. ``httpx.MockTransport``).
* Every attempt returns an :class:`~jaunt.generate.base.AttemptRecord` to the retry loop:
  the messages sent, the raw answer, the extracted module, the answer's problem if any, the
  usage (cached prompt tokens included) and the finish reason. No state is shared between
  concurrent attempts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from jaunt.generate.answer import answer_problem, parse_completion
from jaunt.generate.base import AttemptRecord, GeneratorBackend, ModuleSpecContext, TokenUsage
from jaunt.generate.extract import module_from_answer
from jaunt.promptkit.capture import capture_attempt, capture_directory
from jaunt.promptkit.errors import ConfigError, GenerationBackendError, ModelAnswerError
from jaunt.promptkit.messages import Message, render_messages
from jaunt.promptkit.scrub import register_secret, scrub, scrub_url, scrubbed_logger
from jaunt.promptkit.settings import (
    BASE_URL_SCHEMES,
    SUPPORTED_PROVIDERS,
    LLMConfig,
    PromptsConfig,
    api_key_env_problem,
    is_loopback_host,
    llm_settings,
)
from jaunt.promptkit.template_set import TemplateSet, load_set_from_config

if TYPE_CHECKING:
    import httpx2
    import openai

logger = scrubbed_logger("jaunt.generate.openai")

OPENAI_HOST = "api.openai.com"
# Answers longer than this are extracted in a worker thread, off the event loop.
THREAD_EXTRACT_CHARS = 64_000
_SDK_LOGGERS = ("openai", "openai._base_client", "httpx2", "httpx")
# What one SDK retry may wait before trying again (its backoff, or a server's Retry-After).
_RETRY_WAIT_ALLOWANCE_S = 60.0
# How much of a server's error message an error line quotes.
_SERVER_MESSAGE_CHARS = 300


def deadline_http_client(deadline_s: float, **kwargs: Any) -> httpx2.AsyncClient:
    """An HTTP client for the SDK whose every request must finish within ``deadline_s``.

    ``kwargs`` go to the SDK's default client (e.g. ``transport=`` for a test transport).
    """
    client: httpx2.AsyncClient = _deadline_client_class()(deadline_s=deadline_s, **kwargs)
    return client


@functools.cache
def _deadline_client_class() -> Any:
    """The SDK's default HTTP client with one deadline around each whole request.

    Built on first use so that importing this module imports neither openai nor httpx2.
    A client subclass (not a transport) keeps the SDK's proxy and connection settings.
    The SDK sends a non-streaming request with ``stream=False``, so ``send`` returns only
    once the whole body is read: the deadline covers connect, send and every read.
    """
    import httpx2
    import openai

    class DeadlineClient(openai.DefaultAsyncHttpxClient):
        def __init__(self, *, deadline_s: float, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.deadline_s = deadline_s

        async def send(self, request: httpx2.Request, **kwargs: Any) -> httpx2.Response:
            try:
                async with asyncio.timeout(self.deadline_s):
                    return await super().send(request, **kwargs)
            except TimeoutError:
                # An httpx timeout: the SDK retries it and reports APITimeoutError.
                raise httpx2.ReadTimeout(
                    f"no complete answer within {self.deadline_s:g} s", request=request
                ) from None

    return DeadlineClient


def token_limit_field(llm: LLMConfig, base_url: str) -> str:
    """The request field that carries ``max_output_tokens`` for this server.

    ``auto``: OpenAI itself gets ``max_completion_tokens`` (its reasoning models reject
    ``max_tokens``); every other server gets ``max_tokens``, the field llama-cpp-python
    and most OpenAI-compatible servers honour (they ignore the newer one).
    """
    if llm.token_limit_param != "auto":
        return llm.token_limit_param
    host = (urlsplit(base_url).hostname or "").lower()
    is_openai = host == OPENAI_HOST or host.endswith("." + OPENAI_HOST)
    return "max_completion_tokens" if is_openai else "max_tokens"


@dataclass(frozen=True)
class _ChatAnswer:
    """What one Chat Completions response said; ``problem`` says why it is unusable."""

    content: str | None
    finish_reason: str | None = None
    usage: TokenUsage | None = None
    problem: str | None = None


def chat_request_body(
    llm: LLMConfig,
    messages: list[Message],
    *,
    token_field: str,
    prompt_cache_key: str | None = None,
) -> dict[str, Any]:
    """The Chat Completions request body for ``messages``: the one builder for every path.

    The online backend sends it through the SDK and a batch writes it as the ``body`` of a
    request line, so both ask the model exactly the same thing. ``token_field`` comes from
    :func:`token_limit_field`; ``prompt_cache_key`` (OpenAI) routes requests sharing a
    prefix to the same cache and is left out when ``None``.
    """
    body: dict[str, Any] = {
        "model": llm.model,
        "messages": messages,
        token_field: llm.max_output_tokens,
    }
    if llm.temperature is not None:
        body["temperature"] = llm.temperature
    if llm.seed is not None:
        body["seed"] = llm.seed
    if prompt_cache_key is not None:
        body["prompt_cache_key"] = prompt_cache_key
    return body


class OpenAIBackend(GeneratorBackend):
    """Generates modules with an OpenAI-compatible Chat Completions endpoint."""

    def __init__(
        self,
        llm: LLMConfig | Any,
        prompts: PromptsConfig | None = None,
        *,
        templates: TemplateSet | None = None,
        client: openai.AsyncOpenAI | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        """``templates`` (a loaded set) wins over ``prompts`` (paths from ``jaunt.toml``).

        ``client``: an ``openai.AsyncOpenAI`` to send every request with, as it is
        configured (its key, base URL, timeout and retries; ``llm.api_key_env`` is then not
        read). The caller owns it: :meth:`aclose` leaves it open. ``transport``: an httpx
        transport for the client this backend makes (``llm`` settings apply as usual),
        e.g. ``httpx.MockTransport(handler)`` in tests. Not both.

        ``llm`` is our :class:`~jaunt.promptkit.settings.LLMConfig` or jaunt's own (settings
        it lacks take defaults, see :func:`~jaunt.promptkit.settings.llm_settings`).

        Raises :class:`~jaunt.errors.ConfigError` when the key variable is unset or
        empty or the provider is not supported, and a template error when an override
        template is broken: both before any request is made.
        """
        if client is not None and transport is not None:
            raise ValueError("pass client or transport, not both (a client has its transport)")
        # Set first, so that repr() works even when the checks below refuse the settings.
        self.llm = llm = llm_settings(llm)
        self.base_url = llm.base_url or ""
        self.max_source_chars = llm.max_source_chars
        if llm.provider not in SUPPORTED_PROVIDERS:
            raise ConfigError(
                f"[llm] provider {llm.provider!r} is not supported by OpenAIBackend "
                f"(supported: {', '.join(SUPPORTED_PROVIDERS)})"
            )
        # The SDK's own debug records pass the scrubber too (filters act per logger).
        for name in _SDK_LOGGERS:
            scrubbed_logger(name)
        self.templates = templates if templates is not None else load_set_from_config(prompts)
        import openai  # here, not at module top: importing jaunt stays light

        self._openai = openai
        self._owns_client = client is None
        if client is None:
            client = self._make_client(llm, transport)
        else:
            key = getattr(client, "api_key", None)
            if isinstance(key, str) and key:
                register_secret(key)
        self._client = client
        # Shown in progress lines, errors and repr: never with user:password@.
        self.base_url = scrub_url(str(self._client.base_url))
        url = self._client.base_url
        if url.scheme not in BASE_URL_SCHEMES:
            # Caught here, not after the SDK's retries as a vague "Connection error."
            raise ConfigError(
                f"base URL {self.base_url!r} is not an http:// or https:// URL "
                "(set by [llm] base_url or the OPENAI_BASE_URL variable)"
            )
        if (
            url.scheme == "http"
            and not llm.allow_insecure_base_url
            and not is_loopback_host(url.host)
        ):
            # Prompts carry the user's source and the key: plain http only on this machine.
            raise ConfigError(
                f"base URL {self.base_url!r} is plain http:// to another machine: prompts and "
                "the API key would travel unencrypted. Use https://, a loopback address, or "
                "set [llm] allow_insecure_base_url = true"
            )
        self.max_answer_bytes = llm.max_answer_bytes
        self.token_limit_field = token_limit_field(llm, self.base_url)

    @staticmethod
    def _make_client(
        llm: LLMConfig, transport: httpx2.AsyncBaseTransport | None
    ) -> openai.AsyncOpenAI:
        import openai

        problem = api_key_env_problem(llm.api_key_env)
        if problem:
            raise ConfigError(f"[llm] api_key_env {problem}")
        api_key = os.environ.get(llm.api_key_env, "").strip()
        if not api_key:
            # jaunt's wording first (its users and tests know it), then what it must hold.
            raise ConfigError(
                f"Missing API key: {llm.api_key_env}. Set it in the environment or add it to "
                f"<project_root>/.env (environment variable {llm.api_key_env} is not set or "
                f"empty; it must hold the API key: [llm] api_key_env = {llm.api_key_env!r})"
            )
        register_secret(api_key)
        # The SDK's own defaults (limits, redirects), one deadline per whole request, over
        # the caller's transport if any.
        options: dict[str, Any] = {} if transport is None else {"transport": transport}
        http_client = deadline_http_client(llm.timeout_s, **options)
        # base_url None lets the SDK apply OPENAI_BASE_URL, then its default.
        return openai.AsyncOpenAI(
            api_key=api_key,
            base_url=llm.base_url,
            timeout=llm.timeout_s,
            max_retries=llm.max_retries,
            http_client=http_client,
        )

    def __repr__(self) -> str:
        # getattr: repr must work on a backend whose __init__ raised (debuggers, tracebacks).
        llm = getattr(self, "llm", None)
        return (
            f"OpenAIBackend(model={getattr(llm, 'model', None)!r}, "
            f"base_url={getattr(self, 'base_url', None)!r}, "
            f"api_key_env={getattr(llm, 'api_key_env', None)!r})"
        )

    async def aclose(self) -> None:
        """Close the HTTP connections (the backend is unusable afterwards).

        A client passed in as ``client=`` belongs to the caller and stays open.
        """
        if self._owns_client:
            await self._client.close()

    async def __aenter__(self) -> OpenAIBackend:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def render(
        self, ctx: ModuleSpecContext, extra_error_context: list[str] | None = None
    ) -> list[Message]:
        """The messages a request for ``ctx`` sends."""
        return render_messages(self.templates, ctx, extra_error_context or ())

    async def generate_module(
        self, ctx: ModuleSpecContext, *, extra_error_context: list[str] | None = None
    ) -> str:
        error_context = list(extra_error_context or [])
        record = await self._exchange(ctx, error_context, number=2 if error_context else 1)
        if record.errors or record.source is None:
            raise ModelAnswerError("; ".join(record.errors) or "the answer held no code")
        return record.source

    async def _attempt(
        self, ctx: ModuleSpecContext, error_context: list[str], *, number: int
    ) -> AttemptRecord:
        """The record of one attempt (see :meth:`_exchange`), for the retry loop."""
        if self._overridden("generate_module"):
            # A subclass that writes its own generate_module keeps it in the retry loop.
            return await super()._attempt(ctx, error_context, number=number)
        return await self._exchange(ctx, error_context, number=number)

    async def _exchange(
        self, ctx: ModuleSpecContext, error_context: list[str], *, number: int
    ) -> AttemptRecord:
        """One request: its messages, answer, extracted module, usage and finish reason.

        The answer is not validated here; :meth:`generate_with_retry` does that, once.
        """
        messages = self.render(ctx, error_context)
        record = AttemptRecord(number, error_context=list(error_context), messages=messages)
        self._capture(ctx, record)
        if self._overridden("_call_openai"):
            # jaunt's own tests replace _call_openai: its text is all there is to know.
            try:
                chat = _ChatAnswer(await self._call_openai(messages))
            except ModelAnswerError as exc:
                return dataclasses.replace(record, errors=[str(exc)])
        else:
            chat = await self._chat(messages)
        record = dataclasses.replace(
            record, answer=chat.content, usage=chat.usage, finish_reason=chat.finish_reason
        )
        if chat.problem is not None:
            return dataclasses.replace(record, errors=[chat.problem])
        content = chat.content or ""
        try:
            if len(content) > THREAD_EXTRACT_CHARS:
                # Keeps a huge (or hostile) answer from stalling every other request.
                code = await asyncio.to_thread(module_from_answer, content)
            else:
                code = module_from_answer(content)
        except ModelAnswerError as exc:
            return dataclasses.replace(record, errors=[str(exc)])
        return dataclasses.replace(record, source=code)

    def _overridden(self, name: str) -> bool:
        # A subclass method or an instance attribute stands in for OpenAIBackend's own.
        return getattr(getattr(self, name), "__func__", None) is not getattr(OpenAIBackend, name)

    def _capture(self, ctx: ModuleSpecContext, record: AttemptRecord) -> None:
        directory = capture_directory(self.llm.capture_fixtures_dir)
        if directory is not None:
            capture_attempt(directory, ctx, record)

    async def _call_openai(self, messages: list[dict[str, str]]) -> str:
        """One Chat Completions call; the answer text, checked.

        jaunt's own tests replace this one method (records then carry no usage or finish
        reason). An unusable answer raises :class:`~jaunt.errors.ModelAnswerError`.
        """
        chat = await self._chat(messages)
        if chat.problem is not None or chat.content is None:
            raise ModelAnswerError(chat.problem or "the model's answer was empty")
        return chat.content

    async def _chat(self, messages: list[dict[str, str]]) -> _ChatAnswer:
        """One Chat Completions call and everything its response says.

        Everything about the answer that only a real response carries (finish reason,
        refusal, usage) is checked here; a problem with the answer is returned, not raised,
        so that the attempt's record keeps the usage and the raw text.
        """
        openai = self._openai
        request = chat_request_body(self.llm, messages, token_field=self.token_limit_field)
        size = sum(len(m["content"]) for m in messages)
        limit = self.llm.max_request_chars
        if limit and size > limit:
            # Not the model's fault and not worth a retry: raised, and nothing is sent.
            raise GenerationBackendError(
                f"the request's messages hold {size:,} characters, over the limit of "
                f"{limit:,} ([llm] max_request_chars): nothing was sent"
            )
        logger.debug(
            "request to %s: model %s, %d messages, %d characters",
            self.base_url,
            self.llm.model,
            len(messages),
            size,
        )
        try:
            # The per-request deadline lives in the HTTP client; this backstop bounds the
            # whole call (every SDK retry and its wait) even with a client that lacks it.
            async with asyncio.timeout(self._call_deadline_s()):
                raw = await self._client.chat.completions.with_raw_response.create(**request)
        except openai.OpenAIError as exc:
            raise self._backend_error(exc) from None
        except TimeoutError:
            raise GenerationBackendError(
                f"request to {self.base_url} (model {self.llm.model!r}) got no answer within "
                f"{self._call_deadline_s():g} s, the bound of all its SDK attempts "
                f"([llm] timeout_s x (max_retries + 1) plus retry waits)"
            ) from None
        try:
            completion = parse_completion(
                raw.content,
                content_type=raw.headers.get("content-type", ""),
                max_bytes=self.max_answer_bytes,
            )
        except ModelAnswerError as exc:
            # Not a chat completion at all: a failed attempt saying what was wrong.
            return _ChatAnswer(None, problem=str(exc))
        usage = completion.usage
        problem = answer_problem(
            completion,
            token_field=self.token_limit_field,
            max_output_tokens=self.llm.max_output_tokens,
        )
        return _ChatAnswer(
            completion.content,
            completion.finish_reason,
            usage,
            None if problem is None else self._scrub(problem),
        )

    def _call_deadline_s(self) -> float:
        # With slack, so that the per-request deadline (the clearer error) fires first.
        attempts = self.llm.max_retries + 1
        return (
            self.llm.timeout_s * attempts * 1.1
            + 1.0
            + _RETRY_WAIT_ALLOWANCE_S * self.llm.max_retries
        )

    def _backend_error(self, exc: openai.OpenAIError) -> GenerationBackendError:
        openai = self._openai
        where = f"{self.base_url} (model {self.llm.model!r})"
        n = self.llm.max_retries
        retries = f"after {n} SDK retr{'y' if n == 1 else 'ies'}"
        said = _one_line(getattr(exc, "message", "") or str(exc))
        if isinstance(exc, openai.APITimeoutError):
            text = (
                f"request to {where} timed out: no complete answer within the "
                f"{self.llm.timeout_s:g} s deadline ([llm] timeout_s bounds connect, send and "
                f"the whole answer of each request), {retries}"
            )
        elif isinstance(exc, openai.APIConnectionError):
            text = f"cannot connect to {where} {retries}: {said}"
        elif isinstance(exc, openai.AuthenticationError):
            text = (
                f"authentication failed at {where} (HTTP 401): check the API key in "
                f"${self.llm.api_key_env}. Server said: {said}"
            )
        elif isinstance(exc, openai.RateLimitError):
            # The SDK's retries are spent: say so, whatever the server suggests.
            text = (
                f"rate limited (HTTP 429) by {where}; gave up {retries} (raise [llm] "
                f"max_retries or try again later). Server said: {said}"
            )
        elif isinstance(exc, openai.APIStatusError):
            persisted = (
                f" {retries}" if exc.status_code in (408, 409) or exc.status_code >= 500 else ""
            )
            text = f"HTTP {exc.status_code} from {where}{persisted}: {said}"
        else:
            text = f"request to {where} failed: {said}"
        return GenerationBackendError(self._scrub(text))

    def _scrub(self, text: str) -> str:
        key = self._client.api_key
        return scrub(text, [key] if isinstance(key, str) else [])


def _one_line(text: str) -> str:
    """A server's message on one line, bounded (an HTML error page is not a message)."""
    flat = " ".join(text.split())
    if len(flat) > _SERVER_MESSAGE_CHARS:
        flat = flat[: _SERVER_MESSAGE_CHARS - 3] + "..."
    return flat
