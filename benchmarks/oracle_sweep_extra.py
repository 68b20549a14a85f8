"""Run the ground-truth oracle on every trial (base + 5 seeds per axis) of the sim-mobile engineer's tasks.

Prints, per task: trials at 100, mean final progress, the trials below 100, and wall time per trial.
Usage: ``python benchmarks/oracle_sweep_extra.py [task ...]`` (default: all of them). Single-threaded, CPU only.
"""
from __future__ import annotations

import importlib
import sys
import time
import warnings

from maestro_sim.perturb import list_trials
from maestro_sim.tasks.registry import get_task_class
from maestro_sim.world import World

TASKS = ("trash_ball", "search_ball", "collect_toys", "rotate_cube", "hang_mug", "erase_then_stack", "cut_banana",
         "fold_towel")


def sweep(task_id: str) -> None:
    """Run the oracle on every trial of ``task_id`` and print a summary line."""
    oracle = importlib.import_module(f"maestro_sim.oracles.{task_id}")
    cls = get_task_class(task_id)
    results, below = [], []
    start = time.perf_counter()
    for trial in list_trials(cls):
        world = World(cls.embodiment, task_id, trial.seed, trial.perturbation)
        oracle.run(world)
        progress = world.evaluate().progress
        results.append(progress)
        if progress < 100.0:
            below.append(f"{trial.perturbation}/{trial.seed}={progress:.0f}")
    wall = (time.perf_counter() - start) / len(results)
    print(f"{task_id:18s} {sum(p >= 100.0 for p in results):2d}/{len(results)} at 100  "
          f"mean {sum(results) / len(results):6.1f}  {wall:5.1f} s/trial  below: {' '.join(below) or '-'}",
          flush=True)


if __name__ == "__main__":
    warnings.filterwarnings("ignore")
    for name in sys.argv[1:] or TASKS:
        sweep(name)
