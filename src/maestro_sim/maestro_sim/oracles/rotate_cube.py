"""Oracle for rotate_cube (test-only): grasp across the cube's horizontal y faces, tilt the hand 90 deg about the
closing axis (a purple +-x face comes up), set it down and release. The upside-down verb does it twice."""
from __future__ import annotations

import math

import numpy as np

from maestro_sim.oracles.common import TOP_DOWN, Oracle, rot_z
from maestro_sim.tasks.base import TABLE_TOP
from maestro_sim.tasks.tabletop.rotate_cube import CUBE
from maestro_sim.world import World


class TiltOracle(Oracle):
    """The shared oracle with plain damped least squares (no pull toward home): the 90 deg tilt with the hand
    horizontal is far from home and the posture term traps the solver in a local minimum there."""

    def ik(self, pos: np.ndarray, rot: np.ndarray | None = None, q0: np.ndarray | None = None, iters: int = 400,
           damping: float = 1e-3, tol: float = 1e-4, posture_gain: float = 0.0,
           rest: np.ndarray | None = None) -> tuple[np.ndarray, float]:
        """:meth:`Oracle.ik` without the posture term and with more iterations."""
        return super().ik(pos, rot, q0=q0, iters=iters, damping=damping, tol=tol, posture_gain=posture_gain,
                          rest=rest)


def axis_rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rotation matrix of ``angle`` rad about the unit ``axis`` (Rodrigues)."""
    a = axis / np.linalg.norm(axis)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * k @ k


def quarter_turn(o: Oracle, world: World) -> None:
    """One 90 deg roll of the cube about its horizontal local y axis, ending with the cube released on the table."""
    p, rc = world.body_pos(CUBE), world.body_rot(CUBE)
    # the fingers close along the cube's local y axis (horizontal; the purple faces are +-x)
    a = rc[:, 1].copy()
    a[2] = 0.0
    a /= np.linalg.norm(a)
    yaw = math.atan2(-a[0], a[1])
    yaw = (yaw + math.pi / 2) % math.pi - math.pi / 2  # closing axis is symmetric: keep the wrist near its middle
    grasp = rot_z(yaw) @ TOP_DOWN
    a = grasp[:, 1]
    # tilt direction: the approach axis must end up pointing away from the robot base
    radial = np.array([p[0], p[1], 0.0]) / max(1e-6, math.hypot(p[0], p[1]))
    theta = math.pi / 2 if float(-np.cross(a, [0.0, 0.0, 1.0]) @ radial) > 0 else -math.pi / 2
    tilted = axis_rotation(a, theta) @ grasp
    half_vertical_after = float(np.abs(rc.T @ axis_rotation(a, -theta) @ np.array([0.0, 0.0, 1.0])) @
                                np.array(world.task.half))
    world.set_gripper(world.robot.gripper_max_gap)
    o.move_tcp(p + [0, 0, 0.12], grasp)
    o.move_tcp(p + [0, 0, 0.0], grasp, steps=4, duration=1.0)
    o.gripper(0.0, wait=0.6)
    lift = p + [0, 0, 0.12]
    o.move_tcp(lift, grasp, steps=3, duration=1.0)
    o.move_tcp(lift, tilted, steps=4, duration=2.0, settle=0.3)
    down = np.array([p[0], p[1], TABLE_TOP + half_vertical_after + 0.025])
    o.move_tcp(down, tilted, steps=3, duration=1.0, settle=0.3)
    o.gripper(world.robot.gripper_max_gap, wait=0.6)
    approach = tilted[:, 2]
    o.move_tcp(down - 0.1 * approach, tilted, steps=3, duration=0.8)
    o.move_tcp(down - 0.1 * approach + [0, 0, 0.15], TOP_DOWN, duration=1.0)
    o.wait(0.6)


def run(world: World) -> Oracle:
    """Solve the scene's variant with ground truth."""
    o = TiltOracle(world)
    quarter_turn(o, world)
    if world.task.variant == "upside_down":
        quarter_turn(o, world)
    return o
