"""Small chat clients for vision-language models: messages with text + inline PNG images -> text + usage.

Two implementations share the :class:`ChatClient` protocol:

* :class:`GeminiChat`: Google Gemini through ``google-genai`` (images as inline PNG parts). The base URL is
  configurable (``base_url=`` or ``MAESTRO_GEMINI_BASE_URL``) so tests can point it at a loopback server.
* :class:`OpenAIChat`: any OpenAI-compatible ``/v1/chat/completions`` server through ``httpx`` (OpenAI, vLLM,
  Ollama); images as ``data:image/png;base64,...`` URLs. Base URL from ``base_url=``, ``MAESTRO_OPENAI_BASE_URL`` or
  ``OPENAI_BASE_URL``; key from ``api_key=`` or ``OPENAI_API_KEY``.

Both retry 429 and 5xx answers (and connection errors) with exponential back-off, and account tokens and latency.
Any final failure raises :class:`maestro_agent.models.base.ModelError` with a message that says what to try.
"""
from __future__ import annotations

import base64
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

from maestro_agent.models.base import ImageItem, ModelError

Role = Literal["system", "user", "assistant"]
T = TypeVar("T")

#: HTTP status codes that are worth a retry.
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


@dataclass
class ChatMessage:
    """One chat message; ``images`` are (caption, PNG bytes) shown after the text."""

    role: Role
    text: str
    images: list[ImageItem] = field(default_factory=list)


@dataclass
class ChatReply:
    """Text of a model reply plus its usage: input_tokens, output_tokens, latency_s, attempts."""

    text: str
    usage: dict[str, float] = field(default_factory=dict)


@runtime_checkable
class ChatClient(Protocol):
    """Anything that answers a list of chat messages with one text reply."""

    name: str

    def complete(self, messages: list[ChatMessage]) -> ChatReply:
        """Send ``messages`` and return the reply; raise ModelError after retries fail."""
        ...


class _RetryableError(Exception):
    """Internal: a transient failure (429/5xx/connection) that may succeed on retry."""


def with_retries(
    fn: Callable[[], T], *, max_retries: int, backoff_s: float, what: str, sleep: Callable[[float], None] = time.sleep
) -> tuple[T, int]:
    """Call ``fn`` until it succeeds; retry :class:`_RetryableError` with exponential back-off + jitter.

    Returns (result, attempts). Raises ModelError when all attempts failed.
    """
    attempts = 0
    while True:
        attempts += 1
        try:
            return fn(), attempts
        except _RetryableError as exc:
            if attempts > max_retries:
                raise ModelError(
                    f"{what} failed after {attempts} attempts: {exc}. The service is overloaded or down; "
                    "wait and retry, raise max_retries, or use another model (e.g. 'offline')."
                ) from exc
            delay = backoff_s * (2 ** (attempts - 1)) * (1.0 + 0.25 * random.random())
            sleep(min(delay, 60.0))


def png_data_url(png: bytes) -> str:
    """``data:image/png;base64,...`` URL of PNG bytes."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _check_png(png: bytes, caption: str) -> None:
    """Reject non-PNG image payloads early with a clear message."""
    if not isinstance(png, bytes | bytearray) or not bytes(png[:8]) == b"\x89PNG\r\n\x1a\n":
        raise ModelError(f"image {caption!r} is not PNG bytes; encode images as PNG before sending them")


class OpenAIChat:
    """OpenAI-compatible ``/v1/chat/completions`` client (OpenAI, vLLM, Ollama, ...)."""

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        temperature: float = 0.2,
        max_output_tokens: int = 4096,
        max_retries: int = 4,
        backoff_s: float = 1.0,
        timeout_s: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Configure the client; nothing is sent until :meth:`complete`."""
        import httpx

        self.model = model
        self.name = f"openai:{model}"
        self.base_url = (
            base_url
            or os.environ.get("MAESTRO_OPENAI_BASE_URL")
            or os.environ.get("OPENAI_BASE_URL")
            or "https://api.openai.com/v1"
        ).rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "")
        self.temperature = temperature
        self.max_output_tokens = max_output_tokens
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self._sleep = sleep
        self._http = httpx.Client(timeout=timeout_s)

    def _url(self) -> str:
        """Endpoint URL; accepts base URLs with or without the trailing ``/v1``."""
        base = self.base_url
        return f"{base}/chat/completions" if base.endswith("/v1") else f"{base}/v1/chat/completions"

    def request_body(self, messages: list[ChatMessage]) -> dict[str, Any]:
        """The JSON body for ``messages`` (images become ``image_url`` data-URL parts)."""
        out: list[dict[str, Any]] = []
        for m in messages:
            if not m.images:
                out.append({"role": m.role, "content": m.text})
                continue
            parts: list[dict[str, Any]] = [{"type": "text", "text": m.text}]
            for caption, png in m.images:
                _check_png(png, caption)
                parts.append({"type": "text", "text": f"[image] {caption}"})
                parts.append({"type": "image_url", "image_url": {"url": png_data_url(bytes(png))}})
            out.append({"role": m.role, "content": parts})
        return {
            "model": self.model,
            "messages": out,
            "temperature": self.temperature,
            "max_tokens": self.max_output_tokens,
        }

    def complete(self, messages: list[ChatMessage]) -> ChatReply:
        """POST the messages; retry 429/5xx/connection errors; parse text and usage."""
        import httpx

        body = self.request_body(messages)
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        t0 = time.monotonic()

        def once() -> dict[str, Any]:
            try:
                resp = self._http.post(self._url(), json=body, headers=headers)
            except httpx.TransportError as exc:
                raise _RetryableError(f"cannot reach {self._url()}: {exc}") from exc
            if resp.status_code in RETRYABLE_STATUS:
                raise _RetryableError(f"HTTP {resp.status_code}: {resp.text[:200]}")
            if resp.status_code >= 400:
                raise ModelError(
                    f"{self.name}: HTTP {resp.status_code} from {self._url()}: {resp.text[:300]}. "
                    "Check the model name, the API key (OPENAI_API_KEY) and the base URL."
                )
            try:
                return resp.json()
            except ValueError as exc:
                raise ModelError(f"{self.name}: reply is not JSON: {resp.text[:200]!r}") from exc

        data, attempts = with_retries(
            once, max_retries=self.max_retries, backoff_s=self.backoff_s, what=self.name, sleep=self._sleep
        )
        try:
            content = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise ModelError(
                f"{self.name}: malformed completion (no choices[0].message.content): {str(data)[:300]}"
            ) from exc
        if isinstance(content, list):  # some servers return content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        if not isinstance(content, str):
            raise ModelError(f"{self.name}: completion content is {type(content).__name__}, expected text")
        usage = data.get("usage") or {}
        return ChatReply(
            text=content,
            usage={
                "input_tokens": int(usage.get("prompt_tokens", 0) or 0),
                "output_tokens": int(usage.get("completion_tokens", 0) or 0),
                "latency_s": time.monotonic() - t0,
                "attempts": attempts,
            },
        )

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()


