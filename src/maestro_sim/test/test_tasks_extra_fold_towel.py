"""fold_towel: flex cloth scene, additive corner rubric, oracle folds (fold-in-half verb reaches 100)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from maestro_sim.oracles import fold_towel as oracle
from maestro_sim.tasks.tabletop.fold_towel import SPACING, vertex_body
from maestro_sim.world import World

warnings.filterwarnings("ignore", message="Attaching a spec with an empty prefix")


def test_towel_is_a_flat_flex_cloth():
    world = World("franka", "fold_towel", 0, "base")
    assert world.model.nflex == 1 and world.model.nflexvert == 49
    task = world.task
    corners = [world.body_pos(vertex_body(v)) for v in task.corners]
    centre = world.body_pos(vertex_body(task.centre))
    for c in corners:  # flat, undeformed: corners 3 * sqrt(2) * spacing from the centre
        assert np.linalg.norm(c - centre) == pytest.approx(3 * np.sqrt(2) * SPACING, abs=0.005)
    assert world.evaluate().progress == 0.0
    small = World("franka", "fold_towel", 0, "new_object")
    assert small.model.nflexvert == 25 and "napkin" in small.instruction


def test_one_corner_folded_scores_25():
    world = World("franka", "fold_towel", 0, "base")
    o = oracle.Oracle(world)
    task = world.task
    assert oracle.fold_corner(o, world, task.corners[1], task.centre)
    result = world.evaluate()
    assert result.progress == 25.0
    assert result.criteria[1].reached and result.criteria[1].value < 0.05
    assert not result.criteria[0].reached


@pytest.mark.slow
def test_fold_in_half_oracle_reaches_100():
    world = World("franka", "fold_towel", 0, "verb")
    oracle.run(world)
    assert world.evaluate().progress == 100.0


@pytest.mark.slow
def test_four_corner_oracle_folds_at_least_two_corners():
    # Known weakness (see the report): corner pinches of the flex cloth slip, so the four-corner fold does not
    # reliably reach 100 yet. This test pins the current level so that regressions show.
    world = World("franka", "fold_towel", 0, "base")
    oracle.run(world)
    assert world.evaluate().progress >= 50.0
