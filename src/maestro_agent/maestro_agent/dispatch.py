"""Answer the sandbox's tool requests by calling ROS services and actions (parent side).

:class:`ToolDispatcher` is the ``handler`` of :class:`maestro_agent.sandbox.SandboxProcess`: methods ``call_tool``,
``start_tool``, ``handle_status``, ``handle_cancel``, ``handle_result``. Every answer is a result dict with
``error_code``/``error_msg`` (never an exception): unknown or vanished tool -> UNAVAILABLE (6), bad arguments ->
INVALID_ARGUMENT (2), no answer in time -> TIMEOUT (4; an action goal is cancelled first), cancelled -> CANCELLED (5).
Each call is reported to ``on_call`` (the recorder) with substep, source line, args, a result summary and timing.
The node must be spun by an executor in another thread (the agent node's MultiThreadedExecutor).
"""
from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from maestro_agent import msgconv
from maestro_agent.registry import ToolInfo, ToolRegistry

NONE, UNKNOWN, INVALID_ARGUMENT, TIMEOUT, CANCELLED, UNAVAILABLE = 0, 1, 2, 4, 5, 6
SERVICE_READY_WAIT_S = 1.0
ACTION_READY_WAIT_S = 1.0
GOAL_ACCEPT_WAIT_S = 5.0


def error_result(code: int, msg: str) -> dict[str, Any]:
    """A result dict that carries only an error."""
    return {"error_code": int(code), "error_msg": msg}


def _wait(fut: Any, timeout: float) -> bool:
    """Wait for an rclpy future without spinning (the executor runs elsewhere)."""
    if fut.done():
        return True
    event = threading.Event()
    fut.add_done_callback(lambda _f: event.set())
    return event.wait(timeout) or fut.done()


