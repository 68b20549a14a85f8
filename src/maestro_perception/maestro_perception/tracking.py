"""Keypoint tracking across frames: pyramidal Lucas-Kanade optical flow (numpy/scipy) plus re-detection.

``lucas_kanade`` is the classic Bouguet pyramidal formulation, vectorised over points: at each pyramid level (coarse
to fine) it iterates the 2x2 normal equations on a window around every point, with bilinear sampling by
``scipy.ndimage.map_coordinates``. ``KeypointTracker`` tracks named keypoints, checks them forward-backward, and
re-anchors a keypoint whenever a detector re-finds it. No ROS inside.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

__all__ = ["KeypointTracker", "TrackedPoint", "build_pyramid", "lucas_kanade", "to_gray"]


def to_gray(image: np.ndarray) -> np.ndarray:
    """float32 grey image in [0, 255] from an rgb8 (H, W, 3) or grey (H, W) image."""
    img = np.asarray(image)
    if img.ndim == 3:
        img = img[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return img.astype(np.float32, copy=False)


def build_pyramid(gray: np.ndarray, levels: int) -> list[np.ndarray]:
    """Gaussian pyramid, finest first; each level is blurred (sigma 1) and subsampled by 2."""
    pyr = [gray.astype(np.float32)]
    for _ in range(levels - 1):
        if min(pyr[-1].shape) < 16:
            break
        pyr.append(ndimage.gaussian_filter(pyr[-1], 1.0)[::2, ::2])
    return pyr


def _sample(img: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return ndimage.map_coordinates(img, [y.ravel(), x.ravel()], order=1, mode="nearest").reshape(x.shape)


def lucas_kanade(
    prev: np.ndarray,
    nxt: np.ndarray,
    points: np.ndarray,
    initial: np.ndarray | None = None,
    window: int = 21,
    levels: int = 3,
    iterations: int = 20,
    epsilon: float = 0.01,
    min_eigen: float = 1e-3,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Track (N, 2) pixel points (u, v) from ``prev`` to ``nxt`` (rgb or grey images of one size).

    Returns the tracked points (N, 2), a boolean status (False: textureless window, diverged or left the image) and
    the mean absolute intensity error of each final window.
    """
    p0 = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    n = len(p0)
    if n == 0:
        return np.zeros((0, 2)), np.zeros(0, dtype=bool), np.zeros(0)
    g0, g1 = to_gray(prev), to_gray(nxt)
    if g0.shape != g1.shape:
        raise ValueError(f"frames differ in size: {g0.shape} vs {g1.shape}")
    pyr0, pyr1 = build_pyramid(g0, levels), build_pyramid(g1, levels)
    half = window // 2
    oy, ox = np.mgrid[-half: half + 1, -half: half + 1].astype(np.float64)
    ox, oy = ox.ravel()[None, :], oy.ravel()[None, :]
    top = len(pyr0) - 1
    guess = np.zeros((n, 2)) if initial is None else (np.asarray(initial, float).reshape(-1, 2) - p0) / 2 ** top
    ok = np.ones(n, dtype=bool)
    for lvl in range(top, -1, -1):
        i0, i1 = pyr0[lvl], pyr1[lvl]
        gx = ndimage.sobel(i0, axis=1) / 8.0
        gy = ndimage.sobel(i0, axis=0) / 8.0
        pl = p0 / 2 ** lvl
        xs, ys = pl[:, :1] + ox, pl[:, 1:] + oy
        tmpl = _sample(i0, xs, ys)
        ix, iy = _sample(gx, xs, ys), _sample(gy, xs, ys)
        gxx, gxy, gyy = (ix * ix).sum(1), (ix * iy).sum(1), (iy * iy).sum(1)
        det = gxx * gyy - gxy * gxy
        tr = gxx + gyy
        min_eig = (tr - np.sqrt(np.maximum(tr * tr - 4 * det, 0))) / 2 / ix.shape[1]
        ok &= min_eig > min_eigen
        safe_det = np.where(np.abs(det) > 1e-12, det, 1.0)
        d = np.zeros((n, 2))
        active = ok.copy()
        for _ in range(iterations):
            if not active.any():
                break
            shift = guess + d
            warped = _sample(i1, xs + shift[:, :1], ys + shift[:, 1:])
            diff = tmpl - warped
            bx, by = (diff * ix).sum(1), (diff * iy).sum(1)
            step = np.stack([(gyy * bx - gxy * by) / safe_det, (gxx * by - gxy * bx) / safe_det], axis=1)
            step[~active] = 0.0
            d += step
            active &= np.linalg.norm(step, axis=1) > epsilon
        guess = guess + d
        if lvl > 0:
            guess *= 2.0
    p1 = p0 + guess
    h, w = g0.shape
    ok &= np.isfinite(p1).all(axis=1)
    ok &= (p1[:, 0] >= 0) & (p1[:, 0] <= w - 1) & (p1[:, 1] >= 0) & (p1[:, 1] <= h - 1)
    xs, ys = p0[:, :1] + ox, p0[:, 1:] + oy
    err = np.abs(_sample(g0, xs, ys) - _sample(g1, xs + guess[:, :1], ys + guess[:, 1:])).mean(1)
    return p1, ok, err


