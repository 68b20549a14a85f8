"""``maestro perception train --sim`` end to end with tiny settings: render (in-process, or a simulator subprocess) -> dataset
yaml -> fit in the training venv -> best.onnx -> the yolo backend loads it and answers DetectObjects.

ultralytics lives only in the training venv (``.venv-train``, ``scripts/setup_training.sh``): without it the test
skips and says so. Several minutes on a loaded CPU, so ``slow``.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from perception_fakes import activate, call
from rclpy.parameter import Parameter

from maestro_common.ros_testing import unique_name
from maestro_interfaces.srv import DetectObjects
from maestro_perception.train_pipeline import training_python

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # minutes of rendering + training on a loaded CPU


def _training_venv_or_skip() -> Path:
    py = training_python()
    if not py.exists():
        pytest.skip(f"no training venv at {py}: run scripts/setup_training.sh (ultralytics is not in the main venv)")
    find = "import importlib.util as u, sys; sys.exit(0 if u.find_spec('ultralytics') and u.find_spec('torchvision') else 1)"
    probe = subprocess.run([str(py), "-c", find], capture_output=True, text=True,
                           env=dict(os.environ, PYTHONNOUSERSITE="1"), timeout=300)
    if probe.returncode != 0:
        pytest.skip(f"the training venv {py} has no ultralytics/torchvision (run scripts/setup_training.sh): "
                    f"{probe.stderr.strip()[-300:]}")
    return py


@pytest.mark.parametrize("render", ["in-process", "ros"])
def test_train_sim_tiny_end_to_end(render, tmp_path, spinning, ros_context, fake_sim, client_node):
    _training_venv_or_skip()
    pytest.importorskip("maestro_sim.node")
    out = tmp_path / "detector"
    cmd = [sys.executable, "-m", "maestro_perception.cli", "train", "--sim", "--render", render, "--out", str(out),
           "--samples", "2", "--mobile-samples", "0", "--heldout-samples", "1", "--heldout-mobile-samples", "0",
           "--epochs", "1", "--imgsz", "64"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1500,
                          env=dict(os.environ, MUJOCO_GL=os.environ.get("MUJOCO_GL", "egl")))
    log = (proc.stdout + proc.stderr)[-3000:]
    assert proc.returncode == 0, log
    data = out / "dataset" / "dataset.yaml"
    assert data.is_file() and "names:" in data.read_text()
    assert list((out / "dataset" / "images" / "val").glob("*.jpg")), "ultralytics needs a val image"
    weights = out / "weights" / "best.onnx"
    assert weights.is_file() and weights.stat().st_size < 15e6, log
    metrics = json.loads((out / "weights" / "metrics.json").read_text())
    assert metrics["epochs_run"] == 1 and "box_map50" in metrics["heldout"]
    trained_names = set(json.loads((out / "weights" / "names.json").read_text()).values())

    from maestro_perception.yolo_node import YoloBackend

    node = spinning.add(YoloBackend(unique_name("yolo"), context=ros_context, parameter_overrides=[
        Parameter("profile", value=""), Parameter("cameras", value="front"),
        Parameter("base_frame", value="panda_link0"), Parameter("weights", value=str(weights)),
        Parameter("image_wait", value=2.0)]))
    activate(node)
    assert set(node.model.names.values()) == trained_names
    res = call(client_node, DetectObjects, "/perception/detect_objects",
               DetectObjects.Request(camera="front", min_score=0.0, annotate=True), 30.0)
    # one epoch on four images finds little: an answer (detections or NO_DETECTIONS) from this model is the point
    assert res.error_code in (0, DetectObjects.Response.NO_DETECTIONS), res.error_msg
    assert res.backend == "yolo" and res.annotated_image.width > 0
