"""Detection recall of the shipped YOLO detector per task scene, against the simulator's ground truth.

Run: ``source scripts/env.sh && python benchmarks/perception_recall.py [--seeds 0,1,2] [--perturbation base]
[--weights PATH.onnx] [--conf 0.25] [--iou 0.5] [--tasks put_ball_in_bowl,...]``

For every task (the tabletop tasks on the Franka, the mobile tasks on the Go2-W + PiPER) and seed, the scene is built
in-process with ``maestro_sim`` (``World`` + ``SceneRenderer``, no ROS), every camera is rendered at 640x480, and the
ground truth is what the ``sim_gt`` backend would report: each object with >= 30 pixels in the segmentation render,
its label reduced to the detector's classes (colour words dropped). The detector is the yolo backend's model wrapper
(``load_yolo``: onnxruntime). An object counts as recalled when a detection of its class overlaps its box with
IoU >= ``--iou``. Prints recall per task (and in total), false positives per image, the labels missed, and the
median predict time. ``--prompted`` asks for the scene's object classes, as the agent does when it names what it looks
for (DetectObjects ``labels``): each candidate box is then classified among those classes only.

The ``base`` scenes do not change with the seed, so repeated base seeds render identical images: each distinct image
is scored once (the ``images`` column counts distinct images). ``--perturbation pose --seeds 1000,...`` scores scenes
the detector was not trained on (training renders draw their scene seeds at random below 10**6 and name them in the
file names, so a collision can be checked).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

from maestro_perception.scene_recall import task_scene_recall
from maestro_perception.train import MOBILE_TASKS, TABLETOP_TASKS
from maestro_perception.yolo_model import load_yolo
from maestro_perception.yolo_node import default_weights


def main() -> int:
    """Render each task scene, detect, score; print a table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default="", help="detector (.onnx); default: the shipped model")
    ap.add_argument("--seeds", default="0,1,2", help="comma-separated scene seeds")
    ap.add_argument("--perturbation", default="base")
    ap.add_argument("--tasks", default="", help="comma-separated task ids (default: all tabletop + mobile tasks)")
    ap.add_argument("--conf", type=float, default=0.25)
    ap.add_argument("--iou", type=float, default=0.5, help="box IoU for a match")
    ap.add_argument("--json", default="", help="also write the totals and per-task scores to this JSON file")
    ap.add_argument("--prompted", action="store_true",
                    help="request the scene's object classes (DetectObjects labels) instead of all classes")
    args = ap.parse_args()
    try:
        import maestro_sim.world  # noqa: F401
    except ImportError as exc:
        print(f"maestro_sim is needed to render the scenes ({exc})", file=sys.stderr)
        return 1
    weights = args.weights or default_weights()
    if not weights:
        print("no weights: pass --weights or ship a model (maestro perception train --sim --ship)", file=sys.stderr)
        return 1
    model = load_yolo(weights)
    print(f"weights: {weights}\nclasses: {sorted(model.names.values())}")
    seeds = [int(s) for s in args.seeds.split(",") if s]
    tasks = [t for t in args.tasks.split(",") if t] or TABLETOP_TASKS + MOBILE_TASKS
    print(f"\n{'task':22s} {'images':>6s} {'objects':>7s} {'recall':>7s} {'FP/img':>7s}  missed (label: count)")
    scores = []
    for task in tasks:
        (s,) = task_scene_recall(model, [task], seeds, args.perturbation, args.conf, args.iou, args.prompted)
        miss = ", ".join(f"{k}: {v}" for k, v in s.missed.most_common()) or "-"
        print(f"{task:22s} {s.images:6d} {s.objects:7d} {s.recall:7.2f} {s.false_positives / max(s.images, 1):7.2f}"
              f"  {miss}", flush=True)
        scores.append(s)
    images, objects = sum(s.images for s in scores), sum(s.objects for s in scores)
    print(f"{'TOTAL':22s} {images:6d} {objects:7d} {sum(s.found for s in scores) / max(objects, 1):7.2f} "
          f"{sum(s.false_positives for s in scores) / max(images, 1):7.2f}")
    times = [t for s in scores for t in s.predict_seconds]
    if args.json:
        summary = {"recall": round(sum(s.found for s in scores) / max(objects, 1), 4), "objects": objects,
                   "found": sum(s.found for s in scores), "images": images,
                   "fp_per_image": round(sum(s.false_positives for s in scores) / max(images, 1), 3),
                   "perturbation": args.perturbation, "seeds": seeds, "conf": args.conf, "iou": args.iou,
                   "prompted": args.prompted,
                   "per_task": {s.task: {"recall": None if s.objects == 0 else round(s.recall, 3),
                                         "objects": s.objects, "missed": dict(s.missed)} for s in scores}}
        Path(args.json).write_text(json.dumps(summary, indent=1) + "\n")
    print(f"\npredict (640x480 in, model at its export size): median {statistics.median(times) * 1e3:.0f} ms over "
          f"{len(times)} images; perturbation {args.perturbation}, seeds {seeds}, conf {args.conf}, IoU {args.iou}, "
          f"{'prompted with the scene classes' if args.prompted else 'all classes'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
