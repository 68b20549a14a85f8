"""Oracle for search_ball (test-only): turn in place until the head camera sees the ball, fetch it, come back."""
from __future__ import annotations

import math

import numpy as np

from maestro_sim.oracles.go2w_piper import Oracle, top_down_rotation
from maestro_sim.tasks.mobile.common import camera_sees
from maestro_sim.tasks.mobile.search_ball import BALL, BALL_RADIUS, CUBE_HALF
from maestro_sim.world import World

PICK_REACH = 0.45
SEARCH_STEP = 0.6   # rad per look-around step (the head camera sees about +-43 deg)


def search(oracle: Oracle, max_steps: int = 12) -> bool:
    """Rotate in place by SEARCH_STEP until the head camera sees the ball; True when found."""
    world = oracle.world
    for _ in range(max_steps):
        if camera_sees(world.model, world.data, "head", BALL):
            return True
        oracle.turn_to(oracle.base_pose()[2] + SEARCH_STEP)
    return camera_sees(world.model, world.data, "head", BALL)


def run(world: World) -> Oracle:
    """Solve the scene's variant with ground truth; returns the oracle (progress log inside)."""
    oracle = Oracle(world)
    height = CUBE_HALF if world.perturbation == "new_object" else BALL_RADIUS
    if not search(oracle):
        return oracle
    ball = world.body_pos(BALL)
    oracle.drive_to(*oracle.approach_pose(ball[:2], PICK_REACH))
    if not oracle.pick_from_floor(BALL, height):
        return oracle
    oracle.drive_to(0.0, 0.0)
    if world.task.variant == "put_down_at_start":
        bx, by, yaw = oracle.base_pose()
        target = np.array([bx + PICK_REACH * math.cos(yaw), by + PICK_REACH * math.sin(yaw)])
        rot = top_down_rotation(yaw)
        oracle.move_tcp(np.array([*target, height + 0.03]), rot, duration=1.5)
        oracle.gripper(world.robot.gripper_max_gap, 0.8)
        oracle.move_tcp(np.array([*target, height + 0.2]), rot, duration=1.0, settle=1.0)
    return oracle
