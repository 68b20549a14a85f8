"""Franka Emika Panda on a table: 7 arm joints with PD position actuators, a parallel gripper, front + wrist cameras.

The MJCF (``assets/franka/panda.xml``) is derived from gym-hil's panda.xml (Apache-2.0; see ROBOT_MODELS.md).
The robot base ``panda_link0`` stands on the table at :data:`BASE_POS`; +x of the base points over the table.
"""
from __future__ import annotations

from pathlib import Path

import mujoco
import numpy as np

from maestro_sim.robots import register_robot
from maestro_sim.robots.base import (
    FRAME_BODY,
    FRAME_CAMERA,
    FRAME_SITE,
    CameraSpec,
    FrameSpec,
    JointLimits,
    RobotAdapter,
    look_at_xyaxes,
)
from maestro_sim.scene import add_table
from maestro_sim.tasks.base import TABLE_TOP

ASSET = Path(__file__).resolve().parent.parent / "assets" / "franka" / "panda.xml"
BASE_POS = (0.0, 0.0, TABLE_TOP)
FRONT_CAMERA_POS = (-0.25, 0.55, 1.25)   # above and behind the robot's left shoulder
FRONT_CAMERA_TARGET = (0.55, -0.02, TABLE_TOP)
LINKS = ("panda_link1", "panda_link2", "panda_link3", "panda_link4", "panda_link5", "panda_link6", "panda_link7")


@register_robot
class FrankaRobot(RobotAdapter):
    """The Franka Panda tabletop embodiment (see the module docstring)."""

    name = "franka"
    world_frame = "world"
    base_frame = "panda_link0"
    tcp_site = "panda_tcp"
    arm_joints = tuple(f"panda_joint{i}" for i in range(1, 8))
    arm_actuators = tuple(f"panda_act{i}" for i in range(1, 8))
    finger_joints = ("panda_finger_joint1", "panda_finger_joint2")
    gripper_actuator = "panda_gripper"
    gripper_max_gap = 0.08
    gripper_max_force = 70.0
    home = (0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785)

    def build(self, spec: mujoco.MjSpec) -> None:
        """Add the table, the Panda on it (attached from panda.xml) and the fixed ``front`` camera."""
        add_table(spec, top=TABLE_TOP)
        robot = mujoco.MjSpec.from_file(str(ASSET))
        frame = spec.worldbody.add_frame(pos=list(BASE_POS))
        frame.attach_body(robot.body("link0"), "panda_", "")
        spec.body("panda_hand").add_camera(name="wrist", pos=[-0.065, 0.0, 0.045], fovy=70.0,
                                           xyaxes=[0.0, -1.0, 0.0, -0.965, 0.0, 0.26])
        spec.worldbody.add_camera(name="front", pos=list(FRONT_CAMERA_POS), fovy=58.0,
                                  xyaxes=look_at_xyaxes(FRONT_CAMERA_POS, FRONT_CAMERA_TARGET))

    def cameras(self) -> list[CameraSpec]:
        """``front`` (fixed, facing the robot over the table) and ``wrist`` (on the hand), 640x480."""
        return [CameraSpec("front", 640, 480, 58.0), CameraSpec("wrist", 640, 480, 70.0)]

    def frames(self) -> list[FrameSpec]:
        """world -> panda_link0 -> links -> panda_hand -> panda_tcp / fingers; camera optical frames."""
        out = [FrameSpec("panda_link0", "world", FRAME_BODY, "panda_link0", static=True)]
        parent = "panda_link0"
        for link in LINKS:
            out.append(FrameSpec(link, parent, FRAME_BODY, link))
            parent = link
        out += [
            FrameSpec("panda_hand", "panda_link7", FRAME_BODY, "panda_hand", static=True),
            FrameSpec("panda_tcp", "panda_hand", FRAME_SITE, "panda_tcp", static=True),
            FrameSpec("panda_leftfinger", "panda_hand", FRAME_BODY, "panda_leftfinger"),
            FrameSpec("panda_rightfinger", "panda_hand", FRAME_BODY, "panda_rightfinger"),
            FrameSpec("front_camera_optical", "world", FRAME_CAMERA, "front", static=True),
            FrameSpec("wrist_camera_optical", "panda_hand", FRAME_CAMERA, "wrist", static=True),
        ]
        return out

    def joint_limits(self) -> JointLimits:
        """Datasheet limits of the Panda (rad, rad/s, Nm)."""
        return JointLimits(
            lower=np.array([-2.8973, -1.7628, -2.8973, -3.0718, -2.8973, -0.0175, -2.8973]),
            upper=np.array([2.8973, 1.7628, 2.8973, -0.0698, 2.8973, 3.7525, 2.8973]),
            velocity=np.array([2.175, 2.175, 2.175, 2.175, 2.61, 2.61, 2.61]),
            effort=np.array([87.0, 87.0, 87.0, 87.0, 12.0, 12.0, 12.0]),
        )
