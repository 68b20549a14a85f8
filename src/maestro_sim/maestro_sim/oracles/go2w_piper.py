"""Ground-truth skills for the Go2-W + PiPER oracles (test-only): base driving, DLS IK, arm and gripper moves.

The oracles read simulator ground truth and command the robot through :class:`maestro_sim.world.World` only
(arm position targets, gripper gap, base velocity). IK is damped least squares on MuJoCo's own site Jacobian
(``mj_jacSite``) of ``piper_tcp`` over the six arm joints, solved on a scratch ``MjData``.
Every skill records the task progress after each control period in :attr:`Oracle.progress_log`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import mujoco
import numpy as np

from maestro_sim.world import World

CONTROL_DT = 0.02  # s between oracle commands (10 physics steps)


def wrap(angle: float) -> float:
    """Angle wrapped to (-pi, pi]."""
    return (angle + math.pi) % (2 * math.pi) - math.pi


def top_down_rotation(yaw: float) -> np.ndarray:
    """TCP rotation with the approach axis (+z) pointing down and the closing axis (+y) at ``yaw`` + 90 deg."""
    y = np.array([-math.sin(yaw), math.cos(yaw), 0.0])
    z = np.array([0.0, 0.0, -1.0])
    return np.column_stack([np.cross(y, z), y, z])


@dataclass
class Oracle:
    """Skill runner bound to one world; ``evaluate_every`` control periods it scores the task."""

    world: World
    evaluate_every: int = 5
    progress_log: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._scratch = mujoco.MjData(self.world.model)
        self._ticks = 0

    # ----- time -----
    def tick(self, periods: int = 1) -> None:
        """Advance ``periods`` control periods, scoring the task every ``evaluate_every`` of them."""
        n = max(1, round(CONTROL_DT / self.world.timestep))
        for _ in range(periods):
            self.world.step(n)
            self._ticks += 1
            if self._ticks % self.evaluate_every == 0:
                self.progress_log.append(self.world.evaluate().progress)

    def wait(self, seconds: float) -> None:
        """Let physics run for ``seconds`` with the current commands."""
        self.tick(max(1, round(seconds / CONTROL_DT)))

    # ----- base -----
    def base_pose(self) -> tuple[float, float, float]:
        """Base (x, y, yaw) in the world frame."""
        w = self.world
        return (w.joint_qpos("base_x"), w.joint_qpos("base_y"), w.joint_qpos("base_yaw"))

    def turn_to(self, yaw: float, tol: float = 0.02, timeout: float = 15.0) -> bool:
        """Rotate in place to heading ``yaw`` (rad)."""
        for _ in range(round(timeout / CONTROL_DT)):
            err = wrap(yaw - self.base_pose()[2])
            if abs(err) < tol:
                break
            self.world.set_base_velocity(0.0, 0.0, float(np.clip(2.0 * err, -1.2, 1.2)))
            self.tick()
        return self.stop_base()[0] < tol

    def drive_to(self, x: float, y: float, yaw: float | None = None, tol: float = 0.015,
                 timeout: float = 30.0) -> bool:
        """Turn towards (x, y), drive there (forward motion with heading correction), then turn to ``yaw``."""
        bx, by, _ = self.base_pose()
        if math.hypot(x - bx, y - by) > tol:
            self.turn_to(math.atan2(y - by, x - bx))
        for _ in range(round(timeout / CONTROL_DT)):
            bx, by, byaw = self.base_pose()
            dx, dy = x - bx, y - by
            dist = math.hypot(dx, dy)
            if dist < tol:
                break
            # error in the base frame; reverse for small overshoots instead of turning around
            ex = math.cos(byaw) * dx + math.sin(byaw) * dy
            ey = -math.sin(byaw) * dx + math.cos(byaw) * dy
            heading_err = math.atan2(ey, ex) if ex > 0 else math.atan2(-ey, -ex)
            v = float(np.clip(1.2 * ex, -0.6, 0.6))
            w = float(np.clip(2.5 * heading_err if dist > 0.1 else 0.0, -1.0, 1.0))
            self.world.set_base_velocity(v, float(np.clip(1.5 * ey, -0.2, 0.2)) if dist < 0.1 else 0.0, w)
            self.tick()
        self.stop_base()
        if yaw is not None:
            self.turn_to(yaw)
        bx, by, _ = self.base_pose()
        return math.hypot(x - bx, y - by) < 3 * tol

    def stop_base(self, settle: float = 0.6) -> tuple[float, float]:
        """Command zero velocity and wait until the base has stopped; returns (|yaw rate|, |speed|)."""
        self.world.set_base_velocity(0.0, 0.0, 0.0)
        self.wait(settle)
        twist = self.world.robot.base_twist(self.world.model, self.world.data)
        return abs(float(twist[5])), float(np.linalg.norm(twist[:2]))

    def approach_pose(self, target_xy: np.ndarray, reach: float) -> tuple[float, float, float]:
        """Base pose that puts ``target_xy`` ``reach`` m straight ahead, approaching from the current side."""
        bx, by, _ = self.base_pose()
        yaw = math.atan2(target_xy[1] - by, target_xy[0] - bx)
        return (float(target_xy[0] - reach * math.cos(yaw)), float(target_xy[1] - reach * math.sin(yaw)), yaw)

    # ----- arm -----
    def solve_ik(self, pos: np.ndarray, rot: np.ndarray | None, q0: np.ndarray | None = None, iters: int = 300,
                 damping: float = 0.05, rot_weight: float = 0.5) -> tuple[np.ndarray, float]:
        """Damped-least-squares IK for the TCP at ``pos`` (world) and rotation ``rot`` (None = position only).

        Returns (joint positions, final position error in metres); the base stays where it is now.
        """
        w, m, d = self.world, self.world.model, self._scratch
        d.qpos[:] = w.data.qpos
        q = w.arm_positions() if q0 is None else np.asarray(q0, float).copy()
        site = m.site(w.robot.tcp_site).id
        jacp, jacr = np.zeros((3, m.nv)), np.zeros((3, m.nv))
        err_pos = np.inf
        for _ in range(iters):
            d.qpos[w.arm_qadr] = q
            mujoco.mj_kinematics(m, d)
            mujoco.mj_comPos(m, d)
            e_p = pos - d.site_xpos[site]
            err_pos = float(np.linalg.norm(e_p))
            rows = [e_p]
            mujoco.mj_jacSite(m, d, jacp, jacr, site)
            jac = [jacp[:, w.arm_dadr]]
            if rot is not None:
                cur = d.site_xmat[site].reshape(3, 3)
                quat = np.zeros(4)
                mujoco.mju_mat2Quat(quat, (rot @ cur.T).flatten())
                e_r = np.zeros(3)
                mujoco.mju_quat2Vel(e_r, quat, 1.0)
                rows.append(rot_weight * e_r)
                jac.append(rot_weight * jacr[:, w.arm_dadr])
            e = np.concatenate(rows)
            if np.linalg.norm(e) < 1e-4:
                break
            j = np.vstack(jac)
            dq = j.T @ np.linalg.solve(j @ j.T + damping ** 2 * np.eye(j.shape[0]), e)
            q = np.clip(q + np.clip(dq, -0.2, 0.2), w.arm_lower, w.arm_upper)
        return q, err_pos

    def move_joints(self, q: np.ndarray, duration: float = 1.5, settle: float = 0.3) -> None:
        """Interpolate the arm targets to ``q`` (smoothstep over ``duration`` s), then wait ``settle`` s."""
        start = self.world.arm_targets()
        steps = max(1, round(duration / CONTROL_DT))
        for k in range(1, steps + 1):
            s = k / steps
            s = s * s * (3 - 2 * s)
            self.world.set_arm_targets(start + s * (np.asarray(q) - start))
            self.tick()
        self.wait(settle)

    def move_tcp(self, pos: np.ndarray, rot: np.ndarray | None, duration: float = 1.5, settle: float = 0.3,
                 tol: float = 0.01) -> bool:
        """IK to the TCP pose, move there in joint space; True when the IK error is below ``tol``."""
        q, err = self.solve_ik(np.asarray(pos, float), rot, q0=self.world.arm_targets())
        self.move_joints(q, duration, settle)
        return err < tol

    def gripper(self, gap: float, wait: float = 0.6, max_force: float | None = None) -> None:
        """Command the finger gap (m), squeezing with at most ``max_force`` N per finger, and wait."""
        self.world.set_gripper(gap, max_force)
        self.wait(wait)

    # ----- composite -----
    def pick_from_floor(self, body: str, height: float, lift_to: float = 0.45, align: bool = False) -> bool:
        """Top-down grasp of ``body`` (centre ``height`` m above the floor) in front of the robot, then lift.

        ``align``: close the fingers along the body's local y axis (its short side) instead of across the heading.
        """
        w = self.world
        p = w.body_pos(body)
        heading = self.base_pose()[2]
        yaw = heading
        if align:
            y_axis = w.body_rot(body)[:, 1]
            closing = math.atan2(y_axis[1], y_axis[0])
            yaw = heading + wrap(closing - math.pi / 2 - heading)
            yaw = heading + ((yaw - heading + math.pi / 2) % math.pi - math.pi / 2)  # nearest of the two symmetric
        rot = top_down_rotation(yaw)
        self.gripper(w.robot.gripper_max_gap, 0.3)
        self.move_tcp(np.array([p[0], p[1], height + 0.12]), rot, duration=1.5)
        p = w.body_pos(body)
        self.move_tcp(np.array([p[0], p[1], height]), rot, duration=1.0, settle=0.3)
        self.gripper(0.0, 0.8)
        tcp = w.tcp_pose()[0]
        self.move_tcp(np.array([tcp[0], tcp[1], lift_to]), rot, duration=1.2)
        return w.is_grasped(body)
