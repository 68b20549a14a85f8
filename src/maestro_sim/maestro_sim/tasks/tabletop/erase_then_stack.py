"""erase_then_stack: "Erase the instructions on the whiteboard, then follow them to stack the cubes." (Franka)

A whiteboard lies on the table with three coloured marks (strips of small ink patches). The marks encode the
stacking order: read from the board's near edge (closest to the robot) to its far edge, they name the cubes from the
bottom of the stack to the top. An ink patch is wiped off (becomes invisible) when the eraser touches the board with
the patch under the eraser's footprint (a pre-step hook of the world, checked every 10 physics steps).

Rubric (additive, shared/TASKS.md): eraser grasped 10 · fraction of ink patches wiped x 40 · cubes stacked in the
order the marks said 50 (not latched: the stack can fall). Verb "reverse": stack them in the reverse order of the
marks. New object: coloured pucks (cylinders) instead of cubes. Visual: cube/mark colours, distractors.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mujoco
import numpy as np

from maestro_sim import perturb
from maestro_sim.perturb import PALETTE
from maestro_sim.scene import GEOM, add_free_object, yaw_quat
from maestro_sim.tasks.base import TABLE_TOP, Criterion, Evaluation, Stage, Task
from maestro_sim.tasks.registry import register_task

BOARD = "whiteboard"
ERASER = "eraser"
BOARD_HALF = (0.09, 0.13, 0.006)      # x (depth, away from the robot), y (width), z
ERASER_HALF = (0.025, 0.045, 0.015)
BLOCK_HALF = 0.02
PATCH_HALF = 0.011
PATCHES_PER_MARK = 4
WIPE_EVERY = 10                       # physics steps between wipe checks
STACK_TOL = 0.02                      # m horizontal misalignment allowed between stacked blocks


@dataclass
class Mark:
    """One mark: colour name and the geom names / board-frame xy of its ink patches."""

    colour: str
    patches: list[str]
    xy: list[tuple[float, float]]


@register_task
class EraseThenStack(Task):
    """Wipe the whiteboard with the eraser, then stack three cubes in the order the marks gave."""

    id = "erase_then_stack"
    embodiment = "franka"
    base_instruction = "Erase the instructions on the whiteboard, then follow them to stack the cubes."
    stages = (Stage("eraser grasped", 10), Stage("marks wiped (x40 by the wiped fraction)", 40),
              Stage("cubes stacked in the order the marks said", 50, latched=False))

    def __init__(self) -> None:
        super().__init__()
        self.colours: list[str] = ["blue", "red", "green"]
        self.order: list[str] = []       # block body names, bottom first (what the marks say)
        self.marks: list[Mark] = []
        self.wiped: set[str] = set()
        self.shape = "cube"
        self._steps = 0

    def build(self, spec: mujoco.MjSpec, rng: np.random.Generator, perturbation: str) -> None:
        """Board with marks, eraser and three blocks on the table."""
        board_xy, board_yaw = np.array([0.5, 0.2]), 0.0
        eraser_xy, eraser_yaw = np.array([0.38, 0.0]), 0.0
        spots = [np.array([0.42, -0.3]), np.array([0.55, -0.2]), np.array([0.62, -0.35])]
        order = [0, 1, 2]
        if perturbation == "pose":
            board_xy = np.array([rng.uniform(0.45, 0.55), rng.uniform(0.15, 0.25)])
            board_yaw = float(rng.uniform(-0.3, 0.3))
            eraser_xy = np.array([rng.uniform(0.35, 0.42), rng.uniform(-0.05, 0.05)])
            eraser_yaw = float(rng.uniform(-0.5, 0.5))
            spots = perturb.sample_positions(rng, 3, (0.38, 0.62), (-0.4, -0.15), 0.1)
            order = [int(i) for i in rng.permutation(3)]
        elif perturbation == "visual":
            names = [n for n in PALETTE if n not in ("white", "black", "grey")]
            picks = rng.permutation(len(names))[:3]
            self.colours = [names[i] for i in picks]
            order = [int(i) for i in rng.permutation(3)]
        elif perturbation == "new_object":
            self.shape = "puck"
        elif perturbation == "verb":
            self.variant = "reverse"
        spec.add_material(name=f"{BOARD}_white", rgba=[0.97, 0.97, 0.97, 1.0])
        board = spec.worldbody.add_body(name=BOARD, pos=[board_xy[0], board_xy[1], TABLE_TOP + BOARD_HALF[2]],
                                        quat=yaw_quat(board_yaw))
        board.add_geom(name=f"{BOARD}_geom", type=GEOM.mjGEOM_BOX, size=list(BOARD_HALF), material=f"{BOARD}_white",
                       friction=[0.3, 0.005, 0.0001])
        self.marks = []
        for k, colour_index in enumerate(order):  # k = 0 nearest the robot = bottom of the stack
            colour = self.colours[colour_index]
            mx = -BOARD_HALF[0] + 0.03 + k * 0.06
            patches, xys = [], []
            for j in range(PATCHES_PER_MARK):
                my = -0.075 + j * 0.05
                name = f"{BOARD}_mark{k}_{j}"
                board.add_geom(name=name, type=GEOM.mjGEOM_BOX, size=[PATCH_HALF, 0.024, 0.0005],
                               pos=[mx, my, BOARD_HALF[2] + 0.0005], rgba=list(PALETTE[colour]), contype=0,
                               conaffinity=0, density=0.0)
                patches.append(name)
                xys.append((mx, my))
            board.add_site(name=f"{BOARD}/mark{k}", pos=[mx, 0.0, BOARD_HALF[2]], size=[0.004, 0, 0])
            self.marks.append(Mark(colour, patches, xys))
        add_free_object(spec, ERASER, GEOM.mjGEOM_BOX, ERASER_HALF,
                        (eraser_xy[0], eraser_xy[1], TABLE_TOP + ERASER_HALF[2]), PALETTE["black"], 0.08,
                        yaw=eraser_yaw, friction=(1.0, 0.01, 0.001))
        self.add_object(ERASER, "eraser", tuple(2 * h for h in ERASER_HALF))
        self.add_object(BOARD, "whiteboard", tuple(2 * h for h in BOARD_HALF),
                        {f"mark{k}": f"{BOARD}/mark{k}" for k in range(3)})
        self.blocks = []
        for i, colour in enumerate(self.colours):
            name = f"{colour}_{self.shape}"
            xy = spots[i]
            if self.shape == "puck":
                add_free_object(spec, name, GEOM.mjGEOM_CYLINDER, (0.024, BLOCK_HALF),
                                (xy[0], xy[1], TABLE_TOP + BLOCK_HALF), PALETTE[colour], 0.06)
            else:
                add_free_object(spec, name, GEOM.mjGEOM_BOX, (BLOCK_HALF,) * 3,
                                (xy[0], xy[1], TABLE_TOP + BLOCK_HALF), PALETTE[colour], 0.06,
                                yaw=float(rng.uniform(-0.4, 0.4)) if perturbation == "pose" else 0.0)
            self.add_object(name, name, (2 * BLOCK_HALF,) * 3)
            self.blocks.append(name)
        self.order = [self.blocks[i] for i in order]
        if self.variant == "reverse":
            self.order = self.order[::-1]
        if perturbation == "visual":
            perturb.add_distractors(spec, self, rng, 2, TABLE_TOP, (0.3, 0.7), (-0.1, 0.05),
                                    keep_out=[(eraser_xy[0], eraser_xy[1], 0.1), (0.0, 0.0, 0.3)])

    def instruction(self, perturbation: str, rng: np.random.Generator) -> str:
        """Base or verb instruction (the marks themselves carry the order)."""
        if self.variant == "reverse":
            return "Erase the instructions on the whiteboard, then stack the cubes in the reverse of that order."
        if self.shape == "puck":
            return "Erase the instructions on the whiteboard, then follow them to stack the pucks."
        return self.base_instruction

    # ----- wiping -----
    def on_reset(self, world: Any) -> None:
        """Install the wiping hook."""
        self.wiped = set()
        self._steps = 0
        self._patch_ids = {p: world.model.geom(p).id for m in self.marks for p in m.patches}
        self._eraser_geom = world.model.geom(f"{ERASER}_geom").id
        self._board_geom = world.model.geom(f"{BOARD}_geom").id
        world.pre_step_hooks.append(self.wipe)

    def eraser_on_board(self, world: Any) -> bool:
        """True when the eraser's geom touches the board's geom (contact, or within 1.5 mm: sliding contacts
        flicker from step to step)."""
        d = world.data
        n = d.ncon
        g1, g2 = d.contact.geom1[:n], d.contact.geom2[:n]
        e, b = self._eraser_geom, self._board_geom
        if np.any(((g1 == e) & (g2 == b)) | ((g1 == b) & (g2 == e))):
            return True
        fromto = np.zeros(6)
        gap = mujoco.mj_geomDistance(world.model, d, e, b, 0.01, fromto)
        return bool(gap < 0.0015)

    def wipe(self, world: Any) -> None:
        """Pre-step hook: hide every ink patch under the eraser while it touches the board."""
        self._steps += 1
        if self._steps % WIPE_EVERY or len(self.wiped) == len(self._patch_ids) or not self.eraser_on_board(world):
            return
        m, d = world.model, world.data
        rot = d.xmat[m.body(ERASER).id].reshape(3, 3)
        centre = d.xpos[m.body(ERASER).id]
        for name, gid in self._patch_ids.items():
            if name in self.wiped:
                continue
            local = rot.T @ (d.geom_xpos[gid] - centre)
            if abs(local[0]) < ERASER_HALF[0] + PATCH_HALF * 0.5 and abs(local[1]) < ERASER_HALF[1] + 0.012:
                self.wiped.add(name)
                m.geom_rgba[gid, 3] = 0.0

    # ----- rubric -----
    def stacked_in_order(self, world: Any) -> tuple[bool, float]:
        """Blocks stacked bottom -> top as :attr:`order` says, resting, released; value = blocks correctly placed."""
        placed = 0
        ok = True
        for below, above in zip(self.order, self.order[1:], strict=False):
            pb, pa = world.body_pos(below), world.body_pos(above)
            on = (np.hypot(*(pa[:2] - pb[:2])) < STACK_TOL and abs(pa[2] - pb[2] - 2 * BLOCK_HALF) < 0.006)
            ok = ok and on
            placed += int(on)
        bottom = world.body_pos(self.order[0])
        ok = ok and bottom[2] < TABLE_TOP + BLOCK_HALF + 0.005
        still = all(float(np.linalg.norm(world.body_velocity(b))) < 0.02 and not world.touched_by_robot(b)
                    for b in self.order)
        return ok and still, float(placed)

    def evaluate(self, world: Any, memory: dict[str, Any]) -> Evaluation:
        """Additive score: grasp (latched) 10 + 40 x wiped fraction + 50 when stacked in order."""
        grasped = memory.get("eraser_grasped", False) or world.is_grasped(ERASER)
        memory["eraser_grasped"] = grasped
        total = sum(len(m.patches) for m in self.marks)
        fraction = len(self.wiped) / total
        stacked, placed = self.stacked_in_order(world)
        criteria = [Criterion("eraser grasped", 10, grasped, float(grasped)),
                    Criterion("marks wiped (x40 by the wiped fraction)", 40, fraction >= 1.0, fraction),
                    Criterion("cubes stacked in the order the marks said", 50, stacked, placed)]
        progress = 10.0 * grasped + 40.0 * fraction + 50.0 * stacked
        return Evaluation(round(progress, 3), criteria)
