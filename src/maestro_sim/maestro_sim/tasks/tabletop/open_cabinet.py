"""open_cabinet: "Open the lower cabinet door by pulling the yellow door handle."

A cabinet stands on the table facing the robot; its lower door swings on a real hinge joint
(``cabinet_door_hinge``, vertical axis at the door's right edge seen from the robot; positive angle = open toward the
robot). Rubric: handle grasped 30 · door opened 15° 60 · 45° 80 · 75° or more 100 (latched).
Verb "slightly": "Open the lower cabinet door just a little, about 30 degrees." handle grasped 30 · door opened 15° 60
· door between 20° and 45° and released 100 (not latched).
New object: a vertical bar handle or a round knob instead of the horizontal bar.
"""
from __future__ import annotations

import math
from typing import Any

import mujoco
import numpy as np

from maestro_sim import perturb
from maestro_sim.perturb import PALETTE
from maestro_sim.scene import GEOM, yaw_quat
from maestro_sim.tasks.base import TABLE_TOP, Evaluation, Stage, Task
from maestro_sim.tasks.registry import register_task

WIDTH, DEPTH, HEIGHT = 0.36, 0.30, 0.50   # cabinet outer size (m): y, x, z
DOOR_H, DOOR_T = 0.21, 0.015              # lower door height and thickness
WALL = 0.015
HANDLE_OFFSET = 0.045                     # bar distance in front of the door
HANDLE_FROM_HINGE = 0.29                  # along the door
YELLOW = (0.98, 0.82, 0.05, 1.0)
BASE_STAGES = (Stage("handle grasped", 30), Stage("door opened 15 deg", 60), Stage("door opened 45 deg", 80),
               Stage("door opened 75 deg or more", 100))
SLIGHT_STAGES = (Stage("handle grasped", 30), Stage("door opened 15 deg", 60),
                 Stage("door open 20-45 deg, released", 100, latched=False))
VERBS = (("pull", "Pull the yellow handle to swing the lower cabinet door open."),
         ("slightly", "Open the lower cabinet door just a little, about 30 degrees."),
         ("swing", "Swing open the bottom door of the cabinet using its yellow handle."))


