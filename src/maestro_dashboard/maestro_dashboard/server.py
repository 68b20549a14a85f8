"""The dashboard's web server: static page, JSON API and a websocket, on one loopback port (``websockets`` only).

HTTP (GET only):
  /                                   the page (web/index.html), /static/<file> its CSS/JS
  /api/info                           mode (live available?), version
  /api/trials                         recorded trials
  /api/trial/<id>                     replay payload (normalised events, issues, videos, joint states)
  /api/trial/<id>/file/<path>         an image of the trial folder
  /api/trial/<id>/frame/<cam>/<i>     frame i of a camera video as JPEG
  /api/live                           the live trial so far;  /api/live/frame/<cam>[?t=epoch]  latest live frame
  /api/analytics?trials=a,b&category=&embodiment=&task=
WebSocket /ws: server -> page {"kind": "event"|"frame"|"joints"|"task"|"issue"|"hello", ...};
               page -> server {"op": "run_task", "instruction": ...} | {"op": "cancel"}.
"""
from __future__ import annotations

import asyncio
import json
import threading
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from maestro_dashboard.store import TrialStore

WEB_DIR = Path(__file__).parent / "web"
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
STATIC_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
                ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png",
                ".ico": "image/x-icon"}


def _response(status: int, body: bytes, content_type: str, cache: bool = False) -> Response:
    headers = Headers()
    headers["Content-Type"] = content_type
    headers["Content-Length"] = str(len(body))
    headers["Cache-Control"] = "max-age=3600" if cache else "no-store"
    headers["X-Content-Type-Options"] = "nosniff"
    return Response(status, HTTPStatus(status).phrase, headers, body)


def json_response(data: Any, status: int = 200) -> Response:
    """A JSON HTTP response."""
    return _response(status, json.dumps(data, default=str).encode(), "application/json")


def error_response(status: int, message: str) -> Response:
    """A JSON error body {"error": message}."""
    return json_response({"error": message}, status)


