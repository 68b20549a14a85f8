"""Collision checking against a point cloud, OMPL planning around an obstacle, time parameterisation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from maestro_control.collision import (
    CollisionChecker,
    segment_point_distances,
    segment_segment_distance,
    voxel_downsample,
)
from maestro_control.planning import JointPlanner, PlanningError, interpolate_path, motion_valid
from maestro_control.timing import TimingError, ruckig_point_to_point, time_parameterize


def test_geometry_helpers() -> None:
    a, b = np.zeros(3), np.array([1.0, 0, 0])
    d = segment_point_distances(a, b, np.array([[0.5, 1.0, 0], [2.0, 0, 0], [-1, 0, 0]]))
    assert np.allclose(d, [1.0, 1.0, 1.0])
    assert segment_segment_distance(a, b, np.array([0.5, -1, 1.0]), np.array([0.5, 1, 1.0])) == pytest.approx(1.0)
    pts = np.array([[0.001, 0.001, 0.001], [0.002, 0.002, 0.002], [0.5, 0.5, 0.5], [np.nan, 0, 0]])
    assert len(voxel_downsample(pts, 0.01)) == 2


def test_home_is_free_and_obstacle_detected(panda_checker: CollisionChecker, panda_home: np.ndarray,
                                            scene_tools: object) -> None:
    assert panda_checker.self_collisions(panda_home) == []
    panda_checker.set_scene(scene_tools.table_cloud(), panda_home)
    assert panda_checker.scene_collisions(panda_home) == []
    # a box right where the hand is
    tcp = panda_checker.kin.fk(panda_home)[:3, 3]
    panda_checker.set_scene(scene_tools.box_points(tcp - 0.05, tcp + 0.05))
    hits = panda_checker.scene_collisions(panda_home)
    assert "panda_hand" in hits or "panda_leftfinger" in hits
    assert not panda_checker.is_valid(panda_home)


def test_self_filter_removes_robot_points(panda_checker: CollisionChecker, panda_home: np.ndarray) -> None:
    poses = panda_checker.kin.link_poses(panda_home, ["panda_link4", "panda_hand"])
    robot_pts = np.array([p[:3, 3] for p in poses])
    n = panda_checker.set_scene(robot_pts, panda_home)
    assert n == 0 and panda_checker.is_valid(panda_home)


def test_attached_object_collides_and_is_removed_from_scene(panda_checker: CollisionChecker,
                                                            panda_home: np.ndarray, scene_tools: object) -> None:
    tcp = panda_checker.kin.fk(panda_home)
    dirs = np.random.default_rng(0).normal(size=(400, 3))
    ball = tcp[:3, 3] + 0.05 * dirs / np.linalg.norm(dirs, axis=1, keepdims=True)  # wider than the finger gap
    panda_checker.set_scene(ball)
    assert panda_checker.scene_collisions(panda_home)  # the ball between the fingers is an obstacle
    panda_checker.attach_sphere(np.zeros(3), 0.05, panda_home)
    assert panda_checker.scene_collisions(panda_home) == []
    # lower the arm onto a plane just below the held ball: the ball (not the hand) touches it
    plane = scene_tools.box_points(tcp[:3, 3] + [-0.2, -0.2, -0.055], tcp[:3, 3] + [0.2, 0.2, -0.055])
    panda_checker.set_scene(plane)
    assert "__attached__" in panda_checker.scene_collisions(panda_home)
    panda_checker.detach()
    assert "__attached__" not in panda_checker.scene_collisions(panda_home)


def test_rrtconnect_plans_around_a_wall(panda_checker: CollisionChecker, panda_home: np.ndarray,
                                        scene_tools: object) -> None:
    kin = panda_checker.kin
    wall = scene_tools.box_points([0.45, -0.02, 0.0], [0.6, 0.02, 0.45])
    panda_checker.set_scene(scene_tools.table_cloud(wall), panda_home)
    left, right = np.eye(4), np.eye(4)
    for t, y in ((left, 0.25), (right, -0.25)):
        t[:3, :3] = np.diag([1.0, -1.0, -1.0])  # pointing down
        t[:3, 3] = [0.5, y, 0.2]
    rng = np.random.default_rng(0)
    qa = kin.ik(left, panda_home, accept=panda_checker.is_valid, rng=rng).q
    qb = kin.ik(right, qa, accept=panda_checker.is_valid, rng=rng).q
    assert qa is not None and qb is not None
    assert not motion_valid(qa, qb, panda_checker.is_valid, 0.02)  # the direct motion hits the wall
    planner = JointPlanner(kin.lower, kin.upper, panda_checker.is_valid)
    res = planner.plan(qa, qb, timeout=5.0)
    dense = interpolate_path(res.path, 0.02)
    assert all(panda_checker.is_valid(q) for q in dense)
    assert np.allclose(res.path[0], qa) and np.allclose(res.path[-1], qb)
    traj = time_parameterize(res.path, kin.velocity_limits * 0.5, np.full(7, 5.0))
    assert np.allclose(traj.q[-1], qb) and traj.duration > 0
    assert np.all(np.abs(traj.qd) <= kin.velocity_limits * 0.5 + 1e-2)
    assert sum(not panda_checker.is_valid(q) for q in traj.q) == 0


def test_planner_reports_invalid_goal(panda_checker: CollisionChecker, panda_home: np.ndarray) -> None:
    planner = JointPlanner(panda_checker.kin.lower, panda_checker.kin.upper, panda_checker.is_valid)
    bad = panda_home.copy()
    bad[3] = 0.5  # outside the joint 4 limit
    with pytest.raises(PlanningError) as err:
        planner.plan(panda_home, bad)
    assert err.value.reason == "goal_invalid"


def test_ruckig_respects_limits() -> None:
    v, a = np.array([1.0, 2.0]), np.array([3.0, 3.0])
    tr = ruckig_point_to_point(np.zeros(2), np.array([1.0, -0.5]), v, a, dt=0.01)
    assert np.allclose(tr.q[-1], [1.0, -0.5])
    assert np.all(np.abs(tr.qd) <= v + 1e-6) and np.all(np.abs(tr.qdd) <= a + 1e-6)
    msg = tr.to_msg(["a", "b"])
    assert msg.points[-1].time_from_start.sec + msg.points[-1].time_from_start.nanosec * 1e-9 == pytest.approx(
        tr.duration, abs=1e-6)
    with pytest.raises(TimingError):
        time_parameterize(np.array([[0.0, np.nan]]), v, a)


def test_fast_paths_agree_with_brute_force(panda_checker: CollisionChecker, panda: object, scene_tools: object) -> None:
    """The link broad phase, the distance-field prefilter and the 1-D voxel keys give the exhaustive answers."""
    cc = panda_checker
    rng = np.random.default_rng(3)
    cloud = scene_tools.table_cloud(scene_tools.box_points([0.45, -0.15, 0.0], [0.6, 0.15, 0.3]))
    cc.set_scene(cloud, None)
    tree = cKDTree(cc.points)
    n_self = n_scene = 0
    for _ in range(300):
        q = panda.random_q(rng)
        centres, radii = cc.sphere_centres(q)
        d = centres[cc._pair_i] - centres[cc._pair_j]
        brute_self = bool(np.any(np.einsum("ij,ij->i", d, d) < cc._pair_rsum2))
        assert bool(cc.self_collisions(q)) == brute_self
        dist, _ = tree.query(centres)  # every sphere, no distance-field prefilter
        brute_scene = bool(np.any((dist <= radii + cc.margin) & cc._s_scene))
        assert bool(cc.scene_collisions(q)) == brute_scene
        assert cc.is_valid(q) == (panda.within_limits(q) and not brute_self and not brute_scene)
        n_self += brute_self
        n_scene += brute_scene
    assert n_self > 0 and n_scene > 0  # both kinds of collision occurred among the samples
    pts = rng.uniform(-0.3, 0.3, (5000, 3))
    keys = np.floor(pts / 0.05).astype(np.int64)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    expected = np.array([pts[inverse.reshape(-1) == k].mean(axis=0) for k in range(len(uniq))])
    assert np.allclose(voxel_downsample(pts, 0.05), expected)


def test_scene_points_beyond_reach_are_dropped(panda_checker: CollisionChecker, panda: object) -> None:
    """The reach bound covers every sphere of 500 random configurations; points beyond it never enter the scene."""
    cc = panda_checker
    rng = np.random.default_rng(5)
    farthest = max(float(np.max(np.linalg.norm(c, axis=1) + r))
                   for c, r in (cc.sphere_centres(panda.random_q(rng)) for _ in range(500)))
    assert farthest <= cc.reach < farthest + 0.5
    wall = np.array([[3.0, y, z] for y in np.linspace(-1, 1, 50) for z in np.linspace(0, 1, 20)])
    near = np.array([[0.5, 0.0, 0.2]])
    assert cc.set_scene(np.vstack([wall, near]), None) == 1
