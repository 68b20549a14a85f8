"""3-D geometry of object point clouds: centroid, oriented box, principal axes, heights, planes, hinges, voxel grids.

All inputs are (N, 3) numpy arrays in one frame (normally the robot base frame, +z up). No ROS inside.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "ObjectShape",
    "OrientedBox",
    "Plane",
    "VoxelGrid",
    "centroid",
    "describe_object",
    "hinge_axis_from_door",
    "fit_plane_lstsq",
    "fit_plane_ransac",
    "hinge_axis_from_keypoints",
    "oriented_bounding_box",
    "plane_from_keypoints",
    "principal_axes",
    "scene_collision_cloud",
    "support_plane",
    "top_height",
    "voxel_grid",
]


def _as_points(points: np.ndarray, min_points: int = 1) -> np.ndarray:
    pts = np.asarray(points, dtype=float).reshape(-1, 3)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts) < min_points:
        raise ValueError(f"need at least {min_points} finite points, got {len(pts)}")
    return pts


def centroid(points: np.ndarray) -> np.ndarray:
    """Mean of the points."""
    return _as_points(points).mean(axis=0)


def principal_axes(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Principal axes (rows, unit, largest variance first, right-handed) and their variances."""
    pts = _as_points(points, 1)
    if len(pts) < 3:
        return np.eye(3), np.zeros(3)
    cov = np.cov((pts - pts.mean(axis=0)).T)
    vals, vecs = np.linalg.eigh(cov)
    order = np.argsort(vals)[::-1]
    axes = vecs[:, order].T.copy()
    for i in range(3):  # deterministic sign: largest component positive
        if axes[i][np.argmax(np.abs(axes[i]))] < 0:
            axes[i] = -axes[i]
    if np.linalg.det(axes) < 0:
        axes[2] = -axes[2]
    return axes, vals[order]


@dataclass
class OrientedBox:
    """Oriented bounding box: centre, rotation (columns = local x, y, z axes) and full side lengths."""

    center: np.ndarray
    rotation: np.ndarray
    extent: np.ndarray

    def corners(self) -> np.ndarray:
        """The 8 corners, (8, 3)."""
        signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float)
        return self.center + (signs * self.extent / 2.0) @ self.rotation.T

    def contains(self, points: np.ndarray, margin: float = 0.0) -> np.ndarray:
        """Boolean mask of the points inside the box grown by ``margin``."""
        local = (np.asarray(points, dtype=float).reshape(-1, 3) - self.center) @ self.rotation
        return (np.abs(local) <= self.extent / 2.0 + margin).all(axis=1)


def oriented_bounding_box(points: np.ndarray, upright: bool = True) -> OrientedBox:
    """Oriented bounding box of the points.

    With ``upright`` (default, for objects resting on a table in a +z-up frame) the box keeps local z = world z and
    is oriented in the horizontal plane by the principal axes of the xy projection (the box a gripper cares about);
    otherwise it is aligned with the full 3-D principal axes.
    """
    pts = _as_points(points)
    if upright:
        xy = pts[:, :2] - pts[:, :2].mean(axis=0)
        if len(pts) >= 3 and np.ptp(xy, axis=0).max() > 0:
            vals, vecs = np.linalg.eigh(np.cov(xy.T))
            major = vecs[:, int(np.argmax(vals))]
        else:
            major = np.array([1.0, 0.0])
        if major[np.argmax(np.abs(major))] < 0:
            major = -major
        rot = np.array([[major[0], -major[1], 0.0], [major[1], major[0], 0.0], [0.0, 0.0, 1.0]])
    else:
        rot = principal_axes(pts)[0].T
    local = pts @ rot
    lo, hi = local.min(axis=0), local.max(axis=0)
    return OrientedBox(center=rot @ ((lo + hi) / 2.0), rotation=rot, extent=hi - lo)


def top_height(points: np.ndarray, percentile: float = 95.0) -> float:
    """z of the highest points (a percentile, robust to stray points)."""
    return float(np.percentile(_as_points(points)[:, 2], percentile))


@dataclass
class Plane:
    """Plane a*x + b*y + c*z + d = 0 with unit normal (a, b, c); ``inliers`` indexes the fitted points."""

    coefficients: np.ndarray
    inliers: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def normal(self) -> np.ndarray:
        """Unit normal (a, b, c)."""
        return self.coefficients[:3]

    def distance(self, points: np.ndarray) -> np.ndarray:
        """Signed distance of points to the plane (positive on the normal side)."""
        return np.asarray(points, dtype=float).reshape(-1, 3) @ self.coefficients[:3] + self.coefficients[3]


def _normalise_plane(coeffs: np.ndarray, up: np.ndarray | None) -> np.ndarray:
    coeffs = np.asarray(coeffs, dtype=float)
    coeffs = coeffs / np.linalg.norm(coeffs[:3])
    if up is not None and float(coeffs[:3] @ up) < 0:
        coeffs = -coeffs
    return coeffs


