"""Perception latency: p50/p95 of DetectObjects (sim_gt, yolo) at 640x480, GetObjectCloud, and the service overhead.

Run: ``source scripts/env.sh && python benchmarks/perception_latency.py [--calls 30] [--weights PATH.onnx]``

Starts ``maestro_sim``'s sim_node (franka, put_ball_in_bowl, 640x480 cameras) in a private ROS domain on loopback,
runs the sim_gt and yolo backends in this process (one active at a time), and times each service call from a client
node (round trip through DDS) and the same work called in-process (the service handler without DDS). The difference
is the service round-trip overhead. YOLO weights: ``--weights``, else the shipped model, else the tiny untrained test
model (then the yolo numbers are the cost of that small network, not of a useful detector).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("ROS_DOMAIN_ID", str(random.randint(1, 100)))
os.environ.setdefault("MUJOCO_GL", "egl")

import rclpy
from rclpy.context import Context
from rclpy.executors import MultiThreadedExecutor
from rclpy.parameter import Parameter

from maestro_common.ros_testing import NodeProcess
from maestro_interfaces.srv import DetectObjects, GetObjectCloud, GetSceneGroundTruth
from maestro_perception.sim_gt_node import SimGtBackend
from maestro_perception.yolo_node import YoloBackend, default_weights

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "src/maestro_perception/test/data/tiny_yolo11_seg.onnx"


def pct(xs: list[float], q: float) -> float:
    """q-th percentile in ms."""
    s = sorted(xs)
    return 1000 * s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


def timed_calls(client: object, srv: type, name: str, req: object, n: int) -> list[float]:
    """Round-trip times of n service calls."""
    cli = client.create_client(srv, name)
    assert cli.wait_for_service(timeout_sec=20), name
    out = []
    for _ in range(n):
        done = threading.Event()
        t0 = time.perf_counter()
        fut = cli.call_async(req)
        fut.add_done_callback(lambda _f, ev=done: ev.set())
        assert done.wait(30), f"{name} timed out"
        out.append(time.perf_counter() - t0)
        res = fut.result()
        assert res.error_code in (0, DetectObjects.Response.NO_DETECTIONS), res.error_msg
    client.destroy_client(cli)
    return out


def warm_up(client: object, req: object, budget: float = 120.0) -> None:
    """Call DetectObjects until three calls in a row succeed (the first ones wait for images, TF and the sim)."""
    deadline, ok = time.monotonic() + budget, 0
    while ok < 3:
        try:
            timed_calls(client, DetectObjects, "/perception/detect_objects", req, 1)
            ok += 1
        except AssertionError as exc:
            if time.monotonic() > deadline:
                raise
            print(f"warm-up: {exc}; retrying", flush=True)
            ok = 0
            time.sleep(1.0)


def timed_inproc(handler: object, srv: type, req: object, n: int) -> list[float]:
    """Times of n direct handler calls (same work, no DDS)."""
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        handler(req, srv.Response())
        out.append(time.perf_counter() - t0)
    return out


def interleaved(client: object, backend: object, srv: type, name: str, req: object, n: int
                ) -> tuple[list[float], list[float]]:
    """Round-trip and in-process times, alternating one of each so that load changes hit both alike."""
    handler = backend._wrap(getattr(backend, f"_handle_{name}"))
    rt: list[float] = []
    ip: list[float] = []
    for _ in range(n):
        rt += timed_calls(client, srv, f"/perception/{name}", req, 1)
        ip += timed_inproc(handler, srv, req, 1)
    return rt, ip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=30)
    ap.add_argument("--weights", default="")
    args = ap.parse_args()
    weights = args.weights or default_weights() or str(TINY)
    sim = NodeProcess([sys.executable, "-c", "from maestro_sim.node import main; main()", "--ros-args",
                       "-p", "embodiment:=franka", "-p", "task:=put_ball_in_bowl"])
    ctx = Context()
    rclpy.init(context=ctx)
    ex = MultiThreadedExecutor(num_threads=6, context=ctx)
    # a loaded machine: the simulator may take seconds to answer its ground truth
    sim_gt = SimGtBackend("bench_sim_gt", context=ctx, parameter_overrides=[
        Parameter("ground_truth_timeout", value=30.0)])
    yolo = YoloBackend("bench_yolo", context=ctx, parameter_overrides=[Parameter("weights", value=weights)])
    client = rclpy.create_node("bench_client", context=ctx)
    for n in (sim_gt, yolo, client):
        ex.add_node(n)
    spin = threading.Thread(target=ex.spin, daemon=True)
    spin.start()
    rows = []
    try:
        gt_cli = client.create_client(GetSceneGroundTruth, "/sim/get_scene_ground_truth")
        assert gt_cli.wait_for_service(timeout_sec=90), "sim_node did not start"
        for be in (sim_gt, yolo):
            be.trigger_configure()
        deadline = time.monotonic() + 30
        while not sim_gt.cameras.has_image("front") and time.monotonic() < deadline:
            time.sleep(0.2)
        frame = sim_gt.frame("front")
        print(f"image {frame.rgb.shape[1]}x{frame.rgb.shape[0]}, yolo weights {weights}, {args.calls} calls each, "
              f"{os.cpu_count()} CPUs")
        detect = DetectObjects.Request(camera="front")
        cloud = GetObjectCloud.Request(camera="front", label="tennis_ball", remove_outliers=True)
        for be, label in ((sim_gt, "sim_gt"), (yolo, "yolo")):
            be.trigger_activate()
            warm_up(client, detect)
            rows.append((f"DetectObjects {label}",
                         *interleaved(client, be, DetectObjects, "detect_objects", detect, args.calls)))
            if label == "sim_gt":
                rows.append(("GetObjectCloud sim_gt (ball)",
                             *interleaved(client, be, GetObjectCloud, "get_object_cloud", cloud, args.calls)))
            be.trigger_deactivate()
        print(f"{'call':32s} {'p50 ms':>8s} {'p95 ms':>8s} {'in-proc p50':>12s} {'overhead p50':>13s}")
        for name, rt, ip in rows:
            print(f"{name:32s} {pct(rt, 50):8.1f} {pct(rt, 95):8.1f} {pct(ip, 50):12.1f} "
                  f"{pct(rt, 50) - pct(ip, 50):13.1f}")
        print(f"(overhead = service round trip - in-process handler; mean overhead "
              f"{1000 * statistics.mean(statistics.median(r) - statistics.median(i) for _, r, i in rows):.1f} ms)")
    finally:
        ex.shutdown(timeout_sec=2.0)
        for n in (sim_gt, yolo, client):
            n.destroy_node()
        rclpy.shutdown(context=ctx)
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
