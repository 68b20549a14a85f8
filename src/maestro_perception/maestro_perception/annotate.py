"""Draw what a perception tool found on the camera image (boxes, masks, points, axes, labels) with numpy + Pillow.

The annotated image is what the agent's VLM looks at to verify a tool call, so labels are large and colours are
distinct per instance. No ROS inside.
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from maestro_perception.cloud import Intrinsics, project_points, transform_points
from maestro_perception.results import Detection2D, Keypoint2D

__all__ = ["Annotator", "annotate_detections", "color_for"]

_PALETTE = np.array([
    (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240),
    (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128), (220, 190, 255), (170, 110, 40), (128, 0, 0),
    (170, 255, 195), (128, 128, 0), (0, 0, 128),
], dtype=np.uint8)


def color_for(key: int | str) -> tuple[int, int, int]:
    """A distinct, stable colour for an instance id or label."""
    idx = key if isinstance(key, int) else sum(ord(c) * 31 ** i for i, c in enumerate(key[:16]))
    return tuple(int(c) for c in _PALETTE[int(idx) % len(_PALETTE)])  # type: ignore[return-value]


@lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.ImageFont:
    try:
        import matplotlib

        path = f"{matplotlib.get_data_path()}/fonts/ttf/DejaVuSans-Bold.ttf"
        return ImageFont.truetype(path, size)
    except Exception:  # any font problem falls back to the built-in font
        return ImageFont.load_default()


class Annotator:
    """Accumulates drawings on a copy of an rgb8 image; ``image()`` returns the result as (H, W, 3) uint8."""

    def __init__(self, rgb: np.ndarray) -> None:
        rgb = np.asarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"annotate needs an (H, W, 3) rgb image, got shape {rgb.shape}")
        self._base = rgb.astype(np.uint8, copy=True)
        self._pil: Image.Image | None = None
        h = rgb.shape[0]
        self.font = _font(max(10, h // 32))
        self.line = max(1, h // 240)

    def _draw(self) -> ImageDraw.ImageDraw:
        if self._pil is None:
            self._pil = Image.fromarray(self._base)
        return ImageDraw.Draw(self._pil)

    def _flush(self) -> None:
        if self._pil is not None:
            self._base = np.asarray(self._pil).copy()
            self._pil = None

    def mask(self, mask: np.ndarray, color: tuple[int, int, int], alpha: float = 0.45) -> Annotator:
        """Blend ``color`` over the pixels of a boolean mask and outline it."""
        self._flush()
        m = np.asarray(mask).astype(bool)
        if m.shape != self._base.shape[:2]:
            raise ValueError(f"mask shape {m.shape} differs from image shape {self._base.shape[:2]}")
        col = np.array(color, dtype=np.float32)
        self._base[m] = (self._base[m] * (1 - alpha) + col * alpha).astype(np.uint8)
        edge = m & ~(np.roll(m, 1, 0) & np.roll(m, -1, 0) & np.roll(m, 1, 1) & np.roll(m, -1, 1))
        self._base[edge] = col.astype(np.uint8)
        return self

    def box(self, box: Sequence[int], color: tuple[int, int, int], label: str = "") -> Annotator:
        """Rectangle (x_min, y_min, x_max, y_max) with an optional label tag above it."""
        x0, y0, x1, y1 = (int(v) for v in box)
        d = self._draw()
        d.rectangle([x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)], outline=color, width=self.line + 1)
        if label:
            self.label((x0, y0), label, color, above=True)
        return self

    def label(self, xy: Sequence[float], text: str, color: tuple[int, int, int], above: bool = False) -> Annotator:
        """Text on a filled tag at ``xy`` (its top-left, or bottom-left with ``above``), kept inside the image."""
        d = self._draw()
        left, t, r, b = d.textbbox((0, 0), text, font=self.font)
        w, h = r - left + 4, b - t + 4
        x = int(np.clip(xy[0], 0, max(0, self._base.shape[1] - w)))
        y = int(xy[1] - h if above else xy[1])
        y = int(np.clip(y, 0, max(0, self._base.shape[0] - h)))
        d.rectangle([x, y, x + w, y + h], fill=color)
        dark = sum(color) > 382
        d.text((x + 2 - left, y + 2 - t), text, fill=(0, 0, 0) if dark else (255, 255, 255), font=self.font)
        return self

    def point(self, u: float, v: float, color: tuple[int, int, int], text: str = "", radius: int | None = None
              ) -> Annotator:
        """A filled circle with a white ring at (u, v), with an optional label beside it."""
        r = radius or max(3, self._base.shape[0] // 80)
        d = self._draw()
        d.ellipse([u - r - 1, v - r - 1, u + r + 1, v + r + 1], fill=(255, 255, 255))
        d.ellipse([u - r, v - r, u + r, v + r], fill=color)
        if text:
            self.label((u + r + 2, v - r), text, color)
        return self

    def line_2d(self, p0: Sequence[float], p1: Sequence[float], color: tuple[int, int, int]) -> Annotator:
        """A line segment between two pixels."""
        self._draw().line([tuple(p0), tuple(p1)], fill=color, width=self.line + 1)
        return self

    def axes(self, origin: np.ndarray, rotation: np.ndarray, length: float, intr: Intrinsics,
             t_cam_from_frame: np.ndarray, names: Sequence[str] = ("x", "y", "z")) -> Annotator:
        """Project a 3-D frame (origin + rotation columns, in the frame of ``t_cam_from_frame``) as RGB axes."""
        ends = np.vstack([origin, origin + np.asarray(rotation).T * length])
        uv, front = project_points(transform_points(t_cam_from_frame, ends), intr)
        if not front.all():
            return self
        for i, col in enumerate([(255, 0, 0), (0, 200, 0), (0, 80, 255)]):
            self.line_2d(uv[0], uv[i + 1], col)
            if names[i]:
                self.label(uv[i + 1], names[i], col)
        return self

    def box_3d(self, corners: np.ndarray, intr: Intrinsics, t_cam_from_frame: np.ndarray,
               color: tuple[int, int, int]) -> Annotator:
        """Project the 8 corners of a 3-D box (order of :meth:`OrientedBox.corners`) and draw its 12 edges."""
        uv, front = project_points(transform_points(t_cam_from_frame, corners), intr)
        if not front.all():
            return self
        for a in range(8):
            for b in range(a + 1, 8):
                if bin(a ^ b).count("1") == 1:
                    self.line_2d(uv[a], uv[b], color)
        return self

    def title(self, text: str) -> Annotator:
        """A caption in the top-left corner (e.g. the tool and the query)."""
        return self.label((0, 0), text, (30, 30, 30))

    def image(self) -> np.ndarray:
        """The annotated image, (H, W, 3) uint8."""
        self._flush()
        return self._base.copy()


def annotate_detections(
    rgb: np.ndarray,
    detections: Sequence[Detection2D],
    points: Sequence[Keypoint2D] = (),
    title: str = "",
) -> np.ndarray:
    """Draw masks, boxes, "label score" tags and keypoints of ``detections`` (and extra ``points``) on ``rgb``."""
    ann = Annotator(rgb)
    for i, det in enumerate(detections):
        if det.mask is not None and det.mask.shape == rgb.shape[:2]:
            ann.mask(det.mask, color_for(det.instance_id if det.instance_id >= 0 else i))
    for i, det in enumerate(detections):
        col = color_for(det.instance_id if det.instance_id >= 0 else i)
        ann.box(det.box, col, f"{det.label} {det.score:.2f}")
        for kp in det.keypoints:
            ann.point(kp.u, kp.v, col, kp.name)
    for j, kp in enumerate(points):
        ann.point(kp.u, kp.v, color_for(j + 7), f"{j + 1}: {kp.name}" if kp.name else str(j + 1))
    if title:
        ann.title(title)
    return ann.image()
