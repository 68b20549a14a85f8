"""``vlm_pointing`` backend: a vision-language model points at described objects and parts.

PointTo asks the model directly. DetectObjects / Segment / GetObjectCloud point at each label and grow a region on
the depth image from the point (pixels connected to it without a depth edge, inside ``region_radius`` px), which gives
an approximate mask for clouds and geometry. With no model configured every service answers UNAVAILABLE with a
message saying which parameters to set.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

from maestro_common.params import declare
from maestro_perception.backend_node import PerceptionBackend, run_backend
from maestro_perception.camera_cache import Frame
from maestro_perception.errors import NotUnderstood, Unavailable
from maestro_perception.pointing import PointingError, PointingModel, make_pointing_model
from maestro_perception.results import Detection2D, Keypoint2D

__all__ = ["VlmPointingBackend", "main", "region_from_point"]


def region_from_point(depth: np.ndarray | None, u: float, v: float, radius: int = 60, edge: float = 0.01
                      ) -> np.ndarray:
    """Mask of the surface around pixel (u, v): connected pixels without a depth jump above ``edge`` metres.

    Without depth (or with no valid depth at the seed), a disc of radius ``radius // 6`` around the point.
    """
    h, w = (depth.shape if depth is not None else (0, 0))
    ui, vi = int(round(u)), int(round(v))
    if depth is None or not (0 <= ui < w and 0 <= vi < h) or not np.isfinite(depth[vi, ui]):
        shape = depth.shape if depth is not None else (max(vi + 1, 1), max(ui + 1, 1))
        yy, xx = np.ogrid[: shape[0], : shape[1]]
        return (xx - ui) ** 2 + (yy - vi) ** 2 <= (radius // 6) ** 2
    d = np.where(np.isfinite(depth), depth, np.inf)
    smooth = (np.abs(np.diff(d, axis=0, append=d[-1:])) < edge) & (np.abs(np.diff(d, axis=1, append=d[:, -1:])) < edge)
    yy, xx = np.ogrid[:h, :w]
    window = (xx - ui) ** 2 + (yy - vi) ** 2 <= radius ** 2
    labels, _ = ndimage.label(smooth & window & np.isfinite(depth))
    lab = labels[vi, ui]
    if lab == 0:
        return window & ((xx - ui) ** 2 + (yy - vi) ** 2 <= (radius // 6) ** 2)
    return ndimage.binary_dilation(labels == lab)


class VlmPointingBackend(PerceptionBackend):
    """Pointing with a vision-language model."""

    backend_name = "vlm_pointing"

    def __init__(self, node_name: str = "perception_vlm_pointing", model: PointingModel | None = None,
                 **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self.p_provider = declare(self, "provider", "", "pointing model API: gemini, openai or empty (none)")
        self.p_model = declare(self, "model", "", "model id, e.g. gemini-robotics-er-1.5-preview or a vLLM model")
        self.p_base_url = declare(self, "base_url", "", "API base URL (required for openai; optional for gemini)")
        self.p_api_key_env = declare(self, "api_key_env", "", "environment variable holding the API key")
        self.p_timeout = declare(self, "timeout", 30.0, "seconds per model request", min_value=1.0, max_value=300.0)
        self.p_region_radius = declare(self, "region_radius", 60, "max radius in px of a region grown from a point",
                                       min_value=2, max_value=2000)
        self._injected = model
        self.model: PointingModel | None = None
        self._why_unavailable = ""

    def configure_backend(self) -> None:
        """Build the model client (no network traffic yet); an unconfigured model is not an error here."""
        if self._injected is not None:
            self.model = self._injected
            return
        self.model, self._why_unavailable = make_pointing_model(
            self.p_provider, self.p_model, self.p_base_url, self.p_api_key_env, self.p_timeout)
        if self.model is None:
            self.get_logger().warning(f"vlm_pointing will answer UNAVAILABLE: {self._why_unavailable}")

    def cleanup_backend(self) -> None:
        """Drop the client."""
        self.model = None

    def _ask(self, frame: Frame, query: str, max_points: int) -> list[tuple[float, float, float]]:
        if self.model is None:
            raise Unavailable(f"vlm_pointing has no model: {self._why_unavailable}")
        try:
            return self.model.point(frame.rgb, query, max_points)
        except PointingError as exc:
            raise Unavailable(f"the pointing model failed: {exc}; check the model server and the API key") from exc

    def point(self, frame: Frame, query: str, max_points: int) -> list[Keypoint2D]:
        """Points from the model, best first."""
        pts = self._ask(frame, query, max_points)
        if not pts:
            raise NotUnderstood(f"the model found no '{query}' in camera '{frame.camera}'; describe it differently "
                                f"or look from another camera")
        return [Keypoint2D(query, u, v, s) for u, v, s in pts[:max_points]]

    def detect(self, frame: Frame, labels: list[str], min_score: float) -> list[Detection2D]:
        """One pointed instance per label (the model cannot enumerate 'everything': labels are required)."""
        if not labels:
            raise NotUnderstood("vlm_pointing needs labels to look for (it cannot list every object); pass labels")
        dets = []
        for label in labels:
            for u, v, s in self._ask(frame, label, 1):
                mask = region_from_point(frame.depth, u, v, self.p_region_radius)
                if mask.shape != frame.rgb.shape[:2]:
                    mask = np.zeros(frame.rgb.shape[:2], bool)
                    mask[int(v), int(u)] = True
                det = Detection2D(label, s, Detection2D.box_from_mask(mask), mask, len(dets) + 1,
                                  [Keypoint2D(label, u, v, s)])
                dets.append(det)
        return dets


def main(args: list[str] | None = None) -> None:
    """Run the vlm_pointing backend node."""
    run_backend(VlmPointingBackend, "perception_vlm_pointing", args)


if __name__ == "__main__":
    main()
