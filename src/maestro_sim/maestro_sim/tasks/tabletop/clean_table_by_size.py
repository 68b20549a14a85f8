"""clean_table_by_size: "Clean the table by putting all the items into the bowl, from big size to small size."

Three items of clearly different sizes and a large bowl. Rubric: each item resting in the bowl gives 100/N; an item
put in out of order (while a bigger item was still outside) counts half. Not latched: an item that leaves the bowl
stops counting. Verb "small_first": "Put all the items into the bowl, from the smallest to the biggest." (the order is
reversed). New object: another set of items (orange, can, dice or milk carton, apple, cherry).
"""
from __future__ import annotations

from typing import Any

import mujoco
import numpy as np

from maestro_sim import perturb
from maestro_sim.perturb import PALETTE
from maestro_sim.scene import GEOM, add_bowl, add_free_object, horizontal_distance
from maestro_sim.tasks.base import TABLE_TOP, Criterion, Evaluation, Stage, Task
from maestro_sim.tasks.registry import register_task

# (body, label, geom type, size, full height, mass, colour); listed from big to small
ITEMS = (("item_big", "red_cube", GEOM.mjGEOM_BOX, (0.028, 0.028, 0.028), 0.056, 0.12, "red"),
         ("item_medium", "green_cylinder", GEOM.mjGEOM_CYLINDER, (0.02, 0.03), 0.06, 0.07, "green"),
         ("item_small", "blue_cube", GEOM.mjGEOM_BOX, (0.014, 0.014, 0.014), 0.028, 0.03, "blue"))
NEW_ITEMS = (("item_big", "orange", GEOM.mjGEOM_SPHERE, (0.032,), 0.064, 0.13, "orange"),
             ("item_medium", "can", GEOM.mjGEOM_CYLINDER, (0.022, 0.035), 0.07, 0.08, "grey"),
             ("item_small", "dice", GEOM.mjGEOM_BOX, (0.012, 0.012, 0.012), 0.024, 0.02, "white"))
NEW_ITEMS_2 = (("item_big", "milk_carton", GEOM.mjGEOM_BOX, (0.03, 0.03, 0.045), 0.09, 0.15, "white"),
               ("item_medium", "apple", GEOM.mjGEOM_SPHERE, (0.026,), 0.052, 0.1, "red"),
               ("item_small", "cherry", GEOM.mjGEOM_SPHERE, (0.013,), 0.026, 0.01, "pink"))
START_XY = ((0.42, -0.22), (0.58, -0.05), (0.40, 0.05))
BOWL_RADIUS, BOWL_HEIGHT = 0.11, 0.05
VERBS = (("small_first", "Put all the items into the bowl, from the smallest to the biggest."),
         ("tidy", "Tidy up the table: drop every item into the bowl, the biggest one first and the smallest last."),
         ("small_first", "Fill the bowl with the items on the table, starting with the smallest one."))


