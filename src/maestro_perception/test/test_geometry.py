"""Unit tests of maestro_perception.geometry (boxes, planes, hinges, voxel grids)."""
import numpy as np
import pytest

from maestro_perception import geometry as g


def _box_points(center, size, yaw, n=4000, seed=0):
    rng = np.random.default_rng(seed)
    local = rng.uniform(-0.5, 0.5, size=(n, 3)) * size
    c, s = np.cos(yaw), np.sin(yaw)
    rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    return local @ rot.T + center, rot


def test_oriented_box_recovers_rotated_box():
    pts, rot = _box_points(np.array([0.5, 0.1, 0.05]), np.array([0.2, 0.06, 0.1]), np.deg2rad(30))
    box = g.oriented_bounding_box(pts)
    np.testing.assert_allclose(box.center, [0.5, 0.1, 0.05], atol=3e-3)
    np.testing.assert_allclose(box.extent, [0.2, 0.06, 0.1], atol=4e-3)
    assert abs(abs(box.rotation[:, 0] @ rot[:, 0]) - 1) < 1e-3
    assert box.contains(pts, 1e-9).all()
    assert np.linalg.det(box.rotation) > 0.999
    axes, var = g.principal_axes(pts)
    assert abs(abs(axes[0] @ rot[:, 0]) - 1) < 1e-2 and var[0] > var[1] > var[2]


def test_top_height_and_centroid():
    pts, _ = _box_points(np.array([0, 0, 0.1]), np.array([0.1, 0.1, 0.2]), 0.0)
    assert abs(g.top_height(pts) - 0.19) < 0.005
    np.testing.assert_allclose(g.centroid(pts), [0, 0, 0.1], atol=3e-3)


def test_ransac_plane_with_clutter():
    rng = np.random.default_rng(2)
    table = np.c_[rng.uniform(-0.5, 0.5, (3000, 2)), 0.02 + rng.normal(0, 0.001, 3000)]
    clutter = rng.uniform([-0.1, -0.1, 0.03], [0.1, 0.1, 0.2], (800, 3))
    plane = g.fit_plane_ransac(np.vstack([table, clutter]), 0.005)
    np.testing.assert_allclose(plane.coefficients, [0, 0, 1, -0.02], atol=2e-3)
    assert len(plane.inliers) >= 2900
    sup = g.support_plane(clutter, table)
    np.testing.assert_allclose(sup.coefficients, [0, 0, 1, -0.02], atol=2e-3)
    # without surroundings: horizontal plane at the object's bottom
    fallback = g.support_plane(clutter)
    assert abs(fallback.coefficients[3] + np.percentile(clutter[:, 2], 5)) < 1e-9


def test_plane_and_hinge_from_keypoints():
    # a door in the plane x = 0.6 (normal along x), hinge on its left edge y = -0.2
    corners = np.array([[0.6, -0.2, 0.1], [0.6, 0.2, 0.1], [0.6, 0.2, 0.7], [0.6, -0.2, 0.7]])
    plane = g.plane_from_keypoints(corners, up=np.array([-1.0, 0, 0]))
    np.testing.assert_allclose(plane.coefficients, [-1, 0, 0, 0.6], atol=1e-9)
    point, axis, radius = g.hinge_axis_from_keypoints(corners[[3, 0]], handle_point=np.array([0.62, 0.15, 0.4]))
    np.testing.assert_allclose(axis, [0, 0, 1], atol=1e-9)
    np.testing.assert_allclose(point, [0.6, -0.2, 0.4], atol=1e-9)
    assert abs(radius - np.hypot(0.02, 0.35)) < 1e-9


def test_voxel_grid_and_collision_cloud():
    pts, _ = _box_points(np.array([0.5, 0.0, 0.1]), np.array([0.1, 0.1, 0.1]), 0.0)
    grid = g.voxel_grid(pts, 0.02)
    assert grid.occupancy.shape == (5, 5, 5) and grid.occupancy.all()
    assert grid.occupied(np.array([[0.5, 0.0, 0.1], [2.0, 0, 0]])).tolist() == [True, False]
    target = g.oriented_bounding_box(pts[:100])
    scene = g.scene_collision_cloud(pts, 0.01, exclude=[target])
    assert len(scene) > 0 and not target.contains(scene).any()


def test_describe_object():
    pts, _ = _box_points(np.array([0.4, 0.0, 0.05]), np.array([0.06, 0.06, 0.1]), 0.3)
    shape = g.describe_object(pts)
    assert shape.num_points == len(pts)
    assert abs(shape.bottom_height - 0.005) < 0.005
    np.testing.assert_allclose(shape.plane.normal, [0, 0, 1])


def test_hinge_axis_from_door_cloud_and_two_keypoints():
    # a door panel in the plane x = 0.6 turned 0.3 rad about z, hinge edge at its y = 0 side, handle 0.3 m away
    rng = np.random.default_rng(0)
    yaw = 0.3
    rot = np.array([[np.cos(yaw), -np.sin(yaw), 0], [np.sin(yaw), np.cos(yaw), 0], [0, 0, 1]])
    local = np.c_[rng.normal(0, 0.002, 2000), rng.uniform(0.0, 0.35, 2000), rng.uniform(-0.15, 0.15, 2000)]
    origin = np.array([0.6, -0.1, 0.3])
    door = local @ rot.T + origin
    hinge = origin
    handle = origin + rot @ np.array([-0.03, 0.30, 0.02])  # slightly above the hinge keypoint, in front of the panel
    point, axis, radius = g.hinge_axis_from_door(door, hinge, handle)
    assert np.degrees(np.arccos(min(1.0, abs(axis @ [0, 0, 1])))) < 3.0
    assert axis[2] > 0
    np.testing.assert_allclose(point, hinge)
    assert abs(radius - np.hypot(0.03, 0.30)) < 0.01
    with pytest.raises(ValueError):
        g.hinge_axis_from_door(door, hinge, hinge)
