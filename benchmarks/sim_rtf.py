"""Real-time factor of the MuJoCo world: physics at 500 Hz plus two 640x480 RGB-D(+segmentation) cameras at 5 Hz.

Physics and rendering run in separate threads as in the sim node (rendering snapshots the scene under the lock);
every requested camera frame is rendered: physics waits when the previous frame is not finished yet, so the RTF
includes the full rendering cost.
Prints: GL_RENDERER, physics-only RTF, RTF with cameras, per-frame render times (RGB+depth, +segmentation).
Usage: python benchmarks/sim_rtf.py [--seconds 10] [--task put_ball_in_bowl]
"""
from __future__ import annotations

import argparse
import os
import threading
import time

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np

from maestro_sim.rendering import SceneRenderer
from maestro_sim.world import World


def main() -> None:
    """Run the benchmark and print the numbers."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0, help="simulated seconds per measurement")
    parser.add_argument("--task", default="put_ball_in_bowl")
    parser.add_argument("--camera-rate", type=float, default=5.0)
    args = parser.parse_args()

    world = World("franka", args.task, 0, "base")
    n = int(args.seconds / world.timestep)
    t0 = time.perf_counter()
    world.step(n)
    physics_rtf = args.seconds / (time.perf_counter() - t0)

    world = World("franka", args.task, 0, "base")
    lock = threading.Lock()
    request, done, idle = threading.Event(), threading.Event(), threading.Event()
    idle.set()
    times: dict[str, list[float]] = {"rgbd": [], "seg": [], "frame": []}
    info: dict[str, str] = {}

    def render_loop() -> None:
        renderer = SceneRenderer(world)
        info["gl"] = renderer.gl_renderer
        while not done.is_set():
            if not request.wait(0.1):
                continue
            request.clear()
            start = time.perf_counter()
            with lock:
                renderer.update(world.data)
            for cam in renderer.cameras:
                a = time.perf_counter()
                renderer.render(cam, segmentation=False)
                b = time.perf_counter()
                renderer._render_segmentation(renderer.buffers[cam])
                times["rgbd"].append(b - a)
                times["seg"].append(time.perf_counter() - b)
            times["frame"].append(time.perf_counter() - start)
            idle.set()
        renderer.close()

    thread = threading.Thread(target=render_loop)
    thread.start()
    period, next_cam = 1.0 / args.camera_rate, 0.0
    t0 = time.perf_counter()
    for _ in range(n // 5):
        with lock:
            world.step(5)
        if world.time >= next_cam:
            next_cam += period
            idle.wait()
            idle.clear()
            request.set()
        time.sleep(0)
    idle.wait()
    wall = time.perf_counter() - t0
    done.set()
    thread.join()
    frames = len(times["frame"])
    print(f"GL_RENDERER: {info.get('gl')}")
    print(f"physics only: RTF {physics_rtf:.1f} (500 Hz, {args.task})")
    print(f"physics + 2 cameras 640x480 at {args.camera_rate:g} Hz: RTF {args.seconds / wall:.2f} "
          f"({frames} camera frames rendered of {int(args.seconds * args.camera_rate)} requested)")
    for key, label in (("rgbd", "per camera RGB+depth"), ("seg", "per camera segmentation"),
                       ("frame", "per 2-camera frame (all)")):
        if times[key]:
            print(f"{label}: mean {1e3 * np.mean(times[key]):.1f} ms, p95 {1e3 * np.percentile(times[key], 95):.1f} ms")


if __name__ == "__main__":
    main()