class GeminiChat:
    """Google Gemini client over ``google-genai``; images are sent as inline PNG parts."""

    def __init__(
        self,
        model: str = "gemini-2.5-flash",
        base_url: str | None = None,
        api_key: str | None = None,
        temperature: float = 0.2,
        max_output_tokens: int = 8192,
        max_retries: int = 4,
        backoff_s: float = 1.0,
        timeout_s: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Create the google-genai client (no request is sent here)."""
        from google import genai
        from google.genai import types

        self.model = model
        self.name = model
        key = api_key or os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY")
        if not key:
            raise ModelError("Gemini needs an API key: set GEMINI_API_KEY (or GOOGLE_API_KEY), or use model 'offline'")
        base_url = base_url or os.environ.get("MAESTRO_GEMINI_BASE_URL")
        http_options = types.HttpOptions(
            base_url=base_url,
            timeout=int(timeout_s * 1000),
            retry_options=types.HttpRetryOptions(attempts=1),  # retries are ours, so they are counted and tested
        )
        self._types = types
        self._client = genai.Client(api_key=key, http_options=http_options)
        self.temperature = temperature
        self.max_output_tokens = max_output_tokens
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self._sleep = sleep

    def request_contents(self, messages: list[ChatMessage]) -> tuple[str | None, list[Any]]:
        """Split messages into (system instruction, contents) with PNG images as inline parts."""
        types = self._types
        system = "\n\n".join(m.text for m in messages if m.role == "system") or None
        contents = []
        for m in messages:
            if m.role == "system":
                continue
            parts = [types.Part.from_text(text=m.text)]
            for caption, png in m.images:
                _check_png(png, caption)
                parts.append(types.Part.from_text(text=f"[image] {caption}"))
                parts.append(types.Part.from_bytes(data=bytes(png), mime_type="image/png"))
            contents.append(types.Content(role="model" if m.role == "assistant" else "user", parts=parts))
        return system, contents

    def complete(self, messages: list[ChatMessage]) -> ChatReply:
        """Call generate_content; retry 429/5xx and connection errors; return text and usage."""
        import httpx
        from google.genai import errors

        types = self._types
        system, contents = self.request_contents(messages)
        config = types.GenerateContentConfig(
            system_instruction=system, temperature=self.temperature, max_output_tokens=self.max_output_tokens
        )
        t0 = time.monotonic()

        def once() -> Any:
            try:
                return self._client.models.generate_content(model=self.model, contents=contents, config=config)
            except errors.APIError as exc:
                if int(getattr(exc, "code", 0) or 0) in RETRYABLE_STATUS:
                    raise _RetryableError(f"HTTP {exc.code}: {str(exc)[:200]}") from exc
                raise ModelError(
                    f"{self.name}: API error {getattr(exc, 'code', '?')}: {str(exc)[:300]}. "
                    "Check the model id and the API key."
                ) from exc
            except httpx.TransportError as exc:
                raise _RetryableError(f"cannot reach the Gemini API: {exc}") from exc

        resp, attempts = with_retries(
            once, max_retries=self.max_retries, backoff_s=self.backoff_s, what=self.name, sleep=self._sleep
        )
        try:
            text = resp.text
        except (ValueError, AttributeError) as exc:
            raise ModelError(f"{self.name}: reply has no text: {exc}") from exc
        if not text:
            reason = ""
            if getattr(resp, "candidates", None):
                reason = f" (finish reason {resp.candidates[0].finish_reason})"
            raise ModelError(f"{self.name}: empty reply{reason}; the prompt may have been blocked or truncated")
        meta = resp.usage_metadata
        return ChatReply(
            text=text,
            usage={
                "input_tokens": int(getattr(meta, "prompt_token_count", 0) or 0),
                "output_tokens": int(getattr(meta, "candidates_token_count", 0) or 0)
                + int(getattr(meta, "thoughts_token_count", 0) or 0),
                "latency_s": time.monotonic() - t0,
                "attempts": attempts,
            },
        )
