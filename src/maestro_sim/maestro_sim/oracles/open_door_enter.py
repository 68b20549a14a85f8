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

from maestro_sim.oracles.go2w_piper import CONTROL_DT, Oracle
from maestro_sim.tasks.mobile.open_door_enter import DOOR, DOORWAY, HINGE, THROUGH
from maestro_sim.world import World

STANDOFF = 0.50      # m from the base centre to the handle along the door normal, for the grasp
PITCH = 0.5          # rad the approach points downwards (the handle is below the PiPER's shoulder)
PRE_GRASP = 0.10     # m before the handle along the approach
PUSH_DEG = 40.0      # door angle reached by pushing the handle with the arm
WIDE_IN = 0.30       # m past the wall plane the base centre goes to push the door wide (open-wide verb)
WIDE_OUT = 0.10      # m before the wall plane where the base ends (the robot stays outside)
WIDE_LANE_OFFSET = 0.22  # m from the hinge towards the doorway centre: the base's lane for pushing the door wide


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


def push_point(o: Oracle, world: World, local: np.ndarray, target_deg: float, timeout: float = 20.0,
               max_base_x: float | None = None, orient: bool = True) -> float:
    """Move the TCP along the circle that the door point ``local`` (door body frame) follows about the hinge,
    2 deg ahead of the door each step, until the door reaches ``target_deg``; the base creeps forward when the
    point leaves comfortable reach (never past ``max_base_x`` in the doorway frame). ``orient``: keep the handle
    grasp orientation (else position-only IK: a closed gripper pushing the leaf). Returns the door angle (deg)."""
    step = math.radians(2.0)
    hs = float(getattr(world.task, "hinge_side", 1.0))
    origin, frame, _ = doorway_frame(world)
    for _ in range(round(timeout / 0.4)):
        if math.degrees(world.joint_qpos(HINGE)) >= target_deg:
            break
        door_rot = world.body_rot(DOOR)
        hinge_pos = world.body_pos(DOOR)
        axis = door_rot @ np.array([0.0, 0.0, hs])  # positive hinge angles open the door (see the task)
        r = door_rot @ local
        c, s = math.cos(step), math.sin(step)
        nxt = hinge_pos + r * c + np.cross(axis, r) * s + axis * np.dot(axis, r) * (1 - c)
        door_yaw = math.atan2(door_rot[1, 0], door_rot[0, 0])
        ok = o.move_tcp(nxt, handle_rotation(door_yaw) if orient else None, duration=0.4, settle=0.0, tol=0.02)
        bx, by, _ = o.base_pose()
        local_base = frame.T @ (np.array([bx, by, 0.0]) - origin)
        may_creep = max_base_x is None or local_base[0] < max_base_x
        if (not ok or math.hypot(nxt[0] - bx, nxt[1] - by) > STANDOFF + 0.08) and may_creep:
            o.world.set_base_velocity(0.15, 0.0, 0.0)
            o.wait(0.3)
            o.world.set_base_velocity(0.0, 0.0, 0.0)
    return math.degrees(world.joint_qpos(HINGE))


def push_door(o: Oracle, world: World, target_deg: float = PUSH_DEG, timeout: float = 20.0,
              max_base_x: float | None = None) -> float:
    """With the handle held, push it along its circle about the hinge until the door reaches ``target_deg``."""
    door_rot = world.body_rot(DOOR)
    local = door_rot.T @ (world.site_pos(f"{DOOR}/handle") - world.body_pos(DOOR))
    return push_point(o, world, local, target_deg, timeout, max_base_x)


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


def strafe_to(o: Oracle, xy: np.ndarray, yaw: float, tol: float = 0.015, timeout: float = 15.0,
              speed: float = 0.3) -> bool:
    """Drive the base to ``xy`` and heading ``yaw``, moving sideways as needed (no turning on the spot next to
    the wall); True when it arrived."""
    for _ in range(round(timeout / CONTROL_DT)):
        bx, by, byaw = o.base_pose()
        dx, dy = float(xy[0]) - bx, float(xy[1]) - by
        turn = math.atan2(math.sin(yaw - byaw), math.cos(yaw - byaw))
        if math.hypot(dx, dy) < tol and abs(turn) < 0.02:
            break
        ex = math.cos(byaw) * dx + math.sin(byaw) * dy
        ey = -math.sin(byaw) * dx + math.cos(byaw) * dy
        o.world.set_base_velocity(float(np.clip(1.5 * ex, -speed, speed)), float(np.clip(1.5 * ey, -0.3, 0.3)),
                                  float(np.clip(2.0 * turn, -0.5, 0.5)))
        o.tick()
    o.stop_base()
    bx, by, _ = o.base_pose()
    return math.hypot(float(xy[0]) - bx, float(xy[1]) - by) < 3 * tol


def open_wide(o: Oracle, world: World) -> float:
    """Open-wide verb, with the handle held: push it along its circle as far as the arm reaches with the base outside
    (about 45 deg), let go, stow the arm, line up in a lane near the hinge, drive in briskly with the base centre at
    most :data:`WIDE_IN` past the wall plane (never "through": that is :data:`THROUGH`), the body pushing the leaf
    past 90 deg, then back out until the base centre is :data:`WIDE_OUT` before the wall plane. Returns the door
    angle (deg) at rest."""
    push_door(o, world, 95.0, max_base_x=-0.08)
    o.gripper(world.robot.gripper_max_gap, 0.5)
    tcp, rot = world.tcp_pose()
    o.move_tcp(tcp - 0.12 * rot[:, 2], rot, duration=0.8)
    o.move_joints(np.asarray(world.robot.home, float), duration=1.5)
    origin, frame, yaw = doorway_frame(world)
    hinge_y = float(frame[:, 1] @ (world.body_pos(DOOR) - origin))
    lane = hinge_y - float(world.task.hinge_side) * WIDE_LANE_OFFSET  # near the hinge: the body pushes the leaf wide
    back_off = float(frame[:, 0] @ (np.array([*o.base_pose()[:2], 0.0]) - origin)) - 0.25
    for x_local in (back_off, -0.7, WIDE_IN, -WIDE_OUT):  # straight lines, sideways as needed, no turning
        strafe_to(o, origin + frame @ np.array([x_local, lane if x_local > back_off else 0.0, 0.0]), yaw,
                  timeout=10.0, speed=0.6 if x_local == WIDE_IN else 0.3)  # briskly in: the leaf swings on
    o.wait(1.0)
    return math.degrees(world.joint_qpos(HINGE))


def run(world: World) -> Oracle:
    """Open the door by its handle and enter (open-wide verb: open it past 90 deg and stay outside)."""
    o = Oracle(world)
    if not grasp_handle(o, world):
        return o
    if world.task.variant == "open_wide":
        open_wide(o, world)
        o.wait(0.5)
        return o
    push_door(o, world)
    enter(o, world)
    return o
