"""fold_towel: "Fold the four corners of the towel to the center." (Franka)

The towel is a MuJoCo flex cloth (2-D ``flexcomp`` of an n x n vertex grid, inextensible edges through equality
constraints, free bending, no self-collision), one body per vertex. Its triangles are rigid, so the cloth can only
crease along triangle edges: the grid is triangulated symmetrically ("union jack": in each quadrant the quads are
split along the diagonal perpendicular to the corner-to-centre direction), so every corner-to-centre fold line and
every mid-line is a chain of edges. (MuJoCo's ``grid`` type splits every quad the same way, which leaves two of the
four corner folds creasing across triangles: the cloth then resists and pulls out of the pinch.)
Rubric (additive, not latched: a corner can fall back): each corner
vertex within 5 cm of the towel's centre vertex: 25 each. Verb "fold in half": the two near corners each within
5 cm of the far corners above them: 50 each. New object: a smaller napkin (5 x 5 vertices).
Visual: towel colour and distractors; pose: towel position and yaw.
"""
from __future__ import annotations

import warnings
from typing import Any

import mujoco
import numpy as np

from maestro_sim import perturb
from maestro_sim.perturb import PALETTE
from maestro_sim.tasks.base import TABLE_TOP, Criterion, Evaluation, Stage, Task
from maestro_sim.tasks.registry import register_task

TOWEL = "towel"
VERTEX_RADIUS = 0.008
CORNER_TOL = 0.05
SPACING = 0.04

_FLEX_XML = """<mujoco><worldbody><body name="root" pos="{x} {y} {z}" quat="{qw} 0 0 {qz}">
<flexcomp type="direct" point="{points}" element="{elements}" pos="0 0 0" radius="{r}" name="cloth" dim="2"
  mass="{mass}" rgba="{rgba}">
  <contact condim="3" solref="0.01 1" selfcollide="none" friction="1.5 0.01 0.001"/>
  <edge equality="true" damping="0.01"/>
</flexcomp></body></worldbody></mujoco>"""


def vertex_body(index: int) -> str:
    """Body name of towel vertex ``index`` (row-major: index = ix * n + iy)."""
    return f"{TOWEL}_cloth_{index}"


def grid_points(n: int, spacing: float = SPACING) -> np.ndarray:
    """(n*n, 3) vertex positions of the flat towel in its own frame, centred, row-major (index = ix * n + iy)."""
    h = (n - 1) / 2
    ix, iy = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    return np.column_stack([spacing * (ix.ravel() - h), spacing * (iy.ravel() - h), np.zeros(n * n)])


def grid_triangles(n: int) -> np.ndarray:
    """(2 (n-1)^2, 3) triangles of the symmetric triangulation: the quads of the quadrants of corners 0 and
    n*n-1 are split along the anti-diagonal, the others along the diagonal (consistent winding)."""
    h = (n - 1) / 2
    tris = []
    for ix in range(n - 1):
        for iy in range(n - 1):
            a, b, c, d = ix * n + iy, (ix + 1) * n + iy, (ix + 1) * n + iy + 1, ix * n + iy + 1
            if (ix + 0.5 - h) * (iy + 0.5 - h) > 0:
                tris += [(a, b, d), (b, c, d)]
            else:
                tris += [(a, b, c), (a, c, d)]
    return np.array(tris, int)


def add_towel(spec: mujoco.MjSpec, n: int, xy: np.ndarray, yaw: float, rgba: tuple[float, ...]) -> None:
    """Attach an n x n flex cloth lying flat on the table, centred at ``xy``; corner / centre sites added."""
    xml = _FLEX_XML.format(x=xy[0], y=xy[1], z=TABLE_TOP + VERTEX_RADIUS + 0.001, qw=np.cos(yaw / 2),
                           qz=np.sin(yaw / 2),
                           points=" ".join(f"{v:.6g}" for v in grid_points(n).ravel()),
                           elements=" ".join(str(i) for i in grid_triangles(n).ravel()),
                           r=VERTEX_RADIUS, mass=0.004 * n * n,
                           rgba=" ".join(f"{c:g}" for c in rgba))
    child = mujoco.MjSpec.from_string(xml)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec.worldbody.add_frame().attach_body(child.body("root"), f"{TOWEL}_", "")


