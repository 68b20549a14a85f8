"""Oracle for hang_mug (test-only): pinch the rim opposite the handle, carry the mug so that the handle loop is in
front of peg 0's tip with the loop facing the peg, slide it onto the peg, lower it onto the peg and let go."""
from __future__ import annotations

import math

import numpy as np

from maestro_sim.oracles.common import TOP_DOWN, Oracle, rot_z
from maestro_sim.tasks.base import TABLE_TOP
from maestro_sim.tasks.tabletop.hang_mug import MUG, STAND
from maestro_sim.world import World


def _pose(pos: np.ndarray, rot: np.ndarray) -> np.ndarray:
    t = np.eye(4)
    t[:3, :3], t[:3, 3] = rot, pos
    return t


def grasp_rim(o: Oracle, world: World) -> np.ndarray:
    """Pinch the wall opposite the handle from above and lift; returns the TCP pose in the mug frame."""
    shape = world.task.shape
    p, r = world.body_pos(MUG), world.body_rot(MUG)
    yaw_m = math.atan2(r[1, 0], r[0, 0])
    psi = (yaw_m - math.pi / 2 + math.pi / 2) % math.pi - math.pi / 2
    rot = rot_z(psi) @ TOP_DOWN
    point = p + r @ np.array([-(shape.radius - shape.wall / 2), 0.0, shape.height - 0.03])
    world.set_gripper(world.robot.gripper_max_gap)
    o.move_tcp(point + [0, 0, 0.12], rot)
    o.move_tcp(point, rot, steps=4, duration=1.0)
    o.gripper(0.0, wait=0.6, max_force=40.0)
    o.move_tcp(point + [0, 0, 0.12], rot, steps=3, duration=1.0)
    tcp_p, tcp_r = world.tcp_pose()
    return np.linalg.inv(_pose(world.body_pos(MUG), world.body_rot(MUG))) @ _pose(tcp_p, tcp_r)


def run(world: World) -> Oracle:
    """Solve the scene's variant with ground truth."""
    o = Oracle(world)
    task = world.task
    shape = task.shape
    mug_in_tcp = np.linalg.inv(grasp_rim(o, world))
    stand = world.body_pos(STAND)
    if task.variant == "place_next_to":
        target_xy = stand[:2] + np.array([-0.13, -0.04])  # clear of the stand's base plate
        mug = _pose(np.array([*target_xy, TABLE_TOP + 0.005]), rot_z(task.mug_yaw))
        tcp = mug @ np.linalg.inv(mug_in_tcp)
        o.move_tcp(tcp[:3, 3] + [0, 0, 0.08], tcp[:3, :3], duration=1.5)
        o.move_tcp(tcp[:3, 3], tcp[:3, :3], steps=3, duration=1.0)
        o.gripper(world.robot.gripper_max_gap, wait=0.6)
        o.move_tcp(tcp[:3, 3] + [0, 0, 0.12], tcp[:3, :3], duration=1.0)
        o.wait(0.8)
        return o
    base, tip = world.site_pos(f"{STAND}/peg0_base"), world.site_pos(f"{STAND}/peg0_tip")
    axis = (tip - base) / np.linalg.norm(tip - base)
    rot_mug = rot_z(task.stand_yaw + math.pi / 2)        # loop normal (local y) along the peg's heading
    loop = np.array(shape.loop_center)

    def tcp_for_loop_at(point: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mug = _pose(point - rot_mug @ loop, rot_mug)
        tcp = mug @ np.linalg.inv(mug_in_tcp)
        return tcp[:3, 3], tcp[:3, :3]

    before = tip + 0.07 * axis
    o.move_tcp(*tcp_for_loop_at(before + [0, 0, 0.05]), duration=2.0)
    o.move_tcp(*tcp_for_loop_at(before), steps=2, duration=0.8)
    on_peg = base + 0.5 * (tip - base)
    o.move_tcp(*tcp_for_loop_at(on_peg), steps=5, duration=2.0)
    lowered = on_peg - [0, 0, shape.loop_half[1] - 0.004]
    o.move_tcp(*tcp_for_loop_at(lowered), steps=2, duration=0.8)
    o.gripper(world.robot.gripper_max_gap, wait=0.5)
    pos, rot = world.tcp_pose()
    o.move_tcp(pos + [0, 0, 0.1], rot, steps=3, duration=1.0)
    o.wait(1.5)
    return o
