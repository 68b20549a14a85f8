"""The robot-adapter interface: what :class:`maestro_sim.world.World` needs from an embodiment.

An adapter adds its robot (bodies, joints, actuators, cameras) to the world ``mujoco.MjSpec`` in :meth:`RobotAdapter.build`
and then answers questions by *name*: which joints are the arm, which actuators drive them, how to command the gripper,
and (mobile robots) how to drive the planar base. The world never hard-codes robot specifics.

Conventions every adapter follows (docs/CONVENTIONS.md):

* joint, body, site and camera names in the MjSpec are the ROS names (``panda_joint1``, ``panda_link0``, ``panda_tcp``);
* cameras are MuJoCo cameras named like the profile's cameras (``front``, ``wrist``, ``head``); their TF frames are
  ``<camera>_camera_optical`` (optical convention: +z forward, +x right, +y down);
* every geom of the robot belongs to a body listed by :meth:`RobotAdapter.robot_bodies` (segmentation id 0 = robot);
* arm joints are driven by position actuators (PD with torque limits) listed in :attr:`RobotAdapter.arm_actuators`,
  in the same order as :attr:`RobotAdapter.arm_joints`.

Register a concrete adapter with :func:`maestro_sim.robots.register_robot` (see ``robots/__init__.py``).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import mujoco
import numpy as np

# Frame kinds understood by the world / TF publisher.
FRAME_BODY = "body"
FRAME_SITE = "site"
FRAME_CAMERA = "camera"   # a MuJoCo camera, published in the optical convention


@dataclass(frozen=True)
class FrameSpec:
    """One TF frame: ``name`` (child) under ``parent``, located at a MuJoCo body, site or camera ``mj_name``.

    ``static`` frames never move relative to their parent (published once on /tf_static). The root frame of a robot
    (``RobotAdapter.world_frame``, e.g. ``world`` or ``odom``) coincides with the MuJoCo world frame.
    """

    name: str
    parent: str
    kind: str
    mj_name: str
    static: bool = False


@dataclass(frozen=True)
class CameraSpec:
    """A camera of the embodiment: MuJoCo camera ``name``, image size, vertical field of view and its optical frame."""

    name: str
    width: int = 640
    height: int = 480
    fovy_deg: float = 58.0
    frame: str = ""

    @property
    def optical_frame(self) -> str:
        """TF frame of the camera in the optical convention (``<name>_camera_optical`` unless given)."""
        return self.frame or f"{self.name}_camera_optical"


@dataclass
class JointLimits:
    """Position (rad or m) and velocity limits of the arm joints, in :attr:`RobotAdapter.arm_joints` order."""

    lower: np.ndarray
    upper: np.ndarray
    velocity: np.ndarray
    effort: np.ndarray = field(default_factory=lambda: np.zeros(0))


class RobotAdapter(ABC):
    """Robot specifics behind the :class:`~maestro_sim.world.World` API. One instance per world.

    Subclasses set the class attributes and implement :meth:`build`; the defaults of the other methods cover a fixed
    arm with a position-controlled parallel gripper driven by one actuator (``gripper_actuator``) whose control value is
    the opening of *one* finger (so gap = 2 * ctrl).
    """

    name: str = ""                       # embodiment id, e.g. "franka", "go2w_piper"
    world_frame: str = "world"           # TF root; coincides with the MuJoCo world frame
    base_frame: str = ""                 # robot base frame (tool outputs are expressed here)
    tcp_site: str = ""                   # MuJoCo site at the tool centre point (TF frame of the same name)
    arm_joints: tuple[str, ...] = ()
    arm_actuators: tuple[str, ...] = ()
    finger_joints: tuple[str, ...] = ()
    gripper_actuator: str = ""
    gripper_max_gap: float = 0.08        # m, fully open finger gap
    gripper_max_force: float = 70.0      # N, squeezing force per finger at most
    home: tuple[float, ...] = ()         # arm joint positions at reset
    mobile: bool = False                 # True: the base accepts planar velocity commands

    @abstractmethod
    def build(self, spec: mujoco.MjSpec) -> None:
        """Add the robot, its actuators and its cameras to ``spec`` (the world's MjSpec; world body already there)."""

    @abstractmethod
    def cameras(self) -> list[CameraSpec]:
        """The embodiment's cameras (the first is the main camera)."""

    @abstractmethod
    def frames(self) -> list[FrameSpec]:
        """TF frames to publish: base, arm links, TCP and camera optical frames, each with its parent."""

    @abstractmethod
    def joint_limits(self) -> JointLimits:
        """Limits of the arm joints, in :attr:`arm_joints` order."""

    def robot_bodies(self, model: mujoco.MjModel) -> list[int]:
        """Ids of every body that belongs to the robot (segmentation id 0). Default: the subtree of the base body."""
        root = model.body(self.base_frame).id
        return [b for b in range(model.nbody) if _is_descendant(model, b, root)]

    def reset(self, model: mujoco.MjModel, data: mujoco.MjData) -> None:
        """Put the robot at :attr:`home` with matching actuator targets and an open gripper (called before mj_forward)."""
        for joint, q in zip(self.arm_joints, self.home, strict=True):
            data.qpos[model.joint(joint).qposadr[0]] = q
        for actuator, q in zip(self.arm_actuators, self.home, strict=True):
            data.ctrl[model.actuator(actuator).id] = q
        for joint in self.finger_joints:
            data.qpos[model.joint(joint).qposadr[0]] = self.gripper_max_gap / 2.0
        self.set_gripper(model, data, self.gripper_max_gap, None)

    def set_gripper(self, model: mujoco.MjModel, data: mujoco.MjData, gap: float, max_force: float | None) -> None:
        """Command the finger gap in metres (clipped to [0, gripper_max_gap]) with at most ``max_force`` N per finger.

        Grasping happens through contacts and friction only: the actuator squeezes until its force limit.
        """
        act = model.actuator(self.gripper_actuator)
        data.ctrl[act.id] = float(np.clip(gap, 0.0, self.gripper_max_gap)) / 2.0
        force = self.gripper_max_force if max_force is None or max_force <= 0 else min(max_force,
                                                                                       self.gripper_max_force)
        # The actuator drives a tendon coupling both fingers with coefficient 0.5: tendon force = 2 * finger force.
        model.actuator_forcerange[act.id] = (-2.0 * force, 2.0 * force)

    def gripper_gap(self, model: mujoco.MjModel, data: mujoco.MjData) -> float:
        """Current finger gap in metres."""
        return float(sum(data.qpos[model.joint(j).qposadr[0]] for j in self.finger_joints))

    def gripper_force(self, model: mujoco.MjModel, data: mujoco.MjData) -> float:
        """Current squeezing force per finger in newtons (magnitude)."""
        return abs(float(data.actuator_force[model.actuator(self.gripper_actuator).id])) / 2.0

    # ----- mobile base (only for ``mobile = True``) -----
    def set_base_velocity(self, model: mujoco.MjModel, data: mujoco.MjData, vx: float, vy: float, wz: float) -> None:
        """Command a planar base velocity in the base frame (m/s, m/s, rad/s)."""
        raise NotImplementedError(f"embodiment '{self.name}' has no mobile base")

    def pre_step(self, model: mujoco.MjModel, data: mujoco.MjData) -> None:
        """Called before every physics step (e.g. to turn a base-frame velocity command into joint targets)."""
        return None

    def base_pose(self, model: mujoco.MjModel, data: mujoco.MjData) -> tuple[np.ndarray, np.ndarray]:
        """Base position and orientation (quaternion [w, x, y, z], MuJoCo order) in the world frame."""
        body = model.body(self.base_frame).id
        return data.xpos[body].copy(), data.xquat[body].copy()

    def base_twist(self, model: mujoco.MjModel, data: mujoco.MjData) -> np.ndarray:
        """Base velocity [vx, vy, vz, wx, wy, wz] in the base frame."""
        out = np.zeros(6)
        mujoco.mj_objectVelocity(model, data, mujoco.mjtObj.mjOBJ_BODY, model.body(self.base_frame).id, out, 1)
        return np.concatenate([out[3:], out[:3]])


def _is_descendant(model: mujoco.MjModel, body: int, root: int) -> bool:
    while body > 0:
        if body == root:
            return True
        body = int(model.body_parentid[body])
    return root == 0


def look_at_xyaxes(pos: np.ndarray | list[float], target: np.ndarray | list[float],
                   up: tuple[float, float, float] = (0.0, 0.0, 1.0)) -> list[float]:
    """MuJoCo camera ``xyaxes`` (image right, image up) for a camera at ``pos`` looking at ``target``."""
    fwd = np.asarray(target, float) - np.asarray(pos, float)
    fwd /= np.linalg.norm(fwd)
    right = np.cross(fwd, np.asarray(up, float))
    if np.linalg.norm(right) < 1e-6:
        right = np.cross(fwd, np.array([1.0, 0.0, 0.0]))
    right /= np.linalg.norm(right)
    cam_up = np.cross(right, fwd)
    return [*right.tolist(), *cam_up.tolist()]