def fit_plane_lstsq(points: np.ndarray, up: np.ndarray | None = None) -> Plane:
    """Least-squares plane through the points (SVD); normal oriented towards ``up`` when given."""
    pts = _as_points(points, 3)
    c = pts.mean(axis=0)
    _, s, vt = np.linalg.svd(pts - c, full_matrices=False)
    if s[1] < 1e-9:
        raise ValueError("points are collinear; a plane needs three non-collinear points")
    n = vt[2]
    return Plane(_normalise_plane(np.append(n, -n @ c), up), np.arange(len(pts)))


def fit_plane_ransac(
    points: np.ndarray,
    distance_threshold: float = 0.005,
    num_iterations: int = 500,
    up: np.ndarray | None = (0.0, 0.0, 1.0),  # type: ignore[assignment]
    seed: int = 0,
) -> Plane:
    """Dominant plane by RANSAC (open3d ``segment_plane``), refined by least squares on the inliers."""
    import open3d as o3d

    pts = _as_points(points, 3)
    up_v = None if up is None else np.asarray(up, dtype=float)
    o3d.utility.random.seed(int(seed))
    pc = o3d.geometry.PointCloud()
    pc.points = o3d.utility.Vector3dVector(pts)
    _, inliers = pc.segment_plane(distance_threshold=float(distance_threshold), ransac_n=3,
                                  num_iterations=int(num_iterations))
    inliers = np.asarray(inliers, dtype=np.int64)
    refined = fit_plane_lstsq(pts[inliers], up_v)
    return Plane(refined.coefficients, inliers)


def support_plane(
    object_points: np.ndarray,
    surrounding_points: np.ndarray | None = None,
    distance_threshold: float = 0.005,
    max_tilt_deg: float = 30.0,
) -> Plane:
    """Plane the object rests on.

    RANSAC on the surrounding points (e.g. the table around the object's mask) when there are enough of them and the
    plane found is roughly horizontal (tilt below ``max_tilt_deg``) and not above the object's bottom; otherwise the
    horizontal plane through the object's lowest points (5th percentile of z).
    """
    obj = _as_points(object_points)
    bottom = float(np.percentile(obj[:, 2], 5.0))
    if surrounding_points is not None and len(surrounding_points) >= 50:
        plane = fit_plane_ransac(surrounding_points, distance_threshold)
        tilt = np.degrees(np.arccos(np.clip(plane.normal[2], -1.0, 1.0)))
        z_at_obj = _plane_z(plane, obj.mean(axis=0)[:2])
        if tilt <= max_tilt_deg and len(plane.inliers) >= 0.3 * len(surrounding_points) \
                and z_at_obj <= bottom + 0.02:
            return plane
    return Plane(np.array([0.0, 0.0, 1.0, -bottom]))


def _plane_z(plane: Plane, xy: np.ndarray) -> float:
    a, b, c, d = plane.coefficients
    return float(-(a * xy[0] + b * xy[1] + d) / c) if abs(c) > 1e-9 else float("nan")


def plane_from_keypoints(points: np.ndarray, up: np.ndarray | None = None) -> Plane:
    """Plane through three or more keypoints (e.g. the corners of a door or a towel), least squares."""
    return fit_plane_lstsq(points, up)


def hinge_axis_from_keypoints(
    hinge_points: np.ndarray, handle_point: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, float | None]:
    """Hinge axis of a door from keypoints on its hinge edge (two or more, e.g. ``hinge_top``, ``hinge_bottom``).

    Returns a point on the axis (the mean of the hinge points), its unit direction (line fit by SVD, oriented +z when
    the axis is near vertical, else towards the first point's opposite end) and, with ``handle_point``, the door radius
    (distance of the handle from the axis).
    """
    pts = _as_points(hinge_points, 2)
    c = pts.mean(axis=0)
    _, s, vt = np.linalg.svd(pts - c, full_matrices=False)
    if s[0] < 1e-9:
        raise ValueError("hinge keypoints coincide; give two distinct points on the hinge edge")
    direction = vt[0] / np.linalg.norm(vt[0])
    if abs(direction[2]) > 0.5:
        if direction[2] < 0:
            direction = -direction
    elif float((pts[-1] - pts[0]) @ direction) < 0:
        direction = -direction
    radius = None
    if handle_point is not None:
        h = np.asarray(handle_point, dtype=float).reshape(3) - c
        radius = float(np.linalg.norm(h - (h @ direction) * direction))
    return c, direction, radius


