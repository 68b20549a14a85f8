"""Plain result types shared by the backends, the annotator and the service layer (no ROS inside)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Keypoint2D:
    """A named image point, optionally with its 3-D position (robot base frame) once depth is known."""

    name: str
    u: float
    v: float
    score: float = 1.0
    position: np.ndarray | None = None


@dataclass
class Detection2D:
    """One object instance found in an image by a backend."""

    label: str
    score: float
    box: tuple[int, int, int, int]  # x_min, y_min, x_max, y_max (exclusive max), pixels
    mask: np.ndarray | None = None  # bool (H, W) at image size
    instance_id: int = -1
    keypoints: list[Keypoint2D] = field(default_factory=list)
    center_3d: np.ndarray | None = None

    @staticmethod
    def box_from_mask(mask: np.ndarray) -> tuple[int, int, int, int]:
        """Tight pixel box of a boolean mask (0-size box when empty)."""
        rows = np.flatnonzero(mask.any(axis=1))
        cols = np.flatnonzero(mask.any(axis=0))
        if rows.size == 0:
            return (0, 0, 0, 0)
        return (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)


def label_matches(label: str, queries: list[str]) -> bool:
    """True when ``label`` matches one of ``queries`` (case/underscore/space-insensitive, substring either way).

    ``"tennis ball"`` matches ``tennis_ball``; ``"ball"`` matches ``tennis_ball``; an empty query list matches all.
    """
    if not queries:
        return True
    norm = label.lower().replace("_", " ").strip()
    for q in queries:
        qn = q.lower().replace("_", " ").strip()
        if qn and (qn in norm or norm in qn):
            return True
    return False
