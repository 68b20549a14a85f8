"""Oracle for put_ball_in_bowl: top-down grasp of the ball, lift, carry over the bowl, release (ground truth)."""
from __future__ import annotations

import numpy as np

from maestro_sim.oracles.common import TOP_DOWN, Oracle, rot_z
from maestro_sim.world import World


def run(world: World) -> None:
    """Solve the base/pose/visual/new_object variants (and the drop/place verbs) of put_ball_in_bowl."""
    o = Oracle(world)
    task = world.task
    if task.variant == "push":
        push(o)
        return
    ball, bowl = world.body_pos("ball"), world.body_pos("bowl")
    rim = bowl[2] + task.bowl_height
    o.gripper(world.robot.gripper_max_gap, wait=0.1)
    o.move_tcp(ball + [0, 0, 0.12], TOP_DOWN)
    o.move_tcp(ball + [0, 0, 0.005], TOP_DOWN, steps=4, duration=1.0)
    o.gripper(0.0, wait=0.6)
    o.move_tcp(ball + [0, 0, 0.15], TOP_DOWN, steps=3, duration=1.0)
    above = np.array([bowl[0], bowl[1], rim + task.ball_radius + 0.06])
    o.move_tcp(above, TOP_DOWN, duration=1.5)
    o.move_tcp(above - [0, 0, 0.03], TOP_DOWN, duration=0.5)
    o.gripper(world.robot.gripper_max_gap, wait=0.6)
    o.move_tcp(above + [0, 0, 0.1], TOP_DOWN, duration=0.8)
    o.wait(0.5)


def push(o: Oracle) -> None:
    """The "push the ball next to the bowl" variant: push the ball toward the bowl with closed fingers."""
    world, task = o.world, o.world.task
    ball, bowl = world.body_pos("ball"), world.body_pos("bowl")
    d = (bowl - ball)[:2] / np.linalg.norm((bowl - ball)[:2])
    d3 = np.array([d[0], d[1], 0.0])
    yaw = float(np.arctan2(d[1], d[0]))
    rot = rot_z(yaw) @ TOP_DOWN  # fingers close across the push direction
    o.gripper(0.0, wait=0.3)
    start = ball - d3 * (task.ball_radius + 0.05)
    o.move_tcp(start + [0, 0, 0.1], rot)
    o.move_tcp(start - [0, 0, 0.012], rot, steps=3, duration=1.0)  # push below the ball's centre
    # push until the ball is ~1.5 cm from the bowl wall (finger face 1.1 cm in front of the TCP)
    end = bowl - d3 * (task.bowl_radius + 2 * task.ball_radius + 0.015 + 0.011)
    end[2] = world.tcp_pose()[0][2]
    o.move_tcp(end, rot, steps=10, duration=4.0)
    o.move_tcp(world.tcp_pose()[0] - d3 * 0.05 + [0, 0, 0.12], rot, duration=1.0)
    o.wait(1.5)
