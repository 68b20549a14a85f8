"""The arm model of one embodiment (kinematics + collision + limits), built from its profile. No ROS in here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from maestro_control.collision import CollisionChecker
from maestro_control.kinematics import ArmKinematics


@dataclass
class ArmModel:
    """Everything the planners need about one arm."""

    name: str
    joint_names: list[str]
    lower: np.ndarray
    upper: np.ndarray
    vmax: np.ndarray
    amax: np.ndarray
    home: np.ndarray
    kin: ArmKinematics
    checker: CollisionChecker
    base_frame: str           # frame of tool inputs/outputs (profile frames.base)
    arm_base_frame: str       # URDF root (frames.arm_base, defaults to the base frame)
    tcp_frame: str
    finger_joints: list[str]
    max_width: float
    max_force: float
    arm_controller: str
    gripper_controller: str
    base: dict[str, Any] | None
    embodiment: str


def arm_model_from_profile(profile: dict[str, Any], margin: float = 0.01, voxel: float = 0.01) -> ArmModel:
    """Build the :class:`ArmModel` of a loaded profile (``maestro_common.profiles.load_profile``)."""
    arm = profile["arm"]
    frames = profile.get("frames", {})
    gripper = profile.get("gripper") or {}
    fingers = list(gripper.get("joint_names", []))
    max_width = float(gripper.get("max_width", 0.08))
    names = list(arm["joint_names"])
    locked = {f: max_width / 2 for f in fingers}  # plan with the fingers open (the conservative shape)
    kin = ArmKinematics(arm["urdf"], names, frames.get("tcp", ""), arm.get("lower"), arm.get("upper"),
                        locked_positions=locked)
    base_frame = frames.get("base", kin.base_frame)
    arm_base = frames.get("arm_base", base_frame)
    # the link the arm stands on touches its mount: never a collision
    checker = CollisionChecker(kin, arm["urdf"], voxel=voxel, margin=margin, ignore_links=(kin.base_frame,))
    return ArmModel(
        name=profile.get("embodiment", ""),
        joint_names=names,
        lower=kin.lower.copy(),
        upper=kin.upper.copy(),
        vmax=np.asarray(arm.get("velocity", kin.velocity_limits), float),
        amax=np.asarray(arm.get("acceleration", [5.0] * len(names)), float),
        home=np.asarray(arm.get("home", (kin.lower + kin.upper) / 2), float),
        kin=kin,
        checker=checker,
        base_frame=base_frame,
        arm_base_frame=arm_base,
        tcp_frame=frames.get("tcp", kin.tcp_frame),
        finger_joints=fingers,
        max_width=max_width,
        max_force=float(gripper.get("max_force", 40.0)),
        arm_controller=arm.get("controller", "/arm_controller/follow_joint_trajectory"),
        gripper_controller=gripper.get("controller", "/gripper_controller/gripper_cmd"),
        base=profile.get("base"),
        embodiment=profile.get("embodiment", ""),
    )