@dataclass
class _Running:
    """An action goal started by the sandbox."""

    info: ToolInfo
    args: dict[str, Any]
    line: int
    substep: int
    t_start: float
    goal_handle: Any = None
    result_future: Any = None
    feedback: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class ToolDispatcher:
    """See the module docstring."""

    def __init__(self, registry: ToolRegistry, store: msgconv.RefStore | None = None,
                 on_call: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.registry = registry
        self.store = store or msgconv.RefStore()
        self.on_call = on_call
        self.substep = 0
        self.allowed: frozenset[str] | None = None     # tool level restriction (None = every discovered tool)
        self.level = ""
        self._handles: dict[str, _Running] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._cancelled = threading.Event()

    # -- sandbox entry point ----------------------------------------------------------------------------
    def handle(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """JSON-RPC handler for the sandbox child."""
        name = str(params.get("name", ""))
        args = params.get("args") or {}
        timeout = float(params.get("timeout") or 0.0)
        line = int(params.get("line") or 0)
        if method == "call_tool":
            return self.call(name, args, timeout, line)
        if method == "start_tool":
            return self.start(name, args, timeout, line)
        handle = self._handles.get(str(params.get("handle", "")))
        if handle is None:
            return error_result(INVALID_ARGUMENT, "unknown action handle")
        if method == "handle_status":
            return {"done": handle.result is not None or (handle.result_future is not None
                                                            and handle.result_future.done()),
                    "feedback": handle.feedback}
        if method == "handle_cancel":
            return {"accepted": self._cancel_goal(handle)}
        if method == "handle_result":
            return self._finish(handle, timeout, poll=True)
        return error_result(INVALID_ARGUMENT, f"unknown method {method!r}")

    def cancel_all(self, latch: bool = True) -> int:
        """Cancel every running action goal; returns how many were asked to cancel.

        ``latch=True`` (task cancel): every later call answers CANCELLED until :meth:`reset`. ``latch=False`` (a
        substep ran out of time): only the running goals stop; the next substep's calls run normally.
        """
        if latch:
            self._cancelled.set()
        with self._lock:
            running = [h for h in self._handles.values() if h.result is None]
        return sum(1 for h in running if self._cancel_goal(h))

    def reset(self) -> None:
        """Forget finished handles and clear the cancelled state (new task)."""
        self._cancelled.clear()
        with self._lock:
            self._handles = {k: v for k, v in self._handles.items() if v.result is None}

    # -- calls ------------------------------------------------------------------------------------------
    def _lookup(self, name: str) -> ToolInfo | dict[str, Any]:
        if self.allowed is not None and name not in self.allowed and name != "stop":
            return error_result(UNAVAILABLE, f"tool '{name}' is not offered at tool level {self.level}; use "
                                             f"{', '.join(sorted(self.allowed))}")
        info = self.registry.get(name)
        if info is None:
            return error_result(UNAVAILABLE, self.registry.unavailable_message(name))
        return info

    def _request_msg(self, info: ToolInfo) -> Any:
        iface = info.interface()
        return iface.Request() if info.kind == "service" else iface.Goal()

    def _wait_s(self, info: ToolInfo, timeout: float) -> float:
        if timeout > 0:
            return timeout + (msgconv_grace() if info.spec.has_timeout_field else 0.0)
        return info.spec.default_wait_s

    def call(self, name: str, args: dict[str, Any], timeout: float = 0.0, line: int = 0,
             report: bool = True, force: bool = False) -> dict[str, Any]:
        """Blocking call of tool ``name`` with JSON ``args``; returns the JSON result.

        ``report``: tell ``on_call`` (the recorder); ``force``: run even after a task cancel (used for /control/stop).
        """
        t0 = time.time()
        info, result = self._call(name, args, timeout, force)
        if report:
            self._report(name, info, args, line, t0, result)
        return result

    def _call(self, name: str, args: dict[str, Any], timeout: float,
              force: bool = False) -> tuple[ToolInfo | None, dict[str, Any]]:
        info = self._lookup(name)
        if isinstance(info, dict):
            return None, info
        if self._cancelled.is_set() and not force:
            return info, error_result(CANCELLED, "the task was cancelled")
        try:
            req = msgconv.fill_message(self._request_msg(info), args, info.spec.enums, self.store)
        except msgconv.ConversionError as exc:
            return info, error_result(INVALID_ARGUMENT, f"{name}: {exc}")
        wait = self._wait_s(info, timeout)
        if info.kind == "service":
            return info, self._call_service(info, req, wait)
        running = _Running(info, args, 0, self.substep, time.time())
        started = self._send_goal(running, req)
        return info, started if started is not None else self._finish(running, wait, poll=False, report=False)

    def _call_service(self, info: ToolInfo, req: Any, wait: float) -> dict[str, Any]:
        client = self.registry.client(info)
        if not client.service_is_ready() and not client.wait_for_service(timeout_sec=SERVICE_READY_WAIT_S):
            return error_result(UNAVAILABLE, self.registry.unavailable_message(info.name))
        fut = client.call_async(req)
        if not _wait(fut, wait):
            client.remove_pending_request(fut)
            return error_result(TIMEOUT, f"{info.name}: no answer from {info.wire_name} within {wait:g} s; the tool "
                                         "may be busy or stuck. Retry with a larger timeout or check the node.")
        exc = fut.exception()
        if exc is not None:
            return error_result(UNKNOWN, f"{info.name}: the call failed: {exc}")
        return msgconv.to_json(fut.result(), self.store, info.name, self.substep)

    def _send_goal(self, running: _Running, goal: Any) -> dict[str, Any] | None:
        """Send the goal; returns an error result, or None once accepted."""
        info = running.info
        client = self.registry.client(info)
        if not client.server_is_ready() and not client.wait_for_server(timeout_sec=ACTION_READY_WAIT_S):
            return error_result(UNAVAILABLE, self.registry.unavailable_message(info.name))

        def on_feedback(msg: Any) -> None:
            running.feedback = msgconv.to_json(msg.feedback, None, info.name, running.substep)

        fut = client.send_goal_async(goal, feedback_callback=on_feedback)
        if not _wait(fut, GOAL_ACCEPT_WAIT_S):
            return error_result(TIMEOUT, f"{info.name}: the action server did not answer the goal within "
                                         f"{GOAL_ACCEPT_WAIT_S:g} s")
        handle = fut.result()
        if handle is None or not handle.accepted:
            return error_result(UNKNOWN, f"{info.name}: the goal was rejected by {info.wire_name}")
        running.goal_handle = handle
        running.result_future = handle.get_result_async()
        with self._lock:
            self._handles[str(id(running))] = running
        if self._cancelled.is_set():
            self._cancel_goal(running)
        return None

    def _finish(self, running: _Running, wait: float, poll: bool, report: bool = True) -> dict[str, Any]:
        """Wait up to ``wait`` s for the goal's result. On timeout: poll=True -> 'still running', else cancel."""
        if running.result is not None:
            return running.result
        wait = wait if wait > 0 else running.info.spec.default_wait_s
        info = running.info
        if not _wait(running.result_future, wait):
            if poll:
                return error_result(TIMEOUT, f"{info.name}: still running after {wait:g} s; call result() again, "
                                             "or cancel() it")
            self._cancel_goal(running)
            _wait(running.result_future, 2.0)
            result = error_result(TIMEOUT, f"{info.name}: no result within {wait:g} s; the goal was cancelled. "
                                           "Use a larger timeout or a closer target.")
        else:
            wrapped = running.result_future.result()
            result = msgconv.to_json(wrapped.result, self.store, info.name, running.substep)
            status = int(getattr(wrapped, "status", 0))
            if status == 5 and not result.get("error_code"):  # GoalStatus.STATUS_CANCELED
                result["error_code"], result["error_msg"] = CANCELLED, f"{info.name}: the goal was cancelled"
        with running.lock:
            running.result = result
        if report and poll:
            self._report(info.name, info, running.args, running.line, running.t_start, result)
        return result

    def start(self, name: str, args: dict[str, Any], timeout: float = 0.0, line: int = 0) -> dict[str, Any]:
        """Start an action; returns {"handle": id} or an error result."""
        t0 = time.time()
        info = self._lookup(name)
        if isinstance(info, dict):
            return self._report(name, None, args, line, t0, info)
        if info.kind != "action":
            return error_result(INVALID_ARGUMENT, f"{name} is a service; call it directly (only actions have start)")
        if self._cancelled.is_set():
            return error_result(CANCELLED, "the task was cancelled")
        try:
            goal = msgconv.fill_message(self._request_msg(info), args, info.spec.enums, self.store)
        except msgconv.ConversionError as exc:
            return self._report(name, info, args, line, t0, error_result(INVALID_ARGUMENT, f"{name}: {exc}"))
        running = _Running(info, args, line, self.substep, t0)
        err = self._send_goal(running, goal)
        if err is not None:
            return self._report(name, info, args, line, t0, err)
        return {"handle": str(id(running)), "error_code": NONE, "error_msg": ""}

    def _cancel_goal(self, running: _Running) -> bool:
        if running.goal_handle is None or running.result is not None:
            return False
        try:
            fut = running.goal_handle.cancel_goal_async()
        except Exception:
            return False
        if not _wait(fut, 2.0):
            return False
        resp = fut.result()
        return resp is not None and len(getattr(resp, "goals_canceling", [])) > 0

    def _report(self, name: str, info: ToolInfo | None, args: dict[str, Any], line: int, t0: float,
                result: dict[str, Any]) -> dict[str, Any]:
        if self.on_call is not None:
            images = [v.get("id") for v in result.values()
                      if isinstance(v, dict) and v.get("__ref__") == "image" and v.get("id")]
            try:
                self.on_call({
                    "substep": self.substep, "line": line, "name": name,
                    "wire_name": info.wire_name if info else "", "args": msgconv.summarize(args, 500),
                    "result": msgconv.summarize({k: v for k, v in result.items()
                                                 if k not in ("error_code", "error_msg")}, 500),
                    "error_code": int(result.get("error_code", 0) or 0),
                    "error_msg": str(result.get("error_msg", ""))[:500],
                    "start": t0, "end": time.time(), "images": images,
                })
            except Exception:
                pass
        return result


def msgconv_grace() -> float:
    """Extra wait on top of a goal's own timeout field."""
    from maestro_agent.stubgen import WAIT_GRACE_S

    return WAIT_GRACE_S