@register_task
class CleanTableBySize(Task):
    """Put every item into the bowl, biggest first."""

    id = "clean_table_by_size"
    embodiment = "franka"
    base_instruction = "Clean the table by putting all the items into the bowl, from big size to small size."
    stages = tuple(Stage(f"{label} in the bowl", round(100 / 3, 2), latched=False) for _, label, *_ in ITEMS)

    def __init__(self) -> None:
        super().__init__()
        self.items = ITEMS
        self.bowl_xy = np.array([0.55, 0.22])
        self.verb_text = ""

    def build(self, spec: mujoco.MjSpec, rng: np.random.Generator, perturbation: str) -> None:
        """Items on the table and a wide bowl."""
        starts = [np.array(p) for p in START_XY]
        colours = [it[6] for it in ITEMS]
        if perturbation == "pose":
            pts = perturb.sample_positions(rng, 4, (0.38, 0.64), (-0.3, 0.3), 0.13)
            self.bowl_xy, starts = pts[0], pts[1:]
            if horizontal_distance(self.bowl_xy, np.zeros(2)) < 0.4:  # keep the bowl off the robot base
                self.bowl_xy = self.bowl_xy * (0.4 / np.linalg.norm(self.bowl_xy))
        elif perturbation == "visual":
            names = [n for n in PALETTE if n not in ("white", "black", "grey")]
            colours = [names[i] for i in rng.choice(len(names), 3, replace=False)]
        elif perturbation == "new_object":
            self.items = (NEW_ITEMS, NEW_ITEMS_2)[int(rng.integers(2))]
            colours = [it[6] for it in self.items]
        elif perturbation == "verb":
            self.variant, self.verb_text = VERBS[int(rng.integers(len(VERBS)))]
        for (body, label, gtype, size, height, mass, _), colour, xy in zip(self.items, colours, starts, strict=True):
            if perturbation == "visual":
                label = f"{colour}_{label.split('_', 1)[-1]}"
            add_free_object(spec, body, gtype, size, (xy[0], xy[1], TABLE_TOP + height / 2), PALETTE[colour], mass,
                            yaw=float(rng.uniform(-0.5, 0.5)) if perturbation == "pose" else 0.0)
            spec.body(body).add_site(name=f"{body}/center", size=[0.004, 0, 0])
            width = 2 * size[0]
            self.add_object(body, label, (width, width, height), {"center": f"{body}/center"})
        add_bowl(spec, "bowl", (self.bowl_xy[0], self.bowl_xy[1], TABLE_TOP), BOWL_RADIUS, BOWL_HEIGHT,
                 (0.85, 0.85, 0.8, 1.0) if perturbation != "visual" else PALETTE["cyan"], mass=0.5)
        self.add_object("bowl", "bowl", (2 * BOWL_RADIUS, 2 * BOWL_RADIUS, BOWL_HEIGHT),
                        {"center": "bowl/center", "rim": "bowl/rim"})

    def instruction(self, perturbation: str, rng: np.random.Generator) -> str:
        """Base, or the reversed order for the verb variant."""
        return self.verb_text or self.base_instruction

    def order(self) -> list[str]:
        """Bodies in the order they should go into the bowl."""
        bodies = [it[0] for it in self.items]
        return bodies[::-1] if self.variant == "small_first" else bodies

    def rubric(self) -> tuple[Stage, ...]:
        """One stage per item, in the required order."""
        labels = {b: info.label for b, info in self.objects().items()}
        return tuple(Stage(f"{labels[b]} in the bowl", round(100 / len(self.items), 2), latched=False)
                     for b in self.order())

    def in_bowl(self, world: Any, body: str) -> bool:
        """Item resting inside the bowl and not held by the robot."""
        p, bowl = world.body_pos(body), world.body_pos("bowl")
        return (horizontal_distance(p, bowl) < BOWL_RADIUS - 0.01 and p[2] < bowl[2] + BOWL_HEIGHT + 0.05
                and not world.touched_by_robot(body))

    def evaluate(self, world: Any, memory: dict[str, Any]) -> Evaluation:
        """Items in the bowl now, halved when they entered out of order (entry order kept in ``memory``)."""
        order = self.order()
        entered: dict[str, bool] = memory.setdefault("out_of_order", {})
        inside = {b: self.in_bowl(world, b) for b in order}
        for i, body in enumerate(order):
            if inside[body] and body not in entered:
                entered[body] = any(not inside[b] and b not in entered for b in order[:i])
        criteria, progress = [], 0.0
        share = 100.0 / len(order)
        for stage, body in zip(self.rubric(), order, strict=True):
            factor = 0.0 if not inside[body] else (0.5 if entered.get(body) else 1.0)
            progress += share * factor
            criteria.append(Criterion(stage.name, stage.points, inside[body], factor))
        return Evaluation(min(100.0, round(progress, 4)), criteria)
