"""Joint trajectories for the simulated arm controller: validation and interpolation (no ROS types).

A :class:`JointTrajectory` is validated against the arm (names, strictly increasing times, finite values, position
and velocity limits) and then sampled at sim time: cubic Hermite between points when velocities are given, else
linear. Before the first point the arm moves from where it was when the goal started (time 0 = start).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from maestro_sim.errors import InvalidArgument, ToolFailure


class InvalidJoints(ToolFailure):
    """Joint names are unknown, duplicated or do not match the points (FollowJointTrajectory INVALID_JOINTS)."""

    code = 2


@dataclass
class JointTrajectory:
    """A validated trajectory over the arm joints (all arm joints, in arm order)."""

    times: np.ndarray        # (N+1,) s from the start, times[0] = 0 is the start state
    positions: np.ndarray    # (N+1, J)
    velocities: np.ndarray | None  # (N+1, J) or None for linear interpolation

    @property
    def duration(self) -> float:
        """Time of the last point in seconds."""
        return float(self.times[-1])

    def sample(self, t: float) -> np.ndarray:
        """Positions at time ``t`` (clamped to [0, duration])."""
        t = float(np.clip(t, 0.0, self.duration))
        i = int(np.searchsorted(self.times, t, side="right") - 1)
        i = min(max(i, 0), len(self.times) - 2)
        t0, t1 = self.times[i], self.times[i + 1]
        h = t1 - t0
        s = 0.0 if h <= 0 else (t - t0) / h
        p0, p1 = self.positions[i], self.positions[i + 1]
        if self.velocities is None:
            return p0 + s * (p1 - p0)
        v0, v1 = self.velocities[i], self.velocities[i + 1]
        h00, h10 = 2 * s**3 - 3 * s**2 + 1, s**3 - 2 * s**2 + s
        h01, h11 = -2 * s**3 + 3 * s**2, s**3 - s**2
        return h00 * p0 + h10 * h * v0 + h01 * p1 + h11 * h * v1


def build_trajectory(arm_joints: Sequence[str], names: Sequence[str], times: Sequence[float],
                     positions: Sequence[Sequence[float]], velocities: Sequence[Sequence[float]],
                     start: np.ndarray, lower: np.ndarray, upper: np.ndarray, vel_limits: np.ndarray,
                     tolerance: float = 0.02, speed_margin: float = 1.1) -> JointTrajectory:
    """Validate a trajectory given as ROS fields and return it over all arm joints (missing joints hold ``start``).

    Raises :class:`InvalidJoints` for bad names and :class:`InvalidArgument` for bad times/values/limits.
    """
    arm = list(arm_joints)
    if not names:
        raise InvalidJoints(f"joint_names is empty; expected a subset of {arm}")
    unknown = [n for n in names if n not in arm]
    if unknown:
        raise InvalidJoints(f"unknown joints {unknown}; this arm has {arm}")
    if len(set(names)) != len(names):
        raise InvalidJoints(f"duplicate joint names in {list(names)}")
    if len(times) == 0:
        raise InvalidArgument("the trajectory has no points")
    t = np.asarray(times, float)
    if not np.all(np.isfinite(t)) or t[0] < 0 or np.any(np.diff(t) <= 0):
        raise InvalidArgument(f"time_from_start must be finite, >= 0 and strictly increasing, got {t.tolist()}")
    idx = [arm.index(n) for n in names]
    pos = np.tile(np.asarray(start, float), (len(t), 1))
    for k, p in enumerate(positions):
        if len(p) != len(names):
            raise InvalidArgument(f"point {k} has {len(p)} positions for {len(names)} joints")
        pos[k, idx] = p
    if not np.all(np.isfinite(pos)):
        raise InvalidArgument("positions contain NaN or infinite values")
    bad = np.where((pos < lower - tolerance) | (pos > upper + tolerance))
    if bad[0].size:
        k, j = int(bad[0][0]), int(bad[1][0])
        raise InvalidArgument(f"point {k}: {arm[j]} = {pos[k, j]:.4f} is outside its limits "
                              f"[{lower[j]:.4f}, {upper[j]:.4f}]")
    # a time-parameterised spline may overshoot a limit it hugs by a hair: clip that (the PD targets are clipped anyway)
    pos = np.clip(pos, lower, upper)
    vel = None
    if any(len(v) for v in velocities):
        if len(velocities) != len(t) or any(len(v) != len(names) for v in velocities):
            raise InvalidArgument("velocities must be empty or given for every point and joint")
        vel = np.zeros_like(pos)
        for k, v in enumerate(velocities):
            vel[k, idx] = v
        if not np.all(np.isfinite(vel)):
            raise InvalidArgument("velocities contain NaN or infinite values")
    if t[0] > 0:  # prepend the start state at t = 0
        t = np.concatenate([[0.0], t])
        pos = np.vstack([start, pos])
        vel = None if vel is None else np.vstack([np.zeros(len(arm)), vel])
    elif np.max(np.abs(pos[0] - start)) > 0.05:
        raise InvalidArgument("the first point has time_from_start 0 but is more than 0.05 rad away from the "
                              "current state; start the trajectory at the current state or give it a time > 0")
    dt = np.diff(t)
    speed = np.abs(np.diff(pos, axis=0)) / dt[:, None]
    too_fast = np.where(speed > vel_limits * speed_margin)
    if too_fast[0].size:
        k, j = int(too_fast[0][0]), int(too_fast[1][0])
        raise InvalidArgument(f"segment {k}: {arm[j]} would move at {speed[k, j]:.2f} rad/s, above its limit "
                              f"{vel_limits[j]:.2f} rad/s; slow the trajectory down (time-parameterise it)")
    if vel is not None and np.any(np.abs(vel) > vel_limits * speed_margin):
        raise InvalidArgument("a point velocity is above the joint velocity limits")
    return JointTrajectory(t, pos, vel)
