"""JSON-RPC 2.0 over a pair of byte streams (the sandbox child's stdin/stdout pipes): no pickle, no network.

Framing: one JSON object per line (UTF-8, ``\\n``-terminated; JSON escapes newlines inside strings). Messages longer
than :data:`MAX_MESSAGE_BYTES` are refused. This module is stdlib-only because the sandbox child loads it too
(by path, before any model code runs).

* :class:`JsonRpcEndpoint` (parent side): a reader thread resolves responses, hands requests to a handler (in a thread
  pool, so a long tool call never blocks the reader) and notifications to a callback; ``request()`` is thread-safe.
* :class:`SyncJsonRpcClient` (child side): single-threaded; ``request()`` writes and then reads until its response,
  so the child needs no threads while model code runs.
"""
from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, BinaryIO

JSONRPC = "2.0"
MAX_MESSAGE_BYTES = 32 * 1024 * 1024

# JSON-RPC 2.0 error codes (spec) and ours (server-defined range -32000..-32099).
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
PEER_CLOSED = -32000
REQUEST_TIMEOUT = -32001


class RpcError(Exception):
    """A JSON-RPC error response (or a local failure mapped onto one)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"[{code}] {message}")
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        """The ``error`` member of a response."""
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            err["data"] = self.data
        return err


def encode(message: dict[str, Any]) -> bytes:
    """One framed message (compact JSON + newline); NaN/inf are refused so the peer can always parse it."""
    data = json.dumps(message, separators=(",", ":"), allow_nan=False, ensure_ascii=False).encode("utf-8") + b"\n"
    if len(data) > MAX_MESSAGE_BYTES:
        raise RpcError(INVALID_REQUEST, f"message of {len(data)} bytes exceeds the {MAX_MESSAGE_BYTES} byte limit")
    return data


def make_request(msg_id: int, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """A request object."""
    return {"jsonrpc": JSONRPC, "id": msg_id, "method": method, "params": params or {}}


def make_notification(method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """A notification object (no id, no response)."""
    return {"jsonrpc": JSONRPC, "method": method, "params": params or {}}


def make_response(msg_id: Any, result: Any = None, error: RpcError | None = None) -> dict[str, Any]:
    """A response object with either ``result`` or ``error``."""
    if error is not None:
        return {"jsonrpc": JSONRPC, "id": msg_id, "error": error.to_json()}
    return {"jsonrpc": JSONRPC, "id": msg_id, "result": result}


def decode(line: bytes) -> dict[str, Any]:
    """Parse and validate one framed message; raises :class:`RpcError` (PARSE_ERROR / INVALID_REQUEST)."""
    if len(line) > MAX_MESSAGE_BYTES:
        raise RpcError(INVALID_REQUEST, "message too long")
    try:
        msg = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RpcError(PARSE_ERROR, f"not JSON: {exc}") from None
    if not isinstance(msg, dict) or msg.get("jsonrpc") != JSONRPC:
        raise RpcError(INVALID_REQUEST, "not a JSON-RPC 2.0 object")
    if "method" in msg:
        if not isinstance(msg["method"], str):
            raise RpcError(INVALID_REQUEST, "method must be a string")
        if not isinstance(msg.get("params", {}), dict):
            raise RpcError(INVALID_PARAMS, "params must be an object")
    elif "id" not in msg or ("result" not in msg and "error" not in msg):
        raise RpcError(INVALID_REQUEST, "a response needs an id and a result or an error")
    return msg


Handler = Callable[[str, dict[str, Any]], Any]
NotificationCallback = Callable[[str, dict[str, Any]], None]


class JsonRpcEndpoint:
    """Threaded JSON-RPC peer over (rfile, wfile); see the module docstring."""

    def __init__(
        self,
        rfile: BinaryIO,
        wfile: BinaryIO,
        handler: Handler | None = None,
        on_notification: NotificationCallback | None = None,
        on_close: Callable[[], None] | None = None,
        max_workers: int = 4,
        name: str = "jsonrpc",
    ) -> None:
        self._rfile = rfile
        self._wfile = wfile
        self._handler = handler
        self._on_notification = on_notification
        self._on_close = on_close
        self._ids = itertools.count(1)
        self._pending: dict[int, Future] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._closed = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=f"{name}-handler")
        self._reader = threading.Thread(target=self._read_loop, name=f"{name}-reader", daemon=True)
        self._reader.start()

    @property
    def closed(self) -> bool:
        """True once the peer's stream ended."""
        return self._closed.is_set()

    def send(self, message: dict[str, Any]) -> None:
        """Write one message; raises :class:`RpcError` (PEER_CLOSED) when the pipe is gone."""
        data = encode(message)
        with self._write_lock:
            try:
                self._wfile.write(data)
                self._wfile.flush()
            except (BrokenPipeError, OSError, ValueError) as exc:
                raise RpcError(PEER_CLOSED, f"peer closed: {exc}") from None

    def request_async(self, method: str, params: dict[str, Any] | None = None) -> Future:
        """Send a request; the returned future resolves to the result or raises :class:`RpcError`."""
        fut: Future = Future()
        if self.closed:
            fut.set_exception(RpcError(PEER_CLOSED, "peer closed"))
            return fut
        msg_id = next(self._ids)
        with self._lock:
            self._pending[msg_id] = fut
        try:
            self.send(make_request(msg_id, method, params))
        except RpcError as exc:
            with self._lock:
                self._pending.pop(msg_id, None)
            fut.set_exception(exc)
        return fut

    def request(self, method: str, params: dict[str, Any] | None = None, timeout: float | None = None) -> Any:
        """Blocking request; raises :class:`RpcError` on an error response, a closed peer or a timeout."""
        fut = self.request_async(method, params)
        try:
            return fut.result(timeout=timeout)
        except TimeoutError:
            raise RpcError(REQUEST_TIMEOUT, f"no answer to {method!r} within {timeout} s") from None

    def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        """Send a notification."""
        self.send(make_notification(method, params))

    def close(self) -> None:
        """Stop handling; pending requests fail with PEER_CLOSED."""
        self._fail_pending("endpoint closed")
        self._pool.shutdown(wait=False, cancel_futures=True)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the reader thread to end (after the peer's stream closed)."""
        self._reader.join(timeout)

    # -- internals ------------------------------------------------------------------------------------------
    def _fail_pending(self, why: str) -> None:
        self._closed.set()
        with self._lock:
            pending, self._pending = self._pending, {}
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(RpcError(PEER_CLOSED, why))

    def _read_loop(self) -> None:
        try:
            while True:
                line = self._rfile.readline(MAX_MESSAGE_BYTES + 1)
                if not line:
                    break
                if not line.strip():
                    continue
                try:
                    msg = decode(line)
                except RpcError as exc:
                    try:
                        self.send(make_response(None, error=exc))
                    except RpcError:
                        break
                    continue
                self._dispatch(msg)
        except (OSError, ValueError):
            pass
        finally:
            self._fail_pending("peer closed its stream")
            if self._on_close is not None:
                self._on_close()

    def _dispatch(self, msg: dict[str, Any]) -> None:
        if "method" not in msg:
            with self._lock:
                fut = self._pending.pop(msg.get("id"), None)  # type: ignore[arg-type]
            if fut is None or fut.done():
                return
            if "error" in msg:
                err = msg["error"] if isinstance(msg["error"], dict) else {}
                fut.set_exception(RpcError(int(err.get("code", INTERNAL_ERROR)), str(err.get("message", "")),
                                           err.get("data")))
            else:
                fut.set_result(msg.get("result"))
            return
        if "id" not in msg:
            if self._on_notification is not None:
                try:
                    self._on_notification(msg["method"], msg.get("params", {}))
                except Exception:
                    pass
            return
        try:
            self._pool.submit(self._handle, msg)
        except RuntimeError:
            pass

    def _handle(self, msg: dict[str, Any]) -> None:
        msg_id = msg["id"]
        try:
            if self._handler is None:
                raise RpcError(METHOD_NOT_FOUND, f"no handler for {msg['method']!r}")
            result = self._handler(msg["method"], msg.get("params", {}))
            response = make_response(msg_id, result)
        except RpcError as exc:
            response = make_response(msg_id, error=exc)
        except Exception as exc:
            response = make_response(msg_id, error=RpcError(INTERNAL_ERROR, f"{type(exc).__name__}: {exc}"))
        try:
            self.send(response)
        except RpcError:
            pass
        except (TypeError, ValueError) as exc:  # result not JSON-able
            try:
                self.send(make_response(msg_id, error=RpcError(INTERNAL_ERROR, f"result not JSON-able: {exc}")))
            except RpcError:
                pass


class SyncJsonRpcClient:
    """Single-threaded peer for the sandbox child: blocking ``request()``, ``notify()``, ``next_message()``."""

    def __init__(self, rfile: BinaryIO, wfile: BinaryIO) -> None:
        self._rfile = rfile
        self._wfile = wfile
        self._ids = itertools.count(1)
        self._backlog: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        """Write one message."""
        self._wfile.write(encode(message))
        self._wfile.flush()

    def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        """Send a notification."""
        self.send(make_notification(method, params))

    def _read(self) -> dict[str, Any] | None:
        while True:
            line = self._rfile.readline(MAX_MESSAGE_BYTES + 1)
            if not line:
                return None
            if line.strip():
                try:
                    return decode(line)
                except RpcError as exc:
                    self.send(make_response(None, error=exc))

    def next_message(self) -> dict[str, Any] | None:
        """The next incoming request/notification (None at end of stream)."""
        if self._backlog:
            return self._backlog.pop(0)
        return self._read()

    def request(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """Send a request and read until its response; other incoming messages are kept for next_message()."""
        msg_id = next(self._ids)
        self.send(make_request(msg_id, method, params))
        while True:
            msg = self._read()
            if msg is None:
                raise RpcError(PEER_CLOSED, "parent closed the channel")
            if "method" in msg:
                self._backlog.append(msg)
                continue
            if msg.get("id") != msg_id:
                continue
            if "error" in msg:
                err = msg["error"] if isinstance(msg["error"], dict) else {}
                raise RpcError(int(err.get("code", INTERNAL_ERROR)), str(err.get("message", "")), err.get("data"))
            return msg.get("result")
