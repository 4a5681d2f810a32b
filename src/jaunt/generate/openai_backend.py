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
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from jaunt.generate.base import (
    GeneratorBackend,
    ModuleSpecContext,
    TokenUsage,
    current_attempt,
    record_usage,
)
from jaunt.generate.extract import extract_python_code
from jaunt.promptkit.capture import capture_context, capture_directory
from jaunt.promptkit.errors import ConfigError, GenerationBackendError, ModelAnswerError
from jaunt.promptkit.messages import Message, render_messages
from jaunt.promptkit.settings import BASE_URL_SCHEMES, SUPPORTED_PROVIDERS, LLMConfig, PromptsConfig
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


class OpenAIBackend(GeneratorBackend):
    """Generates modules with an OpenAI-compatible Chat Completions endpoint."""

    def __init__(
        self,
        llm: LLMConfig,
        prompts: PromptsConfig | None = None,
        *,
        templates: TemplateSet | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        """``templates`` (a loaded set) wins over ``prompts`` (paths from ``jaunt.toml``).

        ``transport`` (an httpx2 transport) carries the requests instead of the SDK's own
        connection pool: the seam for a response cache or a recorder, with the SDK's
        request building, retries and answer checks unchanged above it.

        Raises :class:`~jaunt.errors.ConfigError` when the key variable is unset or
        empty or the provider is not supported, and a template error when an override
        template is broken: both before any request is made.
        """
        if llm.provider not in SUPPORTED_PROVIDERS:
            raise ConfigError(
                f"[llm] provider {llm.provider!r} is not supported by OpenAIBackend "
                f"(supported: {', '.join(SUPPORTED_PROVIDERS)})"
            )
        api_key = os.environ.get(llm.api_key_env, "").strip()
        if not api_key:
            raise ConfigError(
                f"environment variable {llm.api_key_env} is not set or empty; it must hold "
                f"the API key ([llm] api_key_env = {llm.api_key_env!r})"
            )
        self.llm = llm
        self.templates = templates if templates is not None else load_set_from_config(prompts)
        import openai  # here, not at module top: importing jaunt stays light

        self._openai = openai
        # base_url None lets the SDK apply OPENAI_BASE_URL, then its default.
        self._client = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=llm.base_url,
            timeout=llm.timeout_s,
            max_retries=llm.max_retries,
            http_client=(
                None
                if transport is None
                else openai.DefaultAsyncHttpxClient(transport=transport, timeout=llm.timeout_s)
            ),
        )
        self.base_url = str(self._client.base_url)
        if self._client.base_url.scheme not in BASE_URL_SCHEMES:
            # Caught here, not after the SDK's retries as a vague "Connection error."
            raise ConfigError(
                f"base URL {self.base_url!r} is not an http:// or https:// URL "
                "(set by [llm] base_url or the OPENAI_BASE_URL variable)"
            )
        self.token_limit_field = token_limit_field(llm, self.base_url)

    def __repr__(self) -> str:
        return (
            f"OpenAIBackend(model={self.llm.model!r}, base_url={self.base_url!r}, "
            f"api_key_env={self.llm.api_key_env!r})"
        )

    async def aclose(self) -> None:
        """Close the HTTP connections (the backend is unusable afterwards)."""
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
        messages = self.render(ctx, extra_error_context)
        self._capture(ctx, extra_error_context or [])
        answer = await self._call_openai(messages)
        code = extract_python_code(answer)
        if not code:
            raise ModelAnswerError("the model's answer held no code (empty after extraction)")
        return code + "\n"

    def _capture(self, ctx: ModuleSpecContext, error_context: list[str]) -> None:
        directory = capture_directory(self.llm.capture_fixtures_dir)
        if directory is None:
            return
        state = current_attempt()
        attempt = state.number if state is not None else (2 if error_context else 1)
        capture_context(directory, ctx, error_context, attempt=attempt)

    async def _call_openai(self, messages: list[dict[str, str]]) -> str:
        """One Chat Completions call; the answer text, checked.

        jaunt's own tests replace this one method; everything about the answer that only a
        real response carries (finish reason, refusal, usage) is checked here.
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
        if response.usage is not None:
            details = response.usage.prompt_tokens_details
            record_usage(
                TokenUsage(
                    prompt_tokens=response.usage.prompt_tokens,
                    completion_tokens=response.usage.completion_tokens,
                    total_tokens=response.usage.total_tokens,
                    cached_prompt_tokens=(details.cached_tokens or 0) if details else 0,
                )
            )
        if not response.choices:
            raise ModelAnswerError("the server returned no answer (no choices)")
        choice = response.choices[0]
        state = current_attempt()
        if state is not None:
            state.finish_reason = choice.finish_reason
        message = choice.message
        if getattr(message, "refusal", None):
            raise ModelAnswerError(f"the model refused: {message.refusal}")
        if choice.finish_reason == "length":
            raise ModelAnswerError(
                "the answer was cut off at the output token limit "
                f"({self.token_limit_field}={self.llm.max_output_tokens}, "
                "finish_reason 'length'): write the complete module more concisely"
            )
        if choice.finish_reason == "content_filter":
            raise ModelAnswerError("the answer was stopped by the provider's content filter")
        if message.content is None or not message.content.strip():
            raise ModelAnswerError(
                f"the model's answer was empty (finish_reason {choice.finish_reason!r})"
            )
        return message.content

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
