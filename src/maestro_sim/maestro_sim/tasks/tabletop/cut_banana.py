"""cut_banana: "Cut the banana in half with the black knife, orthogonally." (Franka)

The banana is a free, curved chain of capsules; the knife (handle + blade, standing on its handle and blade edge)
is a free body. The blade does not collide with the banana (contacts between the two bodies are excluded), so the
blade can pass through it: cutting is judged geometrically, not simulated as fracture.

Rubric: knife grasped by the handle 30 · blade over the banana 50 · blade crosses the banana's middle third pressing
down 80 · cut orthogonal (within 20 deg) 100. "Crosses ... pressing down": the blade edge crosses the banana's centre
line (seen from above) within its middle third with the edge below the banana's centre height. The cut angle is the
angle between the edge and the banana's centre line at the crossing, measured when the crossing stage is reached.
Verb "diagonal": cut at 45 deg (within 15 deg). New object: a longer knife with a wooden handle.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import mujoco
import numpy as np

from maestro_sim import perturb
from maestro_sim.perturb import PALETTE
from maestro_sim.scene import GEOM, yaw_quat
from maestro_sim.tasks.base import TABLE_TOP, Evaluation, Stage, Task
from maestro_sim.tasks.registry import register_task

KNIFE = "knife"
BANANA = "banana"
BANANA_RADIUS = 0.018
BANANA_ARC = 0.19          # m along the centre line
BANANA_CURVE = 0.16        # m radius of curvature
BANANA_SEGMENTS = 7
ORTHO_TOL = 20.0           # deg
DIAGONAL = 45.0
DIAGONAL_TOL = 15.0


@dataclass(frozen=True)
class KnifeShape:
    """Knife dimensions (m): handle half extents, blade half length/height/thickness, colours."""

    label: str
    handle: tuple[float, float, float] = (0.05, 0.014, 0.014)
    blade_half_len: float = 0.07
    blade_half_h: float = 0.018
    blade_half_t: float = 0.0015
    handle_rgba: tuple[float, ...] = PALETTE["black"]
    blade_rgba: tuple[float, ...] = (0.15, 0.15, 0.17, 1.0)

    @property
    def blade_center_x(self) -> float:
        """Blade centre along the knife's local x (the handle is centred at 0)."""
        return self.handle[0] + self.blade_half_len


BLACK_KNIFE = KnifeShape("black_knife")
WOOD_KNIFE = KnifeShape("wooden_knife", handle=(0.055, 0.013, 0.013), blade_half_len=0.09, blade_half_h=0.02,
                        handle_rgba=PALETTE["brown"], blade_rgba=(0.75, 0.75, 0.78, 1.0))


def banana_centerline(n: int = 41) -> np.ndarray:
    """Points (n x 3) of the banana's centre line in its body frame: an arc bulging towards +y, centred at 0."""
    half = BANANA_ARC / BANANA_CURVE / 2
    a = np.linspace(-half, half, n)
    pts = np.column_stack([BANANA_CURVE * np.sin(a), BANANA_CURVE * (np.cos(a) - np.cos(half)), np.zeros(n)])
    return pts - [0.0, pts[:, 1].mean(), 0.0]


