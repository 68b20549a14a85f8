"""IK benchmark: success rate and latency on random reachable TCP poses (Panda and PiPER).

Targets are FK of uniformly random joint configurations; the seed is a random configuration ("cold", the hard case)
or the target configuration plus 0.1 rad noise ("warm", what the control node sees when moving from nearby).
Prints wall-clock and CPU-time percentiles and the machine load (the CPU time is the fairer number on a shared box).
Run: python benchmarks/control_ik.py [--n 500]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from maestro_control.kinematics import ArmKinematics
from maestro_control.robot_models import ARMS, default_robots_dir


def run(arm: str, n: int, seed: int) -> None:
    """Print success rate and p50/p95 latency for one arm."""
    spec = ARMS[arm]
    kin = ArmKinematics(str(default_robots_dir() / f"{arm}.urdf"), [j.name for j in spec.joints], spec.tcp_link)
    t0 = time.perf_counter()
    kin.nearest_seeds(np.eye(4), 1)  # build the seed library outside the timed queries
    print(f"{arm:6s} seed library: {kin.library_size} configurations in {1e3 * (time.perf_counter() - t0):.0f} ms")
    rng = np.random.default_rng(seed)
    for mode in ("cold", "warm"):
        times, cpu, ok, perr, iters = [], [], 0, [], []
        for _ in range(n):
            q_true = kin.random_q(rng)
            target = kin.fk(q_true)
            start = kin.random_q(rng) if mode == "cold" else np.clip(q_true + rng.normal(0, 0.1, kin.n),
                                                                      kin.lower, kin.upper)
            t0, c0 = time.perf_counter(), time.process_time()
            res = kin.ik(target, start, rng=rng)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            iters.append(res.iterations)
            if res.success:
                ok += 1
                perr.append(res.position_error)
        t, c = np.array(times) * 1e3, np.array(cpu) * 1e3
        print(f"{arm:6s} {mode}: success {ok / n:.1%}  wall p50 {np.percentile(t, 50):.2f} ms  p95 "
              f"{np.percentile(t, 95):.2f} ms  max {t.max():.1f} ms | cpu p50 {np.percentile(c, 50):.2f} ms  p95 "
              f"{np.percentile(c, 95):.2f} ms | iterations p50 {np.percentile(iters, 50):.0f}  mean pos err "
              f"{np.mean(perr) * 1e3:.3f} mm")


def main() -> None:
    """Parse arguments and run both arms."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    for arm in ("panda", "piper"):
        run(arm, args.n, args.seed)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
