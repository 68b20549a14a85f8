"""Tests of the ONNX YOLO decoder: exact decoding of crafted head outputs, and a tiny real export."""
from pathlib import Path

import numpy as np
import pytest

from maestro_perception.yolo_model import OnnxYolo, letterbox, load_yolo, nms

TINY = Path(__file__).with_name("data") / "tiny_yolo11_seg.onnx"  # untrained, built from tiny_yolo11_seg.yaml


def test_nms_and_letterbox():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 9]], float)
    scores = np.array([0.9, 0.8, 0.7, 0.95])
    assert nms(boxes, scores, 0.5).tolist() == [3, 2]
    img, r, (px, py) = letterbox(np.zeros((120, 160, 3), np.uint8), (160, 160))
    assert img.shape == (160, 160, 3) and r == 1.0 and (px, py) == (0, 20)
    assert img[0, 0, 0] == 114 and img[80, 80, 0] == 0


def test_decoding_of_crafted_outputs_maps_back_to_the_image():
    model = OnnxYolo(TINY)
    nc, nm, n = 3, 32, 525
    pred = np.zeros((4 + nc + nm, n), np.float32)
    # one confident 'bowl' box centred at (80, 80) of the 160x160 letterboxed input, 40 x 20 px, and a duplicate
    for j, s in ((7, 0.9), (8, 0.6)):
        pred[:4, j] = [80, 80, 40, 20]
        pred[4 + 1, j] = s
    pred[4 + 0, 9] = 0.1  # below conf
    # mask coefficient 0 selects a prototype that is positive on the left half of the proto map
    pred[4 + nc + 0, 7] = 10.0
    protos = np.full((nm, 40, 40), -1.0, np.float32)
    protos[0, :, :20] = 1.0

    class Session:
        def run(self, _names, _feeds):
            return [pred[None], protos[None]]

    model.session = Session()
    rgb = np.zeros((120, 160, 3), np.uint8)  # letterboxed with 20 px padding on top and bottom
    dets = model.predict(rgb, conf=0.25)
    assert len(dets) == 1
    d = dets[0]
    assert d.label == "bowl" and abs(d.score - 0.9) < 1e-6
    assert d.box == (60, 50, 100, 70)  # y shifted back by the 20 px padding
    assert d.mask.shape == (120, 160)
    assert d.mask[60, 65] and not d.mask[60, 95] and not d.mask[10, 10]  # left half of the box only


def test_tiny_export_runs_end_to_end():
    model = load_yolo(TINY)
    assert model.names == {0: "tennis_ball", 1: "bowl", 2: "cube"} and model.imgsz == (160, 160)
    rgb = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    dets = model.predict(rgb, conf=0.0)
    assert 0 < len(dets) <= 100
    assert all(d.mask is not None and d.mask.shape == (240, 320) for d in dets)
    assert all(0 <= d.box[0] < d.box[2] <= 320 and 0 <= d.box[1] < d.box[3] <= 240 for d in dets)


def test_missing_weights_message():
    with pytest.raises(FileNotFoundError, match="weights"):
        load_yolo("/nonexistent/model.onnx")


def test_requested_labels_restrict_the_classification():
    model = OnnxYolo(TINY)
    nc, nm, n = 3, 32, 525
    pred = np.zeros((4 + nc + nm, n), np.float32)
    pred[:4, 7] = [80, 80, 30, 30]
    pred[4 + 0, 7], pred[4 + 2, 7] = 0.5, 0.3  # a box scored 0.5 tennis_ball, 0.3 cube

    class Session:
        def run(self, _names, _feeds):
            return [pred[None], np.zeros((1, nm, 40, 40), np.float32)]

    model.session = Session()
    rgb = np.zeros((160, 160, 3), np.uint8)
    assert [(d.label, round(d.score, 3)) for d in model.predict(rgb, 0.25)] == [("tennis_ball", 0.5)]
    assert [(d.label, round(d.score, 3)) for d in model.predict(rgb, 0.25, ["cube"])] == [("cube", 0.3)]
    assert model.predict(rgb, 0.4, ["cube"]) == []
    assert model.class_filter(["ball", "bowl"]).tolist() == [0, 1]
    assert model.class_filter(["unicorn"]) is None  # unknown labels: all classes, the caller filters
    assert [d.label for d in model.predict(rgb, 0.25, ["unicorn"])] == ["tennis_ball"]
