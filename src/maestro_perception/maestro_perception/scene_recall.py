"""Detection recall of a detector over the simulator's task scenes (shared by the benchmark and the tests).

Each task scene (tabletop tasks on the Franka, mobile tasks on the Go2-W + PiPER) is built in-process with
``maestro_sim`` (``World`` + ``SceneRenderer``, no ROS; imported lazily), every camera is rendered at 640x480, and the
ground truth is what the ``sim_gt`` backend would report (:func:`maestro_perception.detector_eval.gt_objects`). An
object counts as recalled when a detection of its class overlaps its box with IoU >= ``iou``. Identical images (the
``base`` scenes do not change with the seed) are scored once.
"""
from __future__ import annotations

import hashlib
import os
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from maestro_perception.detector_eval import gt_objects, match
from maestro_perception.train import MOBILE_TASKS, TABLETOP_TASKS, coarse_label
from maestro_perception.yolo_model import YoloModel

__all__ = ["TaskRecall", "task_scene_recall"]


@dataclass
class TaskRecall:
    """Scores of one task's scenes: distinct images, objects, recalled objects, false positives, missed labels."""

    task: str
    images: int = 0
    objects: int = 0
    found: int = 0
    false_positives: int = 0
    missed: Counter[str] = field(default_factory=Counter)
    predict_seconds: list[float] = field(default_factory=list)

    @property
    def recall(self) -> float:
        """Share of objects recalled (nan without objects)."""
        return self.found / self.objects if self.objects else float("nan")


def task_scene_recall(model: YoloModel, tasks: Iterable[str] | None = None, seeds: Iterable[int] = (0,),
                      perturbation: str = "base", conf: float = 0.25, iou: float = 0.5,
                      prompted: bool = False) -> list[TaskRecall]:
    """Render every task scene x seed, detect, match; one :class:`TaskRecall` per task.

    ``prompted`` asks for the scene's object classes (as DetectObjects ``labels`` do) instead of all classes.
    """
    os.environ.setdefault("MUJOCO_GL", "egl")
    from maestro_sim.rendering import SceneRenderer
    from maestro_sim.world import World

    seen: set[str] = set()
    out = []
    for task in tasks or TABLETOP_TASKS + MOBILE_TASKS:
        score = TaskRecall(task)
        embodiment = "go2w_piper" if task in MOBILE_TASKS else "franka"
        for seed in seeds:
            world = World(embodiment, task, seed, perturbation)
            renderer = SceneRenderer(world)
            try:
                renderer.update(world.data)
                labels = {o.instance_id: o.label for o in world.ground_truth()}
                prompt = sorted({coarse_label(v) for v in labels.values()}) if prompted else None
                for cam in world.cameras:
                    frame = renderer.render(cam)
                    digest = hashlib.sha1(frame.rgb.tobytes()).hexdigest()
                    if digest in seen:
                        continue  # the same image again (a base scene with another seed)
                    seen.add(digest)
                    gts = gt_objects(frame.seg, labels)
                    t0 = time.perf_counter()
                    dets = model.predict(frame.rgb.copy(), conf, prompt)
                    score.predict_seconds.append(time.perf_counter() - t0)
                    res = match(dets, gts, iou)
                    score.images += 1
                    score.objects += len(gts)
                    score.found += len(res.found)
                    score.false_positives += len(res.false_positives)
                    score.missed.update(g.label for g in res.missed)
            finally:
                renderer.close()
        out.append(score)
    return out
