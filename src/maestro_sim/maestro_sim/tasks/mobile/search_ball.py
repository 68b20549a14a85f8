"""search_ball: find the orange plush ball (out of view at the start), grasp it and come back (Go2-W + PiPER).

Rubric (shared/TASKS.md): ball seen by a camera 25 · ball grasped 60 · back within 0.5 m of the start holding it 100.
"Seen" is geometric: the ball's centre inside the head or wrist camera's view, within 4 m, not occluded (ray cast).
Verb variant "put it down at the start": seen 25 · grasped 60 · ball resting on the floor within 0.5 m of the start,
released 100. New object: an orange plush cube. Visual: floor colour and more distractors (never orange).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import mujoco
import numpy as np

from maestro_sim.perturb import PALETTE
from maestro_sim.tasks.base import Evaluation, Stage, Task
from maestro_sim.tasks.mobile.common import (
    ROBOT_KEEP_OUT,
    add_floor_distractors,
    add_plush_ball,
    add_plush_cube,
    base_xy,
    camera_sees,
    polar_xy,
    restyle_floor,
)
from maestro_sim.tasks.registry import register_task

if TYPE_CHECKING:  # pragma: no cover
    from maestro_sim.world import World

BALL = "orange_ball"
BALL_RADIUS = 0.028
CUBE_HALF = 0.024
HOME_RADIUS = 0.5       # m: "back within 0.5 m of the start"
SEEN_CAMERAS = ("head", "wrist")


@register_task
class SearchBall(Task):
    """Search the room for the orange plush ball, grasp it and return to the start holding it."""

    id = "search_ball"
    embodiment = "go2w_piper"
    base_instruction = "Search for the orange plush ball and return when it is grasped."
    stages = (Stage("ball seen by a camera", 25), Stage("ball grasped", 60),
              Stage("back within 0.5 m of the start holding the ball", 100, latched=False))
    verb_stages = (Stage("ball seen by a camera", 25), Stage("ball grasped", 60),
                   Stage("ball put down within 0.5 m of the start", 100, latched=False))

    def __init__(self) -> None:
        super().__init__()
        self.ball_xy = np.zeros(2)

    def build(self, spec: mujoco.MjSpec, rng: np.random.Generator, perturbation: str) -> None:
        """Ball behind or beside the robot (outside both cameras' views), distractor toys around."""
        self.perturbation = perturbation
        if perturbation == "base":
            ball = polar_xy(1.5, math.pi)
        else:  # every other axis also hides the ball somewhere else behind/beside the robot
            ball = polar_xy(rng.uniform(1.1, 2.0), rng.uniform(0.65 * math.pi, 1.35 * math.pi))
        self.ball_xy = ball
        orange = PALETTE["orange"]
        if perturbation == "new_object":
            add_plush_cube(spec, BALL, ball, CUBE_HALF, orange, yaw=float(rng.uniform(-0.7, 0.7)))
            self.add_object(BALL, "orange_plush_cube", (2 * CUBE_HALF,) * 3)
        else:
            add_plush_ball(spec, BALL, ball, BALL_RADIUS, orange)
            self.add_object(BALL, "orange_plush_ball", (2 * BALL_RADIUS,) * 3)
        keep = [ROBOT_KEEP_OUT, (float(ball[0]), float(ball[1]), 0.35)]
        if perturbation == "visual":
            restyle_floor(spec, rng)
            n = int(rng.integers(3, 6))
        else:
            n = 2
            rng = np.random.default_rng(7) if perturbation == "base" else rng
        for name, label, size in add_floor_distractors(spec, rng, n, ["orange", "red", "yellow"], keep):
            self.add_object(name, label, (size,) * 3, task_relevant=False)
        if perturbation == "verb":
            self.variant = "put_down_at_start"

    def instruction(self, perturbation: str, rng: np.random.Generator) -> str:
        """Base instruction, or the verb / new-object rewording."""
        if perturbation == "verb":
            return "Find the orange plush ball, bring it back and put it down where you started."
        if perturbation == "new_object":
            return "Search for the orange plush cube and return when it is grasped."
        return self.base_instruction

    def rubric(self) -> tuple[Stage, ...]:
        """The verb variant has its own rubric."""
        return self.verb_stages if self.variant == "put_down_at_start" else self.stages

    def on_reset(self, world: World) -> None:
        """Remember where the robot started (the odom origin)."""
        self.start_xy = base_xy(world.model, world.data)

    def evaluate(self, world: World, memory: dict[str, Any]) -> Evaluation:
        """Seen (any camera, geometric), grasped, distance of the base to the start."""
        m, d = world.model, world.data
        seen = any(camera_sees(m, d, cam, BALL) for cam in SEEN_CAMERAS)
        grasped = world.is_grasped(BALL)
        start = getattr(self, "start_xy", np.zeros(2))
        home_dist = float(np.linalg.norm(base_xy(m, d) - start))
        measured: dict[str, tuple[bool, float]] = {"ball seen by a camera": (seen, float(seen)),
                                                   "ball grasped": (grasped, float(grasped))}
        if self.variant == "put_down_at_start":
            ball = world.body_pos(BALL)
            ball_dist = float(np.linalg.norm(ball[:2] - start))
            resting = ball[2] < 0.06 and not world.touched_by_robot(BALL)
            measured["ball put down within 0.5 m of the start"] = (resting and ball_dist < HOME_RADIUS, ball_dist)
        else:
            measured["back within 0.5 m of the start holding the ball"] = (grasped and home_dist < HOME_RADIUS,
                                                                           home_dist)
        return self.score(memory, measured)
