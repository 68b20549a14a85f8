"""End-to-end planner behaviour on synthetic objects (no ROS)."""

import numpy as np
import pytest

from maestro_grasp import synthetic
from maestro_grasp.antipodal import AntipodalParams
from maestro_grasp.errors import INVALID_ARGUMENT, NO_GRASPS, OBJECT_TOO_WIDE, InvalidRequest, NoGrasps, ObjectTooWide
from maestro_grasp.gripper_model import FRANKA_HAND, PIPER_GRIPPER, collision_counts
from maestro_grasp.planner import ApproachMode, GraspPlanner, GraspRequest

COS_CONE = np.cos(np.arctan(AntipodalParams().friction_coef))
TABLE = synthetic.table(size=0.5)


@pytest.fixture(scope="module")
def planner() -> GraspPlanner:
    return GraspPlanner(FRANKA_HAND)


def _assert_valid_frames(grasps) -> None:
    for g in grasps:
        r = g.rotation
        np.testing.assert_allclose(r.T @ r, np.eye(3), atol=1e-6)
        assert np.linalg.det(r) == pytest.approx(1.0, abs=1e-6)
        np.testing.assert_allclose(g.approach, r[:, 2])
        q = g.quaternion_xyzw
        assert np.linalg.norm(q) == pytest.approx(1.0, abs=1e-6)


def test_sphere_grasps_are_antipodal_and_fit(planner: GraspPlanner) -> None:
    r, centre = 0.033, np.array([0.5, 0.1, 0.033])
    pts, _ = synthetic.sphere(2000, radius=r, centre=tuple(centre))
    res = planner.plan(pts, TABLE, GraspRequest(max_candidates=5))
    assert 1 <= len(res.grasps) <= 5
    _assert_valid_frames(res.grasps)
    scores = [g.score for g in res.grasps]
    assert scores == sorted(scores, reverse=True)
    for g in res.grasps:
        # Both contacts: the true sphere normal there lies in the friction cone of the closing axis.
        for c in g.contacts:
            n = (c - centre) / np.linalg.norm(c - centre)
            assert abs(n @ g.closing_axis) >= COS_CONE - 0.02
        assert 2 * r - 0.004 <= g.width <= 2 * r + 0.004
        assert g.width < FRANKA_HAND.max_width
        assert g.opening <= FRANKA_HAND.max_width + 1e-9
        assert np.linalg.norm(g.centre - centre) < 0.01
        assert np.linalg.norm(g.position - centre) < 0.02
        assert abs(g.approach @ g.closing_axis) < 1e-6
        assert 0.0 <= g.score <= 1.0


def test_box_grasps_close_across_faces(planner: GraspPlanner) -> None:
    size = np.array([0.04, 0.06, 0.1])
    pts, _ = synthetic.box(2000, size=tuple(size), centre=(0.4, 0.0, 0.05))
    res = planner.plan(pts, TABLE, GraspRequest(max_candidates=5))
    assert res.grasps
    for g in res.grasps:
        axis = np.abs(g.closing_axis)
        k = int(np.argmax(axis))
        assert axis[k] >= COS_CONE  # closing along a face normal
        assert k in (0, 1)  # the 10 cm height does not fit the 8 cm stroke
        assert g.width == pytest.approx(size[k] / axis[k], abs=0.01)


def test_top_down_constraint(planner: GraspPlanner) -> None:
    pts, _ = synthetic.box(2000, size=(0.05, 0.05, 0.06), centre=(0.4, 0.0, 0.03))
    req = GraspRequest(approach_mode=ApproachMode.TOP_DOWN, max_approach_angle=0.3, max_candidates=8)
    res = planner.plan(pts, TABLE, req)
    assert res.grasps
    for g in res.grasps:
        angle = np.arccos(np.clip(g.approach @ np.array([0.0, 0.0, -1.0]), -1, 1))
        assert angle <= 0.3 + 1e-6


def test_along_axis_constraint(planner: GraspPlanner) -> None:
    pts, _ = synthetic.sphere(2000, centre=(0.5, 0.0, 0.2))  # in the air: any approach is possible
    axis = np.array([1.0, 0.0, 0.0])
    res = planner.plan(pts, None, GraspRequest(approach_mode=ApproachMode.ALONG_AXIS, approach_axis=axis,
                                               max_approach_angle=0.4))
    assert res.grasps
    assert all(g.approach @ axis >= np.cos(0.4) - 1e-6 for g in res.grasps)


def test_part_constraint_keeps_grasps_on_the_handle(planner: GraspPlanner) -> None:
    pts, _, handle = synthetic.mug(2500, base=(0.45, 0.0, 0.0))
    req = GraspRequest(part="handle", part_keypoints=handle[None], part_radius=0.03, max_candidates=5)
    res = planner.plan(pts, TABLE, req)
    assert res.grasps
    for g in res.grasps:
        assert np.linalg.norm(g.centre - handle) <= 0.03 + 1e-6
        assert g.part == "handle"
    assert res.grasps[0].width < 0.03  # the best grasp takes the handle tube
    # Without the constraint the best grasp is elsewhere on the mug (rim or body).
    free = planner.plan(pts, TABLE, GraspRequest(max_candidates=5))
    assert any(np.linalg.norm(g.centre - handle) > 0.03 for g in free.grasps)


