"""End-to-end trials on the simulated Franka stack with the offline planner: progress, wall time, substeps and the
model/tool call counts of each trial (from its trace).

    python benchmarks/e2e_franka_tasks.py [--tasks put_ball_in_bowl open_cabinet clean_table_by_size] [--runs 1]

Each trial brings up its own stack (``maestro up franka --task <task>``, without the YOLO/VLM backends and the bag
recorder) on a private ROS domain, sends one RunTask goal, and stops the stack. Prints one line per trial and a
summary per task. Needs the built workspace (``source scripts/env.sh``); takes minutes per trial on 2 cores.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("MAESTRO_TEST_DOMAIN_ID", str(100 + os.getpid() % 100))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("e2e_stack", ROOT / "src/maestro_agent/test/e2e_stack.py")
e2e = importlib.util.module_from_spec(_spec)
sys.modules["e2e_stack"] = e2e
_spec.loader.exec_module(e2e)


def main() -> int:
    """Run the trials and print their numbers."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(e2e.INSTRUCTIONS))
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds per trial")
    args = parser.parse_args()

    import rclpy
    from rclpy.executors import MultiThreadedExecutor

    from maestro_common.ros_testing import ros_test_env

    os.environ.update({k: v for k, v in ros_test_env().items() if k.startswith("ROS_")})
    rclpy.init()
    node = rclpy.create_node(f"e2e_bench_{os.getpid()}")
    executor = MultiThreadedExecutor(num_threads=2)
    executor.add_node(node)
    import threading

    spin = threading.Thread(target=executor.spin, daemon=True)
    spin.start()
    results: dict[str, list[dict]] = {}
    try:
        for task in args.tasks:
            for i in range(args.runs):
                with tempfile.TemporaryDirectory(prefix="maestro_e2e_") as tmp:
                    with e2e.FrankaStack(Path(tmp), task) as stack:
                        ready = stack.wait_ready()
                        run = e2e.run_task(node, task, timeout=args.timeout)
                        stats = e2e.trace_stats(run.events())
                row = {"task": task, "run": i, "verdict": run.verdict, "progress": run.progress,
                       "substeps": run.substeps, "trial_s": round(run.wall_s, 1), "stack_up_s": round(ready, 1),
                       **{k: stats[k] for k in ("model_calls", "tool_calls", "failed_tool_calls")}}
                results.setdefault(task, []).append(row)
                print(json.dumps(row), flush=True)
    finally:
        executor.shutdown(timeout_sec=2.0)
        spin.join(timeout=2.0)
        node.destroy_node()
        rclpy.shutdown()
    print("\ntask                  runs  mean progress  >=80  mean trial s  mean substeps  mean tool calls")
    for task, rows in results.items():
        prog = [r["progress"] for r in rows]
        print(f"{task:22s}{len(rows):5d}{statistics.mean(prog):15.1f}{sum(p >= 80 for p in prog):6d}"
              f"{statistics.mean(r['trial_s'] for r in rows):14.1f}{statistics.mean(r['substeps'] for r in rows):15.1f}"
              f"{statistics.mean(r['tool_calls'] for r in rows):17.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