class DashboardServer:
    """Serve the dashboard on 127.0.0.1; ``live`` (a LiveBridge or None) provides the live side."""

    def __init__(self, store: TrialStore, host: str = "127.0.0.1", port: int = 8765, initial_trial: str = "") -> None:
        if host not in LOOPBACK_HOSTS:
            raise ValueError(f"the dashboard only serves on the loopback interface ({', '.join(LOOPBACK_HOSTS)}), "
                             f"not '{host}'; use an SSH tunnel to view it from another machine")
        self.store = store
        self.host = host
        self.port = port
        self.initial_trial = initial_trial
        self.live: Any = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._clients: set[ServerConnection] = set()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- lifecycle
    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve(self._ws_handler, self.host, self.port, process_request=self._process_request,
                         max_size=1 << 20, server_header="maestro-dashboard") as server:
            self._server = server
            sock = next(iter(server.sockets))
            self.port = sock.getsockname()[1]
            self._ready.set()
            await self._stop.wait()

    def start(self) -> int:
        """Start serving in a background thread; returns the bound port."""
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), name="dashboard-http", daemon=True)
        self._thread.start()
        if not self._ready.wait(10.0):
            raise RuntimeError(f"the dashboard server did not start on {self.host}:{self.port}")
        return self.port

    def stop(self) -> None:
        """Stop serving and join the thread."""
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    @property
    def url(self) -> str:
        """The page's address."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    # ---------------------------------------------------------------- broadcast (thread-safe)
    def broadcast(self, message: dict[str, Any]) -> None:
        """Send ``message`` to every connected page; callable from any thread, never blocks."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        data = json.dumps(message, default=str)
        try:
            loop.call_soon_threadsafe(self._send_all, data)
        except RuntimeError:
            pass  # loop shutting down

    def _send_all(self, data: str) -> None:
        for ws in list(self._clients):
            asyncio.ensure_future(self._safe_send(ws, data))

    @staticmethod
    async def _safe_send(ws: ServerConnection, data: str) -> None:
        try:
            await asyncio.wait_for(ws.send(data), timeout=5.0)
        except Exception:
            pass  # a slow or closed page must not stop the others

    # ---------------------------------------------------------------- websocket
    def _origin_ok(self, request: Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None:
            return True  # non-browser client
        host = urlsplit(origin).hostname or ""
        return host in LOOPBACK_HOSTS

    async def _ws_handler(self, ws: ServerConnection) -> None:
        self._clients.add(ws)
        try:
            await ws.send(json.dumps({"kind": "hello", "live": self.live is not None}))
            async for raw in ws:
                reply = await asyncio.get_running_loop().run_in_executor(None, self._on_client_message, raw)
                await ws.send(json.dumps({"kind": "reply", **reply}))
        except Exception:
            pass  # connection closed
        finally:
            self._clients.discard(ws)

    def _on_client_message(self, raw: str | bytes) -> dict[str, Any]:
        try:
            msg = json.loads(raw)
            op = msg.get("op")
        except (ValueError, AttributeError):
            return {"ok": False, "error": "messages must be JSON objects with an 'op'"}
        if self.live is None and op in ("run_task", "cancel"):
            return {"ok": False, "op": op, "error": "live mode is off (started with --no-live or without ROS)"}
        if op == "run_task":
            return {"op": op, **self.live.run_task(msg)}
        if op == "cancel":
            return {"op": op, **self.live.cancel()}
        if op == "ping":
            return {"ok": True, "op": op}
        return {"ok": False, "op": op, "error": f"unknown op {op!r} (run_task, cancel, ping)"}

    # ---------------------------------------------------------------- HTTP
    async def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        path = unquote(parts.path)
        if path == "/ws":
            if not self._origin_ok(request):
                return error_response(403, "websocket connections are accepted from pages on localhost only")
            return None  # continue with the websocket handshake
        # file and bag reading runs on a worker thread so the loop keeps serving the websocket
        return await asyncio.get_running_loop().run_in_executor(None, self._route, path, parse_qs(parts.query))

    def _route(self, path: str, query: dict[str, list[str]]) -> Response:
        try:
            if path in ("/", "/index.html"):
                return self._static("index.html")
            if path.startswith("/static/"):
                return self._static(path[len("/static/"):])
            if path.startswith("/api/"):
                return self._api(path[len("/api/"):].split("/"), query)
        except Exception as exc:  # any bug answers 500 with a message; the server keeps running
            return error_response(500, f"{type(exc).__name__}: {exc}")
        return error_response(404, f"no page at {path}")

    def _static(self, name: str) -> Response:
        p = (WEB_DIR / name).resolve()
        if not p.is_relative_to(WEB_DIR.resolve()) or not p.is_file():
            return error_response(404, f"no static file {name}")
        return _response(200, p.read_bytes(), STATIC_TYPES.get(p.suffix, "application/octet-stream"))

    def _api(self, seg: list[str], query: dict[str, list[str]]) -> Response:
        q = {k: v[-1] for k, v in query.items()}
        if seg == ["info"]:
            return json_response({"live": self.live is not None, "initial_trial": self.initial_trial,
                                  "roots": [str(r) for r in self.store.roots]})
        if seg == ["trials"]:
            return json_response(self.store.listing())
        if seg[0] == "trial" and len(seg) >= 2:
            tid = seg[1]
            if tid == "__live__" and len(seg) > 2:  # files of the live trial live in its trace_dir
                trace_dir = self.live.trial.meta.get("trace_dir") if self.live is not None else None
                if not trace_dir:
                    return error_response(404, "the live trial has no trace_dir")
                tid = self.store.add(trace_dir)
            if len(seg) == 2:
                payload = self.store.payload(tid)
                return json_response(payload) if payload else error_response(404, f"no trial '{tid}'")
            if seg[2] == "file" and len(seg) > 3:
                got = self.store.file(tid, "/".join(seg[3:]))
                return _response(200, got[0], got[1], cache=True) if got else error_response(404, "no such file")
            if seg[2] == "frame" and len(seg) == 5:
                try:
                    index = int(seg[4])
                except ValueError:
                    return error_response(400, "frame index must be an integer")
                jpeg = self.store.frame(tid, seg[3], index)
                return _response(200, jpeg, "image/jpeg", cache=True) if jpeg else error_response(404, "no frame")
        if seg == ["live"]:
            if self.live is None:
                return error_response(404, "live mode is off")
            return json_response(self.live.trial.snapshot() | {"cameras": sorted(self.live.frames)})
        if seg[0] == "live" and len(seg) == 3 and seg[1] == "frame":
            if self.live is None:
                return error_response(404, "live mode is off")
            t = float(q["t"]) if q.get("t") else None
            jpeg = self.live.latest_frame(seg[2], t)
            return _response(200, jpeg, "image/jpeg") if jpeg else error_response(404, "no frame yet")
        if seg == ["analytics"]:
            ids = [t for t in q.get("trials", "").split(",") if t]
            return json_response(self.store.analytics(ids, q.get("category") or None, q.get("embodiment") or None,
                                                      q.get("task") or None))
        return error_response(404, f"no API endpoint /api/{'/'.join(seg)}")
