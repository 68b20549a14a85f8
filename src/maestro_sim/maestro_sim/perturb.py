"""STAR-Gen perturbations: seeding, trial lists and the generic visual / pose helpers tasks use.

Axes (shared/TASKS.md):

* ``base``: the canonical scene (the seed changes nothing);
* ``visual``: other colours of target and distractors, table colour/texture, dimmer or coloured light, clutter;
* ``pose``: target and receptacle moved and rotated within reach;
* ``verb``: a reworded instruction asking for a new behaviour, with its own rubric variant;
* ``new_object``: a substitute object (an orange instead of the tennis ball).

Everything is deterministic: :func:`make_rng` derives the generator from (task id, axis, seed) only.
:func:`list_trials` gives the base trial plus :data:`TRIALS_PER_AXIS` seeds per axis.
"""
from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import mujoco
import numpy as np

from maestro_sim.errors import BadPerturbation, InvalidArgument
from maestro_sim.scene import GEOM, add_free_object

if TYPE_CHECKING:  # pragma: no cover
    from maestro_sim.tasks.base import Task

TRIALS_PER_AXIS = 5

# Named colours (RGBA) used by visual perturbations and tasks.
PALETTE: dict[str, tuple[float, float, float, float]] = {
    "red": (0.85, 0.15, 0.12, 1.0),
    "green": (0.15, 0.65, 0.2, 1.0),
    "blue": (0.15, 0.3, 0.85, 1.0),
    "yellow": (0.95, 0.85, 0.1, 1.0),
    "orange": (0.98, 0.5, 0.08, 1.0),
    "purple": (0.55, 0.2, 0.7, 1.0),
    "pink": (0.95, 0.45, 0.65, 1.0),
    "white": (0.92, 0.92, 0.92, 1.0),
    "black": (0.08, 0.08, 0.08, 1.0),
    "grey": (0.5, 0.5, 0.5, 1.0),
    "brown": (0.45, 0.28, 0.12, 1.0),
    "cyan": (0.1, 0.75, 0.8, 1.0),
}
TABLE_COLOURS = ((0.62, 0.50, 0.38), (0.85, 0.85, 0.82), (0.3, 0.3, 0.32), (0.45, 0.3, 0.2), (0.55, 0.65, 0.55))
LIGHTS = (  # (key diffuse, fill diffuse): dim, warm, cold, coloured, bright
    ((0.35, 0.35, 0.35), (0.15, 0.15, 0.15)),
    ((0.9, 0.7, 0.45), (0.3, 0.25, 0.2)),
    ((0.5, 0.6, 0.9), (0.2, 0.25, 0.35)),
    ((0.8, 0.4, 0.6), (0.25, 0.2, 0.3)),
    ((1.0, 1.0, 1.0), (0.45, 0.45, 0.45)),
)


@dataclass(frozen=True)
class Trial:
    """One evaluation trial of a task: reset with (task, perturbation, seed)."""

    task: str
    perturbation: str
    seed: int


def make_rng(task_id: str, perturbation: str, seed: int) -> np.random.Generator:
    """The scene's random generator: a pure function of task id, axis and seed."""
    return np.random.default_rng([zlib.crc32(f"{task_id}/{perturbation}".encode()), int(seed)])


def validate(task_cls: type[Task], perturbation: str, seed: int) -> None:
    """Raise BadPerturbation / InvalidArgument when ``perturbation`` or ``seed`` is not allowed for the task."""
    if perturbation not in task_cls.axes:
        raise BadPerturbation(f"perturbation '{perturbation}' is not one of {list(task_cls.axes)} for task "
                              f"'{task_cls.id}'")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidArgument(f"seed must be an integer >= 0, got {seed!r}")


def list_trials(task_cls: type[Task]) -> list[Trial]:
    """The base trial plus ``TRIALS_PER_AXIS`` seeded trials per perturbation axis of the task."""
    trials = [Trial(task_cls.id, "base", 0)]
    for axis in task_cls.axes:
        if axis != "base":
            trials.extend(Trial(task_cls.id, axis, s) for s in range(TRIALS_PER_AXIS))
    return trials


