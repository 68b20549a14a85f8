"""Gemini and OpenAI chat clients against a loopback server that speaks their formats."""
from __future__ import annotations

import base64
import importlib.util
import io
import sys
from pathlib import Path

import pytest

from maestro_agent.models.base import ModelError
from maestro_agent.models.chat import ChatMessage, GeminiChat, OpenAIChat

_spec = importlib.util.spec_from_file_location("chat_server", Path(__file__).with_name("chat_server.py"))
chat_server = importlib.util.module_from_spec(_spec)
sys.modules["chat_server"] = chat_server
_spec.loader.exec_module(chat_server)
Scripted, serve, gemini_body, openai_body = (
    chat_server.Scripted, chat_server.serve, chat_server.gemini_body, chat_server.openai_body
)


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 3), (255, 0, 0)).save(buf, format="PNG")
    return buf.getvalue()


MESSAGES = [
    ChatMessage("system", "You are a robot."),
    ChatMessage("user", "What do you see?", images=[("front camera", _png())]),
]


def test_openai_sends_image_and_parses_usage() -> None:
    script = Scripted([(200, openai_body("a red square"))])
    with serve(script) as url:
        chat = OpenAIChat("test-vlm", base_url=url + "/v1", api_key="k", sleep=lambda s: None)
        reply = chat.complete(MESSAGES)
    assert reply.text == "a red square"
    assert reply.usage["input_tokens"] == 13 and reply.usage["output_tokens"] == 5
    assert reply.usage["attempts"] == 1 and reply.usage["latency_s"] >= 0
    assert script.paths == ["/v1/chat/completions"]
    assert script.headers[0]["authorization"] == "Bearer k"
    body = script.requests[0]
    assert body["model"] == "test-vlm"
    assert body["messages"][0] == {"role": "system", "content": "You are a robot."}
    parts = body["messages"][1]["content"]
    urls = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
    assert len(urls) == 1 and urls[0].startswith("data:image/png;base64,")
    assert base64.b64decode(urls[0].split(",", 1)[1]) == _png()


def test_openai_retries_429_then_succeeds() -> None:
    sleeps: list[float] = []
    script = Scripted([(429, {"error": "rate"}), (503, {"error": "busy"}), (200, openai_body("ok"))])
    with serve(script) as url:
        reply = OpenAIChat("m", base_url=url, backoff_s=0.5, sleep=sleeps.append).complete(MESSAGES)
    assert reply.text == "ok" and reply.usage["attempts"] == 3
    assert len(script.requests) == 3
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0]  # exponential back-off


def test_openai_gives_up_after_retries() -> None:
    script = Scripted([(500, {"error": "down"})])
    with serve(script) as url, pytest.raises(ModelError, match="failed after 3 attempts"):
        OpenAIChat("m", base_url=url, max_retries=2, sleep=lambda s: None).complete(MESSAGES)


def test_openai_malformed_reply_is_clear_error() -> None:
    script = Scripted([(200, {"choices": []})])
    with serve(script) as url, pytest.raises(ModelError, match="malformed completion"):
        OpenAIChat("m", base_url=url, sleep=lambda s: None).complete(MESSAGES)
    script = Scripted([(200, "not json")])
    with serve(script) as url, pytest.raises(ModelError, match="not JSON"):
        OpenAIChat("m", base_url=url, sleep=lambda s: None).complete(MESSAGES)


def test_openai_client_error_not_retried() -> None:
    script = Scripted([(401, {"error": "bad key"})])
    with serve(script) as url, pytest.raises(ModelError, match="HTTP 401"):
        OpenAIChat("m", base_url=url, sleep=lambda s: None).complete(MESSAGES)
    assert len(script.requests) == 1


def test_rejects_non_png_image() -> None:
    with pytest.raises(ModelError, match="not PNG"):
        OpenAIChat("m", base_url="http://127.0.0.1:9").request_body([ChatMessage("user", "x", [("c", b"JFIF")])])


def test_gemini_sends_inline_png_and_parses_usage() -> None:
    script = Scripted([(200, gemini_body("I see red"))])
    with serve(script) as url:
        chat = GeminiChat("gemini-test", base_url=url, api_key="key", sleep=lambda s: None)
        reply = chat.complete(MESSAGES)
    assert reply.text == "I see red"
    assert reply.usage["input_tokens"] == 11 and reply.usage["output_tokens"] == 7
    assert "gemini-test:generateContent" in script.paths[0]
    body = script.requests[0]
    assert body["systemInstruction"]["parts"][0]["text"] == "You are a robot."
    parts = body["contents"][0]["parts"]
    inline = [p["inlineData"] for p in parts if "inlineData" in p]
    assert len(inline) == 1 and inline[0].get("mimeType", inline[0].get("mime_type")) == "image/png"
    assert base64.b64decode(inline[0]["data"]) == _png()


def test_gemini_retries_429_then_succeeds() -> None:
    sleeps: list[float] = []
    err = {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}
    script = Scripted([(429, err), (200, gemini_body("fine"))])
    with serve(script) as url:
        reply = GeminiChat("gemini-test", base_url=url, api_key="k", sleep=sleeps.append).complete(MESSAGES)
    assert reply.text == "fine" and reply.usage["attempts"] == 2 and len(sleeps) == 1
    assert len(script.requests) == 2


def test_gemini_malformed_reply_is_clear_error() -> None:
    script = Scripted([(200, {"candidates": [], "usageMetadata": {}})])
    with serve(script) as url, pytest.raises(ModelError, match="empty reply|no text"):
        GeminiChat("gemini-test", base_url=url, api_key="k", sleep=lambda s: None).complete(MESSAGES)


def test_gemini_needs_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    with pytest.raises(ModelError, match="GEMINI_API_KEY"):
        GeminiChat("gemini-test")
