"""Grasp scores (each in [0, 1]) and hard constraints, vectorised over ``G`` grasps.

Scores: antipodality (from the contact normals), approach-direction preference, centring on the object or part,
clearance (how empty the space around the fingers is), and stroke margin. Constraints: approach within an angle of an
axis (top-down = the base frame's -z), and grasp centre within a radius of any part keypoint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Approach direction of a top-down grasp in the base frame (z up): straight down.
TOP_DOWN = np.array([0.0, 0.0, -1.0])


@dataclass(frozen=True)
class ScoreWeights:
    """Relative weights of the score terms (normalised when combined)."""

    antipodality: float = 0.35
    approach: float = 0.25
    centring: float = 0.2
    clearance: float = 0.15
    width_margin: float = 0.05


def unit(v: np.ndarray) -> np.ndarray:
    """Normalise vectors along the last axis (zero vectors stay zero)."""
    v = np.asarray(v, dtype=np.float64)
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.where(n > 1e-12, v / np.maximum(n, 1e-12), 0.0)


def approach_angle(approach: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Angle (radians) between each approach ``(G, 3)`` and the unit ``axis`` ``(3,)``."""
    c = np.clip(unit(approach) @ unit(axis), -1.0, 1.0)
    return np.arccos(c)


def approach_mask(approach: np.ndarray, axis: np.ndarray, max_angle: float) -> np.ndarray:
    """``(G,)`` bool: approach within ``max_angle`` radians of ``axis``."""
    return approach_angle(approach, axis) <= max_angle + 1e-9


def part_mask(centres: np.ndarray, keypoints: np.ndarray, radius: float) -> np.ndarray:
    """``(G,)`` bool: grasp centre within ``radius`` metres of at least one keypoint ``(P, 3)``."""
    keypoints = np.asarray(keypoints, dtype=np.float64).reshape(-1, 3)
    if keypoints.shape[0] == 0:
        return np.ones(centres.shape[0], dtype=bool)
    d = np.linalg.norm(centres[:, None, :] - keypoints[None, :, :], axis=2)
    return d.min(axis=1) <= radius


def approach_score(approach: np.ndarray, preferred: np.ndarray | None) -> np.ndarray:
    """1 along ``preferred``, 0.5 at 90 deg, 0 opposite; constant 0.5 when there is no preference."""
    if preferred is None:
        return np.full(approach.shape[0], 0.5)
    return 0.5 * (1.0 + unit(approach) @ unit(preferred))


def centring_score(centres: np.ndarray, target: np.ndarray, scale: float) -> np.ndarray:
    """1 at ``target``, falling linearly to 0 at ``scale`` metres (e.g. the object's half extent)."""
    d = np.linalg.norm(centres - np.asarray(target, dtype=np.float64)[None, :], axis=1)
    return np.clip(1.0 - d / max(scale, 1e-6), 0.0, 1.0)


def clearance_score(near_counts: np.ndarray, scale: float = 10.0) -> np.ndarray:
    """Score from the number of scene points just outside the fingers/palm (inside boxes grown by a margin)."""
    return np.exp(-np.asarray(near_counts, dtype=np.float64) / scale)


def width_margin_score(widths: np.ndarray, max_width: float) -> np.ndarray:
    """1 for small widths, 0 at the full stroke (grasps at the stroke limit leave no room for error)."""
    return np.clip(1.0 - np.asarray(widths) / max(max_width, 1e-6), 0.0, 1.0)


def combine(terms: dict[str, np.ndarray], weights: ScoreWeights) -> np.ndarray:
    """Weighted mean of the named score terms (names match :class:`ScoreWeights` fields), in [0, 1]."""
    total = np.zeros_like(next(iter(terms.values())), dtype=np.float64)
    wsum = 0.0
    for name, values in terms.items():
        w = float(getattr(weights, name))
        total += w * np.asarray(values, dtype=np.float64)
        wsum += w
    return np.clip(total / max(wsum, 1e-9), 0.0, 1.0)
