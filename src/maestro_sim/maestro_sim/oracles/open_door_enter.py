"""Oracle for open_door_enter (test-only): Go2-W + PiPER opens the push door by its handle and drives through.

Ground truth is read in the doorway frame (x: through the wall, into the building; y: along the wall). Steps:

1. drive the base in front of the handle, facing the wall;
2. grasp the vertical bar (or knob) with a horizontal approach, fingers closing along the wall;
3. push the door open by following the handle's circle about the hinge with the TCP (arm IK, the base creeping
   forward), re-reading the handle position every step so the arm never fights the door;
4. let go, stow the arm, and drive through the doorway along its centre line: the base pushes the leaf further open
   by contact (the door turns freely past 60 deg) and ends past the wall plane.
"""
from __future__ import annotations

import math

import numpy as np

from maestro_sim.oracles.go2w_piper import Oracle
from maestro_sim.tasks.mobile.open_door_enter import DOOR, DOORWAY, HINGE, THROUGH
from maestro_sim.world import World

STANDOFF = 0.50      # m from the base centre to the handle along the door normal, for the grasp
PITCH = 0.5          # rad the approach points downwards (the handle is below the PiPER's shoulder)
PRE_GRASP = 0.10     # m before the handle along the approach
PUSH_DEG = 40.0      # door angle reached by pushing the handle with the arm


def doorway_frame(world: World) -> tuple[np.ndarray, np.ndarray, float]:
    """(origin, rotation, yaw) of the doorway frame in the world."""
    rot = world.body_rot(DOORWAY)
    return world.body_pos(DOORWAY), rot, math.atan2(rot[1, 0], rot[0, 0])


def handle_rotation(yaw: float, pitch: float = PITCH) -> np.ndarray:
    """TCP rotation approaching along heading ``yaw`` (tcp +z), tilted ``pitch`` rad downwards, fingers closing
    horizontally (+y) around the vertical bar."""
    z = np.array([math.cos(yaw) * math.cos(pitch), math.sin(yaw) * math.cos(pitch), -math.sin(pitch)])
    y = np.array([-math.sin(yaw), math.cos(yaw), 0.0])
    return np.column_stack([np.cross(y, z), y, z])


def grasp_handle(o: Oracle, world: World) -> bool:
    """Drive in front of the handle and close the gripper on it; True when grasped."""
    _, rot, yaw = doorway_frame(world)
    handle = world.site_pos(f"{DOOR}/handle")
    normal = rot[:, 0]
    base_xy = handle[:2] - STANDOFF * normal[:2]
    o.drive_to(float(base_xy[0]), float(base_xy[1]), yaw)
    _, _, heading = o.base_pose()
    grip = handle_rotation(heading)
    o.gripper(world.robot.gripper_max_gap, 0.3)
    handle = world.site_pos(f"{DOOR}/handle")
    o.move_tcp(handle - PRE_GRASP * grip[:, 2], grip, duration=1.5)
    o.move_tcp(handle, grip, duration=1.0, settle=0.3)
    o.gripper(0.0, 0.8)
    return world.is_grasped(DOOR)


def push_door(o: Oracle, world: World, target_deg: float = PUSH_DEG, timeout: float = 20.0) -> float:
    """With the handle held, push it along its circle about the hinge until the door reaches ``target_deg``;
    the base creeps forward when the handle gets out of comfortable reach. Returns the door angle (deg)."""
    step = math.radians(2.0)
    for _ in range(round(timeout / 0.4)):
        angle = world.joint_qpos(HINGE)
        if math.degrees(angle) >= target_deg:
            break
        hinge_pos = world.body_pos(DOOR)
        axis = world.body_rot(DOOR)[:, 2]
        handle = world.site_pos(f"{DOOR}/handle")
        r = handle - hinge_pos
        # rotate the handle about the hinge axis by one step: the next point of its circle
        c, s = math.cos(step), math.sin(step)
        nxt = hinge_pos + r * c + np.cross(axis, r) * s + axis * np.dot(axis, r) * (1 - c)
        door_yaw = math.atan2(world.body_rot(DOOR)[1, 0], world.body_rot(DOOR)[0, 0])
        ok = o.move_tcp(nxt, handle_rotation(door_yaw), duration=0.4, settle=0.0, tol=0.02)
        bx, by, _ = o.base_pose()
        reach = math.hypot(nxt[0] - bx, nxt[1] - by)
        if not ok or reach > STANDOFF + 0.08:
            o.world.set_base_velocity(0.15, 0.0, 0.0)
            o.wait(0.3)
            o.world.set_base_velocity(0.0, 0.0, 0.0)
    return math.degrees(world.joint_qpos(HINGE))


def enter(o: Oracle, world: World) -> bool:
    """Let go of the handle, stow the arm and drive through the doorway; True when the base is past the wall."""
    o.gripper(world.robot.gripper_max_gap, 0.5)
    tcp, rot = world.tcp_pose()
    origin, frame, yaw = doorway_frame(world)
    o.move_tcp(tcp - 0.12 * rot[:, 2], rot, duration=0.8)
    o.move_joints(np.asarray(world.robot.home, float), duration=1.5)
    before = origin - 0.6 * frame[:, 0]
    after = origin + (THROUGH + 0.35) * frame[:, 0]
    o.drive_to(float(before[0]), float(before[1]), yaw)
    o.drive_to(float(after[0]), float(after[1]), yaw, timeout=20.0)
    local = frame.T @ (np.array([*o.base_pose()[:2], 0.0]) - origin)
    return bool(local[0] > THROUGH)


def run(world: World) -> Oracle:
    """Open the door by its handle and enter (base and knob scenes; the open-wide verb stops before the wall)."""
    o = Oracle(world)
    if not grasp_handle(o, world):
        return o
    push_door(o, world)
    if world.task.variant == "open_wide":
        return o
    enter(o, world)
    return o
