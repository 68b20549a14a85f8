"""cut_banana: crossing geometry, rubric stages, oracle cutting the banana (100) with monotonic progress."""
from __future__ import annotations

import warnings

import pytest

from maestro_sim.oracles import cut_banana as oracle
from maestro_sim.oracles.common import trace_progress
from maestro_sim.world import World

warnings.filterwarnings("ignore", message="Attaching a spec with an empty prefix")



def test_start_scene_has_no_crossing():
    world = World("franka", "cut_banana", 0, "base")
    assert world.task.crossing(world) is None
    assert world.evaluate().progress == 0.0
    assert World("franka", "cut_banana", 0, "new_object").task.knife.label == "wooden_knife"


@pytest.mark.parametrize(("perturbation", "seed"), [("base", 0), ("pose", 1), ("verb", 0), ("new_object", 2),
                                                    ("visual", 3)])
def test_oracle_reaches_100_monotonically(perturbation, seed):
    world = World("franka", "cut_banana", seed, perturbation)
    log = trace_progress(world)
    oracle.run(world)
    assert world.evaluate().progress == 100.0
    assert all(b >= a for a, b in zip(log, log[1:], strict=False)), log
    assert {0.0, 30.0, 50.0} <= set(log)  # 80 and 100 are reached together when the cut is straight


def test_cut_near_the_tip_is_not_in_the_middle_third():
    world = World("franka", "cut_banana", 0, "base")
    oracle.run(world, at=0.15)
    result = world.evaluate()
    assert result.progress == 50.0
    assert not result.criteria[2].reached


def test_slanted_cut_is_not_orthogonal():
    world = World("franka", "cut_banana", 0, "base")
    oracle.run(world, angle_deg=50.0)
    result = world.evaluate()
    assert result.progress == 80.0
    assert result.criteria[3].value == pytest.approx(50.0, abs=3.0)
