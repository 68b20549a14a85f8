"""Node-level real-time factor of ``maestro_sim``: start the sim node process, measure /clock and camera rates.

Starts ``python -m maestro_sim.node`` (loopback DDS, its own ROS_DOMAIN_ID) with two 640x480 RGB-D(+segmentation)
cameras at ``--camera-rate`` Hz of sim time, waits for the first camera frame (GL start-up), then for ``--seconds``
of wall time counts the /clock advance and the messages on every camera's image_raw and depth topics
(subscribed raw: no deserialisation cost in this process). Prints GL_RENDERER (from the node's log), the load
average, RTF = sim seconds / wall seconds, and per camera topic the publish rate per wall second and per sim second
(the latter should equal the camera rate: every requested frame published).
Usage: python benchmarks/sim_node_rtf.py [--seconds 20] [--realtime false] [--embodiment franka] [--task ...]
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
import time

import rclpy
from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Image

from maestro_sim.robots import get_robot


def _read_log(proc: subprocess.Popen, lines: list[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line.rstrip())


def main() -> None:
    """Run the node, measure, print the numbers, stop the node."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0, help="wall seconds to measure")
    parser.add_argument("--embodiment", default="franka")
    parser.add_argument("--task", default="put_ball_in_bowl")
    parser.add_argument("--camera-rate", type=float, default=5.0)
    parser.add_argument("--realtime", default="false", choices=("true", "false"))
    parser.add_argument("--domain", type=int, default=1 + os.getpid() % 215, help="ROS_DOMAIN_ID (1..215)")
    args = parser.parse_args()

    env = dict(os.environ, ROS_DOMAIN_ID=str(args.domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
               MUJOCO_GL=os.environ.get("MUJOCO_GL", "egl"), PYTHONUNBUFFERED="1")
    os.environ.update(ROS_DOMAIN_ID=env["ROS_DOMAIN_ID"], ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
    cmd = [sys.executable, "-m", "maestro_sim.node", "--ros-args", "-p", f"embodiment:={args.embodiment}",
           "-p", f"task:={args.task}", "-p", f"camera_rate:={args.camera_rate}", "-p", f"realtime:={args.realtime}"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log: list[str] = []
    threading.Thread(target=_read_log, args=(proc, log), daemon=True).start()
    cameras = [c.name for c in get_robot(args.embodiment).cameras()]
    topics = [f"/{c}/{kind}" for c in cameras for kind in ("image_raw", "depth")]
    counts = dict.fromkeys(topics, 0)
    clock = {"t": None}
    try:
        rclpy.init()
        node = Node("sim_node_rtf_benchmark")

        def on_clock(msg: Clock) -> None:
            clock["t"] = msg.clock.sec + msg.clock.nanosec * 1e-9

        node.create_subscription(Clock, "/clock", on_clock, 10)
        for topic in topics:
            node.create_subscription(Image, topic, lambda _m, t=topic: counts.__setitem__(t, counts[t] + 1),
                                     10, raw=True)
        deadline = time.monotonic() + 120.0
        while (clock["t"] is None or counts[topics[0]] == 0) and time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit("the sim node exited:\n" + "\n".join(log[-20:]))
            rclpy.spin_once(node, timeout_sec=0.1)
        if counts[topics[0]] == 0:
            raise SystemExit("no camera frame within 120 s:\n" + "\n".join(log[-20:]))
        for topic in topics:
            counts[topic] = 0
        sim0, wall0 = clock["t"], time.monotonic()
        while time.monotonic() - wall0 < args.seconds:
            rclpy.spin_once(node, timeout_sec=0.05)
        sim1, wall1 = clock["t"], time.monotonic()
        node.destroy_node()
        rclpy.shutdown()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    gl = next((m.group(1) for line in log if (m := re.search(r"GL_RENDERER: (.*)", line))), "not logged")
    sim, wall = sim1 - sim0, wall1 - wall0
    print(f"GL_RENDERER: {gl}")
    print(f"load average (1/5/15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"sim node {args.embodiment}/{args.task}, realtime={args.realtime}, cameras {cameras} 640x480 at "
          f"{args.camera_rate:g} Hz of sim time")
    print(f"node RTF: {sim / wall:.2f} ({sim:.2f} sim s in {wall:.2f} wall s)")
    for topic in topics:
        print(f"{topic}: {counts[topic] / wall:.2f} msg per wall s, {counts[topic] / max(sim, 1e-9):.2f} per sim s")
    errors = [line for line in log if "ERROR" in line or "Traceback" in line]
    if errors:
        print("node errors:\n" + "\n".join(errors[:10]))


if __name__ == "__main__":
    main()
