"""Oracle for cut_banana (test-only): grasp the knife handle from above, turn the blade across the banana's middle
(orthogonal to its centre line, or at 45 deg for the diagonal verb), lower the edge through it, lift."""
from __future__ import annotations

import math

import numpy as np

from maestro_sim.oracles.common import TOP_DOWN, Oracle, rot_z
from maestro_sim.tasks.base import TABLE_TOP
from maestro_sim.tasks.tabletop.cut_banana import BANANA_RADIUS, KNIFE
from maestro_sim.world import World


def _pose(pos: np.ndarray, rot: np.ndarray) -> np.ndarray:
    t = np.eye(4)
    t[:3, :3], t[:3, 3] = rot, pos
    return t


def grasp_handle(o: Oracle, world: World) -> np.ndarray:
    """Top-down grasp of the handle (fingers across its width), lift; returns the knife pose in the TCP frame."""
    p, r = world.body_pos(KNIFE), world.body_rot(KNIFE)
    yaw = math.atan2(r[1, 0], r[0, 0])
    rot = rot_z((yaw + math.pi / 2) % math.pi - math.pi / 2) @ TOP_DOWN
    world.set_gripper(world.robot.gripper_max_gap)
    o.move_tcp(p + [0, 0, 0.12], rot)
    o.move_tcp(p + [0, 0, 0.002], rot, steps=4, duration=1.0)
    o.gripper(0.0, wait=0.6)
    o.move_tcp(p + [0, 0, 0.15], rot, steps=3, duration=1.0)
    tcp = _pose(*world.tcp_pose())
    return np.linalg.inv(tcp) @ _pose(world.body_pos(KNIFE), world.body_rot(KNIFE))


def run(world: World, at: float = 0.5, angle_deg: float | None = None) -> Oracle:
    """Solve the scene's variant with ground truth: cut at fraction ``at`` along the banana, at ``angle_deg`` to its
    centre line (default: 90, or 45 for the diagonal verb)."""
    o = Oracle(world)
    task = world.task
    knife_in_tcp = grasp_handle(o, world)
    line = task.banana_line(world)
    i = int(np.clip(round(at * (len(line) - 1)), 1, len(line) - 2))
    mid = line[i]
    tangent = line[i + 1] - line[i - 1]
    if angle_deg is None:
        angle_deg = 45.0 if task.variant == "diagonal" else 90.0
    cut = math.atan2(tangent[1], tangent[0]) + math.radians(angle_deg)
    # blade pointing away from the robot (handle nearer the base)
    if math.cos(cut) * mid[0] + math.sin(cut) * mid[1] < 0:
        cut += math.pi
    knife_rot = rot_z(cut)
    edge_mid_local = np.array([task.knife.blade_center_x, 0.0, -task.knife.handle[2]])

    def tcp_for_edge_at(point: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        knife = _pose(point - knife_rot @ edge_mid_local, knife_rot)
        tcp = knife @ np.linalg.inv(knife_in_tcp)
        return tcp[:3, 3], tcp[:3, :3]

    above = np.array([mid[0], mid[1], mid[2] + BANANA_RADIUS + 0.06])
    o.move_tcp(*tcp_for_edge_at(above), duration=2.0)
    o.move_tcp(*tcp_for_edge_at(above - [0, 0, 0.04]), steps=2, duration=0.8)
    through = np.array([mid[0], mid[1], TABLE_TOP + 0.003])
    o.move_tcp(*tcp_for_edge_at(through), steps=4, duration=1.5, settle=0.4)
    o.move_tcp(*tcp_for_edge_at(above), steps=3, duration=1.0)
    return o
