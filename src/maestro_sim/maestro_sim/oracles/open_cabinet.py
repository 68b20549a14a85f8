"""Oracle for open_cabinet: grasp the handle square to the door, then follow the door's arc about the hinge."""
from __future__ import annotations

import math

import numpy as np

from maestro_sim.oracles.common import Oracle, rot_z
from maestro_sim.world import World


def _grasp_rotation(door_rot: np.ndarray, kind: str) -> np.ndarray:
    x_d, y_d, z_d = door_rot[:, 0], door_rot[:, 1], door_rot[:, 2]
    if kind == "vertical_bar":  # fingers close across the vertical bar, along the door
        return np.column_stack([-z_d, y_d, x_d])
    return np.column_stack([y_d, z_d, x_d])  # fingers close vertically (horizontal bar, knob)


def run(world: World) -> None:
    """Open the door to ~85 degrees (~32 degrees for the "slightly" verb) and let go."""
    o = Oracle(world)
    task = world.task
    hinge = world.body_pos("cabinet_door")
    theta0 = world.joint_qpos("cabinet_door_hinge")
    cab_rot = world.body_rot("cabinet_door") @ rot_z(theta0).T
    handle_local = cab_rot.T @ (world.body_pos("cabinet_handle") - hinge)  # in the door frame at angle 0

    def handle_pose(theta: float) -> tuple[np.ndarray, np.ndarray]:
        door_rot = cab_rot @ rot_z(theta)
        return hinge + door_rot @ handle_local, _grasp_rotation(door_rot, task.handle_kind)

    pos, rot = handle_pose(theta0)
    approach = rot[:, 2]
    o.gripper(world.robot.gripper_max_gap, wait=0.1)
    q_pre, _ = o.ik_global(pos - 0.12 * approach, rot)
    o.move_joints(q_pre, duration=2.5)
    o.move_tcp(pos - 0.002 * approach, rot, steps=4, duration=1.2)
    o.gripper(0.0, wait=0.6)
    final = math.radians(32.0 if task.variant == "slightly" else 85.0)
    n = max(2, int(math.degrees(final - theta0) / 3))
    for k in range(1, n + 1):
        theta = theta0 + (final - theta0) * k / n
        pos, rot = handle_pose(theta)
        q, _ = o.ik(pos, rot, q0=world.arm_targets(), rest=q_pre)
        o.move_joints(q, duration=0.15, settle=0.0)
    o.wait(0.3)
    o.gripper(world.robot.gripper_max_gap, wait=0.5)
    pos, rot = handle_pose(world.joint_qpos("cabinet_door_hinge"))
    o.move_tcp(pos - 0.1 * rot[:, 2], rot, duration=1.0)
    o.wait(0.5)
