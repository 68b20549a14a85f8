"""MP4 per camera (H.264 through imageio-ffmpeg) with a sidecar of frame timestamps for exact time lookup."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def to_rgb8(array: np.ndarray, encoding: str) -> np.ndarray:
    """An (H, W, 3) uint8 RGB view of an image array in ROS ``encoding`` (depth is colour-mapped)."""
    if encoding in ("rgb8", "8UC3"):
        return array
    if encoding == "bgr8":
        return array[..., ::-1]
    if encoding == "rgba8":
        return array[..., :3]
    if encoding == "bgra8":
        return array[..., 2::-1]
    if encoding in ("mono8", "8UC1"):
        return np.repeat(array[..., None], 3, axis=2)
    # depth / ids: normalise the finite positive range to 0..255 and apply a simple turbo-like map
    a = array.astype(np.float32)
    if encoding in ("16UC1", "mono16"):
        a = a / 1000.0
    valid = np.isfinite(a) & (a > 0)
    if not valid.any():
        return np.zeros((*a.shape[:2], 3), dtype=np.uint8)
    lo, hi = float(np.percentile(a[valid], 1)), float(np.percentile(a[valid], 99))
    x = np.clip((a - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    r = np.clip(1.5 - np.abs(4 * x - 3), 0, 1)
    g = np.clip(1.5 - np.abs(4 * x - 2), 0, 1)
    b = np.clip(1.5 - np.abs(4 * x - 1), 0, 1)
    rgb = (np.stack([r, g, b], axis=-1) * 255).astype(np.uint8)
    rgb[~valid] = 0
    return rgb


class CameraVideo:
    """Append RGB frames to ``<path>.mp4``; ``close()`` writes ``<path>.frames.json`` with every frame's stamp."""

    def __init__(self, path: str | Path, fps: float) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fps = float(fps)
        self.stamps: list[float] = []
        self.size: tuple[int, int] | None = None
        self._writer: Any = None
        self.error = ""

    def append(self, rgb: np.ndarray, stamp: float) -> bool:
        """Add one frame taken at ``stamp`` (seconds since the epoch); False if it was skipped (size change, error)."""
        if self.error:
            return False
        h, w = rgb.shape[:2]
        if self.size is None:
            import imageio.v2 as iio

            self.size = (w - w % 2, h - h % 2)
            try:
                self._writer = iio.get_writer(str(self.path), fps=self.fps, codec="libx264", quality=7,
                                              pixelformat="yuv420p", macro_block_size=2,
                                              ffmpeg_log_level="error", output_params=["-movflags", "+faststart"])
            except Exception as exc:
                self.error = f"cannot start ffmpeg for {self.path.name}: {exc}"
                return False
        if (w - w % 2, h - h % 2) != self.size:
            return False
        try:
            self._writer.append_data(np.ascontiguousarray(rgb[: self.size[1], : self.size[0]]))
        except Exception as exc:
            self.error = f"ffmpeg failed on {self.path.name}: {exc}"
            return False
        self.stamps.append(float(stamp))
        return True

    def close(self) -> dict[str, Any]:
        """Finish the MP4 and write the timestamp sidecar; returns its content."""
        if self._writer is not None:
            try:
                self._writer.close()
            except Exception as exc:
                self.error = self.error or f"ffmpeg failed closing {self.path.name}: {exc}"
            self._writer = None
        info = {"file": self.path.name, "fps": self.fps, "frames": len(self.stamps), "stamps": self.stamps,
                "size": list(self.size) if self.size else None, "error": self.error}
        if self.stamps or self.error:
            self.path.with_suffix(".frames.json").write_text(json.dumps(info))
        return info
