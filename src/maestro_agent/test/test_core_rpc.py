"""JSON-RPC 2.0 transport: framing, round trips both ways, errors, closed peers."""
from __future__ import annotations

import os
import threading
from typing import Any

import pytest

from maestro_agent import rpc


def _pipes() -> tuple[Any, Any, Any, Any]:
    a_r, b_w = os.pipe()
    b_r, a_w = os.pipe()
    return (os.fdopen(a_r, "rb", buffering=0), os.fdopen(a_w, "wb", buffering=0),
            os.fdopen(b_r, "rb", buffering=0), os.fdopen(b_w, "wb", buffering=0))


def test_framing_round_trip_and_validation() -> None:
    msg = rpc.make_request(1, "call_tool", {"name": "x", "args": {"text": "a\nb", "v": [1.5, None]}})
    data = rpc.encode(msg)
    assert data.count(b"\n") == 1 and data.endswith(b"\n")
    assert rpc.decode(data) == msg
    with pytest.raises(ValueError):
        rpc.encode({"jsonrpc": "2.0", "method": "m", "params": {"x": float("nan")}})
    with pytest.raises(rpc.RpcError) as err:
        rpc.decode(b"{not json")
    assert err.value.code == rpc.PARSE_ERROR
    with pytest.raises(rpc.RpcError) as err:
        rpc.decode(b'{"jsonrpc": "1.0", "method": "m"}')
    assert err.value.code == rpc.INVALID_REQUEST
    with pytest.raises(rpc.RpcError) as err:
        rpc.decode(b'{"jsonrpc": "2.0", "method": "m", "params": [1]}')
    assert err.value.code == rpc.INVALID_PARAMS


def test_endpoint_and_sync_client_talk_both_ways() -> None:
    a_in, a_out, b_in, b_out = _pipes()
    notes: list[tuple[str, dict]] = []

    def handler(method: str, params: dict[str, Any]) -> Any:
        if method == "add":
            return {"sum": params["a"] + params["b"]}
        if method == "boom":
            raise RuntimeError("handler failed")
        raise rpc.RpcError(rpc.METHOD_NOT_FOUND, f"no {method}")

    parent = rpc.JsonRpcEndpoint(a_in, a_out, handler=handler, on_notification=lambda m, p: notes.append((m, p)))
    child = rpc.SyncJsonRpcClient(b_in, b_out)
    done = threading.Event()
    results: dict[str, Any] = {}

    def child_main() -> None:
        # the child serves one "exec" request and makes its own requests meanwhile
        msg = child.next_message()
        assert msg["method"] == "exec"
        results["add"] = child.request("add", {"a": 2, "b": 3})
        try:
            child.request("boom", {})
        except rpc.RpcError as exc:
            results["boom"] = (exc.code, exc.message)
        try:
            child.request("nope", {})
        except rpc.RpcError as exc:
            results["nope"] = exc.code
        child.notify("stdout", {"text": "hello"})
        child.send(rpc.make_response(msg["id"], {"ok": True}))
        done.set()

    t = threading.Thread(target=child_main)
    t.start()
    assert parent.request("exec", {"code": "x"}, timeout=5.0) == {"ok": True}
    t.join(5.0)
    assert done.is_set()
    assert results["add"] == {"sum": 5}
    assert results["boom"][0] == rpc.INTERNAL_ERROR and "handler failed" in results["boom"][1]
    assert results["nope"] == rpc.METHOD_NOT_FOUND
    assert ("stdout", {"text": "hello"}) in notes
    # the child goes away: pending and new requests fail with PEER_CLOSED instead of hanging
    pending = parent.request_async("exec", {})
    b_out.close()
    with pytest.raises(rpc.RpcError) as err:
        pending.result(timeout=5.0)
    assert err.value.code == rpc.PEER_CLOSED
    with pytest.raises(rpc.RpcError):
        parent.request("exec", {}, timeout=1.0)
    parent.close()


def test_request_timeout() -> None:
    a_in, a_out, b_in, b_out = _pipes()
    parent = rpc.JsonRpcEndpoint(a_in, a_out)
    with pytest.raises(rpc.RpcError) as err:
        parent.request("exec", {}, timeout=0.2)
    assert err.value.code == rpc.REQUEST_TIMEOUT
    b_out.close()
    parent.close()
