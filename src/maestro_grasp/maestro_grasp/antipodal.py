"""Antipodal contact-pair sampling on an object point cloud.

A parallel-jaw grasp is force-closure (for point contacts with Coulomb friction coefficient ``mu``) when the line
between the two contacts lies inside both friction cones, i.e. the angle between the closing axis and each surface
normal is at most ``atan(mu)``. Normals are estimated with open3d (PCA over a hybrid radius/k neighbourhood); their
sign is ambiguous on partial single-view clouds, so the test uses ``|n . a|`` (contacts on the two sides of a thin wall,
such as a mug rim, pass). Pairs are tested for many anchors against all points at once (vectorised numpy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import open3d as o3d


@dataclass(frozen=True)
class AntipodalParams:
    """Sampling parameters (metres, radians)."""

    friction_coef: float = 0.5  # friction cone half angle = atan(mu) ~ 26.6 deg (rubber pads)
    num_anchors: int = 256  # first contacts drawn from the cloud
    max_pairs: int = 1500  # antipodal pairs kept (sampled by quality)
    pairs_per_anchor: int = 8  # at most this many pairs share a first contact
    min_width: float = 0.004  # ignore pairs closer than this (same surface patch)
    normal_radius: float = 0.012  # neighbourhood for normal estimation
    normal_max_nn: int = 30
    chunk: int = 64  # anchors per vectorised block (memory bound: chunk * N * 3 floats)


@dataclass
class ContactPairs:
    """Antipodal contact pairs; every array has ``K`` rows."""

    p1: np.ndarray  # (K, 3) first contact
    p2: np.ndarray  # (K, 3) second contact
    n1: np.ndarray  # (K, 3) unit normal at p1 (sign arbitrary)
    n2: np.ndarray  # (K, 3) unit normal at p2
    axis: np.ndarray  # (K, 3) unit closing axis p1 -> p2
    width: np.ndarray  # (K,) |p2 - p1|
    quality: np.ndarray  # (K,) antipodality in [0, 1] (1 = both normals along the axis)
    too_wide: int = 0  # antipodal pairs that were rejected only because they exceed max_width

    def __len__(self) -> int:
        """Number of pairs."""
        return int(self.width.shape[0])

    @property
    def centres(self) -> np.ndarray:
        """``(K, 3)`` midpoints between the contacts."""
        return (self.p1 + self.p2) / 2.0


def estimate_normals(
    points: np.ndarray,
    radius: float = 0.012,
    max_nn: int = 30,
    viewpoint: np.ndarray | None = None,
) -> np.ndarray:
    """Unit surface normals for ``points`` ``(N, 3)`` with open3d.

    Normals are oriented towards ``viewpoint`` when given (e.g. the camera position), else away from the centroid.
    Points without enough neighbours get an arbitrary unit normal from open3d's fallback.
    """
    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.asarray(points, dtype=np.float64)))
    pcd.estimate_normals(o3d.geometry.KDTreeSearchParamHybrid(radius=radius, max_nn=max_nn))
    normals = np.asarray(pcd.normals, dtype=np.float64)
    if viewpoint is not None:
        ref = np.asarray(viewpoint, dtype=np.float64)[None, :] - points
    else:
        ref = points - points.mean(axis=0, keepdims=True)
    flip = np.einsum("ij,ij->i", normals, ref) < 0.0
    normals[flip] *= -1.0
    norms = np.linalg.norm(normals, axis=1, keepdims=True)
    return normals / np.maximum(norms, 1e-12)


def sample_antipodal_pairs(
    points: np.ndarray,
    normals: np.ndarray,
    max_width: float,
    params: AntipodalParams | None = None,
    rng: np.random.Generator | None = None,
    anchor_mask: np.ndarray | None = None,
) -> ContactPairs:
    """Sample antipodal contact pairs whose distance is within ``[min_width, max_width]``.

    Args:
        points: ``(N, 3)`` object points.
        normals: ``(N, 3)`` unit normals.
        max_width: largest allowed contact distance (the gripper stroke), metres.
        params: sampling parameters.
        rng: random generator (seed it for repeatable results).
        anchor_mask: optional ``(N,)`` bool; anchors (first contacts) are drawn only where True (e.g. near a part).

    Returns:
        The kept pairs (possibly empty); ``too_wide`` counts antipodal pairs beyond ``max_width``.
    """
    params = params or AntipodalParams()
    rng = rng or np.random.default_rng(0)
    points = np.asarray(points, dtype=np.float64)
    normals = np.asarray(normals, dtype=np.float64)
    n = points.shape[0]
    candidates = np.arange(n) if anchor_mask is None else np.flatnonzero(anchor_mask)
    if n < 2 or candidates.size == 0:
        return _empty_pairs()
    anchors = rng.choice(candidates, size=min(params.num_anchors, candidates.size), replace=False)
    cos_cone = float(np.cos(np.arctan(params.friction_coef)))

    idx1_parts, idx2_parts, qual_parts = [], [], []
    too_wide = 0
    for start in range(0, anchors.size, params.chunk):
        a = anchors[start : start + params.chunk]
        d = points[None, :, :] - points[a][:, None, :]  # (C, N, 3)
        dist = np.linalg.norm(d, axis=2)  # (C, N)
        with np.errstate(invalid="ignore", divide="ignore"):
            unit = d / dist[..., None]
        c1 = np.abs(np.einsum("cnk,ck->cn", unit, normals[a]))
        c2 = np.abs(np.einsum("cnk,nk->cn", unit, normals))
        antipodal = (c1 >= cos_cone) & (c2 >= cos_cone) & (dist >= params.min_width)
        ok = antipodal & (dist <= max_width)
        too_wide += int(np.count_nonzero(antipodal & (dist > max_width)))
        ci, ni = np.nonzero(ok)
        idx1_parts.append(a[ci])
        idx2_parts.append(ni)
        # Antipodality: 1 when both normals lie on the axis, 0 at the cone boundary.
        q = (np.minimum(c1[ci, ni], c2[ci, ni]) - cos_cone) / max(1.0 - cos_cone, 1e-9)
        qual_parts.append(np.clip(q, 0.0, 1.0))

    i1 = np.concatenate(idx1_parts)
    i2 = np.concatenate(idx2_parts)
    quality = np.concatenate(qual_parts)
    if i1.size == 0:
        pairs = _empty_pairs()
        pairs.too_wide = too_wide
        return pairs
    # A pair (i, j) and (j, i) are the same grasp up to the sign of the closing axis: keep i < j or unique anchors.
    key = np.minimum(i1, i2) * n + np.maximum(i1, i2)
    _, first = np.unique(key, return_index=True)
    i1, i2, quality = i1[first], i2[first], quality[first]
    # Diversity: at most pairs_per_anchor pairs per first contact (a random pick, biased to better pairs), so
    # that anchors with many partners (the inside of a cup) do not crowd out thin parts (its rim).
    noisy = quality + rng.uniform(0.0, 1.0, size=quality.size)
    order = np.lexsort((-noisy, i1))
    sorted_anchor = i1[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_anchor)) + 1]
    rank = np.arange(order.size) - np.repeat(starts, np.diff(np.r_[starts, order.size]))
    keep = order[rank < params.pairs_per_anchor]
    i1, i2, quality = i1[keep], i2[keep], quality[keep]
    if i1.size > params.max_pairs:
        weights = quality + 0.05
        keep = rng.choice(i1.size, size=params.max_pairs, replace=False, p=weights / weights.sum())
        i1, i2, quality = i1[keep], i2[keep], quality[keep]
    p1, p2 = points[i1], points[i2]
    diff = p2 - p1
    width = np.linalg.norm(diff, axis=1)
    return ContactPairs(
        p1=p1,
        p2=p2,
        n1=normals[i1],
        n2=normals[i2],
        axis=diff / width[:, None],
        width=width,
        quality=quality,
        too_wide=too_wide,
    )


def _empty_pairs() -> ContactPairs:
    z3 = np.zeros((0, 3))
    return ContactPairs(p1=z3, p2=z3, n1=z3, n2=z3, axis=z3, width=np.zeros(0), quality=np.zeros(0))
