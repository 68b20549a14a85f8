"""``maestro sim``: build a scene and save each camera's rendered frame as PNG (no ROS needed).

Example: ``maestro sim --embodiment franka --task put_ball_in_bowl --seed 3 --out /tmp/scene.png`` writes
``/tmp/scene_front.png`` and ``/tmp/scene_wrist.png`` (plus ``_seg`` images with ``--segmentation``).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``maestro sim`` options to ``parser``."""
    parser.add_argument("--embodiment", default="franka", help="franka or go2w_piper")
    parser.add_argument("--task", default="", help="task id (default: the embodiment's first task)")
    parser.add_argument("--seed", type=int, default=0, help="scene seed (>= 0)")
    parser.add_argument("--perturbation", default="base", help="base, visual, pose, verb or new_object")
    parser.add_argument("--settle", type=float, default=0.0, help="seconds of physics to run before rendering")
    parser.add_argument("--segmentation", action="store_true", help="also save false-colour segmentation images")
    parser.add_argument("--out", default="sim.png", help="output path; the camera name is added to the stem")


def run(args: argparse.Namespace) -> int:
    """Build the scene, render every camera and save PNGs; returns the exit code (2 for bad arguments)."""
    from PIL import Image

    from maestro_sim.errors import ToolFailure
    from maestro_sim.rendering import SceneRenderer
    from maestro_sim.tasks.registry import task_ids
    from maestro_sim.world import World

    task = args.task or (task_ids(args.embodiment) or [""])[0]
    try:
        world = World(args.embodiment, task, args.seed, args.perturbation)
    except ToolFailure as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    world.step(int(args.settle / world.timestep))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    renderer = SceneRenderer(world)
    try:
        renderer.update(world.data)
        print(f"{world.task_id} ({world.perturbation}, seed {world.seed}): {world.instruction}")
        print(f"GL_RENDERER: {renderer.gl_renderer}")
        for cam in renderer.cameras:
            frame = renderer.render(cam, segmentation=args.segmentation)
            path = out.with_name(f"{out.stem}_{cam}{out.suffix or '.png'}")
            Image.fromarray(frame.rgb).save(path)
            print(f"wrote {path}")
            if args.segmentation:
                palette = (np.random.default_rng(0).integers(40, 255, (256, 3))).astype(np.uint8)
                seg = palette[(frame.seg + 1) % 256]
                seg[frame.seg < 0] = 0
                seg_path = out.with_name(f"{out.stem}_{cam}_seg.png")
                Image.fromarray(seg).save(seg_path)
                print(f"wrote {seg_path}")
    finally:
        renderer.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (``python -m maestro_sim.cli``)."""
    parser = argparse.ArgumentParser(prog="maestro sim", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