def add_banana(spec: mujoco.MjSpec, pos: tuple[float, float, float], yaw: float) -> None:
    """A free banana: capsules along the arc, tapered ends, yellow; sites at both tips and the middle."""
    body = spec.worldbody.add_body(name=BANANA, pos=list(pos), quat=yaw_quat(yaw))
    body.add_freejoint(name=f"{BANANA}_free")
    pts = banana_centerline(BANANA_SEGMENTS + 1)
    for i in range(BANANA_SEGMENTS):
        r = BANANA_RADIUS * (0.7 if i in (0, BANANA_SEGMENTS - 1) else 1.0)
        body.add_geom(name=f"{BANANA}_seg{i}", type=GEOM.mjGEOM_CAPSULE, size=[r, 0, 0],
                      fromto=[*pts[i], *pts[i + 1]], rgba=[0.95, 0.85, 0.2, 1.0], mass=0.12 / BANANA_SEGMENTS,
                      friction=[1.5, 0.02, 0.002], condim=4)
    body.add_site(name=f"{BANANA}/tip0", pos=list(pts[0]), size=[0.004, 0, 0])
    body.add_site(name=f"{BANANA}/tip1", pos=list(pts[-1]), size=[0.004, 0, 0])
    body.add_site(name=f"{BANANA}/middle", pos=list(pts[len(pts) // 2]), size=[0.004, 0, 0])


def add_knife(spec: mujoco.MjSpec, shape: KnifeShape, pos: tuple[float, float], yaw: float) -> None:
    """A free knife standing on its handle and blade edge; blade along local +x, edge at the bottom."""
    hz = shape.handle[2]
    body = spec.worldbody.add_body(name=KNIFE, pos=[pos[0], pos[1], TABLE_TOP + hz], quat=yaw_quat(yaw))
    body.add_freejoint(name=f"{KNIFE}_free")
    body.add_geom(name=f"{KNIFE}_handle", type=GEOM.mjGEOM_BOX, size=list(shape.handle), rgba=list(shape.handle_rgba),
                  mass=0.09, friction=[1.2, 0.01, 0.001], condim=4)
    bz = -hz + shape.blade_half_h
    body.add_geom(name=f"{KNIFE}_blade", type=GEOM.mjGEOM_BOX,
                  size=[shape.blade_half_len, shape.blade_half_t, shape.blade_half_h],
                  pos=[shape.blade_center_x, 0, bz], rgba=list(shape.blade_rgba), mass=0.04, friction=[0.6, 0.01, 0.001])
    x0, x1 = shape.handle[0], shape.handle[0] + 2 * shape.blade_half_len
    body.add_site(name=f"{KNIFE}/edge_start", pos=[x0, 0, -hz], size=[0.003, 0, 0])
    body.add_site(name=f"{KNIFE}/edge_end", pos=[x1, 0, -hz], size=[0.003, 0, 0])
    body.add_site(name=f"{KNIFE}/handle", pos=[0, 0, 0], size=[0.003, 0, 0])


def _segment_intersection(p0: np.ndarray, p1: np.ndarray, q0: np.ndarray, q1: np.ndarray) -> tuple[float, float]:
    """Parameters (s, t) where 2-D segments p0-p1 and q0-q1 cross; (nan, nan) when parallel."""
    r, s = p1 - p0, q1 - q0
    denom = r[0] * s[1] - r[1] * s[0]
    if abs(denom) < 1e-12:
        return math.nan, math.nan
    d = q0 - p0
    return (d[0] * s[1] - d[1] * s[0]) / denom, (d[0] * r[1] - d[1] * r[0]) / denom


@register_task
class CutBanana(Task):
    """Grasp the knife by its handle and cut the banana across its middle."""

    id = "cut_banana"
    embodiment = "franka"
    base_instruction = "Cut the banana in half with the black knife, orthogonally."
    stages = (Stage("knife grasped by the handle", 30), Stage("blade over the banana", 50),
              Stage("blade crosses the banana's middle third pressing down", 80),
              Stage("cut orthogonal (within 20 deg)", 100))
    diagonal_stages = stages[:3] + (Stage("cut diagonal (45 deg, within 15 deg)", 100),)

    def __init__(self) -> None:
        super().__init__()
        self.knife = BLACK_KNIFE

    def build(self, spec: mujoco.MjSpec, rng: np.random.Generator, perturbation: str) -> None:
        """Banana and knife on the table; see the module docstring for the axes."""
        banana_xy, banana_yaw = np.array([0.52, 0.1]), 0.2
        knife_xy, knife_yaw = np.array([0.42, -0.18]), 0.0
        if perturbation == "pose":
            banana_xy = np.array([rng.uniform(0.45, 0.6), rng.uniform(0.0, 0.2)])
            banana_yaw = float(rng.uniform(-0.8, 0.8))
            knife_xy = np.array([rng.uniform(0.38, 0.5), rng.uniform(-0.25, -0.12)])
            knife_yaw = float(rng.uniform(-0.5, 0.5))
        elif perturbation == "new_object":
            self.knife = WOOD_KNIFE
        elif perturbation == "verb":
            self.variant = "diagonal"
        add_banana(spec, (banana_xy[0], banana_xy[1], TABLE_TOP + BANANA_RADIUS), banana_yaw)
        add_knife(spec, self.knife, knife_xy, knife_yaw)
        spec.add_exclude(bodyname1=KNIFE, bodyname2=BANANA)
        self.add_object(BANANA, "banana", (BANANA_ARC, 0.06, 2 * BANANA_RADIUS),
                        {"tip0": f"{BANANA}/tip0", "tip1": f"{BANANA}/tip1", "middle": f"{BANANA}/middle"})
        k = self.knife
        self.add_object(KNIFE, k.label, (2 * k.handle[0] + 2 * k.blade_half_len, 2 * k.handle[1], 2 * k.handle[2]),
                        {"handle": f"{KNIFE}/handle", "edge_start": f"{KNIFE}/edge_start",
                         "edge_end": f"{KNIFE}/edge_end"})
        if perturbation == "visual":
            perturb.add_distractors(spec, self, rng, int(rng.integers(2, 4)), TABLE_TOP, (0.3, 0.7), (-0.35, 0.35),
                                    keep_out=[(banana_xy[0], banana_xy[1], 0.16), (knife_xy[0], knife_xy[1], 0.2),
                                              (0.0, 0.0, 0.3)])

    def instruction(self, perturbation: str, rng: np.random.Generator) -> str:
        """Base, diagonal-verb or other-knife instruction."""
        if self.variant == "diagonal":
            return "Cut the banana in half with the black knife, diagonally at 45 degrees."
        if perturbation == "new_object":
            return "Cut the banana in half with the wooden-handled knife, orthogonally."
        return self.base_instruction

    def rubric(self) -> tuple[Stage, ...]:
        """The diagonal verb replaces the last stage."""
        return self.diagonal_stages if self.variant == "diagonal" else self.stages

    def banana_line(self, world: Any) -> np.ndarray:
        """The banana's centre line in the world frame (n x 3)."""
        return world.body_pos(BANANA) + banana_centerline() @ world.body_rot(BANANA).T

    def crossing(self, world: Any) -> tuple[float, float, float] | None:
        """Where the blade edge crosses the banana's centre line seen from above.

        Returns (fraction along the banana 0..1, edge height minus centre-line height at the crossing (m),
        cut angle in degrees between edge and centre line, 0..90), or None when they do not cross.
        """
        e0, e1 = world.site_pos(f"{KNIFE}/edge_start"), world.site_pos(f"{KNIFE}/edge_end")
        line = self.banana_line(world)
        lengths = np.linalg.norm(np.diff(line[:, :2], axis=0), axis=1)
        cum = np.concatenate([[0.0], np.cumsum(lengths)])
        for i in range(len(line) - 1):
            s, t = _segment_intersection(e0[:2], e1[:2], line[i, :2], line[i + 1, :2])
            if 0.0 <= s <= 1.0 and 0.0 <= t <= 1.0:
                frac = (cum[i] + t * lengths[i]) / cum[-1]
                edge_z = e0[2] + s * (e1[2] - e0[2])
                centre_z = line[i, 2] + t * (line[i + 1, 2] - line[i, 2])
                tangent = (line[i + 1] - line[i])[:2]
                edge = (e1 - e0)[:2]
                cosang = abs(float(tangent @ edge)) / (np.linalg.norm(tangent) * np.linalg.norm(edge) + 1e-12)
                angle = math.degrees(math.acos(min(1.0, cosang)))  # 90 = orthogonal
                return float(frac), float(edge_z - centre_z), angle
        return None

    def grasped_by_handle(self, world: Any) -> bool:
        """Gripper closed on the knife with the TCP over the handle."""
        if not world.is_grasped(KNIFE):
            return False
        local = world.body_rot(KNIFE).T @ (world.tcp_pose()[0] - world.body_pos(KNIFE))
        return abs(local[0]) < self.knife.handle[0] + 0.01 and abs(local[1]) < 0.03

    def evaluate(self, world: Any, memory: dict[str, Any]) -> Evaluation:
        """Grasp, blade over banana, crossing the middle third below the centre line, cut angle."""
        cross = self.crossing(world)
        over = cross is not None and cross[1] > -BANANA_RADIUS
        cutting = cross is not None and 1 / 3 <= cross[0] <= 2 / 3 and cross[1] < 0.0
        if cutting and "cut_angle" not in memory:
            memory["cut_angle"] = cross[2]  # the angle of the first real cut is what counts
        angle = memory.get("cut_angle", cross[2] if cross else 0.0)
        if self.variant == "diagonal":
            final = ("cut diagonal (45 deg, within 15 deg)", "cut_angle" in memory and abs(angle - DIAGONAL) <= DIAGONAL_TOL)
        else:
            final = ("cut orthogonal (within 20 deg)", "cut_angle" in memory and angle >= 90.0 - ORTHO_TOL)
        return self.score(memory, {
            "knife grasped by the handle": (self.grasped_by_handle(world), float(world.gripper_gap())),
            "blade over the banana": (over, cross[0] if cross else -1.0),
            "blade crosses the banana's middle third pressing down": (cutting, cross[1] if cross else 0.0),
            final[0]: (final[1], angle),
        })
