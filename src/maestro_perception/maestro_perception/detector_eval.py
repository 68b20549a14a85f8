"""Score a detector's output against segmentation ground truth (no ROS, no simulator import).

Ground truth = what the ``sim_gt`` backend reports: every instance with at least ``min_pixels`` pixels in the
segmentation render, its label reduced to the detector's class (:func:`maestro_perception.train.coarse_label`) and the
box of its pixels. A ground-truth object counts as *recalled* when a detection of the same class overlaps its box with
IoU >= ``iou`` (each detection matches at most one object, best scores first, as in COCO-style matching).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from maestro_perception.results import Detection2D
from maestro_perception.train import coarse_label

__all__ = ["GtObject", "MatchResult", "box_iou", "gt_objects", "match"]


@dataclass
class GtObject:
    """One visible ground-truth object: detector class, box (x0, y0, x1, y1; x1/y1 exclusive), pixel count."""

    label: str
    box: tuple[int, int, int, int]
    pixels: int


@dataclass
class MatchResult:
    """Outcome of matching detections to ground truth in one image."""

    found: list[GtObject] = field(default_factory=list)
    missed: list[GtObject] = field(default_factory=list)
    false_positives: list[Detection2D] = field(default_factory=list)

    @property
    def recall(self) -> float:
        """Share of ground-truth objects recalled (1.0 when there are none)."""
        n = len(self.found) + len(self.missed)
        return len(self.found) / n if n else 1.0


def gt_objects(seg: np.ndarray, labels: dict[int, str], min_pixels: int = 30) -> list[GtObject]:
    """Visible objects of a segmentation image (instance ids -> scene labels in ``labels``), largest first."""
    out = []
    for inst, label in labels.items():
        ys, xs = np.nonzero(seg == inst)
        if len(xs) < min_pixels:
            continue
        out.append(GtObject(coarse_label(label), (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1),
                            int(len(xs))))
    return sorted(out, key=lambda g: -g.pixels)


def box_iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match(dets: list[Detection2D], gts: list[GtObject], iou: float = 0.5) -> MatchResult:
    """Greedy matching of detections (best score first) to same-class ground truth by box IoU."""
    res = MatchResult()
    free = list(gts)
    for d in sorted(dets, key=lambda d: -d.score):
        cands = [(box_iou(d.box, g.box), i) for i, g in enumerate(free) if g.label == d.label]
        best = max(cands, default=(0.0, -1))
        if best[0] >= iou:
            res.found.append(free.pop(best[1]))
        else:
            res.false_positives.append(d)
    res.missed = free
    return res
