"""put_ball_in_bowl: "Put the tennis ball into the bowl."

Rubric (base, "drop" verb and new objects): ball grasped 30 · ball lifted 5 cm 50 · ball above bowl 75 ·
ball resting in bowl, gripper open 100 (not latched: the ball can leave the bowl again).
Verb "push": "Push the ball next to the bowl." ball touched 30 · ball moved 5 cm 60 · ball resting next to the bowl
(within 6 cm of the rim, outside it, released) 100.
"""
from __future__ import annotations

from typing import Any

import mujoco
import numpy as np

from maestro_sim import perturb
from maestro_sim.perturb import PALETTE
from maestro_sim.scene import GEOM, add_bowl, add_free_object, horizontal_distance
from maestro_sim.tasks.base import TABLE_TOP, Evaluation, Stage, Task
from maestro_sim.tasks.registry import register_task

BALL_RGBA = (0.8, 0.9, 0.2, 1.0)
# substitute objects: label, radius, mass, rgba
NEW_OBJECTS = (("orange", 0.036, 0.13, PALETTE["orange"]), ("apple", 0.035, 0.12, PALETTE["red"]),
               ("lime", 0.028, 0.06, (0.45, 0.8, 0.15, 1.0)), ("plum", 0.027, 0.05, PALETTE["purple"]),
               ("golf_ball", 0.0215, 0.046, PALETTE["white"]))
VERBS = (("drop", "Drop the {obj} into the bowl."), ("place", "Place the {obj} in the bowl."),
         ("push", "Push the {obj} next to the bowl."))
BASE_STAGES = (Stage("ball grasped", 30), Stage("ball lifted 5 cm", 50), Stage("ball above bowl", 75),
               Stage("ball resting in bowl, gripper open", 100, latched=False))
PUSH_STAGES = (Stage("ball touched", 30), Stage("ball moved 5 cm", 60),
               Stage("ball resting next to the bowl", 100, latched=False))


@register_task
class PutBallInBowl(Task):
    """Pick a ball and place it in an open bowl."""

    id = "put_ball_in_bowl"
    embodiment = "franka"
    base_instruction = "Put the tennis ball into the bowl."
    stages = BASE_STAGES

    def __init__(self) -> None:
        super().__init__()
        self.ball_label = "tennis_ball"
        self.ball_radius = 0.033
        self.bowl_radius = 0.09
        self.bowl_height = 0.05
        self.verb_text = ""

    def build(self, spec: mujoco.MjSpec, rng: np.random.Generator, perturbation: str) -> None:
        """Ball and bowl on the table; the perturbation changes colours, poses, verb or the ball itself."""
        ball_xy, bowl_xy = np.array([0.5, -0.12]), np.array([0.5, 0.15])
        ball_rgba, bowl_rgba, mass = BALL_RGBA, (0.25, 0.45, 0.85, 1.0), 0.058
        if perturbation == "pose":
            bowl_xy, ball_xy = perturb.sample_positions(rng, 2, (0.38, 0.62), (-0.28, 0.28), 0.24)
        elif perturbation == "visual":
            names = [n for n in PALETTE if n not in ("white", "black")]
            bowl_rgba = PALETTE[names[int(rng.integers(len(names)))]]
        elif perturbation == "new_object":
            label, radius, mass, ball_rgba = NEW_OBJECTS[int(rng.integers(len(NEW_OBJECTS)))]
            self.ball_label, self.ball_radius = label, radius
        elif perturbation == "verb":
            self.variant, self.verb_text = VERBS[int(rng.integers(len(VERBS)))]
        add_free_object(spec, "ball", GEOM.mjGEOM_SPHERE, [self.ball_radius],
                        (ball_xy[0], ball_xy[1], TABLE_TOP + self.ball_radius), ball_rgba, mass,
                        friction=(1.0, 0.005, 0.0005))
        spec.body("ball").add_site(name="ball/center", size=[0.004, 0, 0])
        add_bowl(spec, "bowl", (bowl_xy[0], bowl_xy[1], TABLE_TOP), self.bowl_radius, self.bowl_height, bowl_rgba)
        d = 2 * self.ball_radius
        self.add_object("ball", self.ball_label, (d, d, d), {"center": "ball/center"})
        self.add_object("bowl", "bowl", (2 * self.bowl_radius, 2 * self.bowl_radius, self.bowl_height),
                        {"center": "bowl/center", "rim": "bowl/rim"})
        if perturbation == "visual":
            n = int(rng.integers(2, 4))
            perturb.add_distractors(spec, self, rng, n, TABLE_TOP, (0.3, 0.7), (-0.35, 0.35),
                                    keep_out=[(*ball_xy, 0.1), (*bowl_xy, 0.16), (0.0, 0.0, 0.3)])

    def instruction(self, perturbation: str, rng: np.random.Generator) -> str:
        """Base instruction, or the verb variant's, naming the substitute object when there is one."""
        obj = self.ball_label.replace("_", " ")
        if self.verb_text:
            return self.verb_text.format(obj="ball")
        if perturbation == "new_object":
            return f"Put the {obj} into the bowl."
        return self.base_instruction

    def rubric(self) -> tuple[Stage, ...]:
        """The push variant has its own rubric."""
        return PUSH_STAGES if self.variant == "push" else BASE_STAGES

    def evaluate(self, world: Any, memory: dict[str, Any]) -> Evaluation:
        """Measure grasp, lift, position over / in / next to the bowl."""
        ball, bowl = world.body_pos("ball"), world.body_pos("bowl")
        start = world.initial_positions["ball"]
        horiz = horizontal_distance(ball, bowl)
        rim_z = bowl[2] + self.bowl_height
        touched = world.touched_by_robot("ball")
        resting = float(np.linalg.norm(world.body_velocity("ball"))) < 0.05 and not touched
        if self.variant == "push":
            moved = horizontal_distance(ball, start)
            gap = horiz - self.bowl_radius - self.ball_radius
            return self.score(memory, {
                "ball touched": (touched, float(touched)),
                "ball moved 5 cm": (moved > 0.05, moved),
                "ball resting next to the bowl": (resting and -0.005 < gap < 0.06 and ball[2] < rim_z, gap),
            })
        lift = float(ball[2] - start[2])
        inside = horiz < self.bowl_radius - 0.3 * self.ball_radius and ball[2] < rim_z + self.ball_radius
        return self.score(memory, {
            "ball grasped": (world.is_grasped("ball"), float(world.gripper_gap())),
            "ball lifted 5 cm": (lift > 0.05, lift),
            "ball above bowl": (horiz < self.bowl_radius and ball[2] - self.ball_radius > rim_z - 0.01, horiz),
            "ball resting in bowl, gripper open": (inside and resting, horiz),
        })
