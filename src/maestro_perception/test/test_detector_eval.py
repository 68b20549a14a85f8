"""Tests of the detector scoring helpers (maestro_perception.detector_eval) and of the train CLI's argument checks."""
import argparse

import numpy as np
import pytest

from maestro_perception.detector_eval import box_iou, gt_objects, match
from maestro_perception.results import Detection2D


def test_gt_objects_coarse_labels_boxes_and_small_instances_dropped():
    seg = np.full((50, 80), -1, np.int32)
    seg[10:20, 30:50] = 1
    seg[40:42, 5:7] = 2  # 4 pixels: not visible enough
    seg[0:5, 0:5] = 0  # the robot: not in the label table
    gts = gt_objects(seg, {1: "red_cube", 2: "tennis_ball", 3: "bowl"})
    assert [(g.label, g.box, g.pixels) for g in gts] == [("cube", (30, 10, 50, 20), 200)]


def test_box_iou():
    assert box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert abs(box_iou((0, 0, 10, 10), (5, 0, 15, 10)) - 50 / 150) < 1e-9
    assert box_iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0


def test_match_needs_class_and_overlap_and_counts_duplicates_as_false_positives():
    seg = np.full((100, 100), -1, np.int32)
    seg[10:30, 10:30] = 1
    seg[60:80, 60:90] = 2
    gts = gt_objects(seg, {1: "tennis_ball", 2: "bowl"})
    dets = [Detection2D("tennis_ball", 0.9, (11, 10, 30, 31)),   # right class, IoU ~0.9
            Detection2D("tennis_ball", 0.8, (10, 10, 30, 30)),   # duplicate of the same object
            Detection2D("cube", 0.95, (60, 60, 90, 80))]         # right place, wrong class
    res = match(dets, gts)
    assert [g.label for g in res.found] == ["tennis_ball"]
    assert [g.label for g in res.missed] == ["bowl"]
    assert sorted(d.label for d in res.false_positives) == ["cube", "tennis_ball"]
    assert res.recall == 0.5


def test_train_cli_refuses_without_a_source_and_without_the_training_venv(tmp_path, capsys):
    from maestro_perception.train_pipeline import add_train_arguments, run_train

    p = argparse.ArgumentParser()
    add_train_arguments(p)
    assert run_train(p.parse_args([])) == 2
    assert "--sim" in capsys.readouterr().err
    args = p.parse_args(["--sim", "--train-python", str(tmp_path / "nope" / "python")])
    assert run_train(args) == 1
    assert "setup_training.sh" in capsys.readouterr().err


def test_fit_command_is_niced_and_points_at_absolute_paths(tmp_path):
    from maestro_perception.train_pipeline import add_train_arguments, fit_command

    p = argparse.ArgumentParser()
    add_train_arguments(p)
    args = p.parse_args(["--sim", "--epochs", "7"])
    cmd = fit_command(tmp_path / "py", tmp_path / "d.yaml", tmp_path / "w", args, tmp_path / "h.yaml")
    assert cmd[:3] == ["nice", "-n", "19"] and cmd[4:7] == ["-m", "maestro_perception.train", "fit"]
    assert cmd[cmd.index("--epochs") + 1] == "7" and cmd[cmd.index("--heldout") + 1] == str(tmp_path / "h.yaml")


def test_fit_command_passes_the_fine_tune_weights_and_rate(tmp_path):
    from maestro_perception.train_pipeline import add_train_arguments, fit_command

    p = argparse.ArgumentParser()
    add_train_arguments(p)
    args = p.parse_args(["--sim", "--init", str(tmp_path / "w" / "best.pt"), "--lr0", "0.001"])
    assert args.render == "in-process" and "base" not in args.perturbations.split(",")
    cmd = fit_command(tmp_path / "py", tmp_path / "d.yaml", tmp_path / "w", args, None)
    assert cmd[cmd.index("--init") + 1] == str((tmp_path / "w" / "best.pt").resolve())
    assert cmd[cmd.index("--lr0") + 1] == "0.001" and "--heldout" not in cmd


def test_ship_writes_onnx_checkpoint_and_card_and_the_card_serves_as_init_class_table(tmp_path):
    import json

    from maestro_perception.train import load_class_table
    from maestro_perception.train_pipeline import SHIPPED_CARD, SHIPPED_CHECKPOINT, SHIPPED_MODEL, init_names, ship

    w = tmp_path / "weights"
    w.mkdir()
    (w / "best.onnx").write_bytes(b"onnx")
    (w / "best.pt").write_bytes(b"pt")
    (w / "names.json").write_text(json.dumps({"0": "cube", "1": "bowl"}))
    (w / "metrics.json").write_text(json.dumps({"model": "fine-tuned from best.pt", "heldout": {"box_map50": 0.6}}))
    models = tmp_path / "models"
    ship(w, "maestro perception train --sim", models)
    assert (models / SHIPPED_MODEL).read_bytes() == b"onnx" and (models / SHIPPED_CHECKPOINT).read_bytes() == b"pt"
    card = json.loads((models / SHIPPED_CARD).read_text())
    assert card["checkpoint"] == SHIPPED_CHECKPOINT and "fine-tuned" in card["architecture"]
    assert init_names(w / "best.pt") == w / "names.json"
    assert init_names(models / SHIPPED_CHECKPOINT) == models / SHIPPED_CARD  # no names.json there: the card
    assert load_class_table(models / SHIPPED_CARD) == {"cube": 0, "bowl": 1}
    with pytest.raises(FileNotFoundError, match="names.json"):
        init_names(tmp_path / "elsewhere" / "x.pt")
