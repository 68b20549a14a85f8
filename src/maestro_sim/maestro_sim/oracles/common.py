"""Shared oracle primitives: damped-least-squares IK on MuJoCo's own Jacobians, joint-space moves, gripper.

Oracles read ground truth (body poses) and drive the robot through the same actuator targets the sim node uses
(:meth:`World.set_arm_targets`, :meth:`World.set_gripper`). Test-only: no dependency on maestro_control.
"""
from __future__ import annotations

import mujoco
import numpy as np

from maestro_sim.world import World

# TCP orientation pointing straight down (+z of the TCP = world -z), fingers closing along world y (as at home).
TOP_DOWN = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]])


def rot_z(yaw: float) -> np.ndarray:
    """Rotation about world z by ``yaw`` radians."""
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


class Oracle:
    """Scripted controller for one world: IK to TCP poses and smooth joint-space moves that step the physics."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.model = world.model
        self._data = mujoco.MjData(world.model)  # scratch data for IK
        self._site = world.model.site(world.robot.tcp_site).id
        self._jac_p = np.zeros((3, world.model.nv))
        self._jac_r = np.zeros((3, world.model.nv))
        self._home = np.asarray(world.robot.home, float)

    # ----- kinematics -----
    def ik(self, pos: np.ndarray, rot: np.ndarray | None = None, q0: np.ndarray | None = None,
           iters: int = 200, damping: float = 1e-3, tol: float = 1e-4,
           posture_gain: float = 0.05, rest: np.ndarray | None = None) -> tuple[np.ndarray, float]:
        """Joint positions putting the TCP at ``pos`` (and rotation ``rot``); returns (q, residual error).

        Damped least squares from ``q0`` (default: the current arm position) with a null-space pull toward the
        ``rest`` posture (default home; ``posture_gain``) that keeps the solution away from joint limits.
        """
        rest = self._home if rest is None else np.asarray(rest, float)
        w = self.world
        d = self._data
        d.qpos[:] = w.data.qpos
        q = (w.arm_positions() if q0 is None else np.asarray(q0, float)).copy()
        err = np.zeros(6)
        quat_cur, quat_tgt, quat_err = np.zeros(4), np.zeros(4), np.zeros(4)
        if rot is not None:
            mujoco.mju_mat2Quat(quat_tgt, np.asarray(rot, float).reshape(9))
        norm = np.inf
        for _ in range(iters):
            d.qpos[w.arm_qadr] = q
            mujoco.mj_kinematics(self.model, d)
            mujoco.mj_comPos(self.model, d)
            err[:3] = pos - d.site_xpos[self._site]
            if rot is not None:
                mujoco.mju_mat2Quat(quat_cur, d.site_xmat[self._site])
                mujoco.mju_negQuat(quat_cur, quat_cur)
                mujoco.mju_mulQuat(quat_err, quat_tgt, quat_cur)
                mujoco.mju_quat2Vel(err[3:], quat_err, 1.0)
            norm = float(np.linalg.norm(err if rot is not None else err[:3]))
            if norm < tol:
                break
            mujoco.mj_jacSite(self.model, d, self._jac_p, self._jac_r, self._site)
            jac = np.vstack([self._jac_p, self._jac_r])[:, w.arm_dadr] if rot is not None \
                else self._jac_p[:, w.arm_dadr]
            e = err if rot is not None else err[:3]
            jac_pinv = jac.T @ np.linalg.inv(jac @ jac.T + damping * np.eye(len(e)))
            dq = jac_pinv @ e
            dq += (np.eye(len(q)) - jac_pinv @ jac) @ (posture_gain * (rest - q))
            q = np.clip(q + np.clip(dq, -0.2, 0.2), w.arm_lower + 1e-3, w.arm_upper - 1e-3)
        return q, norm

    def ik_global(self, pos: np.ndarray, rot: np.ndarray | None = None, restarts: int = 12,
                  seed: int = 0) -> tuple[np.ndarray, float]:
        """IK from several seeds (current, home, deterministic random); the best by residual, then limit margin."""
        w = self.world
        rng = np.random.default_rng(seed)
        seeds = [w.arm_targets(), self._home.copy()]
        seeds += [rng.uniform(w.arm_lower * 0.8 + w.arm_upper * 0.2, w.arm_lower * 0.2 + w.arm_upper * 0.8)
                  for _ in range(restarts)]
        best, best_key = seeds[0], (np.inf, 0.0)
        for s in seeds:
            for rest in (self._home, s):
                q, res = self.ik(pos, rot, q0=s, rest=rest)
                margin = float(np.min(np.minimum(q - w.arm_lower, w.arm_upper - q)))
                key = (round(res, 3), -margin)
                if key < best_key:
                    best, best_key = q, key
        return best, best_key[0]

    # ----- motion -----
    def move_joints(self, q: np.ndarray, duration: float | None = None, settle: float = 0.15) -> None:
        """Move the arm targets to ``q`` along a minimum-jerk joint path, then hold for ``settle`` s."""
        w = self.world
        q0 = w.arm_targets()
        q = np.asarray(q, float)
        if duration is None:  # about 40 % of the joint speed limits
            duration = max(0.4, float(np.max(np.abs(q - q0) / (0.4 * w.arm_velocity_limits))))
        n = max(1, int(round(duration / w.timestep)))
        for i in range(1, n + 1):
            s = i / n
            s = 10 * s**3 - 15 * s**4 + 6 * s**5
            w.set_arm_targets(q0 + s * (q - q0))
            w.step()
        self.wait(settle)

    def move_tcp(self, pos: np.ndarray, rot: np.ndarray | None = TOP_DOWN, duration: float | None = None,
                 steps: int = 1, settle: float = 0.15) -> float:
        """Move the TCP to ``pos``/``rot`` (IK from the current targets); ``steps`` > 1 follows a straight line.

        Returns the worst IK residual (m + rad).
        """
        w = self.world
        start, _ = w.tcp_pose()
        worst = 0.0
        q = w.arm_targets()
        for k in range(1, steps + 1):
            p = start + (np.asarray(pos, float) - start) * k / steps
            q, res = self.ik(p, rot, q0=q)
            worst = max(worst, res)
            self.move_joints(q, None if duration is None else duration / steps, settle=0.0 if k < steps else settle)
        return worst

    def gripper(self, gap: float, wait: float = 0.5, max_force: float | None = None) -> None:
        """Command the finger gap and let physics run for ``wait`` seconds."""
        self.world.set_gripper(gap, max_force)
        self.wait(wait)

    def wait(self, seconds: float) -> None:
        """Hold the current targets for ``seconds`` of simulated time."""
        self.world.step(int(round(seconds / self.world.timestep)))


def trace_progress(world: World, every: int = 50) -> list[float]:
    """Evaluate the task every ``every`` physics steps while an oracle runs; the returned list fills up as it goes."""
    log: list[float] = []
    counter = {"n": 0}

    def hook(w: World) -> None:
        counter["n"] += 1
        if counter["n"] % every == 0:
            log.append(w.evaluate().progress)

    world.pre_step_hooks.append(hook)
    return log
