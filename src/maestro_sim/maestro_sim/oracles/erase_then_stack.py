"""Oracle for erase_then_stack (test-only): grasp the eraser, wipe the three marks in a zigzag pressing on the
board, put the eraser aside, then stack the blocks bottom -> top in the order the marks gave."""
from __future__ import annotations

import math

import numpy as np

from maestro_sim.oracles.common import TOP_DOWN, Oracle, rot_z
from maestro_sim.tasks.base import TABLE_TOP
from maestro_sim.tasks.tabletop.erase_then_stack import BLOCK_HALF, BOARD, BOARD_HALF, ERASER, ERASER_HALF
from maestro_sim.world import World


def _yaw(rot: np.ndarray) -> float:
    return math.atan2(rot[1, 0], rot[0, 0])


def _half_turn(angle: float) -> float:
    """Angle wrapped to [-pi/2, pi/2) (a parallel gripper is symmetric under a half turn)."""
    return (angle + math.pi / 2) % math.pi - math.pi / 2


def pick(o: Oracle, body: str, closing_yaw: float, lift: float = 0.12) -> None:
    """Top-down grasp of ``body`` at its centre with the fingers closing along ``closing_yaw`` (world), then lift."""
    p = o.world.body_pos(body)
    rot = rot_z(_half_turn(closing_yaw - math.pi / 2)) @ TOP_DOWN
    o.world.set_gripper(o.world.robot.gripper_max_gap)
    o.move_tcp(p + [0, 0, lift], rot)
    o.move_tcp(p, rot, steps=4, duration=1.0)
    o.gripper(0.0, wait=0.5)
    o.move_tcp(p + [0, 0, lift], rot, steps=3, duration=0.8)


def place(o: Oracle, pos: np.ndarray) -> None:
    """Lower the held object to ``pos`` (TCP position), open, retreat upwards."""
    _, rot = o.world.tcp_pose()
    o.move_tcp(pos + [0, 0, 0.08], rot, duration=1.2)
    o.move_tcp(pos, rot, steps=3, duration=0.8)
    o.gripper(o.world.robot.gripper_max_gap, wait=0.5)
    o.move_tcp(pos + [0, 0, 0.1], rot, steps=2, duration=0.8)


def wipe_board(o: Oracle) -> None:
    """Zigzag over the three marks with the eraser pressed (a 6 mm deeper target) on the board."""
    w = o.world
    task = w.task
    bp, br = w.body_pos(BOARD), w.body_rot(BOARD)
    board_yaw = _yaw(br)
    eraser_rot = w.body_rot(ERASER)
    tcp_rot = w.tcp_pose()[1]
    # keep the eraser's long side (local y) along the board's y: turn the hand by the yaw difference
    turn = _half_turn(board_yaw - _yaw(eraser_rot))
    rot = rot_z(turn) @ tcp_rot
    offset = w.body_pos(ERASER) - w.tcp_pose()[0]  # eraser centre relative to the TCP (world), kept while wiping
    z = TABLE_TOP + 2 * BOARD_HALF[2] + ERASER_HALF[2] - 0.006 - offset[2]
    ys = (-0.1, 0.1)
    first = True
    for k, mark in enumerate(task.marks):
        mx = mark.xy[0][0]
        a, b = (ys if k % 2 == 0 else ys[::-1])
        start = bp + br @ np.array([mx, a, 0.0])
        end = bp + br @ np.array([mx, b, 0.0])
        if first:
            o.move_tcp(np.array([start[0], start[1], z + 0.06]), rot, duration=1.5)
            first = False
        o.move_tcp(np.array([start[0], start[1], z]), rot, steps=2, duration=0.8)
        o.move_tcp(np.array([end[0], end[1], z]), rot, steps=6, duration=2.0)
    pos = w.tcp_pose()[0]
    o.move_tcp(pos + [0, 0, 0.1], rot, steps=2, duration=0.8)


def run(world: World) -> Oracle:
    """Solve the scene's variant with ground truth."""
    o = Oracle(world)
    task = world.task
    eraser_start = world.body_pos(ERASER)
    pick(o, ERASER, _yaw(world.body_rot(ERASER)))  # fingers close across the eraser's short side (local x)
    wipe_board(o)
    place(o, np.array([eraser_start[0] - 0.02, eraser_start[1] + 0.02, TABLE_TOP + ERASER_HALF[2] + 0.004]))
    for i in range(1, len(task.order)):
        below, above = task.order[i - 1], task.order[i]
        pick(o, above, _yaw(world.body_rot(above)))
        target = world.body_pos(below) + [0, 0, 2 * BLOCK_HALF + 0.004]
        place(o, target)
    o.wait(0.8)
    return o