@register_task
class OpenCabinet(Task):
    """Open a hinged cabinet door by its handle."""

    id = "open_cabinet"
    embodiment = "franka"
    base_instruction = "Open the lower cabinet door by pulling the yellow door handle."
    stages = BASE_STAGES

    def __init__(self) -> None:
        super().__init__()
        self.handle_kind = "horizontal_bar"   # or "vertical_bar", "knob" (new_object)
        self.center = np.array([0.80, 0.0])
        self.yaw = 0.0
        self.verb_text = ""

    def build(self, spec: mujoco.MjSpec, rng: np.random.Generator, perturbation: str) -> None:
        """The cabinet (static body), its hinged lower door and the handle."""
        body_rgba = (0.82, 0.80, 0.76, 1.0)
        if perturbation == "pose":
            self.center = np.array([0.80 + rng.uniform(-0.05, 0.04), rng.uniform(-0.12, 0.12)])
            self.yaw = float(rng.uniform(-0.3, 0.3))
        elif perturbation == "visual":
            names = ["white", "grey", "brown", "blue", "green", "pink"]
            body_rgba = PALETTE[names[int(rng.integers(len(names)))]]
        elif perturbation == "new_object":
            self.handle_kind = ("vertical_bar", "knob")[int(rng.integers(2))]
        elif perturbation == "verb":
            self.variant, self.verb_text = VERBS[int(rng.integers(len(VERBS)))]
        cab = spec.worldbody.add_body(name="cabinet", pos=[*self.center, TABLE_TOP], quat=yaw_quat(self.yaw))
        hx, hy = DEPTH / 2, WIDTH / 2
        walls = {  # name: (half sizes, centre) in the cabinet frame; the front (-x) is open
            "back": ((WALL / 2, hy, HEIGHT / 2), (hx - WALL / 2, 0, HEIGHT / 2)),
            "left": ((hx, WALL / 2, HEIGHT / 2), (0, hy - WALL / 2, HEIGHT / 2)),
            "right": ((hx, WALL / 2, HEIGHT / 2), (0, -hy + WALL / 2, HEIGHT / 2)),
            "top": ((hx, hy, WALL / 2), (0, 0, HEIGHT - WALL / 2)),
            "bottom": ((hx, hy, WALL / 2), (0, 0, WALL / 2)),
            "shelf": ((hx, hy, WALL / 2), (0, 0, DOOR_H + 0.03)),
            "upper_door": ((DOOR_T / 2, hy, (HEIGHT - DOOR_H - 0.03) / 2),
                           (-hx - DOOR_T / 2, 0, (HEIGHT + DOOR_H + 0.03) / 2)),
        }
        for name, (size, pos) in walls.items():
            cab.add_geom(name=f"cabinet_{name}", type=GEOM.mjGEOM_BOX, size=list(size), pos=list(pos),
                         rgba=list(body_rgba))
        door_w = WIDTH - 0.01
        door = cab.add_body(name="cabinet_door", pos=[-hx - DOOR_T / 2 - 0.002, -hy + 0.005, 0.02 + DOOR_H / 2])
        door.add_joint(name="cabinet_door_hinge", type=mujoco.mjtJoint.mjJNT_HINGE, axis=[0, 0, 1],
                       range=[0.0, 1.9], damping=0.3, frictionloss=0.15, armature=0.01)
        door.add_geom(name="cabinet_door_panel", type=GEOM.mjGEOM_BOX, size=[DOOR_T / 2, door_w / 2, DOOR_H / 2],
                      pos=[0, door_w / 2, 0], rgba=[c * 0.92 for c in body_rgba[:3]] + [1.0], mass=0.6)
        door.add_site(name="cabinet_door/hinge", pos=[0, 0, 0], size=[0.005, 0, 0])
        handle = door.add_body(name="cabinet_handle", pos=[-HANDLE_OFFSET, HANDLE_FROM_HINGE, 0])
        if self.handle_kind == "knob":
            handle.add_geom(name="cabinet_handle_knob", type=GEOM.mjGEOM_SPHERE, size=[0.017], rgba=list(YELLOW),
                            mass=0.02, friction=[1.2, 0.02, 0.001], condim=4)
            handle.add_geom(name="cabinet_handle_stem", type=GEOM.mjGEOM_CYLINDER, size=[0.006, 0.02],
                            pos=[0.025, 0, 0], quat=[0.7071068, 0, 0.7071068, 0], rgba=list(YELLOW), mass=0.01)
            size = (0.034, 0.034, 0.034)
        else:
            vertical = self.handle_kind == "vertical_bar"
            bar = [0.008, 0.008, 0.055] if vertical else [0.008, 0.055, 0.008]
            handle.add_geom(name="cabinet_handle_bar", type=GEOM.mjGEOM_BOX, size=bar, rgba=list(YELLOW),
                            mass=0.03, friction=[1.2, 0.02, 0.001], condim=4)
            for i, s in enumerate((-1, 1)):
                off = [HANDLE_OFFSET / 2 + 0.004, 0, s * 0.045] if vertical else [HANDLE_OFFSET / 2 + 0.004,
                                                                                  s * 0.045, 0]
                handle.add_geom(name=f"cabinet_handle_post{i}", type=GEOM.mjGEOM_BOX,
                                size=[HANDLE_OFFSET / 2 - 0.004, 0.005, 0.005], pos=off, rgba=list(YELLOW),
                                mass=0.005)
            size = (0.016, 0.016, 0.11) if vertical else (0.016, 0.11, 0.016)
        handle.add_site(name="cabinet_handle/grasp", pos=[0, 0, 0], size=[0.005, 0, 0])
        label = {"vertical_bar": "yellow_handle", "horizontal_bar": "yellow_handle", "knob": "yellow_knob"}
        self.add_object("cabinet_handle", label[self.handle_kind], size, {"grasp": "cabinet_handle/grasp"})
        self.add_object("cabinet_door", "cabinet_door", (DOOR_T, door_w, DOOR_H), {"hinge": "cabinet_door/hinge"})
        self.add_object("cabinet", "cabinet", (DEPTH, WIDTH, HEIGHT))
        if perturbation == "visual":
            n = int(rng.integers(1, 3))
            perturb.add_distractors(spec, self, rng, n, TABLE_TOP, (0.30, 0.55), (-0.45, -0.32),
                                    keep_out=[(0.0, 0.0, 0.3)])

    def instruction(self, perturbation: str, rng: np.random.Generator) -> str:
        """Base, verb variant, or naming the knob."""
        if self.verb_text:
            return self.verb_text
        if self.handle_kind == "knob":
            return "Open the lower cabinet door by pulling the yellow knob."
        return self.base_instruction

    def rubric(self) -> tuple[Stage, ...]:
        """The "slightly" verb variant has its own rubric."""
        return SLIGHT_STAGES if self.variant == "slightly" else BASE_STAGES

    def evaluate(self, world: Any, memory: dict[str, Any]) -> Evaluation:
        """Door angle from the hinge joint; grasp from finger contacts on the handle."""
        angle = math.degrees(world.joint_qpos("cabinet_door_hinge"))
        grasped = world.is_grasped("cabinet_handle")
        if self.variant == "slightly":
            released = not world.touched_by_robot("cabinet_handle")
            return self.score(memory, {
                "handle grasped": (grasped, angle),
                "door opened 15 deg": (angle >= 15.0, angle),
                "door open 20-45 deg, released": (20.0 <= angle <= 45.0 and released, angle),
            })
        return self.score(memory, {
            "handle grasped": (grasped, angle),
            "door opened 15 deg": (angle >= 15.0, angle),
            "door opened 45 deg": (angle >= 45.0, angle),
            "door opened 75 deg or more": (angle >= 75.0, angle),
        })
