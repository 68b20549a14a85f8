"""In-process fake tool servers on the ROS graph for agent-core tests (loaded by path from the test files).

``FakeTools(context, name)`` is one node that serves a few maestro_interfaces tools under the real wire names:
``/perception/detect_objects`` (one "ball" detection + a small annotated image), ``/perception/capture_images``,
``/control/get_robot_state``, ``/control/stop`` (counts calls, cancels running motions), and the actions
``/control/move_to_pose`` (takes ``motion_s`` seconds with feedback, honours cancel) and ``/control/gripper``.
Every request is remembered in ``calls`` so tests can check what the agent sent.
"""
from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from sensor_msgs.msg import Image

from maestro_interfaces.action import Gripper, MoveToPose
from maestro_interfaces.msg import Detection
from maestro_interfaces.srv import CaptureImages, DetectObjects, GetRobotState, Stop


def make_image(width: int = 8, height: int = 6, value: int = 120) -> Image:
    """A small rgb8 image."""
    img = Image()
    img.width, img.height, img.encoding, img.step = width, height, "rgb8", width * 3
    arr = np.full((height, width, 3), value, dtype=np.uint8)
    arr[: height // 2, :, 0] = 255
    img.data = arr.tobytes()
    return img


class FakeTools(Node):
    """See the module docstring."""

    def __init__(self, name: str, motion_s: float = 0.5, tools: tuple[str, ...] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.motion_s = motion_s
        self.calls: list[tuple[str, Any]] = []
        self.stop_calls = 0
        self.stop_event = threading.Event()
        group = ReentrantCallbackGroup()
        wanted = set(tools or ("detect_objects", "capture_images", "get_robot_state", "stop", "move_to_pose",
                               "gripper"))
        self.tool_services: dict[str, Any] = {}
        self.tool_actions: dict[str, Any] = {}
        if "detect_objects" in wanted:
            self.tool_services["detect_objects"] = self.create_service(
                DetectObjects, "/perception/detect_objects", self._detect, callback_group=group)
        if "capture_images" in wanted:
            self.tool_services["capture_images"] = self.create_service(
                CaptureImages, "/perception/capture_images", self._capture, callback_group=group)
        if "get_robot_state" in wanted:
            self.tool_services["get_robot_state"] = self.create_service(
                GetRobotState, "/control/get_robot_state", self._state, callback_group=group)
        if "stop" in wanted:
            self.tool_services["stop"] = self.create_service(Stop, "/control/stop", self._stop, callback_group=group)
        if "move_to_pose" in wanted:
            self.tool_actions["move_to_pose"] = ActionServer(
                self, MoveToPose, "/control/move_to_pose", self._move, callback_group=group,
                goal_callback=lambda _g: GoalResponse.ACCEPT, cancel_callback=lambda _g: CancelResponse.ACCEPT)
        if "gripper" in wanted:
            self.tool_actions["gripper"] = ActionServer(
                self, Gripper, "/control/gripper", self._gripper, callback_group=group)

    def remove(self, tool: str) -> None:
        """Take a tool off the graph."""
        if tool in self.tool_services:
            self.destroy_service(self.tool_services.pop(tool))
        if tool in self.tool_actions:
            self.tool_actions.pop(tool).destroy()

    # -- services -------------------------------------------------------------------------------------------
    def _detect(self, req: DetectObjects.Request, res: DetectObjects.Response) -> DetectObjects.Response:
        self.calls.append(("detect_objects", req))
        if "nothing" in req.labels:
            res.error_code = DetectObjects.Response.NO_DETECTIONS
            res.error_msg = "no object matched the labels ['nothing']"
            return res
        det = Detection()
        det.label, det.score, det.instance_id = "ball", 0.9, 3
        det.center_3d.x, det.center_3d.y, det.center_3d.z = 0.5, 0.1, 0.03
        det.has_center_3d = True
        res.detections = [det]
        res.header.frame_id = "panda_link0"
        res.backend = "fake"
        if req.annotate:
            res.annotated_image = make_image(value=30)
        return res

    def _capture(self, req: CaptureImages.Request, res: CaptureImages.Response) -> CaptureImages.Response:
        self.calls.append(("capture_images", req))
        res.cameras = ["front"]
        res.images = [make_image(16, 12)]
        return res

    def _state(self, req: GetRobotState.Request, res: GetRobotState.Response) -> GetRobotState.Response:
        self.calls.append(("get_robot_state", req))
        res.state.embodiment = "franka"
        res.state.joints.name = [f"panda_joint{i}" for i in range(1, 8)]
        res.state.joints.position = [0.0, -0.7, 0.0, -2.3, 0.0, 1.6, 0.8]
        res.state.ee_pose.position.x = 0.4
        res.state.ee_pose.orientation.x = 1.0
        res.state.gripper_width = 0.08
        return res

    def _stop(self, req: Stop.Request, res: Stop.Response) -> Stop.Response:
        self.stop_calls += 1
        self.stop_event.set()
        return res

    # -- actions --------------------------------------------------------------------------------------------
    def _move(self, goal_handle: Any) -> MoveToPose.Result:
        self.calls.append(("move_to_pose", goal_handle.request))
        self.stop_event.clear()
        result = MoveToPose.Result()
        t0 = time.monotonic()
        steps = max(1, int(self.motion_s / 0.05))
        for i in range(steps):
            if goal_handle.is_cancel_requested or self.stop_event.is_set():
                if goal_handle.is_cancel_requested:
                    goal_handle.canceled()
                else:
                    goal_handle.abort()
                result.error_code, result.error_msg = 5, "cancelled"
                return result
            fb = MoveToPose.Feedback()
            fb.phase, fb.progress = "executing", (i + 1) / steps
            goal_handle.publish_feedback(fb)
            time.sleep(0.05)
        result.final_pose = goal_handle.request.target.pose
        result.planning_time = float(time.monotonic() - t0)
        goal_handle.succeed()
        return result

    def _gripper(self, goal_handle: Any) -> Gripper.Result:
        self.calls.append(("gripper", goal_handle.request))
        result = Gripper.Result()
        result.width = 0.0 if goal_handle.request.command == Gripper.Goal.CLOSE else 0.08
        result.holding = goal_handle.request.command == Gripper.Goal.CLOSE
        goal_handle.succeed()
        return result
