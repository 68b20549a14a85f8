"""Synthetic object clouds (sphere, box, mug with handle, table plane) for tests and benchmarks.

Every generator returns ``(points (N, 3), outward normals (N, 3))`` in a z-up frame; :func:`visible_from` keeps the
points a camera at a given position would see on a convex-ish object (outward normal facing the camera).
"""

from __future__ import annotations

import numpy as np


def sphere(
    n: int, radius: float = 0.033, centre: tuple[float, float, float] = (0.0, 0.0, 0.033), rng=None
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points uniformly on a sphere."""
    rng = rng or np.random.default_rng(0)
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return np.asarray(centre) + radius * d, d


def box(
    n: int,
    size: tuple[float, float, float] = (0.05, 0.05, 0.05),
    centre: tuple[float, float, float] = (0.0, 0.0, 0.025),
    rng=None,
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points uniformly on the surface of an axis-aligned box (area-weighted faces)."""
    rng = rng or np.random.default_rng(0)
    half = np.asarray(size, dtype=np.float64) / 2.0
    areas = np.array([size[1] * size[2], size[0] * size[2], size[0] * size[1]])
    axis = rng.choice(3, size=n, p=areas / areas.sum())
    sign = rng.choice([-1.0, 1.0], size=n)
    pts = rng.uniform(-half, half, size=(n, 3))
    pts[np.arange(n), axis] = sign * half[axis]
    normals = np.zeros((n, 3))
    normals[np.arange(n), axis] = sign
    return np.asarray(centre) + pts, normals


def mug(
    n: int,
    radius: float = 0.04,
    height: float = 0.09,
    wall: float = 0.005,
    handle_radius: float = 0.03,
    handle_thickness: float = 0.008,
    base: tuple[float, float, float] = (0.0, 0.0, 0.0),
    rng=None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Open mug standing on ``base``: outer and inner walls, bottom, rim, and a torus-arc handle on +x.

    Returns:
        ``(points, normals, handle_centre)``; ``handle_centre`` is the 3D point in the middle of the handle grip.
    """
    rng = rng or np.random.default_rng(0)
    n_handle = n // 6
    n_body = n - n_handle
    inner = radius - wall
    # Body: outer wall, inner wall, bottom, rim ring (areas roughly proportional).
    areas = np.array([2 * np.pi * radius * height, 2 * np.pi * inner * height, np.pi * radius**2,
                      np.pi * (radius**2 - inner**2)])
    part = rng.choice(4, size=n_body, p=areas / areas.sum())
    th = rng.uniform(0.0, 2.0 * np.pi, size=n_body)
    z = rng.uniform(0.0, height, size=n_body)
    r = np.where(part == 0, radius, inner)
    radial = np.stack([np.cos(th), np.sin(th), np.zeros(n_body)], axis=1)
    pts = np.stack([r * np.cos(th), r * np.sin(th), z], axis=1)
    normals = np.where((part == 0)[:, None], radial, -radial)
    bottom = part == 2
    rb = radius * np.sqrt(rng.uniform(0.0, 1.0, size=bottom.sum()))
    pts[bottom] = np.stack([rb * np.cos(th[bottom]), rb * np.sin(th[bottom]), np.zeros(bottom.sum())], axis=1)
    normals[bottom] = [0.0, 0.0, -1.0]
    rim = part == 3
    rr = rng.uniform(inner, radius, size=rim.sum())
    pts[rim] = np.stack([rr * np.cos(th[rim]), rr * np.sin(th[rim]), np.full(rim.sum(), height)], axis=1)
    normals[rim] = [0.0, 0.0, 1.0]
    # Handle: half torus in the x-z plane, centred on the outer wall at mid height.
    hc = np.array([radius, 0.0, height / 2.0])
    phi = rng.uniform(-np.pi / 2.0, np.pi / 2.0, size=n_handle)  # along the arc
    psi = rng.uniform(0.0, 2.0 * np.pi, size=n_handle)  # around the tube
    ring = np.stack([np.cos(phi), np.zeros(n_handle), np.sin(phi)], axis=1)  # arc direction from hc
    tube_n = np.cos(psi)[:, None] * ring + np.sin(psi)[:, None] * np.array([0.0, 1.0, 0.0])
    hpts = hc + handle_radius * ring + handle_thickness * tube_n
    pts = np.concatenate([pts, hpts]) + np.asarray(base)
    normals = np.concatenate([normals, tube_n])
    handle_centre = hc + np.array([handle_radius, 0.0, 0.0]) + np.asarray(base)
    return pts, normals, handle_centre


def table(
    size: float = 0.6, spacing: float = 0.005, z: float = 0.0, centre: tuple[float, float] = (0.0, 0.0)
) -> np.ndarray:
    """Grid of points on the horizontal plane ``z`` (a table top), ``size`` metres square."""
    ticks = np.arange(-size / 2.0, size / 2.0 + 1e-9, spacing)
    gx, gy = np.meshgrid(ticks + centre[0], ticks + centre[1])
    return np.stack([gx.ravel(), gy.ravel(), np.full(gx.size, z)], axis=1)


def visible_from(points: np.ndarray, normals: np.ndarray, camera: np.ndarray) -> np.ndarray:
    """Bool mask of points whose outward normal faces ``camera`` (single-view cloud of a convex object)."""
    return np.einsum("ij,ij->i", normals, np.asarray(camera)[None, :] - points) > 0.0


def add_noise(points: np.ndarray, sigma: float = 0.001, rng=None) -> np.ndarray:
    """Gaussian noise of ``sigma`` metres on every coordinate."""
    rng = rng or np.random.default_rng(1)
    return points + rng.normal(scale=sigma, size=points.shape)
