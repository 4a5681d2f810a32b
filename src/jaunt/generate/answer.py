"""Reading a Chat Completions body from any server, trusting none of it.

The SDK builds its response objects without validation, so a 200 holding an HTML page,
``choices: "x"`` or ``usage: "lots"`` surfaces later as an ``AttributeError`` far from the
cause. Here the raw body is decoded and checked field by field; anything that is not a
chat completion is a :class:`~jaunt.errors.ModelAnswerError` saying what was wrong (a
failed attempt), never a traceback. Pure and synchronous: no SDK, no network.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from jaunt.promptkit.context import TokenUsage
from jaunt.promptkit.errors import ModelAnswerError

# How much of a body that is not JSON an error quotes.
_QUOTE_CHARS = 80


@dataclass(frozen=True)
class Completion:
    """The parts of a chat completion the backend uses; ``content`` may be ``None``."""

    content: str | None
    finish_reason: str | None
    refusal: str | None
    usage: TokenUsage | None
    # False for a body with no (or empty) ``choices``: usage may still be there to record.
    has_choice: bool = True


def parse_completion(body: bytes, *, content_type: str = "", max_bytes: int = 0) -> Completion:
    """The completion in ``body``; raises :class:`ModelAnswerError` for any other shape.

    ``max_bytes`` (0 = no limit) refuses a body larger than that before decoding it.
    """
    if max_bytes and len(body) > max_bytes:
        raise ModelAnswerError(
            f"the answer is {len(body):,} bytes, over the limit of {max_bytes:,} bytes "
            "([llm] max_answer_bytes)"
        )
    if not body.strip():
        raise ModelAnswerError("the server's 200 answer was empty: not a chat completion")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        kind = content_type.split(";")[0].strip() or "no content type"
        what = "not valid JSON" if "json" in kind else f"not a chat completion ({kind})"
        raise ModelAnswerError(
            f"the server's 200 answer is {what}: starts with {_quote(body)}"
        ) from None
    return completion_from_data(data)


def completion_from_data(data: object) -> Completion:
    """The completion in a decoded JSON body (a batch output line's ``response.body``);
    raises :class:`ModelAnswerError` for any other shape."""
    if not isinstance(data, dict):
        raise ModelAnswerError(
            f"the server's 200 answer is not a chat completion: a JSON {_json_type(data)}, "
            "not an object"
        )
    error = data.get("error")
    if "choices" not in data and error is not None:
        # Some proxies answer 200 with an error body.
        message = error.get("message") if isinstance(error, dict) else error
        raise ModelAnswerError(f"the server answered 200 with an error: {_one_line(message)}")
    usage = _usage(data.get("usage"))
    choices = data.get("choices")
    if choices is None or choices == []:
        return Completion(None, None, None, usage, has_choice=False)
    if not isinstance(choices, list):
        raise _shape("'choices' must be an array", choices)
    choice = choices[0]
    if not isinstance(choice, dict):
        raise _shape("choices[0] must be an object", choice)
    finish_reason = choice.get("finish_reason")
    if finish_reason is not None and not isinstance(finish_reason, str):
        raise _shape("choices[0].finish_reason must be a string", finish_reason)
    message = choice.get("message")
    if not isinstance(message, dict):
        raise _shape("choices[0].message must be an object", message)
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        raise _shape("choices[0].message.content must be a string", content)
    refusal = message.get("refusal")
    if refusal is not None and not isinstance(refusal, str):
        refusal = _one_line(refusal)
    return Completion(content, finish_reason, refusal, usage)


def answer_problem(
    completion: Completion, *, token_field: str, max_output_tokens: int
) -> str | None:
    """Why ``completion`` holds no usable answer (``None``: it does), online and in a batch.

    No choices, a refusal, a cut-off (``finish_reason`` ``length``), a content-filter stop
    and an empty answer are failed attempts. The refusal is quoted as the server sent it:
    the caller scrubs what it shows.
    """
    if not completion.has_choice:
        return "the server returned no answer (no choices)"
    if completion.refusal:
        return f"the model refused: {completion.refusal}"
    if completion.finish_reason == "length":
        return (
            "the answer was cut off at the output token limit "
            f"({token_field}={max_output_tokens}, "
            "finish_reason 'length'): write the complete module more concisely"
        )
    if completion.finish_reason == "content_filter":
        return "the answer was stopped by the provider's content filter"
    if completion.content is None or not completion.content.strip():
        return f"the model's answer was empty (finish_reason {completion.finish_reason!r})"
    return None


def _usage(value: object) -> TokenUsage | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _shape("'usage' must be an object", value)
    counts: dict[str, int] = {}
    for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
        counts[name] = _count(value.get(name, 0), f"usage.{name}")
    details = value.get("prompt_tokens_details")
    cached = 0
    if isinstance(details, dict):
        cached = _count(details.get("cached_tokens") or 0, "usage.prompt_tokens_details")
    elif details is not None:
        raise _shape("usage.prompt_tokens_details must be an object", details)
    return TokenUsage(cached_prompt_tokens=cached, **counts)


def _count(value: object, key: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _shape(f"{key} must be a whole number", value)
    return value


def _shape(what: str, value: object) -> ModelAnswerError:
    return ModelAnswerError(
        f"the server's 200 answer is not a chat completion: {what}, not {_json_type(value)}"
    )


def _json_type(value: object) -> str:
    names = {
        str: "string",
        bool: "boolean",
        int: "number",
        float: "number",
        list: "array",
        dict: "object",
    }
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _quote(body: bytes) -> str:
    return repr(_one_line(body[:_QUOTE_CHARS].decode("utf-8", "replace")))


def _one_line(value: object) -> str:
    return " ".join(str(value).split())[:200]
