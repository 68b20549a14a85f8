"""rotate_cube: scene per axis, rubric, oracle reaching 100 with a monotonic progress trace."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from maestro_sim.oracles import rotate_cube as oracle
from maestro_sim.oracles.common import trace_progress
from maestro_sim.tasks.tabletop.rotate_cube import CUBE
from maestro_sim.world import World

warnings.filterwarnings("ignore", message="Attaching a spec with an empty prefix")



def test_start_state_purple_faces_sideways():
    for perturbation, seed in (("base", 0), ("pose", 2), ("new_object", 0)):
        world = World("franka", "rotate_cube", seed, perturbation)
        result = world.evaluate()
        assert result.progress == 0.0
        assert result.criteria[-1].value == pytest.approx(90.0, abs=1.0)  # purple normals horizontal
    assert World("franka", "rotate_cube", 0, "verb").instruction == "Turn the cube upside down."


@pytest.mark.parametrize(("perturbation", "seed"), [("base", 0), ("pose", 3), ("visual", 1), ("verb", 0),
                                                    ("new_object", 2)])
def test_oracle_reaches_100_monotonically(perturbation, seed):
    world = World("franka", "rotate_cube", seed, perturbation)
    log = trace_progress(world)
    oracle.run(world)
    assert world.evaluate().progress == 100.0
    assert all(b >= a for a, b in zip(log, log[1:], strict=False)), log
    assert {0.0, 30.0, 50.0} <= set(log)


def test_lifting_without_rotating_scores_50_not_100():
    world = World("franka", "rotate_cube", 0, "base")
    o = oracle.Oracle(world)
    p = world.body_pos(CUBE)
    grasp = oracle.rot_z(0.35) @ oracle.TOP_DOWN
    o.gripper(0.08, 0.2)
    o.move_tcp(p + [0, 0, 0.1], grasp)
    o.move_tcp(p, grasp, steps=3, duration=1.0)
    o.gripper(0.0, 0.6)
    o.move_tcp(p + [0, 0, 0.1], grasp, steps=3, duration=1.0)
    assert world.evaluate().progress == 50.0
    o.move_tcp(p + [0, 0, 0.005], grasp, steps=3, duration=1.0)
    o.gripper(0.08, 0.8)
    o.move_tcp(p + [0, 0, 0.15], grasp, duration=1.0)
    o.wait(0.5)
    result = world.evaluate()
    assert result.progress == 50.0 and result.criteria[-1].value > 70.0
    assert np.linalg.norm(world.body_velocity(CUBE)) < 0.02
