"""hang_mug: handle loop geometry, rubric, oracle hanging the mug (100) with a monotonic progress trace."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from maestro_sim.oracles import hang_mug as oracle
from maestro_sim.oracles.common import trace_progress
from maestro_sim.tasks.tabletop.hang_mug import MUG
from maestro_sim.world import World

warnings.filterwarnings("ignore", message="Attaching a spec with an empty prefix")



def test_start_scene():
    world = World("franka", "hang_mug", 0, "base")
    assert world.evaluate().progress == 0.0
    assert world.task.handle_around_peg(world)[0] is False
    assert set(world.task.objects()) == {"mug", "mug_stand"}
    assert World("franka", "hang_mug", 0, "new_object").task.shape.label == "cup"
    assert "next to" in World("franka", "hang_mug", 1, "verb").instruction


@pytest.mark.parametrize(("perturbation", "seed"), [("base", 0), ("pose", 2), ("visual", 3), ("verb", 1),
                                                    ("new_object", 4)])
def test_oracle_reaches_100_monotonically(perturbation, seed):
    world = World("franka", "hang_mug", seed, perturbation)
    log = trace_progress(world)
    oracle.run(world)
    assert world.evaluate().progress == 100.0
    assert all(b >= a for a, b in zip(log, log[1:], strict=False)), log
    assert {0.0, 30.0, 50.0} <= set(log)


def test_mug_released_beside_the_peg_falls_and_is_not_hanging():
    world = World("franka", "hang_mug", 0, "base")
    o = oracle.Oracle(world)
    oracle.grasp_rim(o, world)
    assert world.evaluate().progress == 50.0
    pos, rot = world.tcp_pose()
    o.move_tcp(pos + np.array([0.0, 0.1, 0.1]), rot, duration=1.0)  # in the air, handle not on a peg
    o.gripper(0.08, wait=1.5)
    result = world.evaluate()
    assert result.progress == 50.0
    assert not world.task.handle_around_peg(world)[0]
    assert world.body_pos(MUG)[2] < 0.45  # fell down to the table
