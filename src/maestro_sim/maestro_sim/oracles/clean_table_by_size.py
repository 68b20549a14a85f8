"""Oracle for clean_table_by_size: pick the items top-down in the required order and drop them into the bowl."""
from __future__ import annotations

import numpy as np

from maestro_sim.oracles.common import TOP_DOWN, Oracle, rot_z
from maestro_sim.world import World

DROP_OFFSETS = ((0.0, -0.04), (0.0, 0.045), (0.045, 0.0))


def run(world: World) -> None:
    """Pick and place each item, in the order the variant asks for."""
    o = Oracle(world)
    task = world.task
    bowl = world.body_pos("bowl")
    for k, body in enumerate(task.order()):
        p = world.body_pos(body)
        yaw = float(np.arctan2(world.body_rot(body)[1, 0], world.body_rot(body)[0, 0]))
        yaw = (yaw + np.pi / 4) % (np.pi / 2) - np.pi / 4  # grasp square to a box's faces
        rot = rot_z(yaw) @ TOP_DOWN
        top = world.task.objects()[body].size[2] / 2
        grasp_z = p[2] + max(0.0, top - 0.025)
        o.gripper(world.robot.gripper_max_gap, wait=0.1)
        q, _ = o.ik_global(np.array([p[0], p[1], p[2] + 0.15]), rot)
        o.move_joints(q)
        o.move_tcp(np.array([p[0], p[1], grasp_z]), rot, steps=4, duration=1.0)
        o.gripper(0.0, wait=0.6)
        o.move_tcp(np.array([p[0], p[1], p[2] + 0.18]), rot, steps=3, duration=1.0)
        dx, dy = DROP_OFFSETS[k % len(DROP_OFFSETS)]
        target = bowl + np.array([dx, dy, task_drop_height(world, body)])
        o.move_tcp(target, TOP_DOWN, duration=1.5)
        o.gripper(world.robot.gripper_max_gap, wait=0.6)
        o.move_tcp(target + [0, 0, 0.08], TOP_DOWN, duration=0.6)
    o.wait(1.0)


def task_drop_height(world: World, body: str) -> float:
    """TCP height above the bowl bottom at release: the item's bottom a few cm above the rim."""
    return 0.05 + world.task.objects()[body].size[2] / 2 + 0.04
