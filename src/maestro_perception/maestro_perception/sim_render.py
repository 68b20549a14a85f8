"""Render a YOLO-seg dataset in-process with maestro_sim (no ROS), with randomised viewpoints.

``python -m maestro_perception.train render --in-process ...`` uses this instead of driving a running simulator
over ROS: each sample builds a :class:`maestro_sim.world.World` for a random task, seed and STAR-Gen perturbation
(``visual`` is the domain randomisation of colours, textures and lights), settles it, then moves the viewpoint before
rendering every camera of the robot:

* Franka: the arm's joints are offset from home by up to ``arm_noise`` rad (the wrist camera then sees the table from
  other heights and angles, and the arm occludes objects in the front view, as during a task);
* Go2-W + PiPER: the base is placed 0.5-1.8 m from a random object, facing it within +-25 degrees (the mobile tasks'
  objects start out of the head camera's view), and the arm is offset as above.

About 0.3 s per sample on a 2-core CPU (the ROS path is bounded by the 5 Hz camera topics). maestro_sim is imported
lazily, so maestro_perception keeps no import-time dependency on the simulator.
"""
from __future__ import annotations

import math
import os
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np

from maestro_perception.train import (
    EMBODIMENT_CAMERAS,
    MOBILE_TASKS,
    PERTURBATIONS,
    TABLETOP_TASKS,
    coarse_label,
    load_class_table,
    make_split_dirs,
    save_sample,
    write_dataset_yaml,
    yolo_seg_lines,
)

__all__ = ["randomise_viewpoint", "render_in_process"]


def randomise_viewpoint(world: Any, rng: random.Random, arm_noise: float = 0.35) -> None:
    """Move the robot (arm joints, and the mobile base towards an object) and recompute kinematics; no physics."""
    import mujoco

    from maestro_sim.robots.go2w_piper import BASE_JOINTS

    m, d = world.model, world.data
    if arm_noise > 0:
        q = d.qpos[world.arm_qadr] + np.array([rng.uniform(-arm_noise, arm_noise) for _ in world.arm_qadr])
        d.qpos[world.arm_qadr] = np.clip(q, world.arm_lower, world.arm_upper)
    if getattr(world.robot, "mobile", False):
        objects = world.ground_truth()
        if objects:
            target = rng.choice(objects).position
            dist = rng.uniform(0.5, 1.8)
            bearing = rng.uniform(-math.pi, math.pi)  # side of the object the robot looks from
            x, y = target[0] + dist * math.cos(bearing), target[1] + dist * math.sin(bearing)
            yaw = math.atan2(target[1] - y, target[0] - x) + math.radians(rng.uniform(-25.0, 25.0))
            for joint, value in zip(BASE_JOINTS, (x, y, yaw), strict=True):
                d.qpos[m.joint(joint).qposadr[0]] = value
    mujoco.mj_forward(m, d)


def render_in_process(out: Path, samples: int, seed: int = 0, val_fraction: float = 0.15,
                      tasks: list[str] | None = None, embodiment: str = "franka", max_side: int = 0,
                      names_from: Path | None = None, perturbations: list[str] | None = None,
                      viewpoint_fraction: float = 0.5, arm_noise: float = 0.35, skip_empty: bool = True) -> Path:
    """Render ``samples`` scenes (every camera each) into a YOLO-seg dataset under ``out``; returns dataset.yaml.

    ``viewpoint_fraction`` of the samples get :func:`randomise_viewpoint` (the rest keep the reset pose, the view a
    task starts from); ``skip_empty`` leaves out camera images with no labelled object. The other arguments are those
    of :func:`maestro_perception.train.render`.
    """

    os.environ.setdefault("MUJOCO_GL", "egl")
    try:
        from maestro_sim.errors import BadPerturbation
        from maestro_sim.rendering import SceneRenderer
        from maestro_sim.world import World
    except ImportError as exc:
        raise RuntimeError(f"--in-process needs maestro_sim importable ({exc}); build it or render over ROS") from None
    rng = random.Random(seed)
    tasks = tasks or (MOBILE_TASKS if embodiment == "go2w_piper" else TABLETOP_TASKS)
    cameras = EMBODIMENT_CAMERAS[embodiment]
    make_split_dirs(out)
    names = load_class_table(names_from, out / "names.json")
    written = 0
    for i in range(samples):
        task = rng.choice(tasks)
        pert = rng.choice(perturbations or PERTURBATIONS)
        scene_seed = rng.randrange(10**6)
        moved = rng.random() < viewpoint_fraction
        try:
            world = World(embodiment, task, scene_seed, pert)
        except BadPerturbation as exc:  # an axis this task does not vary: the sample is skipped
            print(f"skip {task}/{pert}: {exc}", file=sys.stderr)
            continue
        renderer = SceneRenderer(world)
        try:
            if moved:
                randomise_viewpoint(world, rng, arm_noise)
            renderer.update(world.data)
            instances = {o.instance_id: names.setdefault(coarse_label(o.label or o.name), len(names))
                         for o in world.ground_truth()}
            split = "val" if rng.random() < val_fraction else "train"
            for cam in cameras:
                frame = renderer.render(cam, depth=False)
                lines = yolo_seg_lines(frame.seg.astype(np.int32), instances)
                if skip_empty and not lines:
                    continue
                stem = f"{i:05d}_{task}_{pert}_s{scene_seed}{'_view' if moved else ''}_{cam}"
                save_sample(out, split, stem, frame.rgb, lines, max_side)
                written += 1
        finally:
            renderer.close()
        print(f"[{i + 1}/{samples}] {task} {pert}{' moved' if moved else ''}: {len(instances)} objects", flush=True)
    if val_fraction > 0 and not any((out / "images" / "val").glob("*.jpg")):
        moved_one = next((out / "images" / "train").glob("*.jpg"), None)
        if moved_one is not None:  # ultralytics cannot train without a val image: a tiny run still gets one
            moved_one.rename(out / "images" / "val" / moved_one.name)
            label = out / "labels" / "train" / f"{moved_one.stem}.txt"
            label.rename(out / "labels" / "val" / label.name)
    yaml_path = write_dataset_yaml(out, names)
    print(f"wrote {written} images with {len(names)} classes to {out}")
    return yaml_path
