"""Cartesian TCP paths: straight lines, waypoint lists and arcs about a hinge axis, checked by IK step by step.

No ROS in here. Poses are 4x4 matrices in the arm base frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from maestro_control.kinematics import ArmKinematics


@dataclass
class CartesianPath:
    """Joint path following a Cartesian path; ``fraction`` of the requested length was feasible."""

    q: np.ndarray               # (K, n) joint waypoints, first row = the start configuration
    poses: list[np.ndarray]     # TCP poses reached, one per row of q
    fraction: float
    waypoint_index: list[int]   # for each row, index of the next requested waypoint
    stop_reason: str = ""
    steps: int = 0                            # interpolated poses requested
    collision_step: int = -1                  # 1-based step whose configuration ``is_valid`` rejected; -1 = none
    collision_waypoint: int = -1              # index of the requested waypoint that step heads to
    collision_q: np.ndarray | None = None     # the rejected configuration
    collision_pose: np.ndarray | None = None  # the TCP pose at that step


def interpolate_poses(a: np.ndarray, b: np.ndarray, max_step: float, max_rot_step: float = 0.05) -> list[np.ndarray]:
    """Poses from ``a`` (excluded) to ``b`` (included): linear translation, slerp rotation, steps <= max_step."""
    dist = float(np.linalg.norm(b[:3, 3] - a[:3, 3]))
    angle = float(np.linalg.norm((Rotation.from_matrix(a[:3, :3]).inv() * Rotation.from_matrix(b[:3, :3])).as_rotvec()))
    n = max(1, int(np.ceil(max(dist / max_step, angle / max_rot_step))))
    ra = Rotation.from_matrix(a[:3, :3])
    rel = (ra.inv() * Rotation.from_matrix(b[:3, :3])).as_rotvec()
    out = []
    for k in range(1, n + 1):
        s = k / n
        t = np.eye(4)
        t[:3, :3] = (ra * Rotation.from_rotvec(rel * s)).as_matrix()
        t[:3, 3] = a[:3, 3] + s * (b[:3, 3] - a[:3, 3])
        out.append(t)
    return out


def arc_waypoints(start: np.ndarray, hinge_point: np.ndarray, hinge_axis: np.ndarray, angle: float,
                  steps: int = 10) -> list[np.ndarray]:
    """TCP poses that rotate ``start`` by ``angle`` rad about the line (``hinge_point``, ``hinge_axis``).

    The TCP keeps its pose relative to the door (e.g. gripping a handle), so both position and orientation turn.
    """
    axis = np.asarray(hinge_axis, float)
    norm = float(np.linalg.norm(axis))
    if norm < 1e-9:
        raise ValueError("hinge_axis must be non-zero")
    axis /= norm
    c = np.asarray(hinge_point, float)
    out = []
    for k in range(1, steps + 1):
        r = Rotation.from_rotvec(axis * angle * k / steps).as_matrix()
        t = np.eye(4)
        t[:3, :3] = r @ start[:3, :3]
        t[:3, 3] = r @ (start[:3, 3] - c) + c
        out.append(t)
    return out


def follow_waypoints(
    kin: ArmKinematics,
    q_start: np.ndarray,
    waypoints: list[np.ndarray],
    max_step: float = 0.01,
    max_joint_jump: float = 0.25,
    is_valid: Callable[[np.ndarray], bool] | None = None,
    pos_tol: float = 5e-4,
    rot_tol: float = 5e-3,
) -> CartesianPath:
    """Follow straight segments through ``waypoints`` from the TCP pose at ``q_start``.

    Each interpolated pose is solved by IK seeded with the previous solution (one seed: continuity). The path stops
    at the first pose with no solution, a joint jump above ``max_joint_jump`` rad (a branch flip), or a
    configuration that ``is_valid`` rejects; ``fraction`` is then the reached share of the Cartesian length.
    """
    q = kin.check_q(q_start)
    current = kin.fk(q)
    segments: list[tuple[int, np.ndarray]] = []
    prev = current
    for i, w in enumerate(waypoints):
        for p in interpolate_poses(prev, w, max_step):
            segments.append((i, p))
        prev = w
    lengths = [0.0]
    last = current
    for _, p in segments:
        lengths.append(lengths[-1] + float(np.linalg.norm(p[:3, 3] - last[:3, 3])) + 1e-9)
        last = p
    total = lengths[-1]
    qs, poses, idx = [q], [current], [0]
    reason = ""
    hit: tuple[int, int, np.ndarray, np.ndarray] | None = None
    for k, (i, pose) in enumerate(segments):
        res = kin.ik(pose, qs[-1], pos_tol=pos_tol, rot_tol=rot_tol, num_seeds=1, max_iters=50)
        if not res.success:
            reason = f"no IK solution at step {k + 1}/{len(segments)} (waypoint {i})"
            break
        if float(np.max(np.abs(res.q - qs[-1]))) > max_joint_jump:
            reason = f"joint jump of {np.max(np.abs(res.q - qs[-1])):.2f} rad at step {k + 1} (near a singularity)"
            break
        if is_valid is not None and not is_valid(res.q):
            reason = f"collision at step {k + 1}/{len(segments)} (waypoint {i})"
            hit = (k + 1, i, res.q, pose)
            break
        qs.append(res.q)
        poses.append(pose)
        idx.append(i)
    fraction = 1.0 if not segments else lengths[len(qs) - 1] / total if total > 0 else float(len(qs) - 1 == len(segments))
    path = CartesianPath(np.array(qs), poses, float(fraction), idx, reason, steps=len(segments))
    if hit is not None:
        path.collision_step, path.collision_waypoint, path.collision_q, path.collision_pose = hit
    return path