def hinge_axis_from_door(
    door_points: np.ndarray, hinge_point: np.ndarray, handle_point: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """Hinge axis of a door from one keypoint on its hinge edge, its handle keypoint and the door's point cloud.

    The axis lies in the door's plane (RANSAC plane of ``door_points``) and runs across the hinge-to-handle direction:
    of the two in-plane principal axes of the door cloud, the one most perpendicular to ``handle - hinge``. Returns a
    point on the axis (``hinge_point``), its unit direction (oriented +z when near vertical) and the door radius
    (distance of the handle from the axis).
    """
    pts = _as_points(door_points, 10)
    hinge = np.asarray(hinge_point, dtype=float).reshape(3)
    to_handle = np.asarray(handle_point, dtype=float).reshape(3) - hinge
    if np.linalg.norm(to_handle) < 1e-6:
        raise ValueError("hinge and handle keypoints coincide; give the handle of the door, not its hinge")
    normal = fit_plane_ransac(pts).coefficients[:3]
    axes, _ = principal_axes(pts)
    in_plane = [a - (a @ normal) * normal for a in axes[:2]]  # the third principal axis is the door's normal
    in_plane = [a / np.linalg.norm(a) for a in in_plane if np.linalg.norm(a) > 1e-6]
    u = to_handle / np.linalg.norm(to_handle)
    direction = min(in_plane, key=lambda a: abs(float(a @ u)))
    if abs(direction[2]) > 0.5 and direction[2] < 0:
        direction = -direction
    radius = float(np.linalg.norm(to_handle - (to_handle @ direction) * direction))
    return hinge, direction, radius


@dataclass
class ObjectShape:
    """Everything GetObjectGeometry returns about one object cloud."""

    centroid: np.ndarray
    box: OrientedBox
    axes: np.ndarray
    top_height: float
    bottom_height: float
    plane: Plane
    num_points: int


def describe_object(points: np.ndarray, surrounding_points: np.ndarray | None = None) -> ObjectShape:
    """Centroid, upright oriented box, principal axes, top/bottom heights and support plane of an object cloud."""
    pts = _as_points(points)
    axes, _ = principal_axes(pts)
    return ObjectShape(
        centroid=pts.mean(axis=0),
        box=oriented_bounding_box(pts),
        axes=axes,
        top_height=top_height(pts, 95.0),
        bottom_height=float(np.percentile(pts[:, 2], 5.0)),
        plane=support_plane(pts, surrounding_points),
        num_points=len(pts),
    )


@dataclass
class VoxelGrid:
    """Boolean occupancy grid: cell (i, j, k) covers ``origin + [i, j, k] * voxel_size`` plus one voxel."""

    origin: np.ndarray
    voxel_size: float
    occupancy: np.ndarray

    def centers(self) -> np.ndarray:
        """Centres of the occupied cells, (M, 3)."""
        idx = np.argwhere(self.occupancy)
        return self.origin + (idx + 0.5) * self.voxel_size

    def occupied(self, points: np.ndarray) -> np.ndarray:
        """Boolean mask: which points fall into occupied cells (points outside the grid are free)."""
        idx = np.floor((np.asarray(points, dtype=float).reshape(-1, 3) - self.origin) / self.voxel_size).astype(int)
        inside = ((idx >= 0) & (idx < np.array(self.occupancy.shape))).all(axis=1)
        out = np.zeros(len(idx), dtype=bool)
        out[inside] = self.occupancy[tuple(idx[inside].T)]
        return out


def voxel_grid(points: np.ndarray, voxel_size: float, bounds: tuple[np.ndarray, np.ndarray] | None = None) -> VoxelGrid:
    """Occupancy grid of the points (cells with at least one point), optionally cropped to (lo, hi) bounds."""
    if voxel_size <= 0:
        raise ValueError(f"voxel_size must be positive, got {voxel_size}")
    pts = np.asarray(points, dtype=float).reshape(-1, 3)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if bounds is not None:
        lo, hi = (np.asarray(b, dtype=float) for b in bounds)
        pts = pts[((pts >= lo) & (pts <= hi)).all(axis=1)]
    else:
        lo = pts.min(axis=0) if len(pts) else np.zeros(3)
        hi = pts.max(axis=0) if len(pts) else np.zeros(3)
    shape = np.maximum(np.ceil((hi - lo) / voxel_size).astype(int), 1)
    occ = np.zeros(shape, dtype=bool)
    if len(pts):
        idx = np.minimum(np.floor((pts - lo) / voxel_size).astype(int), shape - 1)
        occ[tuple(idx.T)] = True
    return VoxelGrid(origin=lo, voxel_size=float(voxel_size), occupancy=occ)


def scene_collision_cloud(
    points: np.ndarray,
    voxel_size: float = 0.01,
    exclude: list[OrientedBox] | None = None,
    exclude_margin: float = 0.01,
) -> np.ndarray:
    """Downsampled scene cloud for collision checking, without the points of ``exclude`` boxes (e.g. the target)."""
    from maestro_perception.cloud import voxel_downsample

    pts = voxel_downsample(np.asarray(points, dtype=float).reshape(-1, 3), voxel_size)
    for box in exclude or []:
        pts = pts[~box.contains(pts, exclude_margin)]
    return pts
