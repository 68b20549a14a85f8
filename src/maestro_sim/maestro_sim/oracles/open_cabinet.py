"""Oracle for open_cabinet: grasp the handle square to the door, then follow the door's arc about the hinge."""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from maestro_sim.oracles.common import Oracle, rot_z
from maestro_sim.world import World


def _grasp_rotations(door_rot: np.ndarray, kind: str) -> list[np.ndarray]:
    """TCP rotations that grasp the handle (approach +z into the door), both finger orders (flipped about z)."""
    x_d, y_d, z_d = door_rot[:, 0], door_rot[:, 1], door_rot[:, 2]
    if kind == "vertical_bar":  # fingers close across the vertical bar, along the door
        rot = np.column_stack([-z_d, y_d, x_d])
    else:  # fingers close vertically (horizontal bar, knob)
        rot = np.column_stack([y_d, z_d, x_d])
    flipped = rot @ np.diag([-1.0, -1.0, 1.0])
    return [rot, flipped]


def _plan_arc(o: Oracle, handle_pose: Callable[[float, int], tuple[np.ndarray, np.ndarray]], option: int,
              thetas: list[float]) -> tuple[int, np.ndarray, list[np.ndarray]]:
    """IK of the pre-grasp and of the handle along ``thetas`` for one grasp rotation (no physics).

    Returns (how many leading angles are reachable: IK residual < 3 mm/mrad and every joint > 0.02 rad inside its
    limits, pre-grasp q, [q per reachable angle]).
    """
    w = o.world
    pos, rot = handle_pose(thetas[0], option)
    q_pre, res = o.ik_global(pos - 0.12 * rot[:, 2], rot)
    if res > 0.003:
        return 0, q_pre, []
    q, path = q_pre, []
    for theta in thetas:
        pos, rot = handle_pose(theta, option)
        q, res = o.ik(pos, rot, q0=q, rest=q_pre)
        margin = float(np.min(np.minimum(q - w.arm_lower, w.arm_upper - q)))
        if res > 0.003 or margin < 0.02:
            break
        path.append(q)
    return len(path), q_pre, path


def run(world: World) -> None:
    """Open the door to ~85 degrees (~32 degrees for the "slightly" verb) and let go.

    Plans the arc in IK for both finger orders and pulls as far as the arm reaches with the better one; when a
    joint would reach its limit first (a vertical bar or a knob seen from this arm), it lets go, backs off and grasps
    again at the new door angle with a fresh arm configuration; a grasp that misses or at once slips off the handle
    is retried with the other finger order (at most six attempts).
    """
    o = Oracle(world)
    task = world.task
    hinge = world.body_pos("cabinet_door")
    theta0 = world.joint_qpos("cabinet_door_hinge")
    cab_rot = world.body_rot("cabinet_door") @ rot_z(theta0).T
    handle_local = cab_rot.T @ (world.body_pos("cabinet_handle") - hinge)  # in the door frame at angle 0

    def handle_pose(theta: float, option: int) -> tuple[np.ndarray, np.ndarray]:
        door_rot = cab_rot @ rot_z(theta)
        return hinge + door_rot @ handle_local, _grasp_rotations(door_rot, task.handle_kind)[option]

    final = math.radians(32.0 if task.variant == "slightly" else 85.0)
    step = math.radians(3.0)
    o.gripper(world.robot.gripper_max_gap, wait=0.1)
    failed: set[tuple[int, int]] = set()  # (option, start angle in whole degrees) whose grasp did not hold
    for _attempt in range(6):
        start = world.joint_qpos("cabinet_door_hinge")
        if start >= final - step:
            break
        n = max(2, int(math.ceil((final - start) / step)))
        thetas = [start + (final - start) * k / n for k in range(n + 1)]
        tried = {opt for opt, deg in failed if abs(deg - math.degrees(start)) < 3.0}
        plans = {option: _plan_arc(o, handle_pose, option, thetas) for option in (0, 1) if option not in tried}
        if not plans:
            break
        option = max(plans, key=lambda opt: plans[opt][0])
        reach, q_pre, path = plans[option]
        if reach < 2:
            break
        pos, rot = handle_pose(start, option)
        approach = rot[:, 2]
        o.move_joints(q_pre, duration=2.5)
        o.move_tcp(pos - 0.002 * approach, rot, steps=4, duration=1.2)
        o.gripper(0.0, wait=0.6)
        if world.is_grasped("cabinet_handle"):
            for k in range(1, reach):
                pos, rot = handle_pose(thetas[k], option)
                q, _ = o.ik(pos, rot, q0=world.arm_targets(), rest=q_pre)
                o.move_joints(q, duration=0.15, settle=0.0)
            o.wait(0.3)
        if world.joint_qpos("cabinet_door_hinge") - start < math.radians(2.0):  # missed or slipped off at once:
            failed.add((option, round(math.degrees(start))))  # the other finger order next time from here
        o.gripper(world.robot.gripper_max_gap, wait=0.5)
        pos, rot = handle_pose(world.joint_qpos("cabinet_door_hinge"), option)
        o.move_tcp(pos - 0.1 * rot[:, 2], rot, duration=1.0)
        if world.joint_qpos("cabinet_door_hinge") < final - step:  # another attempt: back off up and out first
            o.move_tcp(pos - 0.1 * rot[:, 2] + np.array([-0.1, 0.0, 0.15]), rot, duration=1.0)
            o.move_joints(world.robot.home, duration=2.0)
    o.wait(0.5)
