"""``perception_manager``: exactly one perception backend serves /perception; swap it at run time.

``/perception/select_backend`` (SelectBackend) and the ``active_backend`` parameter both switch backends through the
standard lifecycle services of the backend nodes (``<node>/get_state``, ``<node>/change_state``): configure the
requested backend if needed, deactivate every other active backend (which lets its calls in flight finish), activate
the requested one. At start-up the manager selects ``active_backend`` as soon as that node is up.
"""
from __future__ import annotations

import threading
import time
from typing import Any

from lifecycle_msgs.msg import State, Transition
from lifecycle_msgs.srv import ChangeState, GetState
from rcl_interfaces.msg import SetParametersResult
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node

from maestro_common.errors import InvalidArgument, NotFound, Timeout, ToolFailure, Unavailable, fill_error
from maestro_common.params import declare
from maestro_interfaces.srv import SelectBackend
from maestro_perception.sim_gt_node import call_service

__all__ = ["PerceptionManager", "main", "parse_backends"]

DEFAULT_BACKENDS = "sim_gt=perception_sim_gt,yolo=perception_yolo,vlm_pointing=perception_vlm_pointing"


def parse_backends(spec: str) -> dict[str, str]:
    """``"name=node,name2=node2"`` -> {name: node}."""
    out = {}
    for item in spec.split(","):
        if not item.strip():
            continue
        name, sep, node = item.partition("=")
        if not sep or not name.strip() or not node.strip():
            raise ValueError(f"bad backends entry '{item}'; use name=node_name")
        out[name.strip()] = node.strip()
    return out


class PerceptionManager(Node):
    """Selects the active perception backend."""

    def __init__(self, node_name: str = "perception_manager", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self.cbg = ReentrantCallbackGroup()
        self.backends = parse_backends(declare(self, "backends", DEFAULT_BACKENDS,
                                               "backend name = lifecycle node name, comma-separated"))
        self.p_timeout = declare(self, "transition_timeout", 15.0, "seconds to wait for one lifecycle transition",
                                 min_value=0.5, max_value=300.0)
        self.p_startup_wait = declare(self, "startup_wait", 60.0, "seconds to keep trying the initial selection",
                                      min_value=0.0, max_value=600.0)
        initial = declare(self, "active_backend", "sim_gt", "backend to activate (changing it swaps backends)")
        self.active = ""
        self._switch_lock = threading.Lock()
        self._lc_clients: dict[tuple[str, str], Any] = {}
        self.create_service(SelectBackend, "/perception/select_backend", self._on_select, callback_group=self.cbg)
        self.add_on_set_parameters_callback(self._on_params)
        self._startup = threading.Thread(target=self._initial_select, args=(initial,), daemon=True)
        self._startup.start()

    # ------------------------------------------------------------------ lifecycle plumbing
    def _client(self, node: str, kind: str) -> Any:
        key = (node, kind)
        if key not in self._lc_clients:
            srv = GetState if kind == "get_state" else ChangeState
            self._lc_clients[key] = self.create_client(srv, f"{node}/{kind}", callback_group=self.cbg)
        return self._lc_clients[key]

    def state_of(self, name: str, timeout: float | None = None, discovery_timeout: float = 1.0) -> int:
        """Primary lifecycle state id of a backend (UNAVAILABLE when its node does not answer)."""
        node = self.backends[name]
        try:
            res = call_service(self._client(node, "get_state"), GetState.Request(), timeout or self.p_timeout,
                               f"the backend node '{node}'", discovery_timeout)
        except ToolFailure as exc:
            raise Unavailable(f"backend '{name}' (node {node}) is not running: {exc.message}") from exc
        return int(res.current_state.id)

    def _transition(self, name: str, transition: int, label: str) -> None:
        node = self.backends[name]
        req = ChangeState.Request()
        req.transition.id = transition
        res = call_service(self._client(node, "change_state"), req, self.p_timeout, f"the backend node '{node}'")
        if not res.success:
            raise Unavailable(f"backend '{name}' failed to {label} (see the log of node {node}: missing weights, "
                              f"model or configuration?)")

    def select(self, name: str) -> str:
        """Make ``name`` the only active backend; returns it. Raises ToolFailure with a clear message."""
        name = name.strip()
        if not name:
            raise InvalidArgument(f"backend must not be empty; available: {sorted(self.backends)}")
        if name not in self.backends:
            raise NotFound(f"unknown backend '{name}'; available: {sorted(self.backends)}")
        if not self._switch_lock.acquire(timeout=3 * self.p_timeout):
            raise Timeout("another backend switch is still running; retry")
        try:
            state = self.state_of(name)
            if state == State.PRIMARY_STATE_FINALIZED:
                raise Unavailable(f"backend '{name}' is finalized; restart its node")
            if state == State.PRIMARY_STATE_UNCONFIGURED:
                self._transition(name, Transition.TRANSITION_CONFIGURE, "configure")
                state = State.PRIMARY_STATE_INACTIVE
            for other in self.backends:
                if other == name:
                    continue
                try:
                    # a node that has not been discovered by now is not running (so not serving): skip it fast
                    if self.state_of(other, timeout=2.0, discovery_timeout=0.1) == State.PRIMARY_STATE_ACTIVE:
                        self._transition(other, Transition.TRANSITION_DEACTIVATE, "deactivate")
                except Unavailable:
                    continue  # a backend that is not running cannot be serving
            if state == State.PRIMARY_STATE_INACTIVE:
                self._transition(name, Transition.TRANSITION_ACTIVATE, "activate")
            self.active = name
            self.get_logger().info(f"active perception backend: {name}")
            return name
        finally:
            self._switch_lock.release()

    # ------------------------------------------------------------------ entry points
    def _on_select(self, req: SelectBackend.Request, res: SelectBackend.Response) -> SelectBackend.Response:
        res.available_backends = sorted(self.backends)
        try:
            self.select(req.backend)
            fill_error(res, None)
        except Exception as exc:  # every failure becomes a code; the manager keeps serving
            fill_error(res, exc, self.get_logger())
        res.active_backend = self.active
        return res

    def _on_params(self, params: list[Any]) -> SetParametersResult:
        for p in params:
            if p.name == "active_backend":
                if p.value not in self.backends:
                    return SetParametersResult(successful=False,
                                               reason=f"unknown backend '{p.value}'; available: {sorted(self.backends)}")
                if p.value != self.active:
                    threading.Thread(target=self._select_logged, args=(p.value,), daemon=True).start()
        return SetParametersResult(successful=True)

    def _select_logged(self, name: str) -> None:
        try:
            self.select(name)
        except ToolFailure as exc:
            self.get_logger().error(f"cannot select backend '{name}': {exc.message}")

    def _initial_select(self, name: str) -> None:
        deadline = time.monotonic() + self.p_startup_wait
        while self.context.ok():
            try:
                self.select(name)
                return
            except ToolFailure as exc:
                if time.monotonic() >= deadline or exc.code not in (Unavailable.code, Timeout.code):
                    self.get_logger().error(f"initial backend '{name}' not activated: {exc.message}")
                    return
            time.sleep(1.0)


def main(args: list[str] | None = None) -> None:
    """Run the perception manager."""
    import rclpy

    from maestro_common.node_runner import spin_node

    with rclpy.init(args=args):
        spin_node(PerceptionManager(), threads=4)


if __name__ == "__main__":
    main()
