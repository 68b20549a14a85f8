"""Planning benchmark: collision-aware IK + RRTConnect + simplification + TOPP-RA in a tabletop scene (Panda).

Scene: a table at z = 0 and a 15 x 30 x 30 cm box obstacle in front of the robot, as a 1 cm voxel cloud. Queries:
random top-down TCP goals over the table on both sides of the box, from the previous goal. A query counts as
feasible when collision-free IK exists; success = a collision-checked, time-parameterised path.
Run: python benchmarks/control_planning.py [--n 50]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from maestro_control.collision import CollisionChecker
from maestro_control.kinematics import ArmKinematics
from maestro_control.planning import JointPlanner, PlanningError, interpolate_path
from maestro_control.robot_models import PANDA, default_robots_dir
from maestro_control.timing import time_parameterize

HOME = np.array([0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785])


def scene() -> np.ndarray:
    """Table plane plus a box obstacle, in panda_link0."""
    xs, ys = np.meshgrid(np.arange(0.2, 1.0, 0.01), np.arange(-0.6, 0.6, 0.01))
    table = np.c_[xs.ravel(), ys.ravel(), np.zeros(xs.size)]
    g = np.meshgrid(np.arange(0.45, 0.6, 0.01), np.arange(-0.15, 0.15, 0.01), np.arange(0.0, 0.3, 0.01),
                    indexing="ij")
    box = np.stack([a.ravel() for a in g], axis=1)
    return np.vstack([table, box])


def main() -> None:
    """Run the benchmark and print the numbers."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=2.0)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    urdf = str(default_robots_dir() / "panda.urdf")
    kin = ArmKinematics(urdf, [j.name for j in PANDA.joints], "panda_tcp",
                        locked_positions={"panda_finger_joint1": 0.04, "panda_finger_joint2": 0.04})
    cc = CollisionChecker(kin, urdf, ignore_links=("panda_link0",))
    t0 = time.perf_counter()
    n_pts = cc.set_scene(scene(), HOME)
    print(f"scene: {n_pts} voxels, built in {1e3 * (time.perf_counter() - t0):.1f} ms; "
          f"{cc.num_spheres} robot spheres")
    qs = [kin.random_q(np.random.default_rng(k)) for k in range(2000)]
    t0, c0 = time.perf_counter(), time.process_time()
    for x in qs:
        cc.is_valid(x)
    print(f"collision check: {1e3 * (time.perf_counter() - t0) / 2000:.3f} ms wall, "
          f"{1e3 * (time.process_time() - c0) / 2000:.3f} ms CPU per configuration")
    rng = np.random.default_rng(args.seed)
    planner = JointPlanner(kin.lower, kin.upper, cc.is_valid)
    q = HOME.copy()
    ik_ms, plan_ms, plan_cpu, time_ms, feasible, ok, direct, path_bad = [], [], [], [], 0, 0, 0, 0
    for i in range(args.n):
        target = np.eye(4)
        target[:3, :3] = np.diag([1.0, -1.0, -1.0])
        side = 1 if i % 2 else -1
        target[:3, 3] = [rng.uniform(0.35, 0.65), side * rng.uniform(0.22, 0.45), rng.uniform(0.08, 0.3)]
        t0 = time.perf_counter()
        res = kin.ik(target, q, accept=cc.is_valid, rng=rng, num_seeds=40)
        ik_ms.append(1e3 * (time.perf_counter() - t0))
        if not res.success:
            continue
        feasible += 1
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            plan = planner.plan(q, res.q, timeout=args.timeout)
        except PlanningError:
            plan_ms.append(1e3 * (time.perf_counter() - t0))
            plan_cpu.append(1e3 * (time.process_time() - c0))
            continue
        plan_ms.append(1e3 * (time.perf_counter() - t0))
        plan_cpu.append(1e3 * (time.process_time() - c0))
        direct += len(plan.path) == 2
        t0 = time.perf_counter()
        traj = time_parameterize(plan.path, kin.velocity_limits, np.full(7, 7.5))
        time_ms.append(1e3 * (time.perf_counter() - t0))
        dense_ok = all(cc.is_valid(x) for x in interpolate_path(plan.path, 0.02))
        traj_ok = all(cc.is_valid(x) for x in traj.q)
        ok += dense_ok and traj_ok
        path_bad += not dense_ok
        q = res.q
    p, c = np.array(plan_ms), np.array(plan_cpu)
    print(f"queries {args.n}, feasible (collision-free IK) {feasible}, planned + verified {ok} "
          f"({ok / max(feasible, 1):.1%}), straight-line shortcuts {direct}, paths failing the 0.02 rad re-check "
          f"{path_bad}")
    print(f"IK (collision-aware) p50 {np.percentile(ik_ms, 50):.1f} ms; planning p50 {np.percentile(p, 50):.1f} ms, "
          f"p95 {np.percentile(p, 95):.1f} ms, max {p.max():.1f} ms (CPU p50 {np.percentile(c, 50):.1f} ms, p95 "
          f"{np.percentile(c, 95):.1f} ms); TOPP-RA p50 {np.percentile(time_ms, 50):.1f} ms")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
