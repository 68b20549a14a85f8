"""Live side of the dashboard: a ROS node that follows /agent/events, camera images and joint states, and sends
instructions to the agent through the RunTask action. It hands everything to a ``publish(dict)`` callback (the
web server's broadcast) and never blocks a ROS callback on the network.
"""
from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from rclpy.action import ActionClient
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import String

import maestro_common  # noqa: F401  (applies the rclpy ActionClient race fixes, see maestro_common.rclpy_compat)
from maestro_dashboard.trace import KNOWN_EVENTS, normalize_event

Publish = Callable[[dict[str, Any]], None]


class LiveTrial:
    """The events of the trial in progress (or the last one), normalised as the replay reader does."""

    def __init__(self) -> None:
        self.meta: dict[str, Any] = {}
        self.events: list[dict[str, Any]] = []
        self.issues: list[dict[str, Any]] = []
        self.t0 = 0.0
        self._lock = threading.Lock()

    def add(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Normalise and store one raw event; a trial_start starts a new trial. Returns the normalised event."""
        with self._lock:
            kind = raw.get("type") or raw.get("event")
            if kind == "trial_start":
                self.meta, self.events, self.issues = {}, [], []
            ev, problems = normalize_event(raw, len(self.events))
            if ev["t"] is None:
                ev["t"] = time.time()
            if kind == "trial_start" or not self.events and not self.t0:
                self.t0 = float(ev["t"])
            if kind == "trial_start":
                self.meta = {k: v for k, v in ev.items() if k not in ("seq", "images")}
            ev["rel"] = round(float(ev["t"]) - self.t0, 6)
            if ev["type"] == "tool_call":
                ev["rel_start"] = round(float(ev["t_start"] or ev["t"]) - self.t0, 6)
                ev["rel_end"] = round(float(ev["t_end"] or ev["t"]) - self.t0, 6)
            ev["missing_images"] = []
            if ev["type"] not in KNOWN_EVENTS:
                problems.append(f"unknown event type '{ev['type']}'")
            for p in problems:
                self.issues.append({"line": None, "kind": "live", "message": f"{ev['type']}: {p}"})
            self.events.append(ev)
            return ev

    def snapshot(self) -> dict[str, Any]:
        """The whole live trial, in the replay payload's shape."""
        with self._lock:
            dur = max([max(e["rel"], e.get("rel_end", e["rel"])) for e in self.events], default=0.0)
            return {"id": "__live__", "name": "live", "meta": dict(self.meta), "t0": self.t0, "duration": dur,
                    "events": list(self.events), "issues": list(self.issues), "videos": {}, "joints": None}


class LiveBridge(Node):
    """Subscribes to the agent's events, the cameras and the joint states; sends RunTask goals."""

    def __init__(self, publish: Publish, events_topic: str = "/agent/events", run_task_action: str = "/agent/run_task",
                 camera_hz: float = 2.0, joints_hz: float = 5.0, **kwargs: Any) -> None:
        super().__init__("maestro_dashboard", **kwargs)
        self.publish = publish
        self.trial = LiveTrial()
        self.frames: dict[str, deque[tuple[float, bytes]]] = {}
        self._camera_dt = 1.0 / camera_hz if camera_hz > 0 else 0.0
        self._joints_dt = 1.0 / joints_hz if joints_hz > 0 else 0.0
        self._last: dict[str, float] = {}
        self._group = ReentrantCallbackGroup()
        self._subs: dict[str, Any] = {}
        self._goal: Any = None
        self._goal_lock = threading.Lock()
        self.events_received = 0
        self.create_subscription(String, events_topic, self._on_event, 200, callback_group=self._group)
        sensor_qos = QoSProfile(depth=2, reliability=ReliabilityPolicy.BEST_EFFORT)
        self.create_subscription(JointState, "/joint_states", self._on_joints, sensor_qos, callback_group=self._group)
        from maestro_interfaces.action import RunTask

        self._run_task_type = RunTask
        self._action = ActionClient(self, RunTask, run_task_action, callback_group=self._group)
        from action_msgs.srv import CancelGoal

        self._cancel_all = self.create_client(CancelGoal, f"{run_task_action}/_action/cancel_goal",
                                              callback_group=self._group)
        self.create_timer(2.0, self._discover_cameras, callback_group=self._group)
        self._discover_cameras()

    # ---------------------------------------------------------------- subscriptions
    def _discover_cameras(self) -> None:
        for topic, types in self.get_topic_names_and_types():
            if topic in self._subs or not topic.endswith("/image_raw") or "sensor_msgs/msg/Image" not in types:
                continue
            cam = topic[: -len("/image_raw")].strip("/").replace("/", "_")
            qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
            self._subs[topic] = self.create_subscription(Image, topic, lambda m, c=cam: self._on_image(c, m), qos,
                                                         callback_group=self._group)
            self.frames[cam] = deque(maxlen=300)

    def _throttle(self, key: str, dt: float) -> bool:
        now = time.monotonic()
        if now - self._last.get(key, -1e9) < dt:
            return False
        self._last[key] = now
        return True

    def _on_event(self, msg: String) -> None:
        try:
            raw = json.loads(msg.data)
        except json.JSONDecodeError:
            self.publish({"kind": "issue", "issue": {"line": None, "kind": "live",
                                                     "message": f"/agent/events message is not JSON: {msg.data[:80]!r}"}})
            return
        if not isinstance(raw, dict):
            return
        self.events_received += 1
        ev = self.trial.add(raw)
        self.publish({"kind": "event", "event": ev, "meta": self.trial.meta if ev["type"] == "trial_start" else None,
                      "t0": self.trial.t0})

    def _on_image(self, camera: str, msg: Image) -> None:
        if not self._throttle("cam:" + camera, self._camera_dt):
            return
        from maestro_common.images import image_to_numpy
        from maestro_dashboard.recorder.video import to_rgb8
        from maestro_dashboard.store import jpeg_bytes

        try:
            jpeg = jpeg_bytes(to_rgb8(image_to_numpy(msg), msg.encoding), quality=70, max_width=480)
        except Exception as exc:
            self.get_logger().warning(f"cannot convert {camera} image: {exc}", throttle_duration_sec=10.0)
            return
        t = time.time()
        self.frames[camera].append((t, jpeg))
        self.publish({"kind": "frame", "camera": camera, "t": t, "n": len(self.frames[camera])})

    def _on_joints(self, msg: JointState) -> None:
        if not self._throttle("joints", self._joints_dt):
            return
        self.publish({"kind": "joints", "t": time.time(), "names": list(msg.name),
                      "position": [round(float(p), 5) for p in msg.position]})

    def latest_frame(self, camera: str, t: float | None = None) -> bytes | None:
        """The newest frame of ``camera`` (or the newest taken at or before ``t``)."""
        ring = self.frames.get(camera)
        if not ring:
            return None
        if t is None:
            return ring[-1][1]
        best = None
        for ft, jpeg in list(ring):
            if ft <= t:
                best = jpeg
            else:
                break
        return best or ring[0][1]

    # ---------------------------------------------------------------- RunTask
    def run_task(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Send a RunTask goal (non-blocking); the outcome arrives as {"kind": "task", ...} messages."""
        instruction = str(fields.get("instruction") or "").strip()
        if not instruction:
            return {"ok": False, "error": "type an instruction first"}
        if not self._action.server_is_ready():
            return {"ok": False, "error": "the agent's /agent/run_task action server is not available (is `maestro up` "
                                          "running with the agent node?)"}
        goal = self._run_task_type.Goal()
        goal.instruction = instruction
        goal.model = str(fields.get("model") or "")
        goal.task = str(fields.get("task") or "")
        goal.max_substeps = int(fields.get("max_substeps") or 0)
        goal.harness = bool(fields.get("harness", True))
        goal.seed = int(fields.get("seed") or 0)
        future = self._action.send_goal_async(goal, feedback_callback=self._on_feedback)
        future.add_done_callback(self._on_goal_response)
        self.publish({"kind": "task", "status": "sent", "instruction": instruction})
        return {"ok": True}

    def _on_feedback(self, fb: Any) -> None:
        f = fb.feedback
        self.publish({"kind": "task", "status": "feedback", "phase": f.phase, "substep": f.substep,
                      "max_substeps": f.max_substeps, "subtasks": list(f.subtasks), "current_subtask": f.current_subtask})

    def _on_goal_response(self, future: Any) -> None:
        handle = future.result()
        if not handle.accepted:
            self.publish({"kind": "task", "status": "rejected", "error": "the agent rejected the goal"})
            return
        with self._goal_lock:
            self._goal = handle
        self.publish({"kind": "task", "status": "accepted"})
        handle.get_result_async().add_done_callback(self._on_result)

    def _on_result(self, future: Any) -> None:
        r = future.result().result
        with self._goal_lock:
            self._goal = None
        self.publish({"kind": "task", "status": "result", "verdict": r.verdict, "progress": r.progress,
                      "success": r.success, "substeps": r.substeps, "trace_dir": r.trace_dir,
                      "error_code": r.error_code, "error_msg": r.error_msg})

    def cancel(self) -> dict[str, Any]:
        """Cancel the goal this dashboard sent, or else every goal running on the agent."""
        with self._goal_lock:
            handle = self._goal
        if handle is not None:
            handle.cancel_goal_async()
        else:  # a task started elsewhere (CLI, another dashboard): cancel every goal of the action server
            from action_msgs.srv import CancelGoal

            if not self._cancel_all.service_is_ready():
                return {"ok": False, "error": "the agent's cancel service is not available"}
            self._cancel_all.call_async(CancelGoal.Request())  # zero goal id + zero stamp = cancel all goals
        self.publish({"kind": "task", "status": "cancel_requested"})
        return {"ok": True}
