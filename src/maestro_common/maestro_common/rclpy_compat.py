"""Fixes for two races in rclpy's ActionClient that lose goal responses (both present in rclpy 9.1.2, Kilted).

1. Construction race (ros2/rclpy#1589): ``ActionClient.__init__`` registers the client with its node
   (``node.add_waitable``, which wakes a spinning executor) *before* it creates ``self._lock``. An executor spinning
   in another thread can call ``get_num_entities()`` in that window and die with
   ``AttributeError: 'ActionClient' object has no attribute '_lock'``. The executor thread is gone from then on, so
   every later goal response, result and service reply of every node on it is never processed ("future not done").
   Fix: ``_lock`` becomes a class-level property that creates the instance's lock on first use, from whichever
   thread comes first; the late assignment in ``__init__`` keeps the lock that already exists.

2. Duplicated future (regression of ros2/rclpy#1308, fixed upstream by ros2/rclpy#1532 but not in the Kilted wheel):
   ``send_goal_async`` registers a future under the client lock, then, after releasing the lock, creates a *second*
   future and overwrites the first in ``_pending_goal_requests``. A goal response processed by an executor thread in
   between completes the first future, which nobody holds; the caller's future never completes.
   Fix: the upstream implementation (one future, registered under the lock); the feedback callback is registered
   before the request is sent, so early feedback is not dropped either.

3. Destroy race (executor side): the executor collects a node's waitables, enters each one (``with waitable``;
   one destroyed in the meantime raises InvalidHandle and is skipped), then calls ``add_to_wait_set`` on *all* of
   them. An action client or server destroyed in that window (``ActionClient.destroy()`` while the node spins)
   gets ``add_to_wait_set`` on a dead handle: ``RCLError: ... action client pointer is invalid`` kills the executor
   thread, with the same effect as 1. Fix: ``add_to_wait_set`` and ``is_ready`` of action clients and servers do
   nothing for a destroyed handle (it was not counted in the wait set either).

``apply()`` patches only what the installed rclpy actually has wrong (it reads the installed source), is idempotent,
and is called by ``maestro_common`` on import when rclpy is installed, so nodes, CLIs and tests all get it.
"""
from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any

_LOCK_ATTR = "_maestro_compat_lock"
_applied: set[str] = set()


def _source(obj: Any) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        return ""


def construction_race_present(action_client_cls: Any) -> bool:
    """True when ``ActionClient.__init__`` registers the waitable before it creates ``self._lock``."""
    src = _source(action_client_cls.__init__)
    waitable, lock = src.find("add_waitable("), src.find("self._lock =")
    return waitable >= 0 and lock >= 0 and waitable < lock


def duplicate_future_present(action_client_cls: Any) -> bool:
    """True when ``send_goal_async`` registers two futures for one goal request."""
    return _source(action_client_cls.send_goal_async).count("self.add_future(future)") > 1


def _get_lock(self: Any) -> threading.Lock:
    # dict.setdefault is atomic under the GIL: two threads racing here end up with the same lock
    return self.__dict__.setdefault(_LOCK_ATTR, threading.Lock())


def _set_lock(self: Any, value: threading.Lock) -> None:
    self.__dict__.setdefault(_LOCK_ATTR, value)


def send_goal_async(self: Any, goal: Any, feedback_callback: Any = None, goal_uuid: Any = None) -> Any:
    """``ActionClient.send_goal_async`` with one future per goal request, registered before the request is sent.

    Same contract as rclpy's: returns a Future that completes with a ClientGoalHandle once the server answers.
    """
    from rclpy.task import Future

    if not isinstance(goal, self._action_type.Goal):
        raise TypeError(f"Expected goal type ({type(self._action_type.Goal)}) but received ({type(goal)})")
    request = self._action_type.Impl.SendGoalService.Request()
    request.goal_id = self._generate_random_uuid() if goal_uuid is None else goal_uuid
    request.goal = goal
    future = Future()
    uuid_key = bytes(request.goal_id.uuid)
    with self._lock:
        if feedback_callback is not None:
            self._feedback_callbacks[uuid_key] = feedback_callback
        try:
            sequence_number = self._client_handle.send_goal_request(request)
        except Exception:
            self._feedback_callbacks.pop(uuid_key, None)
            raise
        if sequence_number in self._pending_goal_requests:
            raise RuntimeError(f"Sequence ({sequence_number}) conflicts with pending goal request")
        self._pending_goal_requests[sequence_number] = future
        self._goal_sequence_number_to_goal_id[sequence_number] = request.goal_id
        future.add_done_callback(self._remove_pending_goal_request)
        self.add_future(future)  # so the executor is aware of it
    return future


def destroy_race_present(waitable_cls: Any) -> bool:
    """True when ``add_to_wait_set`` of an action client/server class uses its handle without checking it is alive."""
    return not getattr(waitable_cls.add_to_wait_set, "_maestro_compat", False) and \
        "InvalidHandle" not in _source(waitable_cls.add_to_wait_set)


def _skip_if_destroyed(method: Callable[..., Any], handle_attr: str, default: Any) -> Callable[..., Any]:
    """Wrap a wait-set method so that it returns ``default`` when the waitable's handle is already destroyed."""
    from rclpy.exceptions import InvalidHandle

    @functools.wraps(method)
    def wrapper(self: Any, wait_set: Any) -> Any:
        try:
            handle = getattr(self, handle_attr)
            handle.__enter__()  # keeps it alive for the call; raises InvalidHandle once destroyed
        except InvalidHandle:
            return default
        try:
            return method(self, wait_set)
        finally:
            handle.__exit__(None, None, None)

    wrapper._maestro_compat = True  # type: ignore[attr-defined]
    return wrapper


def apply() -> list[str]:
    """Patch the installed rclpy where it has the races above; return the names of the fixes now in effect."""
    from rclpy.action.client import ActionClient

    if "construction_lock" not in _applied and construction_race_present(ActionClient):
        ActionClient._lock = property(_get_lock, _set_lock)
        _applied.add("construction_lock")
    if "single_goal_future" not in _applied and duplicate_future_present(ActionClient):
        ActionClient.send_goal_async = send_goal_async
        _applied.add("single_goal_future")
    from rclpy.action.server import ActionServer

    for cls, handle_attr in ((ActionClient, "_client_handle"), (ActionServer, "_handle")):
        if destroy_race_present(cls):
            cls.add_to_wait_set = _skip_if_destroyed(cls.add_to_wait_set, handle_attr, None)
            cls.is_ready = _skip_if_destroyed(cls.is_ready, handle_attr, False)
            _applied.add(f"destroyed_{cls.__name__}")
    return sorted(_applied)
