"""``yolo`` backend: YOLO detection / instance segmentation on the camera image (CPU or GPU).

Weights: the ``weights`` parameter (``.onnx`` run by onnxruntime; ``.pt`` by ultralytics, incl. YOLO-World/YOLOE);
empty = the model shipped in ``share/maestro_perception/models`` (``maestro_sim_yolo11n_seg.onnx``: yolo11n-seg trained
from scratch on domain-randomised renders of the sim tasks by ``maestro perception train --sim``; classes and numbers in
``maestro_sim_yolo11n_seg.json`` next to it). The model loads in
``on_configure``; a missing or broken file fails the transition with a message saying what to set.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from maestro_common.params import declare
from maestro_perception.backend_node import PerceptionBackend, run_backend
from maestro_perception.camera_cache import Frame
from maestro_perception.results import Detection2D
from maestro_perception.train_pipeline import SHIPPED_MODEL
from maestro_perception.yolo_model import YoloModel, load_yolo

__all__ = ["YoloBackend", "default_weights", "main"]

def default_weights() -> str:
    """Path of the detector shipped with the package ('' when none is installed)."""
    candidates = []
    try:
        from ament_index_python.packages import get_package_share_directory

        candidates.append(Path(get_package_share_directory("maestro_perception")) / "models" / SHIPPED_MODEL)
    except (ImportError, LookupError):
        pass
    candidates.append(Path(__file__).resolve().parents[1] / "models" / SHIPPED_MODEL)
    return next((str(c) for c in candidates if c.is_file()), "")


class YoloBackend(PerceptionBackend):
    """YOLO perception backend."""

    backend_name = "yolo"

    def __init__(self, node_name: str = "perception_yolo", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self.p_weights = declare(self, "weights", "", "YOLO weights (.onnx or .pt); empty = the shipped model")
        self.p_device = declare(self, "device", "cpu", "inference device: cpu, cuda, cuda:0, ...")
        self.p_imgsz = declare(self, "imgsz", 0, "inference size for .pt weights (0 = 640; ONNX uses its own)",
                               min_value=0, max_value=4096)
        self.p_conf = declare(self, "conf", 0.25, "default confidence threshold", min_value=0.0, max_value=1.0)
        self.p_iou = declare(self, "iou", 0.5, "NMS IoU threshold", min_value=0.0, max_value=1.0)
        self.model: YoloModel | None = None
        self._model_lock = threading.Lock()

    def configure_backend(self) -> None:
        """Load the weights."""
        weights = self.p_weights or default_weights()
        if not weights:
            raise FileNotFoundError("no YOLO weights: set the 'weights' parameter (no shipped model is installed)")
        self.model = load_yolo(weights, self.p_device, self.p_imgsz, self.p_iou)
        self.get_logger().info(f"loaded YOLO weights {weights} (classes: {list(self.model.names.values())})")

    def cleanup_backend(self) -> None:
        """Free the model."""
        self.model = None

    def detect(self, frame: Frame, labels: list[str], min_score: float) -> list[Detection2D]:
        """YOLO detections with masks; instance ids are 1-based ranks within this image."""
        assert self.model is not None
        with self._model_lock:  # onnxruntime / torch sessions are not re-entrant for one model object
            dets = self.model.predict(frame.rgb, min_score or self.p_conf, labels or None)
        for i, d in enumerate(sorted(dets, key=lambda d: -d.score)):
            d.instance_id = i + 1
        return dets


def main(args: list[str] | None = None) -> None:
    """Run the yolo backend node."""
    run_backend(YoloBackend, "perception_yolo", args)


if __name__ == "__main__":
    main()
