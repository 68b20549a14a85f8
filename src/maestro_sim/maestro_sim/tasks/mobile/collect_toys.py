"""collect_toys: "Collect all plush toys on the white table." (Go2-W + PiPER)

Three plush toys (ball, cube, egg-shaped bunny) lie on the floor around the robot; a low white table stands nearby
(a brown table is a distractor on the visual axis). Rubric (additive, not latched): per toy resting on the white
table's top 100/N. Verb "next to the table": put every toy on the floor within 0.25 m of the white table's edge
(per toy 100/N).
New object: other plush toys (a capsule "carrot" replaces the cube). Pose: toys and table moved.
"""
from __future__ import annotations

import math
from typing import Any

import mujoco
import numpy as np

from maestro_sim.perturb import PALETTE
from maestro_sim.scene import GEOM, yaw_quat
from maestro_sim.tasks.base import Criterion, Evaluation, Stage, Task
from maestro_sim.tasks.mobile.common import (
    PLUSH_FRICTION,
    PLUSH_SOLREF,
    add_plush_ball,
    add_plush_cube,
    polar_xy,
    restyle_floor,
)
from maestro_sim.tasks.registry import register_task

TABLE = "white_table"
OTHER_TABLE = "brown_table"
TABLE_HEIGHT = 0.30
TABLE_HALF = (0.22, 0.30)
TOY_SIZE = 0.028           # ball radius, cube half edge, egg semi-axis
NEXT_TO = 0.25             # m from the table's edge, verb variant


def add_low_table(spec: mujoco.MjSpec, name: str, xy: np.ndarray, yaw: float, rgba: tuple[float, ...]) -> None:
    """A static coffee table (top at TABLE_HEIGHT) with four legs; site ``<name>/top`` at the top centre."""
    body = spec.worldbody.add_body(name=name, pos=[xy[0], xy[1], 0.0], quat=yaw_quat(yaw))
    body.add_geom(name=f"{name}_top", type=GEOM.mjGEOM_BOX, size=[TABLE_HALF[0], TABLE_HALF[1], 0.015],
                  pos=[0, 0, TABLE_HEIGHT - 0.015], rgba=list(rgba))
    for i, (sx, sy) in enumerate(((1, 1), (1, -1), (-1, 1), (-1, -1))):
        body.add_geom(name=f"{name}_leg{i}", type=GEOM.mjGEOM_BOX, size=[0.02, 0.02, (TABLE_HEIGHT - 0.03) / 2],
                      pos=[sx * (TABLE_HALF[0] - 0.03), sy * (TABLE_HALF[1] - 0.03), (TABLE_HEIGHT - 0.03) / 2],
                      rgba=list(rgba))
    body.add_site(name=f"{name}/top", pos=[0, 0, TABLE_HEIGHT], size=[0.005, 0, 0])


def add_plush_egg(spec: mujoco.MjSpec, name: str, xy: np.ndarray, rgba: tuple[float, ...]) -> None:
    """An egg-shaped plush (ellipsoid lying on its side)."""
    body = spec.worldbody.add_body(name=name, pos=[xy[0], xy[1], TOY_SIZE * 0.9])
    body.add_freejoint(name=f"{name}_free")
    body.add_geom(name=f"{name}_geom", type=GEOM.mjGEOM_ELLIPSOID, size=[0.04, TOY_SIZE * 0.9, TOY_SIZE * 0.9],
                  rgba=list(rgba), mass=0.04, friction=list(PLUSH_FRICTION), condim=4, solref=list(PLUSH_SOLREF))


