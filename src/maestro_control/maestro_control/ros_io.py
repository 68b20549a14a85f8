"""ROS plumbing of the control node: joint-state cache, FollowJointTrajectory / GripperCommand clients, depth cloud.

Blocking calls here poll futures (the node spins in a MultiThreadedExecutor, so callbacks keep running) and honour
a ``threading.Event`` for cancel/stop, so an action's execute callback can wait on them without deadlocks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from control_msgs.action import FollowJointTrajectory, GripperCommand
from rclpy.action import ActionClient
from rclpy.node import Node
from sensor_msgs.msg import JointState
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from maestro_common.errors import Timeout, ToolFailure, Unavailable


class ControllerFailed(ToolFailure):
    """The trajectory/gripper controller rejected or aborted the goal."""

    code = 305


class Interrupted(Exception):
    """The wait was interrupted by the caller's event (cancel, pre-emption, stop, e-stop)."""


def wait_future(fut: Any, timeout: float, interrupt: threading.Event | None = None, what: str = "reply") -> Any:
    """Poll ``fut`` until done; raise :class:`Timeout` after ``timeout`` s, :class:`Interrupted` on ``interrupt``."""
    deadline = time.monotonic() + timeout
    while not fut.done():
        if interrupt is not None and interrupt.is_set():
            raise Interrupted()
        if time.monotonic() > deadline:
            raise Timeout(f"no {what} within {timeout:.1f} s")
        time.sleep(0.002)
    return fut.result()


class JointStateCache:
    """Latest position/velocity per joint name from /joint_states."""

    def __init__(self, node: Node, topic: str = "/joint_states", callback_group: Any = None) -> None:
        self._lock = threading.Lock()
        self._pos: dict[str, float] = {}
        self._vel: dict[str, float] = {}
        self.stamp = 0.0
        self.header_stamp: Any = None  # header stamp of the latest message (sim or robot clock), for RobotState
        self.sub = node.create_subscription(JointState, topic, self._on_msg, 50, callback_group=callback_group)

    def _on_msg(self, msg: JointState) -> None:
        with self._lock:
            for i, name in enumerate(msg.name):
                if i < len(msg.position):
                    self._pos[name] = float(msg.position[i])
                if i < len(msg.velocity):
                    self._vel[name] = float(msg.velocity[i])
            self.stamp = time.monotonic()
            self.header_stamp = msg.header.stamp

    def has(self, names: list[str]) -> bool:
        """True when every joint of ``names`` has been seen."""
        with self._lock:
            return all(n in self._pos for n in names)

    def positions(self, names: list[str], wait: float = 0.0) -> np.ndarray:
        """Positions of ``names``; waits up to ``wait`` s for a first message, else raises Unavailable."""
        deadline = time.monotonic() + wait
        while not self.has(names):
            if time.monotonic() >= deadline:
                with self._lock:
                    seen = sorted(self._pos)
                raise Unavailable(f"no /joint_states for {names} (seen: {seen}); is the robot or the sim running?")
            time.sleep(0.01)
        with self._lock:
            return np.array([self._pos[n] for n in names])

    def velocities(self, names: list[str]) -> np.ndarray:
        """Velocities of ``names`` (0 for joints without velocity)."""
        with self._lock:
            return np.array([self._vel.get(n, 0.0) for n in names])


@dataclass
class ExecutionOutcome:
    """How a trajectory execution ended."""

    completed: bool
    interrupted: bool
    message: str = ""


def _duration(seconds: float) -> Any:
    from rclpy.duration import Duration

    return Duration(nanoseconds=int(round(seconds * 1e9))).to_msg()


