"""erase_then_stack: wiping mechanics, order encoding, oracle reaching 100 with a monotonic progress trace."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from maestro_sim.oracles import erase_then_stack as oracle
from maestro_sim.oracles.common import trace_progress
from maestro_sim.tasks.tabletop.erase_then_stack import BLOCK_HALF, BOARD, ERASER
from maestro_sim.world import World

warnings.filterwarnings("ignore", message="Attaching a spec with an empty prefix")



def test_marks_encode_the_order_and_start_unwiped():
    world = World("franka", "erase_then_stack", 1, "pose")
    task = world.task
    assert world.evaluate().progress == 0.0
    # mark k (near edge first) has the colour of the k-th block from the bottom
    assert [m.colour for m in task.marks] == [b.split("_")[0] for b in task.order]
    assert all(world.model.geom_rgba[world.model.geom(p).id, 3] == 1.0 for m in task.marks for p in m.patches)
    reverse = World("franka", "erase_then_stack", 0, "verb").task
    assert [m.colour for m in reverse.marks] == [b.split("_")[0] for b in reverse.order][::-1]


def test_eraser_laid_on_a_mark_wipes_only_the_patches_under_it():
    world = World("franka", "erase_then_stack", 0, "base")
    task = world.task
    mark = task.marks[1]
    target = world.body_pos(BOARD) + world.body_rot(BOARD) @ np.array([mark.xy[1][0], mark.xy[1][1], 0.03])
    qadr = world.model.joint(f"{ERASER}_free").qposadr[0]
    world.data.qpos[qadr:qadr + 3] = target
    world.data.qpos[qadr + 3:qadr + 7] = [1, 0, 0, 0]
    world.data.qvel[:] = 0
    world.step(400)
    wiped = task.wiped
    assert mark.patches[1] in wiped
    assert not any(p in wiped for p in task.marks[0].patches + task.marks[2].patches)
    assert world.model.geom_rgba[world.model.geom(mark.patches[1]).id, 3] == 0.0
    result = world.evaluate()
    assert 0.0 < result.criteria[1].value < 1.0
    assert result.progress == pytest.approx(40.0 * result.criteria[1].value)


@pytest.mark.parametrize(("perturbation", "seed"), [("base", 0), ("pose", 1), ("verb", 2), ("new_object", 0)])
def test_oracle_reaches_100_monotonically(perturbation, seed):
    world = World("franka", "erase_then_stack", seed, perturbation)
    log = trace_progress(world)
    oracle.run(world)
    assert world.evaluate().progress == 100.0
    assert all(b >= a for a, b in zip(log, log[1:], strict=False)), log
    assert 10.0 in log and any(10.0 < v < 50.0 for v in log)  # grasp, then partial wiping


def test_stack_in_the_wrong_order_gets_no_stacking_points():
    world = World("franka", "erase_then_stack", 0, "base")
    o = oracle.Oracle(world)
    wrong = world.task.order[::-1]
    for below, above in zip(wrong, wrong[1:], strict=False):
        oracle.pick(o, above, oracle._yaw(world.body_rot(above)))
        oracle.place(o, world.body_pos(below) + [0, 0, 2 * BLOCK_HALF + 0.004])
    o.wait(0.5)
    result = world.evaluate()
    assert result.criteria[2].value == 0.0 and not result.criteria[2].reached
    assert result.progress == 0.0
