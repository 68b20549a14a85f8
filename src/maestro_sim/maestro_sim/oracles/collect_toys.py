"""Oracle for collect_toys (test-only): fetch each toy from the floor and put it on (or under) the white table."""
from __future__ import annotations

import math

import numpy as np

from maestro_sim.oracles.go2w_piper import Oracle, top_down_rotation
from maestro_sim.tasks.mobile.collect_toys import TABLE, TABLE_HALF, TABLE_HEIGHT
from maestro_sim.world import World

PICK_REACH = 0.45
PLACE_REACH = 0.62   # base centre to the drop point on the table (robot front ~0.38 m, table edge in between)


def drop_spot(o: Oracle, index: int, beside: bool) -> tuple[np.ndarray, np.ndarray]:
    """Drop point for toy ``index`` (spread along the table edge facing the robot: 12 cm inside the edge on the
    table, or 12 cm outside it on the floor) and the unit approach direction."""
    w = o.world
    centre, rot = w.body_pos(TABLE), w.body_rot(TABLE)
    bx, by, _ = o.base_pose()
    d = centre[:2] - np.array([bx, by])
    d /= np.linalg.norm(d)
    local = rot[:2, :2].T @ d
    # centre-to-edge distance along d (ray against the table rectangle)
    extent = min(TABLE_HALF[0] / max(abs(local[0]), 1e-6), TABLE_HALF[1] / max(abs(local[1]), 1e-6))
    lateral = np.array([-d[1], d[0]])
    depth = extent + 0.12 if beside else extent - 0.12
    spot = centre[:2] - depth * d + (index - 1) * 0.12 * lateral
    if not beside:  # keep the spot 7 cm inside the table top whatever the table's yaw
        spot_local = rot[:2, :2].T @ (spot - centre[:2])
        spot_local = np.clip(spot_local, -np.array(TABLE_HALF) + 0.07, np.array(TABLE_HALF) - 0.07)
        spot = centre[:2] + rot[:2, :2] @ spot_local
    return spot, d


def run(world: World) -> Oracle:
    """Solve the scene's variant with ground truth."""
    o = Oracle(world)
    task = world.task
    beside = task.variant == "next_to_table"
    for i, toy in enumerate(task.toys):
        for _ in range(3):  # the base may nudge a floor toy on its way: re-approach until it lies still in reach
            p = world.body_pos(toy)
            o.drive_to(*o.approach_pose(p[:2], PICK_REACH))
            if np.linalg.norm(world.body_pos(toy)[:2] - p[:2]) < 0.03:
                break
        if not o.pick_from_floor(toy, task.toy_heights[toy], lift_to=0.5, align=True):
            continue
        spot, d = drop_spot(o, i, beside)
        reach = PICK_REACH if beside else PLACE_REACH
        base = spot - reach * d
        o.drive_to(base[0], base[1], math.atan2(d[1], d[0]))
        bx, by, byaw = o.base_pose()
        target = np.array([bx + reach * math.cos(byaw), by + reach * math.sin(byaw)])
        rot = top_down_rotation(byaw)
        z = (0.0 if beside else TABLE_HEIGHT) + task.toy_heights[toy] + 0.02
        o.move_tcp(np.array([*target, z + 0.08]), rot, duration=1.5)
        o.move_tcp(np.array([*target, z]), rot, duration=0.8)
        o.gripper(world.robot.gripper_max_gap, 0.8)
        tcp = world.tcp_pose()[0]
        o.move_tcp(np.array([tcp[0], tcp[1], 0.6]), rot, duration=1.0)
        o.drive_to(bx - 0.3 * math.cos(byaw), by - 0.3 * math.sin(byaw))  # back off before turning away
    o.wait(1.0)
    return o
