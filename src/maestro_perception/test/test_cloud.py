"""Unit tests of maestro_perception.cloud (synthetic depth, exact geometry)."""
import numpy as np
import pytest

from maestro_perception import cloud
from maestro_perception.cloud import Intrinsics


def _intr() -> Intrinsics:
    return Intrinsics(fx=500.0, fy=500.0, cx=319.5, cy=239.5, width=640, height=480)


def test_plane_depth_backprojects_to_constant_z_and_exact_centroid():
    intr = _intr()
    depth = np.full((480, 640), 1.25, dtype=np.float32)
    mask = np.zeros((480, 640), bool)
    mask[200:280, 280:360] = True  # symmetric about the principal point column 319.5 and row 239.5
    pts = cloud.depth_to_points(depth, intr, mask)
    assert pts.shape == (80 * 80, 3)
    np.testing.assert_allclose(pts[:, 2], 1.25)
    np.testing.assert_allclose(pts.mean(axis=0), [0.0, 0.0, 1.25], atol=1e-12)
    # pixel (u, v) maps to ((u - cx) z / fx, (v - cy) z / fy)
    p, px = cloud.depth_to_points(depth, intr, mask, return_pixels=True)
    u, v = px[0]
    np.testing.assert_allclose(p[0], [(u - 319.5) * 1.25 / 500, (v - 239.5) * 1.25 / 500, 1.25])


def test_sphere_centroid_from_rendered_depth():
    """Ray-cast a sphere into a depth image; the centroid of the visible cap lies on the ray to the centre."""
    intr = _intr()
    c, r = np.array([0.05, -0.02, 0.8]), 0.04
    v, u = np.mgrid[0:480, 0:640].astype(float)
    d = np.stack([(u - intr.cx) / intr.fx, (v - intr.cy) / intr.fy, np.ones_like(u)], -1)
    d /= np.linalg.norm(d, axis=-1, keepdims=True)
    b = d @ c
    disc = b * b - (c @ c - r * r)
    t = np.where(disc > 0, b - np.sqrt(np.maximum(disc, 0)), np.nan)
    depth = (t * d[..., 2]).astype(np.float32)
    pts = cloud.depth_to_points(depth, intr, np.isfinite(depth))
    assert np.all(np.abs(np.linalg.norm(pts - c, axis=1) - r) < 2e-4)
    cen = pts.mean(axis=0)
    # visible cap centroid is between centre and camera, near the centre direction
    assert np.linalg.norm(np.cross(cen / np.linalg.norm(cen), c / np.linalg.norm(c))) < 0.01
    assert 0.0 < np.linalg.norm(c) - np.linalg.norm(cen) < r


def test_invalid_depth_and_mismatch():
    intr = _intr()
    depth = np.full((480, 640), np.nan, dtype=np.float32)
    depth[10, 10] = 0.0
    depth[20, 20] = 2.0
    assert len(cloud.depth_to_points(depth, intr)) == 1
    with pytest.raises(ValueError, match="mask shape"):
        cloud.depth_to_points(depth, intr, np.ones((10, 10), bool))
    with pytest.raises(ValueError, match="intrinsics"):
        cloud.depth_to_points(np.ones((10, 10), np.float32), intr)


def test_transform_and_projection_roundtrip():
    intr = _intr()
    pts = np.array([[0.1, 0.2, 1.0], [-0.3, 0.1, 2.0]])
    uv, front = cloud.project_points(pts, intr)
    assert front.all()
    depth = np.full((480, 640), np.nan, np.float32)
    for (u, v), z in zip(np.round(uv).astype(int), pts[:, 2], strict=True):
        depth[v, u] = z
    p = cloud.pixel_to_point(depth, intr, *uv[0])
    assert np.linalg.norm(p - pts[0]) < 2e-3
    t = np.eye(4)
    t[:3, :3] = [[0, -1, 0], [1, 0, 0], [0, 0, 1]]
    t[:3, 3] = [1, 2, 3]
    np.testing.assert_allclose(cloud.transform_points(t, pts)[0], [1 - 0.2, 2 + 0.1, 4.0])


def test_voxel_and_outliers():
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 0.1, size=(5000, 3))
    down = cloud.voxel_downsample(pts, 0.02)
    assert 125 <= len(down) <= 216  # 5x5x5 cells, up to 6x6x6 depending on the grid origin
    noisy = np.vstack([pts, [[5.0, 5.0, 5.0], [-4.0, 2.0, 1.0]]])
    kept = cloud.remove_statistical_outliers(noisy)
    assert not np.any(np.abs(kept) > 1.0)
    assert len(kept) >= 4900


def test_pointcloud2_roundtrip_and_foreign_layout():
    from sensor_msgs.msg import PointCloud2, PointField

    pts = np.random.default_rng(1).normal(size=(1000, 3))
    msg = cloud.points_to_pointcloud2(pts, "panda_link0")
    assert msg.width == 1000 and msg.point_step == 12 and msg.header.frame_id == "panda_link0"
    np.testing.assert_allclose(cloud.pointcloud2_to_points(msg), pts.astype(np.float32))
    # a padded xyz + rgb layout (like a depth camera driver), organised 2 x 3
    rec = np.zeros(6, dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("pad", "<f4"), ("rgb", "<f4")])
    rec["x"], rec["y"], rec["z"] = np.arange(6), np.arange(6) * 2, np.arange(6) * 3
    rec["z"][2] = np.nan
    m = PointCloud2(height=2, width=3, point_step=20, row_step=60, is_bigendian=False)
    m.fields = [PointField(name=n, offset=o, datatype=PointField.FLOAT32, count=1)
                for n, o in (("x", 0), ("y", 4), ("z", 8), ("rgb", 16))]
    m.data = rec.tobytes()
    out = cloud.pointcloud2_to_points(m)
    assert out.shape == (5, 3)
    np.testing.assert_allclose(out[-1], [5, 10, 15])