@dataclass
class TrackedPoint:
    """State of one named keypoint."""

    name: str
    u: float
    v: float
    ok: bool = True
    age: int = 0  # frames since the last (re-)detection
    history: list[tuple[float, float]] = field(default_factory=list)


class KeypointTracker:
    """Track named keypoints frame to frame with LK; detections re-anchor them.

    ``update(frame, detections)`` first tracks every point from the previous frame (forward-backward check: a point
    whose backward track misses its start by more than ``fb_threshold`` pixels is lost), then replaces the tracked
    position of any keypoint that ``detections`` (name -> (u, v)) re-found.
    """

    def __init__(self, window: int = 21, levels: int = 3, fb_threshold: float = 1.5, max_age: int = 30) -> None:
        self.window, self.levels = window, levels
        self.fb_threshold = fb_threshold
        self.max_age = max_age
        self.points: dict[str, TrackedPoint] = {}
        self._prev: np.ndarray | None = None

    def reset(self, frame: np.ndarray, keypoints: dict[str, tuple[float, float]]) -> None:
        """Start tracking ``keypoints`` (name -> (u, v)) on ``frame``."""
        self._prev = to_gray(frame)
        self.points = {n: TrackedPoint(n, float(u), float(v), history=[(float(u), float(v))])
                       for n, (u, v) in keypoints.items()}

    def update(self, frame: np.ndarray, detections: dict[str, tuple[float, float]] | None = None
               ) -> dict[str, TrackedPoint]:
        """Advance to ``frame``; returns the state of every keypoint."""
        cur = to_gray(frame)
        if self._prev is None:
            self.reset(frame, detections or {})
            return self.points
        live = [p for p in self.points.values() if p.ok]
        if live:
            p0 = np.array([[p.u, p.v] for p in live])
            p1, st, _ = lucas_kanade(self._prev, cur, p0, window=self.window, levels=self.levels)
            back, st_b, _ = lucas_kanade(cur, self._prev, p1, window=self.window, levels=self.levels)
            fb = np.linalg.norm(back - p0, axis=1)
            good = st & st_b & (fb < self.fb_threshold)
            for p, q, g in zip(live, p1, good, strict=True):
                p.age += 1
                if g and p.age <= self.max_age:
                    p.u, p.v = float(q[0]), float(q[1])
                    p.history.append((p.u, p.v))
                else:
                    p.ok = False
        for name, (u, v) in (detections or {}).items():
            p = self.points.setdefault(name, TrackedPoint(name, float(u), float(v)))
            p.u, p.v, p.ok, p.age = float(u), float(v), True, 0
            p.history.append((p.u, p.v))
        self._prev = cur
        return self.points
