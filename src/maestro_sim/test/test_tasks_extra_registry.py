"""All tasks of the sim-mobile area: registered, every axis builds deterministically, ground truth is complete."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from maestro_sim.tasks.registry import get_task_class, import_errors
from maestro_sim.world import World

warnings.filterwarnings("ignore", message="Attaching a spec with an empty prefix")

MOBILE = ("open_door_enter", "search_ball", "trash_ball", "collect_toys")
TABLETOP = ("fold_towel", "erase_then_stack", "rotate_cube", "hang_mug", "cut_banana")


def test_registered_without_import_errors():
    errors = {k: v for k, v in import_errors().items() if any(t in k for t in MOBILE + TABLETOP + ("common",))}
    assert not errors
    for task in MOBILE:
        assert get_task_class(task).embodiment == "go2w_piper"
    for task in TABLETOP:
        assert get_task_class(task).embodiment == "franka"


@pytest.mark.parametrize("task", MOBILE + TABLETOP)
def test_every_axis_builds_deterministically(task):
    cls = get_task_class(task)
    assert [s.points for s in cls.stages] == sorted(s.points for s in cls.stages)
    instructions = set()
    for axis in cls.axes:
        a = World(cls.embodiment, task, 1, axis)
        if axis in ("pose", "visual"):  # same (task, axis, seed): the same scene
            b = World(cls.embodiment, task, 1, axis)
            assert np.array_equal(a.data.qpos, b.data.qpos) and np.array_equal(a.data.xpos, b.data.xpos), axis
            assert a.instruction == b.instruction
        assert a.instruction
        instructions.add(a.instruction)
        gt = a.ground_truth()
        assert gt and all(np.all(np.isfinite(o.position)) and min(o.size) > 0 for o in gt)
        assert {o.instance_id for o in gt} == set(range(1, len(gt) + 1))
        progress = a.evaluate().progress
        assert progress == 0.0, (axis, progress)
        assert a.task.rubric() and max(s.points for s in a.task.rubric()) == pytest.approx(100.0, abs=0.01) or \
            sum(s.points for s in a.task.rubric()) == pytest.approx(100.0, abs=0.01)
    assert len(instructions) >= 2  # the verb axis (at least) rewords the instruction
    other = World(cls.embodiment, task, 0, "pose").data.xpos
    # seeds move things (body positions: static bodies included)
    assert not np.allclose(other, World(cls.embodiment, task, 1, "pose").data.xpos)