@register_task
class CollectToys(Task):
    """Bring every plush toy from the floor onto the white table."""

    id = "collect_toys"
    embodiment = "go2w_piper"
    base_instruction = "Collect all plush toys on the white table."
    stages = tuple(Stage(f"toy {i} on the white table", round(100 / 3, 3), latched=False) for i in range(3))
    next_stages = tuple(Stage(f"toy {i} on the floor next to the white table", round(100 / 3, 3), latched=False)
                        for i in range(3))

    def __init__(self) -> None:
        super().__init__()
        self.toys: list[str] = []
        self.toy_heights: dict[str, float] = {}

    def build(self, spec: mujoco.MjSpec, rng: np.random.Generator, perturbation: str) -> None:
        """Toys on the floor, the white table to the robot's left."""
        table_xy, table_yaw = np.array([0.2, 1.15]), 0.0
        spots = [polar_xy(1.0, -0.35), polar_xy(1.2, 0.25), polar_xy(0.95, -1.0)]
        if perturbation == "pose":
            table_xy = polar_xy(rng.uniform(1.05, 1.3), rng.uniform(1.2, 1.9))
            table_yaw = float(rng.uniform(-0.4, 0.4))
            spots = []
            for _ in range(500):
                p = polar_xy(rng.uniform(0.9, 1.5), rng.uniform(-1.4, 0.6))
                if all(np.linalg.norm(p - q) > 0.3 for q in spots):
                    spots.append(p)
                if len(spots) == 3:
                    break
        add_low_table(spec, TABLE, table_xy, table_yaw, PALETTE["white"])
        self.table_xy, self.table_yaw = table_xy, table_yaw
        colours = ("pink", "cyan", "yellow")
        kinds = ["ball", "cube", "egg"]
        if perturbation == "visual":
            restyle_floor(spec, rng)
            names = [c for c in PALETTE if c not in ("white", "grey", "black")]
            colours = tuple(names[i] for i in rng.permutation(len(names))[:3])
            add_low_table(spec, OTHER_TABLE, polar_xy(1.4, -2.2), 0.3, PALETTE["brown"])
            self.add_object(OTHER_TABLE, "brown_table", (2 * TABLE_HALF[0], 2 * TABLE_HALF[1], TABLE_HEIGHT),
                            task_relevant=False)
        if perturbation == "new_object":
            kinds = ["ball", "carrot", "egg"]
        if perturbation == "verb":
            self.variant = "next_to_table"
        self.toys = []
        for i, (kind, colour, xy) in enumerate(zip(kinds, colours, spots, strict=True)):
            name = f"toy_{i}"
            rgba = PALETTE[colour]
            if kind == "ball":
                add_plush_ball(spec, name, xy, TOY_SIZE, rgba)
                size, height = (2 * TOY_SIZE,) * 3, TOY_SIZE
            elif kind == "cube":
                add_plush_cube(spec, name, xy, TOY_SIZE * 0.85, rgba, yaw=float(i))
                size, height = (1.7 * TOY_SIZE,) * 3, TOY_SIZE * 0.85
            elif kind == "carrot":
                body = spec.worldbody.add_body(name=name, pos=[xy[0], xy[1], 0.022],
                                               quat=[math.cos(math.pi / 4), 0, math.sin(math.pi / 4), 0])
                body.add_freejoint(name=f"{name}_free")
                body.add_geom(name=f"{name}_geom", type=GEOM.mjGEOM_CAPSULE, size=[0.022, 0.035],
                              rgba=list(PALETTE["orange"]), mass=0.04, friction=list(PLUSH_FRICTION), condim=4,
                              solref=list(PLUSH_SOLREF))
                colour, size, height = "orange", (0.114, 0.044, 0.044), 0.022
            else:
                add_plush_egg(spec, name, xy, rgba)
                size, height = (0.08, 1.8 * TOY_SIZE, 1.8 * TOY_SIZE), TOY_SIZE * 0.9
            self.add_object(name, f"{colour}_plush_{kind}", size)
            self.toys.append(name)
            self.toy_heights[name] = height
        self.add_object(TABLE, "white_table", (2 * TABLE_HALF[0], 2 * TABLE_HALF[1], TABLE_HEIGHT),
                        {"top": f"{TABLE}/top"})

    def instruction(self, perturbation: str, rng: np.random.Generator) -> str:
        """Base or verb instruction."""
        if self.variant == "next_to_table":
            return "Put all plush toys on the floor next to the white table."
        return self.base_instruction

    def rubric(self) -> tuple[Stage, ...]:
        """Per-toy stages (on the table, or next to it for the verb)."""
        return self.next_stages if self.variant == "next_to_table" else self.stages

    def toy_in_table_frame(self, world: Any, toy: str) -> np.ndarray:
        """Toy position in the white table's frame (x, y horizontal from the table centre, z above the floor)."""
        return world.body_rot(TABLE).T @ (world.body_pos(toy) - world.body_pos(TABLE))

    def evaluate(self, world: Any, memory: dict[str, Any]) -> Evaluation:
        """Additive: 100/N per toy resting on (or next to) the white table, not held by the robot."""
        criteria: list[Criterion] = []
        progress = 0.0
        for stage, toy in zip(self.rubric(), self.toys, strict=True):
            local = self.toy_in_table_frame(world, toy)
            inside = abs(local[0]) < TABLE_HALF[0] and abs(local[1]) < TABLE_HALF[1]
            if self.variant == "next_to_table":
                gap = max(abs(local[0]) - TABLE_HALF[0], abs(local[1]) - TABLE_HALF[1])
                ok = 0.0 < gap < NEXT_TO and local[2] < 0.08
            else:
                ok = inside and TABLE_HEIGHT < local[2] < TABLE_HEIGHT + 0.08
            ok = ok and not world.touched_by_robot(toy)
            criteria.append(Criterion(stage.name, stage.points, ok, float(local[2])))
            progress += 100.0 * ok / len(self.toys)
        return Evaluation(round(progress, 6), criteria)
