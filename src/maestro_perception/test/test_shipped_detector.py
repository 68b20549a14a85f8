"""The shipped detector (models/maestro_sim_yolo11n_seg.onnx) loads in the yolo backend's model wrapper and finds
the tennis ball and the bowl in a rendered put_ball_in_bowl frame (front camera, seed 0, base scene).

The frame is rendered in-process with maestro_sim (World + SceneRenderer, ~3 s); no training, no ROS.
"""
import json
import os
from pathlib import Path

import pytest

from maestro_perception.detector_eval import gt_objects, match
from maestro_perception.train_pipeline import SHIPPED_CARD, SHIPPED_MODEL
from maestro_perception.yolo_model import OnnxYolo, load_yolo
from maestro_perception.yolo_node import default_weights

MODELS = Path(__file__).resolve().parents[1] / "models"
RECALL_FLOOR = 0.85  # the shipped model measured 0.94 on these scenes (model card "recall_base"); the 0.9 aim of issue 4


def test_shipped_model_is_the_default_and_small():
    weights = MODELS / SHIPPED_MODEL
    assert weights.is_file(), f"{weights} is not shipped"
    assert weights.stat().st_size <= 15 * 2**20
    assert Path(default_weights()).name == SHIPPED_MODEL
    card = json.loads((MODELS / SHIPPED_CARD).read_text())
    assert card["metrics"]["heldout"]["box_map50"] > 0 and "train" in card["command"]
    checkpoint = MODELS / card["checkpoint"]  # the same weights for ultralytics: --init fine-tunes from it
    assert checkpoint.is_file() and checkpoint.stat().st_size <= 15 * 2**20


def test_shipped_model_detects_ball_and_bowl_in_put_ball_in_bowl():
    os.environ.setdefault("MUJOCO_GL", "egl")
    try:
        from maestro_sim.rendering import SceneRenderer
        from maestro_sim.world import World
    except ImportError as exc:
        pytest.skip(f"maestro_sim is not installed ({exc}): no scene to render")
    model = load_yolo(MODELS / SHIPPED_MODEL)
    assert isinstance(model, OnnxYolo) and {"tennis_ball", "bowl"} <= set(model.names.values())
    world = World("franka", "put_ball_in_bowl", 0, "base")
    renderer = SceneRenderer(world)
    try:
        renderer.update(world.data)
        frame = renderer.render("front")
        rgb, seg = frame.rgb.copy(), frame.seg.copy()
    finally:
        renderer.close()
    gts = gt_objects(seg, {o.instance_id: o.label for o in world.ground_truth()})
    assert {g.label for g in gts} == {"tennis_ball", "bowl"}
    dets = model.predict(rgb, conf=0.25)
    res = match(dets, gts, iou=0.5)
    assert {g.label for g in res.found} == {"tennis_ball", "bowl"}, (
        f"missed {[g.label for g in res.missed]}; detections {[(d.label, round(d.score, 2), d.box) for d in dets]}")
    for d in dets:
        if d.label in ("tennis_ball", "bowl"):
            assert d.mask is not None and d.mask.shape == rgb.shape[:2] and d.mask.any()


def test_shipped_model_recall_over_the_task_scenes_stays_above_its_floor():
    """Regression floor for the shipped model over every task's base scene (~25 images, ~20 s): the model card
    records the measured recall; a retrained model that falls below the floor must not ship silently."""
    pytest.importorskip("maestro_sim.world", reason="maestro_sim is not installed: no scene to render")
    from maestro_perception.scene_recall import task_scene_recall

    card = json.loads((MODELS / SHIPPED_CARD).read_text())
    scores = task_scene_recall(load_yolo(MODELS / SHIPPED_MODEL), seeds=(0,), perturbation="base", conf=0.25)
    objects = sum(s.objects for s in scores)
    recall = sum(s.found for s in scores) / objects
    assert objects >= 40  # every task scene rendered and scored (search_ball's balls start out of view)
    missed = {s.task: dict(s.missed) for s in scores if s.missed}
    assert recall >= RECALL_FLOOR, f"recall {recall:.2f} < {RECALL_FLOOR}; missed {missed}"
    assert abs(recall - card["recall_base"]["recall"]) < 0.05, "the model card's recall is stale: re-run the benchmark"
