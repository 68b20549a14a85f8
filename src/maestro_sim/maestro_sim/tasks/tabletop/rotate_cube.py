"""rotate_cube: "Rotate the cube so that one of its purple faces points up." (Franka)

The cube's two opposite local +-x faces are purple; at the start they face sideways (the cube's yaw varies).
Rubric: cube grasped 30 · cube lifted 50 · purple face up (within 20 deg) and cube resting 100 (not latched).
Verb "upside down": "Turn the cube upside down." — grasped 30 · lifted 50 · the face that was on top (yellow)
points down (within 20 deg) and the cube rests 100. New object: an upright rectangular block (purple long sides).
Visual: colours of the other faces, distractors, table and light (the world restyles table and light).
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

CUBE = "cube"
UP_TOLERANCE = math.radians(20.0)
LIFT = 0.03           # m above its start height counts as lifted
OTHER_FACE_COLOURS = ("red", "green", "blue", "yellow", "white", "cyan")
# local face normals and the half-size axis each face sits on
_FACES = {"+x": (0, 1.0), "-x": (0, -1.0), "+y": (1, 1.0), "-y": (1, -1.0), "+z": (2, 1.0), "-z": (2, -1.0)}


def add_coloured_box(spec: mujoco.MjSpec, name: str, half: tuple[float, float, float], pos: tuple[float, float, float],
                     yaw: float, face_rgba: dict[str, tuple[float, ...]], mass: float = 0.08) -> mujoco.MjsBody:
    """A free box whose six faces carry thin visual colour plates (collision is the plain box)."""
    body = spec.worldbody.add_body(name=name, pos=list(pos), quat=yaw_quat(yaw))
    body.add_freejoint(name=f"{name}_free")
    body.add_geom(name=f"{name}_geom", type=GEOM.mjGEOM_BOX, size=list(half), rgba=[0.85, 0.85, 0.85, 1.0],
                  mass=mass, friction=[1.2, 0.01, 0.001], condim=4, solref=[0.004, 1.0])
    plate = 0.0008
    for face, rgba in face_rgba.items():
        axis, sign = _FACES[face]
        size = [h * 0.96 for h in half]
        size[axis] = plate
        p = [0.0, 0.0, 0.0]
        p[axis] = sign * (half[axis] + plate * 0.5)
        body.add_geom(name=f"{name}_face{face}", type=GEOM.mjGEOM_BOX, size=size, pos=p, rgba=list(rgba),
                      contype=0, conaffinity=0, density=0.0)
    body.add_site(name=f"{name}/center", size=[0.004, 0, 0])
    return body


@register_task
class RotateCube(Task):
    """Turn a cube about a horizontal axis so that a purple face points up."""

    id = "rotate_cube"
    embodiment = "franka"
    base_instruction = "Rotate the cube so that one of its purple faces points up."
    stages = (Stage("cube grasped", 30), Stage("cube lifted", 50),
              Stage("purple face up and cube resting", 100, latched=False))
    flip_stages = (Stage("cube grasped", 30), Stage("cube lifted", 50),
                   Stage("top face down and cube resting", 100, latched=False))

    def __init__(self) -> None:
        super().__init__()
        self.half = (0.025, 0.025, 0.025)
        self.label = "cube"

    def build(self, spec: mujoco.MjSpec, rng: np.random.Generator, perturbation: str) -> None:
        """One cube (or block) with purple +-x faces on the table; distractors for the visual axis."""
        xy, yaw = np.array([0.5, 0.0]), 0.35
        colours = {"+y": "red", "-y": "green", "+z": "yellow", "-z": "blue"}
        if perturbation == "pose":
            xy = np.array([rng.uniform(0.4, 0.6), rng.uniform(-0.2, 0.2)])
            yaw = float(rng.uniform(-math.pi, math.pi))
        elif perturbation == "visual":
            picks = rng.permutation(len(OTHER_FACE_COLOURS))[:4]
            colours = dict(zip(("+y", "-y", "+z", "-z"), (OTHER_FACE_COLOURS[i] for i in picks), strict=True))
        elif perturbation == "new_object":
            self.half, self.label = (0.022, 0.022, 0.035), "block"
        elif perturbation == "verb":
            self.variant = "upside_down"
        faces = {"+x": PALETTE["purple"], "-x": PALETTE["purple"]}
        faces.update({k: PALETTE[v] for k, v in colours.items()})
        add_coloured_box(spec, CUBE, self.half, (xy[0], xy[1], TABLE_TOP + self.half[2]), yaw, faces)
        self.add_object(CUBE, self.label, tuple(2 * h for h in self.half), {"center": f"{CUBE}/center"})
        if perturbation == "visual":
            perturb.add_distractors(spec, self, rng, int(rng.integers(2, 4)), TABLE_TOP, (0.3, 0.7), (-0.35, 0.35),
                                    keep_out=[(xy[0], xy[1], 0.12), (0.0, 0.0, 0.3)])

    def instruction(self, perturbation: str, rng: np.random.Generator) -> str:
        """Base instruction, the verb variant's or the new object's."""
        if self.variant == "upside_down":
            return "Turn the cube upside down."
        if perturbation == "new_object":
            return "Rotate the block so that one of its purple faces points up."
        return self.base_instruction

    def rubric(self) -> tuple[Stage, ...]:
        """The upside-down verb variant has its own final stage."""
        return self.flip_stages if self.variant == "upside_down" else self.stages

    def evaluate(self, world: Any, memory: dict[str, Any]) -> Evaluation:
        """Grasp, lift, and the angle between a purple face normal (local +-x) and world up (or top face down)."""
        rot = world.body_rot(CUBE)
        if self.variant == "upside_down":
            angle = math.acos(float(np.clip(-rot[2, 2], -1.0, 1.0)))  # local +z (the top face) against world -z
            name = "top face down and cube resting"
        else:
            # local +x and -x are purple: one of them is up when |z component of local x| is near 1
            angle = math.acos(min(1.0, abs(float(rot[2, 0]))))
            name = "purple face up and cube resting"
        pos = world.body_pos(CUBE)
        lift = float(pos[2] - world.initial_positions[CUBE][2])
        resting = (not world.touched_by_robot(CUBE) and float(np.linalg.norm(world.body_velocity(CUBE))) < 0.02
                   and pos[2] < TABLE_TOP + 0.06)
        return self.score(memory, {
            "cube grasped": (world.is_grasped(CUBE), float(world.gripper_gap())),
            "cube lifted": (lift > LIFT, lift),
            name: (angle < UP_TOLERANCE and resting, math.degrees(angle)),
        })