@register_task
class FoldTowel(Task):
    """Fold the towel's four corners onto its centre."""

    id = "fold_towel"
    embodiment = "franka"
    base_instruction = "Fold the four corners of the towel to the center."
    stages = tuple(Stage(f"corner {k} within 5 cm of the centre", 25, latched=False) for k in range(4))
    half_stages = tuple(Stage(f"near corner {k} on its far corner", 50, latched=False) for k in range(2))
    settle_time = 0.5

    def __init__(self) -> None:
        super().__init__()
        self.n = 7

    @property
    def corners(self) -> list[int]:
        """Vertex indices of the four corners (near-left, near-right, far-left, far-right in the towel frame)."""
        n = self.n
        return [0, n - 1, n * (n - 1), n * n - 1]

    @property
    def centre(self) -> int:
        """Vertex index of the centre."""
        return (self.n * self.n) // 2

    def build(self, spec: mujoco.MjSpec, rng: np.random.Generator, perturbation: str) -> None:
        """The towel flat on the table in front of the robot."""
        xy, yaw, rgba = np.array([0.5, 0.0]), 0.0, PALETTE["blue"]
        if perturbation == "pose":
            xy = np.array([rng.uniform(0.45, 0.55), rng.uniform(-0.12, 0.12)])
            yaw = float(rng.uniform(-0.5, 0.5))
        elif perturbation == "visual":
            names = [c for c in PALETTE if c not in ("white",)]
            rgba = PALETTE[names[int(rng.integers(len(names)))]]
        elif perturbation == "new_object":
            self.n = 5
        elif perturbation == "verb":
            self.variant = "half"
        add_towel(spec, self.n, xy, yaw, rgba)
        self.yaw = yaw
        parts = {}
        for k, v in enumerate(self.corners):
            site = f"{TOWEL}/corner{k}"
            spec.body(vertex_body(v)).add_site(name=site, size=[0.004, 0, 0])
            parts[f"corner{k}"] = site
        spec.body(vertex_body(self.centre)).add_site(name=f"{TOWEL}/center", size=[0.004, 0, 0])
        parts["center"] = f"{TOWEL}/center"
        side = (self.n - 1) * SPACING
        # the registered object is the centre vertex body (its pose follows the cloth)
        self.add_object(vertex_body(self.centre), "towel", (side, side, 2 * VERTEX_RADIUS), parts)
        if perturbation == "visual":
            perturb.add_distractors(spec, self, rng, int(rng.integers(2, 4)), TABLE_TOP, (0.3, 0.7), (-0.4, 0.4),
                                    keep_out=[(xy[0], xy[1], 0.24), (0.0, 0.0, 0.3)])

    def instruction(self, perturbation: str, rng: np.random.Generator) -> str:
        """Base, fold-in-half verb or napkin instruction."""
        if self.variant == "half":
            return "Fold the towel in half, bringing the edge nearest to you onto the far edge."
        if perturbation == "new_object":
            return "Fold the four corners of the napkin to the center."
        return self.base_instruction

    def rubric(self) -> tuple[Stage, ...]:
        """Four corner stages, or two for the fold-in-half verb."""
        return self.half_stages if self.variant == "half" else self.stages

    def corner_distances(self, world: Any) -> list[float]:
        """Distance (m) of each rubric corner to its target (the centre vertex, or the far corner for the verb)."""
        pos = [world.body_pos(vertex_body(v)) for v in self.corners]
        if self.variant == "half":
            return [float(np.linalg.norm(pos[0] - pos[2])), float(np.linalg.norm(pos[1] - pos[3]))]
        centre = world.body_pos(vertex_body(self.centre))
        return [float(np.linalg.norm(p - centre)) for p in pos]

    def evaluate(self, world: Any, memory: dict[str, Any]) -> Evaluation:
        """Additive: points for every corner currently within 5 cm of its target."""
        criteria = []
        progress = 0.0
        for stage, dist in zip(self.rubric(), self.corner_distances(world), strict=True):
            ok = dist < CORNER_TOL
            criteria.append(Criterion(stage.name, stage.points, ok, dist))
            progress += stage.points * ok
        return Evaluation(progress, criteria)
