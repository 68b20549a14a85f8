"""Time parameterisation of joint paths under velocity/acceleration limits (toppra; ruckig for point-to-point).

No ROS in here except the optional conversion to ``trajectory_msgs/JointTrajectory``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class TimingError(RuntimeError):
    """The path cannot be time-parameterised."""


@dataclass
class SampledTrajectory:
    """Trajectory sampled at times ``t`` (K,), with positions/velocities/accelerations (K, n)."""

    t: np.ndarray
    q: np.ndarray
    qd: np.ndarray
    qdd: np.ndarray

    @property
    def duration(self) -> float:
        """Total duration in seconds."""
        return float(self.t[-1]) if len(self.t) else 0.0

    def position_at(self, time_s: float) -> np.ndarray:
        """Linear interpolation of the sampled positions at ``time_s`` (clamped to the ends)."""
        return np.array([np.interp(time_s, self.t, self.q[:, j]) for j in range(self.q.shape[1])])

    def to_msg(self, joint_names: list[str]) -> object:
        """``trajectory_msgs/JointTrajectory`` with one point per sample (time_from_start relative to start)."""
        from rclpy.duration import Duration
        from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

        msg = JointTrajectory()
        msg.joint_names = list(joint_names)
        for k in range(len(self.t)):
            p = JointTrajectoryPoint()
            p.positions = [float(v) for v in self.q[k]]
            p.velocities = [float(v) for v in self.qd[k]]
            p.accelerations = [float(v) for v in self.qdd[k]]
            p.time_from_start = Duration(nanoseconds=int(round(float(self.t[k]) * 1e9))).to_msg()
            msg.points.append(p)
        return msg


def _check_limits(n: int, vmax: np.ndarray, amax: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vmax, amax = np.asarray(vmax, float).reshape(-1), np.asarray(amax, float).reshape(-1)
    if vmax.shape[0] != n or amax.shape[0] != n or np.any(vmax <= 0) or np.any(amax <= 0):
        raise TimingError(f"need {n} positive velocity and acceleration limits")
    return vmax, amax


def time_parameterize(path: np.ndarray, vmax: np.ndarray, amax: np.ndarray, dt: float = 0.02,
                      densify: float = 0.02) -> SampledTrajectory:
    """Time-optimal parameterisation of a piecewise-linear joint path (K, n) with TOPP-RA, sampled every ``dt``.

    The path is first densified (<= ``densify`` rad per segment) so that the cubic spline through the waypoints stays
    within a few millirad of the polyline (which the planner collision-checked). A two-point path uses ruckig.
    """
    path = np.asarray(path, float)
    if path.ndim != 2 or len(path) < 1 or not np.all(np.isfinite(path)):
        raise TimingError("path must be a finite (K, n) array with K >= 1")
    n = path.shape[1]
    vmax, amax = _check_limits(n, vmax, amax)
    keep = [0] + [i for i in range(1, len(path)) if np.max(np.abs(path[i] - path[i - 1])) > 1e-9]
    path = path[keep]
    if len(path) == 1:
        z = np.zeros((1, n))
        return SampledTrajectory(np.zeros(1), path.copy(), z, z.copy())
    if len(path) == 2:
        return ruckig_point_to_point(path[0], path[1], vmax, amax, dt)
    import toppra as ta
    import toppra.algorithm as algo
    import toppra.constraint as constraint

    from maestro_control.planning import interpolate_path

    dense = interpolate_path(path, densify)
    seg = np.linalg.norm(np.diff(dense, axis=0), axis=1)
    ss = np.concatenate([[0.0], np.cumsum(seg)])
    ss /= ss[-1]
    spline = ta.SplineInterpolator(ss, dense, bc_type="clamped")
    cons = [constraint.JointVelocityConstraint(np.stack([-vmax, vmax], axis=1)),
            constraint.JointAccelerationConstraint(np.stack([-amax, amax], axis=1))]
    instance = algo.TOPPRA(cons, spline, gridpoints=np.linspace(0, 1, min(400, 4 * len(dense) + 50)),
                           parametrizer="ParametrizeConstAccel")
    jnt = instance.compute_trajectory(0.0, 0.0)
    if jnt is None:
        raise TimingError("TOPP-RA found no feasible time parameterisation")
    duration = float(jnt.duration)
    t = np.arange(0.0, duration, dt)
    t = np.append(t, duration)
    q, qd, qdd = jnt(t), jnt(t, 1), jnt(t, 2)
    q[0], q[-1] = path[0], path[-1]
    qd[0] = qd[-1] = 0.0
    return SampledTrajectory(t, q, qd, qdd)


def ruckig_point_to_point(q0: np.ndarray, q1: np.ndarray, vmax: np.ndarray, amax: np.ndarray, dt: float = 0.02,
                          jmax_factor: float = 10.0) -> SampledTrajectory:
    """Time-synchronised, jerk-limited straight joint motion from rest to rest with ruckig."""
    from ruckig import InputParameter, OutputParameter, Result, Ruckig

    n = len(q0)
    vmax, amax = _check_limits(n, vmax, amax)
    otg = Ruckig(n, dt)
    inp, out = InputParameter(n), OutputParameter(n)
    inp.current_position = list(map(float, q0))
    inp.current_velocity = [0.0] * n
    inp.current_acceleration = [0.0] * n
    inp.target_position = list(map(float, q1))
    inp.target_velocity = [0.0] * n
    inp.target_acceleration = [0.0] * n
    inp.max_velocity = list(map(float, vmax))
    inp.max_acceleration = list(map(float, amax))
    inp.max_jerk = list(map(float, amax * jmax_factor))
    ts, qs, qds, qdds = [0.0], [np.array(q0, float)], [np.zeros(n)], [np.zeros(n)]
    res = Result.Working
    while res == Result.Working:
        res = otg.update(inp, out)
        if res not in (Result.Working, Result.Finished):
            raise TimingError(f"ruckig failed: {res}")
        ts.append(out.time)
        qs.append(np.array(out.new_position))
        qds.append(np.array(out.new_velocity))
        qdds.append(np.array(out.new_acceleration))
        out.pass_to_input(inp)
    qs[-1] = np.array(q1, float)
    return SampledTrajectory(np.array(ts), np.array(qs), np.array(qds), np.array(qdds))


def scale_limits(vmax: np.ndarray, amax: np.ndarray, scaling: float) -> tuple[np.ndarray, np.ndarray]:
    """Velocity/acceleration limits scaled by ``scaling`` in (0, 1]."""
    s = float(np.clip(scaling, 1e-3, 1.0))
    return np.asarray(vmax, float) * s, np.asarray(amax, float) * s
