"""Dashboard/recording numbers: callback cost of RecordingSession.offer, MCAP+MP4 throughput, trace and analytics speed.

Run: source scripts/env.sh && python benchmarks/dashboard_recording.py
"""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np
from rclpy.serialization import serialize_message
from sensor_msgs.msg import JointState

from maestro_common.images import numpy_to_image
from maestro_dashboard.analytics import summarize
from maestro_dashboard.demo import build_events
from maestro_dashboard.recorder.session import RecordingSession
from maestro_dashboard.store import TrialStore
from maestro_dashboard.trace import load_trace


def bench_recording(folder: Path, seconds: float = 10.0, fps: float = 5.0) -> None:
    """Two 640x480 RGB cameras + 32FC1 depth at ``fps`` and joint states at 100 Hz, as fast as they can be offered."""
    rgb = serialize_message(numpy_to_image(np.random.randint(0, 255, (480, 640, 3), np.uint8), "rgb8"))
    depth = serialize_message(numpy_to_image(np.random.rand(480, 640).astype(np.float32), "32FC1"))
    js = serialize_message(JointState(name=[f"j{i}" for i in range(9)], position=[0.1] * 9))
    s = RecordingSession(folder, video_topics={"/front/image_raw": "front", "/wrist/image_raw": "wrist"},
                         queue_size=4096, video_queue_size=4096, max_video_hz=0)
    for t, ty in (("/front/image_raw", "Image"), ("/wrist/image_raw", "Image"), ("/front/depth", "Image"),
                  ("/joint_states", "JointState")):
        s.add_topic(t, f"sensor_msgs/msg/{ty}")
    n_frames = int(seconds * fps)
    offer_ns = []
    t0 = time.perf_counter()
    for i in range(n_frames):
        stamp = int((1.7e9 + i / fps) * 1e9)
        for topic, data in (("/front/image_raw", rgb), ("/wrist/image_raw", rgb), ("/front/depth", depth)):
            a = time.perf_counter_ns()
            s.offer(topic, data, stamp)
            offer_ns.append(time.perf_counter_ns() - a)
        for k in range(int(100 / fps)):
            a = time.perf_counter_ns()
            s.offer("/joint_states", js, stamp + k)
            offer_ns.append(time.perf_counter_ns() - a)
    t_offer = time.perf_counter() - t0
    summary = s.close()
    t_total = time.perf_counter() - t0
    mb = (folder / "bag" / "bag.mcap").stat().st_size / 1e6
    print(f"recording: {seconds:.0f} s of data (2 RGB + 1 depth @ {fps:g} Hz, joints @ 100 Hz) offered in {t_offer:.2f} s, "
          f"written in {t_total:.2f} s ({seconds / t_total:.1f}x real time); bag {mb:.1f} MB, "
          f"dropped {summary['dropped_bag']} (bag) / {summary['dropped_video']} (video), video frames "
          f"{summary['video_frames']}")
    print(f"offer() per message: median {np.median(offer_ns) / 1e3:.1f} us, p99 {np.percentile(offer_ns, 99) / 1e3:.1f} us, "
          f"max {max(offer_ns) / 1e3:.0f} us (the cost inside a ROS callback)")


def bench_trace(folder: Path, trials: int = 50) -> None:
    """Load and analyse ``trials`` demo-sized traces (and one long 20k-event trace)."""
    for i in range(trials):
        d = folder / f"t{i:03d}"
        d.mkdir(parents=True)
        (d / "trace.jsonl").write_text("".join(json.dumps(e) + "\n" for e in build_events(1000.0 * i, str(d))))
    t = time.perf_counter()
    traces = [load_trace(d, check_files=False) for d in sorted(folder.glob("t*"))]
    t_load = time.perf_counter() - t
    t = time.perf_counter()
    s = summarize(traces)
    t_an = time.perf_counter() - t
    print(f"traces: {trials} trials ({sum(len(x.events) for x in traces)} events) loaded in {t_load * 1e3:.0f} ms, "
          f"analytics over {s['calls']} calls in {t_an * 1e3:.1f} ms")
    long = folder / "long"
    long.mkdir()
    ev = build_events(0.0, str(long))
    lines = [ev[0]] + [dict(e, t=e["t"] + 25.0 * k) for k in range(1000) for e in ev[1:-1]] + [ev[-1]]
    (long / "trace.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
    t = time.perf_counter()
    payload = TrialStore([folder]).payload("long")
    print(f"replay payload of a {len(lines)}-event trace: {(time.perf_counter() - t) * 1e3:.0f} ms, "
          f"{len(json.dumps(payload)) / 1e6:.1f} MB JSON")


def main() -> None:
    """Run every benchmark in temporary folders."""
    with tempfile.TemporaryDirectory() as tmp:
        bench_recording(Path(tmp) / "rec")
        bench_trace(Path(tmp) / "runs")


if __name__ == "__main__":
    main()