class TrajectoryClient:
    """Send trajectories to a FollowJointTrajectory server; cancel and hold on request."""

    def __init__(self, node: Node, name: str, callback_group: Any = None) -> None:
        self.node = node
        self.name = name
        self.client = ActionClient(node, FollowJointTrajectory, name, callback_group=callback_group)
        self._goal_lock = threading.Lock()
        self._active: Any = None

    def available(self, timeout: float = 0.0) -> bool:
        """True when the server is up."""
        return bool(self.client.wait_for_server(timeout_sec=timeout))

    def execute(
        self,
        traj: JointTrajectory,
        duration: float,
        interrupt: threading.Event,
        progress: Callable[[float], None] | None = None,
        server_timeout: float = 2.0,
    ) -> ExecutionOutcome:
        """Run ``traj`` to completion; on ``interrupt`` cancel the goal and return (the caller then holds)."""
        if not self.available(server_timeout):
            raise Unavailable(f"trajectory controller {self.name} is not available; start the sim or the driver")
        goal = FollowJointTrajectory.Goal()
        goal.trajectory = traj
        goal.goal_time_tolerance = _duration(1.0)
        try:
            handle = wait_future(self.client.send_goal_async(goal), 5.0, interrupt, "goal response")
        except Interrupted:
            return ExecutionOutcome(False, True, "interrupted before the controller accepted")
        if not handle.accepted:
            raise ControllerFailed(f"controller {self.name} rejected the trajectory")
        with self._goal_lock:
            self._active = handle
        result_fut = handle.get_result_async()
        t0 = time.monotonic()
        try:
            while not result_fut.done():
                if interrupt.is_set():
                    self.cancel_active()
                    return ExecutionOutcome(False, True, "interrupted")
                if progress is not None and duration > 0:
                    progress(min(1.0, (time.monotonic() - t0) / duration))
                if time.monotonic() - t0 > duration + 10.0:
                    self.cancel_active()
                    raise ControllerFailed(f"controller {self.name} did not finish {duration + 10.0:.1f} s after "
                                           f"the trajectory's end")
                time.sleep(0.01)
        finally:
            with self._goal_lock:
                if self._active is handle:
                    self._active = None
        res = result_fut.result()
        code = res.result.error_code
        if interrupt.is_set():  # our own stop/hold replaced the goal: an interruption, not a controller fault
            return ExecutionOutcome(False, True, "interrupted")
        if code != FollowJointTrajectory.Result.SUCCESSFUL:
            raise ControllerFailed(f"controller {self.name} aborted the trajectory (error_code {code}: "
                                   f"{res.result.error_string})")
        return ExecutionOutcome(True, False)

    def cancel_active(self) -> None:
        """Cancel the goal in flight, if any (does not wait)."""
        with self._goal_lock:
            handle, self._active = self._active, None
        if handle is not None:
            handle.cancel_goal_async()

    def hold(self, names: list[str], q: np.ndarray, qd: np.ndarray | None = None, amax: np.ndarray | None = None,
             interrupt_wait: float = 0.0) -> None:
        """Decelerate from velocity ``qd`` (category-1 stop) and hold: one point at the stopping position."""
        self.cancel_active()
        q = np.asarray(q, float)
        t_stop = 0.05
        if qd is not None and amax is not None:
            qd = np.asarray(qd, float)
            t_stop = max(0.05, float(np.max(np.abs(qd) / np.maximum(amax, 1e-3))))
            q = q + qd * t_stop / 2.0
        traj = JointTrajectory()
        traj.joint_names = list(names)
        p = JointTrajectoryPoint()
        p.positions = [float(v) for v in q]
        p.velocities = [0.0] * len(names)
        p.time_from_start = _duration(t_stop)
        traj.points = [p]
        goal = FollowJointTrajectory.Goal()
        goal.trajectory = traj
        if self.client.server_is_ready():
            self.client.send_goal_async(goal)
        if interrupt_wait > 0:
            time.sleep(interrupt_wait)


class GripperClient:
    """GripperCommand client: position = finger gap in metres."""

    def __init__(self, node: Node, name: str, callback_group: Any = None) -> None:
        self.name = name
        self.client = ActionClient(node, GripperCommand, name, callback_group=callback_group)

    def command(self, position: float, max_effort: float, timeout: float, interrupt: threading.Event
                ) -> GripperCommand.Result:
        """Move the fingers to ``position``; returns the controller's result (raises on failure/timeout)."""
        if not self.client.wait_for_server(timeout_sec=2.0):
            raise Unavailable(f"gripper controller {self.name} is not available; start the sim or the driver")
        goal = GripperCommand.Goal()
        goal.command.position = float(position)
        goal.command.max_effort = float(max_effort)
        try:
            handle = wait_future(self.client.send_goal_async(goal), 5.0, interrupt, "gripper goal response")
        except Interrupted:
            raise
        if not handle.accepted:
            raise ControllerFailed(f"gripper controller {self.name} rejected the goal")
        try:
            res = wait_future(handle.get_result_async(), timeout, interrupt, "gripper result")
        except (Interrupted, Timeout):
            handle.cancel_goal_async()
            raise
        return res.result
