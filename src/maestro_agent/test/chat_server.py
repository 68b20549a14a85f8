"""A loopback HTTP server that speaks the Gemini generateContent and OpenAI chat/completions formats (tests only)."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Scripted:
    """Replies the server gives, in order: (status, body dict or raw str). The last one repeats."""

    replies: list[tuple[int, Any]]
    requests: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


def gemini_body(text: str, prompt_tokens: int = 11, out_tokens: int = 7) -> dict[str, Any]:
    """A generateContent response with one text candidate."""
    return {
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": prompt_tokens, "candidatesTokenCount": out_tokens},
    }


def openai_body(text: str, prompt_tokens: int = 13, out_tokens: int = 5) -> dict[str, Any]:
    """A chat.completion response with one choice."""
    return {
        "id": "cmpl-1",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": out_tokens},
    }


@contextmanager
def serve(script: Scripted) -> Iterator[str]:
    """Run the scripted server on 127.0.0.1 (random port); yield its base URL; always shut it down."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep pytest output clean
            return

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            try:
                script.requests.append(json.loads(raw or b"{}"))
            except ValueError:
                script.requests.append({"_raw": raw.decode("utf-8", "replace")})
            script.paths.append(self.path)
            script.headers.append({k.lower(): v for k, v in self.headers.items()})
            idx = min(len(script.requests) - 1, len(script.replies) - 1)
            status, body = script.replies[idx]
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
