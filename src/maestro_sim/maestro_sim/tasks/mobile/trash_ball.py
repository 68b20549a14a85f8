"""trash_ball: throw the green plush ball into the garbage can (Go2-W + PiPER).

Rubric (shared/TASKS.md): ball grasped 40 · ball above the can 70 · ball inside the can 100.
Verb variant "place next to the can": ball grasped 40 · ball resting on the floor within 0.3 m of the can's wall,
released 100. New object: a green plush cube instead of the ball.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mujoco
import numpy as np

from maestro_sim.perturb import PALETTE
from maestro_sim.scene import horizontal_distance
from maestro_sim.tasks.base import Evaluation, Stage, Task
from maestro_sim.tasks.mobile.common import (
    ROBOT_KEEP_OUT,
    add_floor_distractors,
    add_garbage_can,
    add_plush_ball,
    add_plush_cube,
    polar_xy,
    restyle_floor,
)
from maestro_sim.tasks.registry import register_task

if TYPE_CHECKING:  # pragma: no cover
    from maestro_sim.world import World

BALL = "green_ball"
CAN = "garbage_can"
BALL_RADIUS = 0.028
CUBE_HALF = 0.024
CAN_RADIUS = 0.14
CAN_HEIGHT = 0.30
NEXT_TO_CAN = 0.30  # m from the can's wall, verb variant


@register_task
class TrashBall(Task):
    """Pick the green plush ball from the floor, carry it to the garbage can and drop it in."""

    id = "trash_ball"
    embodiment = "go2w_piper"
    base_instruction = "Throw the green plush ball into the garbage can."
    stages = (Stage("ball grasped", 40), Stage("ball above the can", 70),
              Stage("ball inside the can", 100, latched=False))
    verb_stages = (Stage("ball grasped", 40), Stage("ball next to the can, released", 100, latched=False))

    def __init__(self) -> None:
        super().__init__()
        self.target_label = "green_plush_ball"
        self.ball_xy = np.zeros(2)
        self.can_xy = np.zeros(2)

    def build(self, spec: mujoco.MjSpec, rng: np.random.Generator, perturbation: str) -> None:
        """Ball and can on the floor in front of the robot; see the module docstring for the axes."""
        self.perturbation = perturbation
        if perturbation == "pose":
            ball = polar_xy(rng.uniform(0.95, 1.5), rng.uniform(-0.7, 0.7))
            for _ in range(200):
                can = polar_xy(rng.uniform(1.0, 1.7), rng.uniform(-1.2, 1.2))
                if np.linalg.norm(can - ball) > 0.7:
                    break
        else:
            ball, can = np.array([1.1, 0.3]), np.array([1.2, -0.75])
        self.ball_xy, self.can_xy = ball, can
        add_garbage_can(spec, CAN, can, CAN_RADIUS, CAN_HEIGHT)
        green = PALETTE["green"]
        if perturbation == "new_object":
            add_plush_cube(spec, BALL, ball, CUBE_HALF, green, yaw=float(rng.uniform(-0.5, 0.5)))
            self.target_label = "green_plush_cube"
            self.add_object(BALL, self.target_label, (2 * CUBE_HALF,) * 3)
        else:
            add_plush_ball(spec, BALL, ball, BALL_RADIUS, green)
            self.add_object(BALL, self.target_label, (2 * BALL_RADIUS,) * 3)
        self.add_object(CAN, "garbage_can", (2 * CAN_RADIUS, 2 * CAN_RADIUS, CAN_HEIGHT),
                        parts={"rim": f"{CAN}/rim", "bottom": f"{CAN}/center"})
        if perturbation == "visual":
            restyle_floor(spec, rng)
            keep = [ROBOT_KEEP_OUT, (ball[0], ball[1], 0.3), (can[0], can[1], 0.4)]
            for name, label, size in add_floor_distractors(spec, rng, int(rng.integers(2, 5)), ["green"], keep):
                self.add_object(name, label, (size,) * 3, task_relevant=False)
        if perturbation == "verb":
            self.variant = "place_next_to"

    def instruction(self, perturbation: str, rng: np.random.Generator) -> str:
        """Base instruction, or the verb / new-object rewording."""
        if perturbation == "verb":
            return "Put the green plush ball on the floor next to the garbage can."
        if perturbation == "new_object":
            return "Throw the green plush cube into the garbage can."
        return self.base_instruction

    def rubric(self) -> tuple[Stage, ...]:
        """The verb variant has its own rubric."""
        return self.verb_stages if self.variant == "place_next_to" else self.stages

    def evaluate(self, world: World, memory: dict[str, Any]) -> Evaluation:
        """Measure grasp, ball position relative to the can's rim and bottom."""
        ball = world.body_pos(BALL)
        can_bottom = world.site_pos(f"{CAN}/center")
        rim = world.site_pos(f"{CAN}/rim")
        grasped = world.is_grasped(BALL)
        dist = horizontal_distance(ball, rim)
        inside_radius = CAN_RADIUS - 0.01
        measured: dict[str, tuple[bool, float]] = {"ball grasped": (grasped, float(grasped))}
        if self.variant == "place_next_to":
            gap = dist - CAN_RADIUS
            resting = ball[2] < 0.06 and not world.touched_by_robot(BALL)
            measured["ball next to the can, released"] = (0.0 < gap < NEXT_TO_CAN and resting, gap)
        else:
            measured["ball above the can"] = (dist < inside_radius and ball[2] > rim[2], dist)
            inside = dist < inside_radius and can_bottom[2] < ball[2] < rim[2] and not grasped
            measured["ball inside the can"] = (inside, float(ball[2] - can_bottom[2]))
        return self.score(memory, measured)

