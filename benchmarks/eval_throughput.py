"""Benchmark: trials/hour of ``maestro eval`` for several worker counts (offline planner, 2 tasks x base+1 default).

Usage (from /work/main after ``source scripts/env.sh``)::

    python benchmarks/eval_throughput.py --workers 1 2 [--ray local] [--tasks put_ball_in_bowl open_cabinet]

Each worker count runs the same trials into a fresh results folder and prints wall time, trials/hour (stack
start-up included), mean trial time and the load average at start and end (the machine is shared: say the load).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_once(workers: int, tasks: list[str], trials: str, ray: str | None, out: Path, base_domain: int) -> dict:
    """Run one ``maestro eval`` and return its run.json plus the mean trial time."""
    cmd = [sys.executable, "-m", "maestro_bringup.cli", "eval", str(out), "--tasks", *tasks, "--trials", trials,
           "--model", "offline", "--workers", str(workers), "--max-substeps", "6", "--trial-timeout", "420"]
    if ray:
        cmd += ["--ray", ray]
    env = dict(os.environ, ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", MAESTRO_EVAL_BASE_DOMAIN=str(base_domain))
    t0 = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"maestro eval failed ({proc.returncode}): {proc.stderr[-2000:]}")
    meta = json.loads((out / "run.json").read_text())
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines() if line.strip()]
    times = [float(r.get("wall_time_s") or 0) for r in rows]
    return {**meta, "wall_s": wall, "trial_mean_s": sum(times) / max(len(times), 1),
            "progress": [float(r.get("progress") or 0) for r in rows]}


def main() -> int:
    """Parse arguments, run each worker count, print one line each."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--tasks", nargs="+", default=["put_ball_in_bowl", "open_cabinet"])
    parser.add_argument("--trials", default="base+1")
    parser.add_argument("--ray", default=None, help="Ray address or 'local' (default: worker threads)")
    parser.add_argument("--base-domain", type=int, default=190, help="ROS domains base..base+workers-1")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; tasks {args.tasks} x {args.trials}; runner {'ray ' + args.ray if args.ray else 'threads'}")
    for n in args.workers:
        with tempfile.TemporaryDirectory(prefix="eval-throughput-") as tmp:
            r = run_once(n, args.tasks, args.trials, args.ray, Path(tmp) / "results", args.base_domain)
        print(f"workers={n}: {r.get('new_trials')} trials in {r['elapsed_s']:.0f} s -> {r['trials_per_hour']:.1f} "
              f"trials/hour; mean trial {r['trial_mean_s']:.0f} s; progress {r['progress']}; "
              f"{r.get('load')} at start, {r.get('load_at_end')} at end", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