def test_collision_check_rejects_fingers_in_the_table(planner: GraspPlanner) -> None:
    # A flat box (2 cm tall): top-down grasps deep enough to reach its sides put the fingertips into the table.
    pts, _ = synthetic.box(2000, size=(0.05, 0.05, 0.02), centre=(0.4, 0.0, 0.01))
    table = synthetic.table(size=0.5, centre=(0.4, 0.0))
    from scipy.spatial import cKDTree

    tree = cKDTree(table)

    def table_hits(grasps) -> np.ndarray:
        rot = np.stack([g.rotation for g in grasps])
        pos = np.stack([g.position for g in grasps])
        opening = np.array([g.opening for g in grasps])
        counts, _ = collision_counts(FRANKA_HAND, rot, pos, opening, tree, table)
        return counts.sum(axis=1)

    checked = planner.plan(pts, table, GraspRequest(max_candidates=10))
    assert np.all(table_hits(checked.grasps) == 0)
    unchecked = planner.plan(pts, table, GraspRequest(max_candidates=10, check_collisions=False))
    assert np.any(table_hits(unchecked.grasps) > 0)


def test_too_wide_object() -> None:
    pts, _ = synthetic.sphere(2000, radius=0.06)
    with pytest.raises(ObjectTooWide) as info:
        GraspPlanner(FRANKA_HAND).plan(pts, None)
    assert info.value.code == OBJECT_TOO_WIDE
    # The PiPER gripper (7 cm) cannot take a 7.6 cm ball that the Franka (8 cm) can.
    ball, _ = synthetic.sphere(2000, radius=0.038)
    assert GraspPlanner(FRANKA_HAND).plan(ball, None).grasps
    with pytest.raises(ObjectTooWide):
        GraspPlanner(PIPER_GRIPPER).plan(ball, None)


def test_flat_patch_has_no_grasps() -> None:
    rng = np.random.default_rng(0)
    patch = np.c_[rng.uniform(-0.05, 0.05, (800, 2)), np.zeros(800)]
    with pytest.raises(NoGrasps) as info:
        GraspPlanner(FRANKA_HAND).plan(patch, None)
    assert info.value.code == NO_GRASPS


def test_constraints_that_exclude_everything_give_no_grasps() -> None:
    pts, _ = synthetic.sphere(1500, centre=(0.0, 0.0, 0.033))
    req = GraspRequest(approach_mode=ApproachMode.ALONG_AXIS, approach_axis=np.array([0.0, 0.0, 1.0]),
                       max_approach_angle=0.3)  # from below, through the table
    with pytest.raises(NoGrasps):
        GraspPlanner(FRANKA_HAND).plan(pts, TABLE, req)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_approach_angle": float("nan")},
        {"part_radius": -1.0},
        {"max_candidates": 0},
        {"approach_mode": ApproachMode.ALONG_AXIS, "approach_axis": np.array([np.nan, 0, 0])},
        {"approach_mode": ApproachMode.ALONG_AXIS, "approach_axis": None},
        {"part_keypoints": np.array([[np.nan, 0.0, 0.0]])},
    ],
)
def test_bad_requests(kwargs: dict) -> None:
    pts, _ = synthetic.sphere(500)
    with pytest.raises(InvalidRequest) as info:
        GraspPlanner(FRANKA_HAND).plan(pts, None, GraspRequest(**kwargs))
    assert info.value.code == INVALID_ARGUMENT


def test_nan_points_are_dropped_and_too_few_points_rejected() -> None:
    pts, _ = synthetic.sphere(1500)
    noisy = np.vstack([pts, np.full((300, 3), np.nan)])
    assert GraspPlanner(FRANKA_HAND).plan(noisy, None).grasps
    with pytest.raises(InvalidRequest):
        GraspPlanner(FRANKA_HAND).plan(np.full((50, 3), np.nan), None)


def test_single_view_noisy_sphere() -> None:
    """A camera 0.6 m away sees one side of the ball; grasps still centre on it."""
    centre = np.array([0.5, 0.0, 0.033])
    pts, n = synthetic.sphere(4000, radius=0.033, centre=tuple(centre))
    cam = np.array([0.0, 0.0, 0.6])
    seen = synthetic.add_noise(pts[synthetic.visible_from(pts, n, cam)], sigma=0.0005)
    res = GraspPlanner(FRANKA_HAND).plan(seen, TABLE, GraspRequest(), viewpoint=cam)
    assert res.grasps
    assert np.linalg.norm(res.grasps[0].position - centre) < 0.02


def test_repeatable_with_seed() -> None:
    pts, _ = synthetic.sphere(1500)
    a = GraspPlanner(FRANKA_HAND).plan(pts, TABLE)
    b = GraspPlanner(FRANKA_HAND).plan(pts, TABLE)
    np.testing.assert_allclose(a.grasps[0].position, b.grasps[0].position)
