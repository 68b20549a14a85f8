"""search_ball: ball hidden at the start, geometric visibility agrees with rendering, oracle reaches 100."""
from __future__ import annotations

import math
import warnings

import mujoco
import numpy as np
import pytest

from maestro_sim.oracles import search_ball as oracle
from maestro_sim.oracles.go2w_piper import Oracle
from maestro_sim.tasks.mobile.common import camera_sees
from maestro_sim.tasks.mobile.search_ball import BALL
from maestro_sim.world import World

warnings.filterwarnings("ignore", message="Attaching a spec with an empty prefix")


def _world(perturbation: str = "base", seed: int = 0) -> World:
    return World("go2w_piper", "search_ball", seed, perturbation)


def _ball_pixels(world: World, camera: str) -> int:
    with mujoco.Renderer(world.model, 120, 160) as renderer:
        renderer.enable_segmentation_rendering()
        renderer.update_scene(world.data, camera=camera)
        seg = renderer.render()
    geom = world.model.geom(f"{BALL}_geom").id
    return int(np.sum((seg[..., 0] == geom) & (seg[..., 1] == int(mujoco.mjtObj.mjOBJ_GEOM))))


@pytest.mark.parametrize(("perturbation", "seed"), [("base", 0), ("pose", 0), ("pose", 3), ("visual", 2)])
def test_ball_starts_out_of_view(perturbation, seed):
    world = _world(perturbation, seed)
    for cam in ("head", "wrist"):
        assert not camera_sees(world.model, world.data, cam, BALL)
        assert _ball_pixels(world, cam) == 0
    assert world.evaluate().progress == 0.0


def test_visibility_check_agrees_with_segmentation_render():
    world = _world()
    run = Oracle(world)
    ball = world.body_pos(BALL)
    run.turn_to(math.atan2(ball[1], ball[0]))  # face the ball: now visible
    assert camera_sees(world.model, world.data, "head", BALL)
    assert _ball_pixels(world, "head") > 0
    assert world.evaluate().progress == 25.0


@pytest.mark.parametrize(("perturbation", "seed"), [("base", 0), ("pose", 1), ("new_object", 2), ("verb", 0)])
def test_oracle_reaches_100_with_monotonic_progress(perturbation, seed):
    world = _world(perturbation, seed)
    run = oracle.run(world)
    assert world.evaluate().progress == 100.0
    log = run.progress_log
    assert all(b >= a for a, b in zip(log, log[1:], strict=False)), log
    assert {0.0, 25.0, 60.0} <= set(log)


def test_grasped_but_not_home_scores_60():
    world = _world()
    run = Oracle(world)
    assert oracle.search(run)
    run.drive_to(*run.approach_pose(world.body_pos(BALL)[:2], oracle.PICK_REACH))
    assert run.pick_from_floor(BALL, 0.028)
    result = world.evaluate()
    assert result.progress == 60.0
    assert result.criteria[-1].value > 0.5  # measured distance to the start
