"""Run the ground-truth oracle on every trial (base + 5 seeds per axis) of the tasks that have an oracle.

Prints, per task: trials at 100, mean final progress, the trials below 100, and wall time per trial.
Usage: ``python benchmarks/oracle_sweep_extra.py [task | task:axis | task:axis:seed ...]`` (default: every task with
an oracle module under ``maestro_sim.oracles``). Single-threaded, CPU only.
"""
from __future__ import annotations

import importlib
import pkgutil
import sys
import time
import warnings

import maestro_sim.oracles
from maestro_sim.perturb import list_trials
from maestro_sim.tasks.registry import get_task_class, list_tasks
from maestro_sim.world import World


def oracle_tasks() -> list[str]:
    """Ids of the tasks that have an oracle module (tabletop first, then mobile)."""
    modules = {m.name for m in pkgutil.iter_modules(maestro_sim.oracles.__path__)}
    tasks = sorted(list_tasks(""), key=lambda c: (c.embodiment != "franka", c.id))
    return [c.id for c in tasks if c.id in modules]


def sweep(selector: str) -> tuple[int, int]:
    """Run the oracle on the trials chosen by ``task[:axis[:seed]]``, print a summary line; (at 100, trials)."""
    task_id, *rest = selector.split(":")
    oracle = importlib.import_module(f"maestro_sim.oracles.{task_id}")
    cls = get_task_class(task_id)
    trials = [t for t in list_trials(cls)
              if (not rest or t.perturbation == rest[0]) and (len(rest) < 2 or t.seed == int(rest[1]))]
    results, below = [], []
    start = time.perf_counter()
    for trial in trials:
        world = World(cls.embodiment, task_id, trial.seed, trial.perturbation)
        oracle.run(world)
        progress = world.evaluate().progress
        results.append(progress)
        if progress < 100.0:
            below.append(f"{trial.perturbation}/{trial.seed}={progress:.0f}")
    wall = (time.perf_counter() - start) / max(1, len(results))
    at100 = sum(p >= 100.0 for p in results)
    print(f"{selector:22s} {at100:2d}/{len(results)} at 100  mean {sum(results) / max(1, len(results)):6.1f}  "
          f"{wall:5.1f} s/trial  below: {' '.join(below) or '-'}", flush=True)
    return at100, len(results)


if __name__ == "__main__":
    warnings.filterwarnings("ignore")
    total = [0, 0]
    for name in sys.argv[1:] or oracle_tasks():
        a, n = sweep(name)
        total[0] += a
        total[1] += n
    print(f"total: {total[0]}/{total[1]} trials at 100", flush=True)
