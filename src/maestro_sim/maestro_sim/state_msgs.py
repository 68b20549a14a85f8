"""Robot-state messages of the sim node (/tf, /tf_static, /joint_states, /odom) from a cheap world snapshot.

The physics thread takes a :class:`StateSnapshot` under the world lock (array copies only) and builds and publishes
the messages after releasing it. :class:`FrameTable` resolves the robot's TF frames to MuJoCo ids once per world, so
a snapshot is a few array reads per frame; rotations become quaternions with ``mujoco.mju_mat2Quat`` (no scipy).
"""
from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import TransformStamped
from nav_msgs.msg import Odometry
from rclpy.time import Time as RosTime
from sensor_msgs.msg import JointState
from tf2_msgs.msg import TFMessage

from maestro_sim.robots.base import FRAME_BODY, FRAME_CAMERA, FRAME_SITE
from maestro_sim.world import World

# Rotation from a MuJoCo camera frame (-z forward, +y up) to the optical frame (+z forward, +y down).
_CAM_TO_OPTICAL = np.diag([1.0, -1.0, -1.0])
ODOM_FRAME = "odom"  # REP 105: /odom poses are in odom; the sim attaches the mobile robot at the world origin


def stamp_of(t: float) -> Time:
    """``builtin_interfaces/Time`` of ``t`` seconds (rounded to the nanosecond; 0.9999999999 s is 1 s, not 0)."""
    return RosTime(nanoseconds=int(round(t * 1e9))).to_msg()


def quat_xyzw(rot: np.ndarray) -> np.ndarray:
    """Quaternion [x, y, z, w] (ROS order) of a 3x3 rotation matrix."""
    q = np.empty(4)
    mujoco.mju_mat2Quat(q, np.ascontiguousarray(rot, dtype=float).reshape(9))
    return np.array([q[1], q[2], q[3], q[0]])


@dataclass
class FrameEntry:
    """One transform parent -> child: translation and quaternion [x, y, z, w]."""

    parent: str
    child: str
    position: np.ndarray
    quaternion: np.ndarray


class FrameTable:
    """The robot's TF frames of one world, resolved to MuJoCo ids."""

    def __init__(self, world: World) -> None:
        m = world.model
        self.root = world.robot.world_frame
        self.frames = []  # (name, parent, kind, id, static)
        for f in world.robot.frames():
            if f.kind == FRAME_BODY:
                idx = m.body(f.mj_name).id
            elif f.kind == FRAME_SITE:
                idx = m.site(f.mj_name).id
            elif f.kind == FRAME_CAMERA:
                idx = m.camera(f.mj_name).id
            else:
                raise ValueError(f"unknown frame kind '{f.kind}' of frame '{f.name}'")
            self.frames.append((f.name, f.parent, f.kind, idx, f.static))

    def transforms(self, data: mujoco.MjData, static: bool) -> list[FrameEntry]:
        """Parent -> child transforms of the static (or the moving) frames at ``data``'s state."""
        identity = (np.zeros(3), np.eye(3))
        poses: dict[str, tuple[np.ndarray, np.ndarray]] = {self.root: identity}
        out = []
        for name, parent, kind, idx, is_static in self.frames:
            if kind == FRAME_BODY:
                pose = (data.xpos[idx], data.xmat[idx].reshape(3, 3))
            elif kind == FRAME_SITE:
                pose = (data.site_xpos[idx], data.site_xmat[idx].reshape(3, 3))
            else:
                pose = (data.cam_xpos[idx], data.cam_xmat[idx].reshape(3, 3) @ _CAM_TO_OPTICAL)
            poses[name] = pose
            if is_static != static:
                continue
            ppos, prot = poses.get(parent, identity)
            pos, rot = pose
            out.append(FrameEntry(parent, name, prot.T @ (pos - ppos), quat_xyzw(prot.T @ rot)))
        return out


@dataclass
class StateSnapshot:
    """What the state messages need, copied out of the world under its lock."""

    time: float
    joint_names: list[str]
    position: np.ndarray
    velocity: np.ndarray
    effort: np.ndarray
    frames: list[FrameEntry]
    base_frame: str = ""
    base_pose: tuple[np.ndarray, np.ndarray] | None = None  # position, quaternion [w, x, y, z]
    base_twist: np.ndarray | None = None                    # [vx, vy, vz, wx, wy, wz] in the base frame


def take_snapshot(world: World, table: FrameTable) -> StateSnapshot:
    """Copy the robot state of ``world`` (call with the world lock held)."""
    names, pos, vel, eff = world.joint_state()
    snap = StateSnapshot(world.time, names, pos, vel, eff, table.transforms(world.data, static=False))
    if world.robot.mobile:
        snap.base_frame = world.robot.base_frame
        snap.base_pose = world.robot.base_pose(world.model, world.data)
        snap.base_twist = world.robot.base_twist(world.model, world.data)
    return snap


def tf_message(entries: list[FrameEntry], stamp: Time) -> TFMessage:
    """``tf2_msgs/TFMessage`` of the transforms."""
    out = []
    for e in entries:
        msg = TransformStamped()
        msg.header.stamp = stamp
        msg.header.frame_id = e.parent
        msg.child_frame_id = e.child
        t, q = msg.transform.translation, msg.transform.rotation
        t.x, t.y, t.z = float(e.position[0]), float(e.position[1]), float(e.position[2])
        q.x, q.y, q.z, q.w = (float(v) for v in e.quaternion)
        out.append(msg)
    return TFMessage(transforms=out)


def joint_state_message(snap: StateSnapshot, stamp: Time) -> JointState:
    """``sensor_msgs/JointState`` of the arm and finger joints."""
    msg = JointState()
    msg.header.stamp = stamp
    msg.name = list(snap.joint_names)
    msg.position, msg.velocity, msg.effort = snap.position.tolist(), snap.velocity.tolist(), snap.effort.tolist()
    return msg


def odometry_message(snap: StateSnapshot, stamp: Time) -> Odometry | None:
    """``nav_msgs/Odometry``: pose of ``base_link`` in ``odom`` (REP 105), twist in ``base_link``; None if fixed."""
    if snap.base_pose is None or snap.base_twist is None:
        return None
    pos, quat = snap.base_pose
    odom = Odometry()
    odom.header.stamp = stamp
    odom.header.frame_id = ODOM_FRAME
    odom.child_frame_id = snap.base_frame
    p = odom.pose.pose.position
    p.x, p.y, p.z = (float(v) for v in pos)
    o = odom.pose.pose.orientation
    o.w, o.x, o.y, o.z = (float(v) for v in quat)
    lin, ang = odom.twist.twist.linear, odom.twist.twist.angular
    lin.x, lin.y, lin.z = (float(v) for v in snap.base_twist[:3])
    ang.x, ang.y, ang.z = (float(v) for v in snap.base_twist[3:])
    return odom