def apply_visual_style(spec: mujoco.MjSpec, rng: np.random.Generator, table_material: str = "table") -> dict:
    """Recolour the table (sometimes a checker texture) and change the lights; returns what was chosen."""
    colour = TABLE_COLOURS[int(rng.integers(len(TABLE_COLOURS)))]
    key, fill = LIGHTS[int(rng.integers(len(LIGHTS)))]
    textured = bool(rng.random() < 0.4)
    material = spec.material(table_material)
    if material is not None:
        material.rgba = [*colour, 1.0]
        if textured:
            tex = spec.add_texture(name=f"{table_material}_tex", type=mujoco.mjtTexture.mjTEXTURE_2D,
                                   builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER, rgb1=list(colour),
                                   rgb2=[c * 0.8 for c in colour], width=128, height=128)
            material.textures = ["", tex.name] + [""] * 8
            material.texrepeat = [6, 6]
            material.rgba = [1, 1, 1, 1]
    for name, diffuse in (("key_light", key), ("fill_light", fill)):
        light = spec.light(name)
        if light is not None:
            light.diffuse = list(diffuse)
    return {"table": colour, "textured": textured, "light": key}


def sample_positions(rng: np.random.Generator, n: int, x_range: Sequence[float], y_range: Sequence[float],
                     min_dist: float, keep_out: Sequence[tuple[float, float, float]] = (),
                     max_tries: int = 2000) -> list[np.ndarray]:
    """``n`` xy points in the box, pairwise >= ``min_dist`` apart and outside ``keep_out`` discs (x, y, radius)."""
    points: list[np.ndarray] = []
    for _ in range(max_tries):
        if len(points) == n:
            break
        p = np.array([rng.uniform(*x_range), rng.uniform(*y_range)])
        if all(np.linalg.norm(p - q) >= min_dist for q in points) and all(
                np.hypot(p[0] - kx, p[1] - ky) >= kr for kx, ky, kr in keep_out):
            points.append(p)
    if len(points) < n:
        raise RuntimeError(f"could not place {n} objects apart by {min_dist} m in x={x_range}, y={y_range}")
    return points


DISTRACTOR_SHAPES = (
    ("toy_block", GEOM.mjGEOM_BOX, (0.02, 0.02, 0.02)),
    ("can", GEOM.mjGEOM_CYLINDER, (0.025, 0.04)),
    ("marker", GEOM.mjGEOM_CAPSULE, (0.01, 0.05)),
    ("sponge", GEOM.mjGEOM_BOX, (0.04, 0.025, 0.015)),
)


def add_distractors(spec: mujoco.MjSpec, task: Task, rng: np.random.Generator, n: int, table_top: float,
                    x_range: Sequence[float], y_range: Sequence[float],
                    keep_out: Sequence[tuple[float, float, float]] = ()) -> list[str]:
    """Add ``n`` clutter objects at free spots (registered as non-task objects); returns their body names."""
    spots = sample_positions(rng, n, x_range, y_range, 0.09, keep_out)
    names = []
    colours = list(PALETTE)
    for i, xy in enumerate(spots):
        label, gtype, size = DISTRACTOR_SHAPES[int(rng.integers(len(DISTRACTOR_SHAPES)))]
        colour = colours[int(rng.integers(len(colours)))]
        name = f"distractor_{i}"
        if gtype == GEOM.mjGEOM_CAPSULE:  # lying on the table
            z = table_top + size[0]
            body = add_free_object(spec, name, gtype, size, (xy[0], xy[1], z), PALETTE[colour], 0.05,
                                   yaw=float(rng.uniform(-np.pi, np.pi)))
            body.quat = [0.7071068, 0.7071068 * np.cos(0.3), 0.7071068 * np.sin(0.3), 0.0]
            full = (2 * size[0], 2 * (size[1] + size[0]), 2 * size[0])
        else:
            hz = size[2] if gtype == GEOM.mjGEOM_BOX else size[1]
            add_free_object(spec, name, gtype, size, (xy[0], xy[1], table_top + hz), PALETTE[colour], 0.08,
                            yaw=float(rng.uniform(-np.pi, np.pi)))
            full = (2 * size[0], 2 * (size[1] if gtype == GEOM.mjGEOM_BOX else size[0]), 2 * hz)
        task.add_object(name, f"{colour}_{label}", full, task_relevant=False)
        names.append(name)
    return names
