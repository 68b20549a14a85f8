"""Point clouds from depth images: back-projection, frame changes, filtering and PointCloud2 packing.

Everything is vectorised numpy (no per-point Python loops); open3d does voxel downsampling and statistical outlier
removal. No ROS node inside; ``sensor_msgs`` message classes are imported only by the PointCloud2 helpers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from maestro_common import clouds

__all__ = [
    "Intrinsics",
    "depth_to_points",
    "filter_cloud",
    "pixel_to_point",
    "pointcloud2_to_points",
    "points_to_pointcloud2",
    "project_points",
    "remove_statistical_outliers",
    "transform_points",
    "voxel_downsample",
]


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics of a camera in the optical frame (+z forward, +x right, +y down)."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    @classmethod
    def from_k(cls, k: Any, width: int, height: int) -> Intrinsics:
        """Intrinsics from a row-major 3x3 camera matrix (``CameraInfo.k``)."""
        km = np.asarray(k, dtype=float).reshape(3, 3)
        if km[0, 0] <= 0 or km[1, 1] <= 0:
            raise ValueError(f"camera matrix has non-positive focal lengths: fx={km[0, 0]}, fy={km[1, 1]}")
        return cls(float(km[0, 0]), float(km[1, 1]), float(km[0, 2]), float(km[1, 2]), int(width), int(height))

    @classmethod
    def from_fov(cls, width: int, height: int, fovy_deg: float) -> Intrinsics:
        """Square-pixel intrinsics from a vertical field of view (the MuJoCo camera model)."""
        f = 0.5 * height / np.tan(np.deg2rad(fovy_deg) / 2.0)
        return cls(f, f, (width - 1) / 2.0, (height - 1) / 2.0, int(width), int(height))

    @property
    def matrix(self) -> np.ndarray:
        """The 3x3 camera matrix K."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])


def depth_to_points(
    depth: np.ndarray,
    intr: Intrinsics,
    mask: np.ndarray | None = None,
    min_depth: float = 1e-3,
    max_depth: float = 20.0,
    return_pixels: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Back-project the valid depth pixels (inside ``mask`` when given) to (N, 3) points in the camera frame.

    Depth is in metres (32FC1); NaN, inf, zero and out-of-range pixels are dropped. With ``return_pixels`` the (N, 2)
    integer pixel coordinates (u, v) of the points are returned too.
    """
    depth = np.asarray(depth)
    if depth.ndim != 2:
        raise ValueError(f"depth must be a 2-D image, got shape {depth.shape}")
    if (depth.shape[1], depth.shape[0]) != (intr.width, intr.height):
        raise ValueError(f"depth is {depth.shape[1]}x{depth.shape[0]} but the intrinsics are for "
                         f"{intr.width}x{intr.height}")
    valid = np.isfinite(depth) & (depth > min_depth) & (depth < max_depth)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != depth.shape:
            raise ValueError(f"mask shape {mask.shape} differs from depth shape {depth.shape}")
        valid &= mask.astype(bool)
    v, u = np.nonzero(valid)
    z = depth[v, u].astype(np.float64)
    x = (u - intr.cx) * z / intr.fx
    y = (v - intr.cy) * z / intr.fy
    pts = np.stack([x, y, z], axis=1)
    if return_pixels:
        return pts, np.stack([u, v], axis=1)
    return pts


def pixel_to_point(depth: np.ndarray, intr: Intrinsics, u: float, v: float, radius: int = 3) -> np.ndarray | None:
    """3-D point (camera frame) at pixel (u, v): median depth of the valid pixels within ``radius``; None if none."""
    h, w = depth.shape
    ui, vi = int(round(u)), int(round(v))
    if not (0 <= ui < w and 0 <= vi < h):
        return None
    patch = depth[max(0, vi - radius): vi + radius + 1, max(0, ui - radius): ui + radius + 1]
    good = patch[np.isfinite(patch) & (patch > 1e-3)]
    if good.size == 0:
        return None
    z = float(np.median(good))
    return np.array([(u - intr.cx) * z / intr.fx, (v - intr.cy) * z / intr.fy, z])


def project_points(points: np.ndarray, intr: Intrinsics) -> tuple[np.ndarray, np.ndarray]:
    """Project (N, 3) camera-frame points to pixels; returns (N, 2) (u, v) and a mask of points in front (z > 0)."""
    pts = np.asarray(points, dtype=float).reshape(-1, 3)
    z = pts[:, 2]
    front = z > 1e-6
    zs = np.where(front, z, 1.0)
    uv = np.stack([intr.fx * pts[:, 0] / zs + intr.cx, intr.fy * pts[:, 1] / zs + intr.cy], axis=1)
    return uv, front


def transform_points(t: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 4x4 homogeneous transform to (N, 3) points."""
    pts = np.asarray(points, dtype=float).reshape(-1, 3)
    return pts @ np.asarray(t)[:3, :3].T + np.asarray(t)[:3, 3]


def _o3d_cloud(points: np.ndarray) -> Any:
    import open3d as o3d

    pc = o3d.geometry.PointCloud()
    pc.points = o3d.utility.Vector3dVector(np.ascontiguousarray(points, dtype=np.float64))
    return pc


def voxel_downsample(points: np.ndarray, voxel_size: float) -> np.ndarray:
    """Open3d voxel-grid downsampling (one point per occupied voxel: the mean of its points)."""
    pts = np.asarray(points, dtype=float).reshape(-1, 3)
    if voxel_size <= 0 or len(pts) == 0:
        return pts
    return np.asarray(_o3d_cloud(pts).voxel_down_sample(float(voxel_size)).points)


def remove_statistical_outliers(points: np.ndarray, nb_neighbors: int = 20, std_ratio: float = 2.0) -> np.ndarray:
    """Open3d statistical outlier removal: drop points whose mean neighbour distance is above mean + k * std."""
    pts = np.asarray(points, dtype=float).reshape(-1, 3)
    if len(pts) <= nb_neighbors:
        return pts
    _, idx = _o3d_cloud(pts).remove_statistical_outlier(nb_neighbors=int(nb_neighbors), std_ratio=float(std_ratio))
    return pts[np.asarray(idx, dtype=np.int64)]


def filter_cloud(points: np.ndarray, voxel_size: float = 0.005, remove_outliers: bool = True) -> np.ndarray:
    """Downsample then (optionally) remove statistical outliers; the usual object-cloud pipeline."""
    pts = voxel_downsample(points, voxel_size)
    if remove_outliers:
        pts = remove_statistical_outliers(pts)
    return pts


def points_to_pointcloud2(points: np.ndarray, frame_id: str, stamp: Any | None = None) -> Any:
    """Pack (N, 3) points into an unorganised ``sensor_msgs/PointCloud2`` with float32 x, y, z fields."""
    return clouds.points_to_pointcloud2(points, frame_id, stamp)


def pointcloud2_to_points(msg: Any, skip_nans: bool = True) -> np.ndarray:
    """Unpack the x, y, z fields of any ``sensor_msgs/PointCloud2`` into an (N, 3) float64 array."""
    return clouds.pointcloud2_to_points(msg, skip_nans=skip_nans)
