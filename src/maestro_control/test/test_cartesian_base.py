"""Cartesian lines and hinge arcs checked by IK; occupancy grid, A* and pure pursuit for the base."""

from __future__ import annotations

import math

import numpy as np

from maestro_common.clouds import depth_to_points
from maestro_control.base_planner import OccupancyGrid, PurePursuit, plan_base_path
from maestro_control.cartesian import arc_waypoints, follow_waypoints, interpolate_poses
from maestro_control.kinematics import ArmKinematics


def test_straight_line_is_straight(panda: ArmKinematics, panda_home: np.ndarray) -> None:
    start = panda.fk(panda_home)
    goal = start.copy()
    goal[:3, 3] += [0.1, 0.05, -0.15]
    path = follow_waypoints(panda, panda_home, [goal], max_step=0.01)
    assert path.fraction == 1.0 and len(path.q) > 15
    for q in path.q:
        p = panda.fk(q)[:3, 3]
        d = goal[:3, 3] - start[:3, 3]
        off = np.linalg.norm(np.cross(p - start[:3, 3], d)) / np.linalg.norm(d)
        assert off < 2e-3


def test_unreachable_line_gives_partial_fraction(panda: ArmKinematics, panda_home: np.ndarray) -> None:
    start = panda.fk(panda_home)
    goal = start.copy()
    goal[:3, 3] += [0.8, 0.0, 0.0]  # beyond the reach of the arm
    path = follow_waypoints(panda, panda_home, [goal], max_step=0.02)
    assert 0.1 < path.fraction < 1.0 and path.stop_reason


def test_hinge_arc_keeps_radius(panda: ArmKinematics, panda_home: np.ndarray) -> None:
    start = panda.fk(panda_home)
    hinge = start[:3, 3] + np.array([0.0, 0.25, 0.0])
    wps = arc_waypoints(start, hinge, np.array([0, 0, 1.0]), -0.5, steps=10)
    assert all(abs(np.linalg.norm(w[:3, 3] - hinge) - 0.25) < 1e-9 for w in wps)
    path = follow_waypoints(panda, panda_home, wps, max_step=0.01)
    assert path.fraction > 0.99
    end = panda.fk(path.q[-1])
    assert np.linalg.norm(end[:3, 3] - wps[-1][:3, 3]) < 2e-3
    assert len(interpolate_poses(start, wps[-1], 0.01)) >= 12


def test_depth_back_projection() -> None:
    """The control node's scene and base-grid clouds come from maestro_common.clouds.depth_to_points."""
    depth = np.full((48, 64), 2.0, dtype=np.float32)
    depth[0, 0] = np.nan
    k = np.array([[50.0, 0.0, 32.0], [0.0, 50.0, 24.0], [0.0, 0.0, 1.0]])
    pts = depth_to_points(depth, k, stride=1, max_depth=5.0)
    assert len(pts) == 48 * 64 - 1 and np.allclose(pts[:, 2], 2.0)
    assert np.allclose(pts[np.argmin(np.abs(pts[:, 0]) + np.abs(pts[:, 1]))][:2], 0.0)


def test_astar_goes_around_a_wall_and_pure_pursuit_arrives() -> None:
    grid = OccupancyGrid.empty(np.zeros(2), 8.0, 0.05)
    wall = np.array([[1.0, y, 0.4] for y in np.linspace(-1.0, 1.0, 100)])
    grid.mark_points(wall)
    grid.mark_points(np.array([[1.5, 0.0, 0.01]]))  # floor points are ignored
    path = plan_base_path(grid, np.zeros(2), np.array([2.0, 0.0]), 0.3)
    assert path is not None
    for a, b in zip(path[:-1], path[1:], strict=True):
        for s in np.linspace(0, 1, 50):
            p = a + s * (b - a)
            assert np.min(np.linalg.norm(wall[:, :2] - p, axis=1)) > 0.3 - 2 * grid.resolution
    pp = PurePursuit(path, math.pi / 2, max_v=0.5, max_w=1.0)
    x, y, yaw, dt = 0.0, 0.0, 0.0, 0.05
    done = False
    for _ in range(3000):
        v, w, done = pp.step((x, y, yaw))
        if done:
            break
        x, y, yaw = x + v * math.cos(yaw) * dt, y + v * math.sin(yaw) * dt, yaw + w * dt
    assert done
    assert math.hypot(x - 2.0, y) < 0.05 and abs(math.remainder(yaw - math.pi / 2, 2 * math.pi)) < 0.087


def test_blocked_goal_has_no_path() -> None:
    grid = OccupancyGrid.empty(np.zeros(2), 4.0, 0.05)
    grid.mark_points(np.array([[1.0, 0.0, 0.5]]))
    assert plan_base_path(grid, np.zeros(2), np.array([1.0, 0.0]), 0.3) is None
