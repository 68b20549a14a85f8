"""YOLO detection / instance segmentation models: ONNX Runtime (default) or ultralytics (``.pt`` weights).

``OnnxYolo`` runs ultralytics ONNX exports (``yolo export format=onnx``) with onnxruntime and numpy only: letterbox,
inference, confidence filter, class-wise NMS, and prototype masks (sigmoid(coeffs @ protos), cropped to the box,
resized to the image). It needs neither torch nor torchvision, so it runs beside the CPU torch build of this project.
``UltralyticsYolo`` wraps ``ultralytics.YOLO`` for ``.pt`` weights (YOLO, YOLO-World, YOLOE: open-vocabulary models
get ``set_classes(labels)``); it needs a working ultralytics + torchvision install. No ROS inside.
"""
from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

from maestro_perception.results import Detection2D, label_matches

__all__ = ["OnnxYolo", "UltralyticsYolo", "YoloModel", "letterbox", "load_yolo", "nms"]


class YoloModel(Protocol):
    """What the yolo backend needs from a model."""

    names: dict[int, str]

    def predict(self, rgb: np.ndarray, conf: float, labels: list[str] | None = None) -> list[Detection2D]:
        """Detections (with masks for segmentation models) in an (H, W, 3) rgb8 image."""
        ...


def letterbox(rgb: np.ndarray, size: tuple[int, int], pad_value: int = 114) -> tuple[np.ndarray, float, tuple[int, int]]:
    """Resize keeping the aspect ratio and pad to ``size`` (h, w); returns image, scale and (pad_x, pad_y)."""
    h, w = rgb.shape[:2]
    th, tw = size
    r = min(th / h, tw / w)
    nw, nh = int(round(w * r)), int(round(h * r))
    resized = np.asarray(Image.fromarray(rgb).resize((nw, nh), Image.BILINEAR)) if (nw, nh) != (w, h) else rgb
    out = np.full((th, tw, 3), pad_value, dtype=np.uint8)
    px, py = (tw - nw) // 2, (th - nh) // 2
    out[py: py + nh, px: px + nw] = resized
    return out, r, (px, py)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression of (N, 4) xyxy boxes; returns kept indices, best first."""
    order = np.argsort(-scores)
    keep = []
    area = np.maximum(0, boxes[:, 2] - boxes[:, 0]) * np.maximum(0, boxes[:, 3] - boxes[:, 1])
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        xx1 = np.maximum(boxes[i, 0], boxes[rest, 0])
        yy1 = np.maximum(boxes[i, 1], boxes[rest, 1])
        xx2 = np.minimum(boxes[i, 2], boxes[rest, 2])
        yy2 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.maximum(0, xx2 - xx1) * np.maximum(0, yy2 - yy1)
        iou = inter / np.maximum(area[i] + area[rest] - inter, 1e-9)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))


class OnnxYolo:
    """An ultralytics YOLO ONNX export run with onnxruntime (detect or segment, end-to-end or raw heads)."""

    def __init__(self, path: str | Path, iou: float = 0.5, max_det: int = 100, threads: int = 2,
                 providers: list[str] | None = None) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        avail = ort.get_available_providers()
        providers = [p for p in (providers or ["CUDAExecutionProvider", "CPUExecutionProvider"]) if p in avail]
        self.session = ort.InferenceSession(str(path), sess_options=opts, providers=providers)
        meta = self.session.get_modelmeta().custom_metadata_map
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        shape = inp.shape
        imgsz = ast.literal_eval(meta["imgsz"]) if "imgsz" in meta else [640, 640]
        h = shape[2] if isinstance(shape[2], int) else imgsz[0]
        w = shape[3] if isinstance(shape[3], int) else imgsz[-1]
        self.imgsz = (int(h), int(w))
        names = ast.literal_eval(meta["names"]) if "names" in meta else {}
        self.names: dict[int, str] = {int(k): str(v) for k, v in names.items()}
        self.end2end = meta.get("end2end", "False") == "True"
        self.task = meta.get("task", "segment" if len(self.session.get_outputs()) > 1 else "detect")
        self.iou, self.max_det = iou, max_det

    def class_filter(self, labels: list[str] | None) -> np.ndarray | None:
        """Class ids whose names match ``labels`` (as DetectObjects matches them); None = no labels or none match."""
        if not labels:
            return None
        ids = [c for c, n in self.names.items() if label_matches(n, labels)]
        return np.asarray(sorted(ids), dtype=np.int64) if ids else None

    def predict(self, rgb: np.ndarray, conf: float = 0.25, labels: list[str] | None = None) -> list[Detection2D]:
        """Detections in an rgb8 image, best first.

        With ``labels`` that name classes of the model, each candidate box is classified among those classes only
        (a cube that the model scores 0.25 "tennis_ball" and 0.16 "cube" is a 0.16 cube when the request asks for
        cubes), as an open-vocabulary model would do with the prompt; the caller still filters by label.
        """
        h0, w0 = rgb.shape[:2]
        img, r, (px, py) = letterbox(np.ascontiguousarray(rgb[..., :3], dtype=np.uint8), self.imgsz)
        x = (img.transpose(2, 0, 1)[None].astype(np.float32) / 255.0)
        outs = self.session.run(None, {self.input_name: x})
        pred = outs[0][0]
        protos = outs[1][0] if len(outs) > 1 and outs[1].ndim == 4 else None
        nm = protos.shape[0] if protos is not None else 0
        if self.end2end:  # (max_det, 6 + nm): x1, y1, x2, y2, score, class, coeffs
            boxes, scores, cls, coeffs = pred[:, :4], pred[:, 4], pred[:, 5].astype(int), pred[:, 6:6 + nm]
            keep = np.flatnonzero(scores >= conf)
        else:  # (4 + nc + nm, N): cx, cy, w, h, class scores, coeffs
            p = pred.T
            nc = p.shape[1] - 4 - nm
            cls_scores = p[:, 4: 4 + nc]
            allowed = self.class_filter(labels)
            if allowed is not None:
                masked = np.full_like(cls_scores, -np.inf)
                masked[:, allowed[allowed < nc]] = cls_scores[:, allowed[allowed < nc]]
                cls_scores = masked
            cls = cls_scores.argmax(1)
            scores = cls_scores[np.arange(len(p)), cls]
            cand = np.flatnonzero(scores >= conf)
            xywh = p[cand, :4]
            boxes = np.zeros((len(p), 4), np.float32)
            boxes[cand] = np.c_[xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, :2] + xywh[:, 2:] / 2]
            coeffs = p[:, 4 + nc:]
            offset = boxes[cand] + (cls[cand] * 4096.0)[:, None]  # class-wise NMS by offsetting the classes
            keep = cand[nms(offset, scores[cand], self.iou)]
        keep = keep[np.argsort(-scores[keep])][: self.max_det]
        dets = []
        for i in keep:
            b = boxes[i].copy()
            b[[0, 2]] = (b[[0, 2]] - px) / r
            b[[1, 3]] = (b[[1, 3]] - py) / r
            x0, y0 = int(np.clip(np.floor(b[0]), 0, w0)), int(np.clip(np.floor(b[1]), 0, h0))
            x1, y1 = int(np.clip(np.ceil(b[2]), 0, w0)), int(np.clip(np.ceil(b[3]), 0, h0))
            if x1 <= x0 or y1 <= y0:
                continue
            mask = None
            if protos is not None:
                mask = self._mask(coeffs[i], protos, boxes[i], (px, py, r), (h0, w0))
                mask[:y0], mask[y1:], mask[:, :x0], mask[:, x1:] = False, False, False, False
            cid = int(cls[i])
            dets.append(Detection2D(self.names.get(cid, str(cid)), float(scores[i]), (x0, y0, x1, y1), mask))
        return dets

    def _mask(self, coeff: np.ndarray, protos: np.ndarray, box_in: np.ndarray, lb: tuple[int, int, float],
              size: tuple[int, int]) -> np.ndarray:
        nm, mh, mw = protos.shape
        m = _sigmoid(coeff @ protos.reshape(nm, -1)).reshape(mh, mw).astype(np.float32)
        ih, iw = self.imgsz
        # proto map -> letterboxed input -> crop the padding -> original image size
        up = np.asarray(Image.fromarray(m, mode="F").resize((iw, ih), Image.BILINEAR))
        px, py, r = lb
        h0, w0 = size
        crop = up[py: py + int(round(h0 * r)), px: px + int(round(w0 * r))]
        full = np.asarray(Image.fromarray(np.ascontiguousarray(crop), mode="F").resize((w0, h0), Image.BILINEAR))
        return full > 0.5


class UltralyticsYolo:
    """``ultralytics.YOLO`` weights (``.pt``; YOLO-World / YOLOE accept open-vocabulary ``labels``)."""

    def __init__(self, path: str | Path, device: str = "cpu", imgsz: int = 640, iou: float = 0.5) -> None:
        os.environ.setdefault("YOLO_OFFLINE", "1")
        os.environ.setdefault("YOLO_AUTOINSTALL", "0")
        from ultralytics import YOLO

        self.model = YOLO(str(path))
        self.device, self.imgsz, self.iou = device, imgsz, iou
        self.names = {int(k): str(v) for k, v in self.model.names.items()}
        self.open_vocabulary = hasattr(self.model.model, "set_classes") or "world" in str(path).lower()
        self._classes: tuple[str, ...] | None = None

    def predict(self, rgb: np.ndarray, conf: float = 0.25, labels: list[str] | None = None) -> list[Detection2D]:
        """Detections in an rgb8 image (open-vocabulary models look for exactly ``labels`` when given)."""
        if self.open_vocabulary and labels and tuple(labels) != self._classes:
            self.model.set_classes(list(labels))
            self._classes = tuple(labels)
            self.names = {i: n for i, n in enumerate(labels)}
        res = self.model.predict(np.ascontiguousarray(rgb[..., ::-1]), conf=conf, iou=self.iou, imgsz=self.imgsz,
                                 device=self.device, retina_masks=True, verbose=False)[0]
        boxes = res.boxes.xyxy.cpu().numpy() if res.boxes is not None else np.zeros((0, 4))
        scores = res.boxes.conf.cpu().numpy() if res.boxes is not None else np.zeros(0)
        cls = res.boxes.cls.cpu().numpy().astype(int) if res.boxes is not None else np.zeros(0, int)
        masks = res.masks.data.cpu().numpy() > 0.5 if res.masks is not None else None
        dets = []
        for i in range(len(boxes)):
            x0, y0, x1, y1 = (int(round(v)) for v in boxes[i])
            mask = masks[i] if masks is not None and masks[i].shape == rgb.shape[:2] else None
            dets.append(Detection2D(self.names.get(int(cls[i]), str(cls[i])), float(scores[i]), (x0, y0, x1, y1),
                                    mask))
        return dets


def load_yolo(path: str | Path, device: str = "cpu", imgsz: int = 0, iou: float = 0.5) -> YoloModel:
    """Load ``.onnx`` weights with onnxruntime, anything else (``.pt``) with ultralytics."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise FileNotFoundError(f"YOLO weights '{p}' do not exist; set the 'weights' parameter to a .onnx or .pt "
                                f"file (train one with `python -m maestro_perception.train`)")
    if p.suffix == ".onnx":
        providers = ["CPUExecutionProvider"] if device == "cpu" else None
        return OnnxYolo(p, iou=iou, providers=providers)
    try:
        return UltralyticsYolo(p, device=device, imgsz=imgsz or 640, iou=iou)
    except ImportError as exc:
        raise RuntimeError(f"loading '{p.name}' needs ultralytics with a working torchvision ({exc}); export the "
                           f"model to ONNX (`yolo export model={p.name} format=onnx`) and load the .onnx") from exc
