"""Oracle for trash_ball (test-only): drive to the ball, top-down grasp, drive to the can, drop it in."""
from __future__ import annotations

import numpy as np

from maestro_sim.oracles.go2w_piper import Oracle, top_down_rotation
from maestro_sim.tasks.mobile.trash_ball import BALL, BALL_RADIUS, CAN, CUBE_HALF
from maestro_sim.world import World

PICK_REACH = 0.45   # m from the base centre to the object, straight ahead
DROP_REACH = 0.56   # m from the base centre to the can's axis


def run(world: World) -> Oracle:
    """Solve the scene's variant with ground truth; returns the oracle (progress log inside)."""
    oracle = Oracle(world)
    height = CUBE_HALF if world.perturbation == "new_object" else BALL_RADIUS
    ball = world.body_pos(BALL)
    oracle.drive_to(*oracle.approach_pose(ball[:2], PICK_REACH))
    oracle.pick_from_floor(BALL, height)
    can = world.body_pos(CAN)
    if world.task.variant == "place_next_to":
        # put it down beside the can, on the side facing the robot's approach, 0.12 m from the wall
        x, y, yaw = oracle.approach_pose(can[:2], DROP_REACH + 0.2)
        oracle.drive_to(x, y, yaw)
        bx, by, byaw = oracle.base_pose()
        target = np.array([bx + PICK_REACH * np.cos(byaw), by + PICK_REACH * np.sin(byaw)])
        rot = top_down_rotation(byaw)
        oracle.move_tcp(np.array([*target, height + 0.03]), rot, duration=1.5)
        oracle.gripper(world.robot.gripper_max_gap, 0.8)
        oracle.move_tcp(np.array([*target, height + 0.2]), rot, duration=1.0, settle=1.0)
        return oracle
    oracle.drive_to(*oracle.approach_pose(can[:2], DROP_REACH))
    rim = world.site_pos(f"{CAN}/rim")
    rot = top_down_rotation(oracle.base_pose()[2])
    oracle.move_tcp(np.array([rim[0], rim[1], rim[2] + 0.09]), rot, duration=1.5)
    oracle.gripper(world.robot.gripper_max_gap, 1.5)
    return oracle
