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
* The API key is read from the variable ``llm.api_key_env`` names and handed to the SDK;
  jaunt keeps no copy, and scrubs it from any server message it passes on.
* The HTTP client is injectable, the way httpx users do it: pass an ``openai.AsyncOpenAI``
  (``client=``) or an httpx transport (``transport=``, e.g. ``httpx.MockTransport``).
* Every attempt returns an :class:`~jaunt.generate.base.AttemptRecord` to the retry loop:
  the messages sent, the raw answer, the extracted module, the answer's problem if any, the
  usage (cached prompt tokens included) and the finish reason. No state is shared between
  concurrent attempts.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from jaunt.generate.base import AttemptRecord, GeneratorBackend, ModuleSpecContext, TokenUsage
from jaunt.generate.extract import extract_python_code
from jaunt.promptkit.capture import capture_attempt, capture_directory
from jaunt.promptkit.errors import ConfigError, GenerationBackendError, ModelAnswerError
from jaunt.promptkit.messages import Message, render_messages
from jaunt.promptkit.settings import (
    BASE_URL_SCHEMES,
    SUPPORTED_PROVIDERS,
    LLMConfig,
    PromptsConfig,
    llm_settings,
)
from jaunt.promptkit.template_set import TemplateSet, load_set_from_config

if TYPE_CHECKING:
    import httpx2
    import openai
    from openai.types.chat import ChatCompletion

logger = logging.getLogger("jaunt.generate.openai")

OPENAI_HOST = "api.openai.com"


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
        self.templates = templates if templates is not None else load_set_from_config(prompts)
        import openai  # here, not at module top: importing jaunt stays light

        self._openai = openai
        self._owns_client = client is None
        if client is None:
            client = self._make_client(llm, transport)
        self._client = client
        self.base_url = str(self._client.base_url)
        if self._client.base_url.scheme not in BASE_URL_SCHEMES:
            # Caught here, not after the SDK's retries as a vague "Connection error."
            raise ConfigError(
                f"base URL {self.base_url!r} is not an http:// or https:// URL "
                "(set by [llm] base_url or the OPENAI_BASE_URL variable)"
            )
        self.token_limit_field = token_limit_field(llm, self.base_url)

    @staticmethod
    def _make_client(
        llm: LLMConfig, transport: httpx2.AsyncBaseTransport | None
    ) -> openai.AsyncOpenAI:
        import openai

        api_key = os.environ.get(llm.api_key_env, "").strip()
        if not api_key:
            # jaunt's wording first (its users and tests know it), then what it must hold.
            raise ConfigError(
                f"Missing API key: {llm.api_key_env}. Set it in the environment or add it to "
                f"<project_root>/.env (environment variable {llm.api_key_env} is not set or "
                f"empty; it must hold the API key: [llm] api_key_env = {llm.api_key_env!r})"
            )
        # The SDK's own defaults (limits, redirects), over the caller's transport.
        http_client = (
            None if transport is None else openai.DefaultAsyncHttpxClient(transport=transport)
        )
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
        code = extract_python_code(chat.content or "")
        if not code:
            return dataclasses.replace(
                record, errors=["the model's answer held no code (empty after extraction)"]
            )
        # The code as fenced (jaunt's contract); whoever writes it to a file ends it with
        # one newline.
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
        request: dict[str, Any] = {
            "model": self.llm.model,
            "messages": messages,
            self.token_limit_field: self.llm.max_output_tokens,
        }
        if self.llm.temperature is not None:
            request["temperature"] = self.llm.temperature
        if self.llm.seed is not None:
            request["seed"] = self.llm.seed
        logger.debug(
            "request to %s: model %s, %d messages, %d characters",
            self.base_url,
            self.llm.model,
            len(messages),
            sum(len(m["content"]) for m in messages),
        )
        try:
            response: ChatCompletion = await self._client.chat.completions.create(**request)
        except openai.APIError as exc:
            raise self._backend_error(exc) from None
        usage: TokenUsage | None = None
        if response.usage is not None:
            details = response.usage.prompt_tokens_details
            usage = TokenUsage(
                prompt_tokens=response.usage.prompt_tokens,
                completion_tokens=response.usage.completion_tokens,
                total_tokens=response.usage.total_tokens,
                cached_prompt_tokens=(details.cached_tokens or 0) if details else 0,
            )
        if not response.choices:
            return _ChatAnswer(
                None, usage=usage, problem="the server returned no answer (no choices)"
            )
        choice = response.choices[0]
        message = choice.message
        answer = _ChatAnswer(message.content, choice.finish_reason, usage)
        if getattr(message, "refusal", None):
            problem = f"the model refused: {message.refusal}"
        elif choice.finish_reason == "length":
            problem = (
                "the answer was cut off at the output token limit "
                f"({self.token_limit_field}={self.llm.max_output_tokens}, "
                "finish_reason 'length'): write the complete module more concisely"
            )
        elif choice.finish_reason == "content_filter":
            problem = "the answer was stopped by the provider's content filter"
        elif message.content is None or not message.content.strip():
            problem = f"the model's answer was empty (finish_reason {choice.finish_reason!r})"
        else:
            return answer
        return dataclasses.replace(answer, problem=problem)

    def _backend_error(self, exc: openai.APIError) -> GenerationBackendError:
        openai = self._openai
        where = f"{self.base_url} (model {self.llm.model!r})"
        retries = (
            f"after {self.llm.max_retries} SDK retr{'y' if self.llm.max_retries == 1 else 'ies'}"
        )
        if isinstance(exc, openai.APITimeoutError):
            text = f"request to {where} timed out after {self.llm.timeout_s:g} s {retries}"
        elif isinstance(exc, openai.APIConnectionError):
            text = f"cannot connect to {where} {retries}: {exc.message}"
        elif isinstance(exc, openai.AuthenticationError):
            text = (
                f"authentication failed at {where} (HTTP 401): check the API key in "
                f"${self.llm.api_key_env}. Server said: {exc.message}"
            )
        elif isinstance(exc, openai.APIStatusError):
            persisted = (
                f" {retries}"
                if exc.status_code in (408, 409, 429) or exc.status_code >= 500
                else ""
            )
            text = f"HTTP {exc.status_code} from {where}{persisted}: {exc.message}"
        else:
            text = f"request to {where} failed: {exc.message}"
        return GenerationBackendError(self._scrub(text))

    def _scrub(self, text: str) -> str:
        key = self._client.api_key
        if isinstance(key, str) and key:
            text = text.replace(key, "[API key]")
        return text
