"""hang_mug: "Hang the mug on the mug hanger stand." (Franka)

The mug is an open cylinder with a C-shaped handle (a real loop: the peg can pass through it); the stand is a pole
with two pegs tilted 15 deg upwards. Rubric: mug grasped by the handle or rim 30 · mug lifted 50 · mug handle around
a peg 80 · mug hanging, released 100 (not latched).
"Around a peg": the peg's axis segment crosses the plane of the handle loop inside the loop's opening.
Verb "place next to the stand": grasped 30 · lifted 50 · mug upright on the table within 15 cm of the pole,
released 100. New object: a wider, lower cup with a larger handle. Visual: colours and distractors.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import mujoco
import numpy as np

from maestro_sim import perturb
from maestro_sim.perturb import PALETTE
from maestro_sim.scene import GEOM, horizontal_distance, yaw_quat
from maestro_sim.tasks.base import TABLE_TOP, Evaluation, Stage, Task
from maestro_sim.tasks.registry import register_task

MUG = "mug"
STAND = "mug_stand"
PEG_TILT = math.radians(15.0)
PEG_LENGTH = 0.11
PEG_RADIUS = 0.006
POLE_HEIGHT = 0.32
NEXT_TO_STAND = 0.15
RELEASE_TIME = 0.3    # s without any robot contact before the mug counts as released


@dataclass(frozen=True)
class MugShape:
    """Dimensions (m) of a mug: body outer radius/height, wall, handle loop extent (local +x side)."""

    label: str
    radius: float = 0.035
    height: float = 0.09
    wall: float = 0.005
    handle_out: float = 0.032    # loop reaches radius + handle_out
    handle_low: float = 0.022    # loop bottom bar height
    handle_high: float = 0.075   # loop top bar height
    bar: float = 0.005           # handle capsule radius
    mass: float = 0.2

    @property
    def loop_center(self) -> tuple[float, float, float]:
        """Centre of the handle opening in the mug frame."""
        return (self.radius + self.handle_out / 2, 0.0, (self.handle_low + self.handle_high) / 2)

    @property
    def loop_half(self) -> tuple[float, float]:
        """Half extents (x, z) of the free opening inside the handle loop."""
        return (self.handle_out / 2 - self.bar, (self.handle_high - self.handle_low) / 2 - self.bar)


MUG_SHAPE = MugShape("mug")
CUP_SHAPE = MugShape("cup", radius=0.04, height=0.07, handle_out=0.036, handle_low=0.015, handle_high=0.062,
                     mass=0.15)


def add_mug(spec: mujoco.MjSpec, name: str, shape: MugShape, pos: tuple[float, float, float], yaw: float,
            rgba: tuple[float, ...], segments: int = 14) -> mujoco.MjsBody:
    """A free mug: bottom disc, ring of wall boxes, C-shaped handle of three capsules on local +x."""
    body = spec.worldbody.add_body(name=name, pos=list(pos), quat=yaw_quat(yaw))
    body.add_freejoint(name=f"{name}_free")
    m = shape.mass / (segments + 5)
    kw = {"rgba": list(rgba), "friction": [1.2, 0.01, 0.001], "condim": 4, "solref": [0.004, 1.0]}
    body.add_geom(name=f"{name}_bottom", type=GEOM.mjGEOM_CYLINDER, size=[shape.radius, 0.004], pos=[0, 0, 0.004],
                  mass=3 * m, **kw)
    r_mid = shape.radius - shape.wall / 2
    half_len = r_mid * math.tan(math.pi / segments) + shape.wall / 2
    for i in range(segments):
        a = 2 * math.pi * i / segments
        body.add_geom(name=f"{name}_wall{i}", type=GEOM.mjGEOM_BOX, size=[shape.wall / 2, half_len, shape.height / 2],
                      pos=[r_mid * math.cos(a), r_mid * math.sin(a), shape.height / 2], quat=yaw_quat(a), mass=m, **kw)
    x0, x1 = shape.radius - shape.wall, shape.radius + shape.handle_out - shape.bar
    zl, zh = shape.handle_low, shape.handle_high
    body.add_geom(name=f"{name}_handle_top", type=GEOM.mjGEOM_CAPSULE, size=[shape.bar, 0, 0],
                  fromto=[x0, 0, zh, x1, 0, zh], mass=m / 2, **kw)
    body.add_geom(name=f"{name}_handle_bottom", type=GEOM.mjGEOM_CAPSULE, size=[shape.bar, 0, 0],
                  fromto=[x0, 0, zl, x1, 0, zl], mass=m / 2, **kw)
    body.add_geom(name=f"{name}_handle_side", type=GEOM.mjGEOM_CAPSULE, size=[shape.bar, 0, 0],
                  fromto=[x1, 0, zl, x1, 0, zh], mass=m / 2, **kw)
    body.add_site(name=f"{name}/handle", pos=list(shape.loop_center), size=[0.004, 0, 0])
    body.add_site(name=f"{name}/rim", pos=[0, 0, shape.height], size=[0.004, 0, 0])
    return body


def peg_dirs(yaw: float) -> list[tuple[np.ndarray, float]]:
    """(unit direction in the stand frame rotated by ``yaw``, height) of each peg: one towards -x, one towards +y."""
    out = []
    for heading, height in ((math.pi, 0.22), (math.pi / 2, 0.26)):
        h = heading + yaw
        out.append((np.array([math.cos(h) * math.cos(PEG_TILT), math.sin(h) * math.cos(PEG_TILT),
                              math.sin(PEG_TILT)]), height))
    return out


def add_stand(spec: mujoco.MjSpec, name: str, xy: np.ndarray, yaw: float, rgba: tuple[float, ...]) -> None:
    """A static mug tree: base plate, pole, two upward-tilted pegs (sites ``<name>/peg<i>_base`` and ``_tip``)."""
    body = spec.worldbody.add_body(name=name, pos=[xy[0], xy[1], TABLE_TOP])
    body.add_geom(name=f"{name}_plate", type=GEOM.mjGEOM_CYLINDER, size=[0.07, 0.008], pos=[0, 0, 0.008],
                  rgba=list(rgba))
    body.add_geom(name=f"{name}_pole", type=GEOM.mjGEOM_CYLINDER, size=[0.012, POLE_HEIGHT / 2],
                  pos=[0, 0, POLE_HEIGHT / 2], rgba=list(rgba))
    for i, (d, height) in enumerate(peg_dirs(yaw)):
        base = np.array([0.0, 0.0, height]) + 0.012 * np.array([d[0], d[1], 0.0])
        tip = base + PEG_LENGTH * d
        body.add_geom(name=f"{name}_peg{i}", type=GEOM.mjGEOM_CAPSULE, size=[PEG_RADIUS, 0, 0],
                      fromto=[*base, *tip], rgba=list(rgba), friction=[0.8, 0.01, 0.001])
        body.add_site(name=f"{name}/peg{i}_base", pos=list(base), size=[0.004, 0, 0])
        body.add_site(name=f"{name}/peg{i}_tip", pos=list(tip), size=[0.004, 0, 0])


@register_task
class HangMug(Task):
    """Pick the mug by its rim and hang it by the handle on a peg of the stand."""

    id = "hang_mug"
    embodiment = "franka"
    base_instruction = "Hang the mug on the mug hanger stand."
    stages = (Stage("mug grasped by the handle or rim", 30), Stage("mug lifted", 50),
              Stage("mug handle around a peg", 80), Stage("mug hanging, released", 100, latched=False))
    place_stages = (Stage("mug grasped by the handle or rim", 30), Stage("mug lifted", 50),
                    Stage("mug upright next to the stand, released", 100, latched=False))

    def __init__(self) -> None:
        super().__init__()
        self.shape = MUG_SHAPE
        self.n_pegs = 2

    def build(self, spec: mujoco.MjSpec, rng: np.random.Generator, perturbation: str) -> None:
        """Mug on the table (handle sideways), stand to its side; see the module docstring for the axes."""
        mug_xy, mug_yaw = np.array([0.45, -0.12]), math.pi / 2
        stand_xy, stand_yaw = np.array([0.62, 0.12]), 0.0
        mug_rgba, stand_rgba = PALETTE["white"], PALETTE["brown"]
        if perturbation == "pose":
            mug_xy = np.array([rng.uniform(0.38, 0.55), rng.uniform(-0.25, -0.05)])
            mug_yaw = math.pi / 2 + float(rng.uniform(-1.0, 1.0))
            stand_xy = np.array([rng.uniform(0.58, 0.66), rng.uniform(0.05, 0.2)])
            stand_yaw = float(rng.uniform(-0.35, 0.35))
        elif perturbation == "visual":
            names = [n for n in PALETTE if n not in ("black",)]
            mug_rgba = PALETTE[names[int(rng.integers(len(names)))]]
            stand_rgba = PALETTE[("brown", "black", "grey", "white")[int(rng.integers(4))]]
        elif perturbation == "new_object":
            self.shape = CUP_SHAPE
        elif perturbation == "verb":
            self.variant = "place_next_to"
        self.mug_yaw, self.stand_yaw = mug_yaw, stand_yaw
        add_mug(spec, MUG, self.shape, (mug_xy[0], mug_xy[1], TABLE_TOP), mug_yaw, mug_rgba)
        add_stand(spec, STAND, stand_xy, stand_yaw, stand_rgba)
        s = self.shape
        self.add_object(MUG, s.label, (2 * s.radius + s.handle_out, 2 * s.radius, s.height),
                        {"handle": f"{MUG}/handle", "rim": f"{MUG}/rim"})
        self.add_object(STAND, "mug_hanger_stand", (0.14, 0.14, POLE_HEIGHT),
                        {f"peg{i}_tip": f"{STAND}/peg{i}_tip" for i in range(self.n_pegs)})
        if perturbation == "visual":
            perturb.add_distractors(spec, self, rng, int(rng.integers(2, 4)), TABLE_TOP, (0.3, 0.7), (-0.35, 0.35),
                                    keep_out=[(mug_xy[0], mug_xy[1], 0.14), (stand_xy[0], stand_xy[1], 0.22),
                                              (0.0, 0.0, 0.3)])

    def instruction(self, perturbation: str, rng: np.random.Generator) -> str:
        """Base, verb or new-object instruction."""
        if self.variant == "place_next_to":
            return "Place the mug upright on the table next to the mug hanger stand."
        if perturbation == "new_object":
            return "Hang the cup on the mug hanger stand."
        return self.base_instruction

    def rubric(self) -> tuple[Stage, ...]:
        """The placing verb has its own rubric."""
        return self.place_stages if self.variant == "place_next_to" else self.stages

    def handle_around_peg(self, world: Any) -> tuple[bool, float]:
        """Whether a peg's axis passes through the handle opening; value = offset from the opening centre (m)."""
        rot = world.body_rot(MUG)
        centre = world.site_pos(f"{MUG}/handle")
        normal = rot[:, 1]  # the loop lies in the mug's local xz plane
        hx, hz = self.shape.loop_half
        best = math.inf
        for i in range(self.n_pegs):
            p0, p1 = world.site_pos(f"{STAND}/peg{i}_base"), world.site_pos(f"{STAND}/peg{i}_tip")
            denom = float((p1 - p0) @ normal)
            if abs(denom) < 1e-6:
                continue
            t = float((centre - p0) @ normal) / denom
            if not 0.0 <= t <= 1.0:
                continue
            local = rot.T @ (p0 + t * (p1 - p0) - centre)
            best = min(best, float(np.hypot(local[0], local[2])))
            if abs(local[0]) < hx and abs(local[2]) < hz:
                return True, float(np.hypot(local[0], local[2]))
        return False, best if math.isfinite(best) else -1.0

    def grasped_at_rim_or_handle(self, world: Any) -> bool:
        """Gripper closed on the mug with the TCP near the rim (within 4 cm below it) or near the handle."""
        if not world.is_grasped(MUG):
            return False
        tcp = world.tcp_pose()[0]
        local = world.body_rot(MUG).T @ (tcp - world.body_pos(MUG))
        near_rim = abs(math.hypot(local[0], local[1]) - self.shape.radius) < 0.02 and \
            self.shape.height - 0.045 < local[2] < self.shape.height + 0.02
        near_handle = float(np.linalg.norm(tcp - world.site_pos(f"{MUG}/handle"))) < 0.04
        return near_rim or near_handle

    def evaluate(self, world: Any, memory: dict[str, Any]) -> Evaluation:
        """Grasp location, lift, handle around a peg, free hanging (or placement next to the stand)."""
        pos = world.body_pos(MUG)
        lift = float(pos[2] - world.initial_positions[MUG][2])
        if world.touched_by_robot(MUG):
            memory["mug_last_touch"] = world.time
        released = world.time - memory.get("mug_last_touch", -math.inf) >= RELEASE_TIME
        measured = {"mug grasped by the handle or rim": (self.grasped_at_rim_or_handle(world), lift),
                    "mug lifted": (lift > 0.05, lift)}
        if self.variant == "place_next_to":
            upright = float(world.body_rot(MUG)[2, 2]) > math.cos(math.radians(15))
            dist = horizontal_distance(pos, world.body_pos(STAND))
            still = float(np.linalg.norm(world.body_velocity(MUG))) < 0.02
            ok = (released and upright and still and dist < NEXT_TO_STAND + self.shape.radius
                  and pos[2] < TABLE_TOP + 0.01)
            measured["mug upright next to the stand, released"] = (ok, dist)
            return self.score(memory, measured)
        around, offset = self.handle_around_peg(world)
        measured["mug handle around a peg"] = (around, offset)
        table = mujoco.mj_name2id(world.model, mujoco.mjtObj.mjOBJ_BODY, "table")
        on_table = table in world.contact_bodies(MUG)
        measured["mug hanging, released"] = (around and released and not on_table and pos[2] > TABLE_TOP + 0.02,
                                             float(pos[2] - TABLE_TOP))
        return self.score(memory, measured)
