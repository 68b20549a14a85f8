"""The task API: one :class:`Task` subclass per task of the suite (shared/TASKS.md).

A task instance describes ONE scene: the world creates a fresh instance per reset and calls, in this order,

1. ``build(spec, rng, perturbation)``: add the task's objects / articulations to the world ``mujoco.MjSpec`` (the robot,
   the floor, the table and the lights are already there; the table top is at ``z = TABLE_TOP`` for tabletop tasks),
   choose the scene's variant (colours, poses, verb variant, substitute object) from ``rng`` and register every
   object the perception may see with :meth:`Task.add_object` (body name -> semantic label, size, part sites);
2. ``instruction(perturbation, rng)``: the language instruction of this scene (reworded for the ``verb`` axis);
3. ``evaluate(world, memory)`` as often as wanted: the progress (0-100) and per-stage criteria. ``memory`` is a dict
   owned by the world, empty after each reset, kept between calls: use it to latch stages (:meth:`Task.score` does
   this) and to remember events (e.g. the order in which items entered the bowl).

Rules:

* ``build`` must be deterministic given ``rng`` (the world seeds it from task id, axis and seed);
* names of bodies and sites are unique in the world: prefix them with the object name (``bowl``, ``bowl_rim_0``);
* angles given to the MjSpec (joint ranges, ...) are radians (``spec.compiler.degree`` is False);
* objects that move get a free joint (``body.add_freejoint()``); articulations use real joints (hinge, slide);
* part keypoints are MuJoCo sites; name them ``<body>/<part>`` or anything unique and pass ``parts={part: site}``;
* stages are reached once and stay reached (latched) unless the stage is declared with ``latched=False``
  (e.g. "ball resting in the bowl": it can be undone).

Register a task with ``@register_task`` from :mod:`maestro_sim.tasks.registry`; put it in ``tasks/tabletop/`` or
``tasks/mobile/`` and the registry finds it.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import mujoco
import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from maestro_sim.world import World

PERTURBATION_AXES: tuple[str, ...] = ("base", "visual", "pose", "verb", "new_object")
TABLE_TOP = 0.40  # m, height of the tabletop surface in the world frame (tabletop embodiments)


@dataclass(frozen=True)
class Stage:
    """One rubric stage: reaching it gives ``points`` progress (0-100). ``latched=False``: it can be undone."""

    name: str
    points: float
    latched: bool = True

    def label(self) -> str:
        """``"name (points)"``, as listed by /sim/list_tasks."""
        return f"{self.name} ({self.points:g})"


@dataclass
class ObjectInfo:
    """A scene object: MuJoCo body ``body``, semantic ``label``, full bounding-box ``size`` (m), part sites."""

    body: str
    label: str
    size: tuple[float, float, float]
    parts: dict[str, str] = field(default_factory=dict)  # part name -> MuJoCo site name
    task_relevant: bool = True                           # False for distractors


@dataclass
class Criterion:
    """Measured state of one stage: reached or not, and the quantity behind it (e.g. lift height in metres)."""

    name: str
    points: float
    reached: bool
    value: float = 0.0


class Evaluation(NamedTuple):
    """Result of :meth:`Task.evaluate`: ``progress`` in [0, 100] and per-stage criteria (unpacks as a tuple)."""

    progress: float
    criteria: list[Criterion]

    @property
    def success(self) -> bool:
        """True when progress is 100."""
        return self.progress >= 100.0 - 1e-6


class Task(ABC):
    """Base class of every simulated task. Subclasses set the class attributes and implement build/evaluate."""

    id: ClassVar[str] = ""
    embodiment: ClassVar[str] = ""             # "franka" or "go2w_piper"
    base_instruction: ClassVar[str] = ""
    stages: ClassVar[tuple[Stage, ...]] = ()   # base rubric
    axes: ClassVar[tuple[str, ...]] = PERTURBATION_AXES
    settle_time: ClassVar[float] = 0.3         # s of physics run after reset so objects come to rest

    def __init__(self) -> None:
        self.perturbation = "base"
        self.variant = "base"            # verb variant id; "base" = the base behaviour
        self._objects: dict[str, ObjectInfo] = {}

    # ----- scene -----
    @abstractmethod
    def build(self, spec: mujoco.MjSpec, rng: np.random.Generator, perturbation: str) -> None:
        """Add the task's objects to ``spec`` for ``perturbation`` (see the module docstring)."""

    def instruction(self, perturbation: str, rng: np.random.Generator) -> str:
        """The instruction of the built scene. Default: the base instruction; override for the verb axis."""
        return self.base_instruction

    def rubric(self) -> tuple[Stage, ...]:
        """Stages of the built scene (a verb variant may have its own rubric). Default: :attr:`stages`."""
        return self.stages

    def objects(self) -> dict[str, ObjectInfo]:
        """Objects of the built scene by body name (task objects first, then distractors)."""
        return dict(self._objects)

    def add_object(self, body: str, label: str, size: Iterable[float], parts: dict[str, str] | None = None,
                   task_relevant: bool = True) -> ObjectInfo:
        """Register body ``body`` as an object the perception may see and the evaluation may read."""
        info = ObjectInfo(body=body, label=label, size=tuple(float(s) for s in size),  # type: ignore[arg-type]
                          parts=dict(parts or {}), task_relevant=task_relevant)
        self._objects[body] = info
        return info

    def on_reset(self, world: World) -> None:
        """Hook after the world compiled and settled (e.g. to record initial poses). Default: nothing."""
        return None

    # ----- rubric -----
    @abstractmethod
    def evaluate(self, world: World, memory: dict[str, Any]) -> Evaluation:
        """Score the current world state (see the module docstring)."""

    def score(self, memory: dict[str, Any], measured: dict[str, tuple[bool, float]]) -> Evaluation:
        """Latch and score: ``measured`` maps stage name -> (condition now, measured value).

        A latched stage stays reached once reached; progress is the highest ``points`` among reached stages whose
        predecessors (stages with fewer points) are all reached too, so progress is monotonic along a rubric.
        """
        latched = memory.setdefault("_latched", {})
        criteria: list[Criterion] = []
        progress = 0.0
        chain_ok = True
        for stage in sorted(self.rubric(), key=lambda s: s.points):
            now, value = measured.get(stage.name, (False, 0.0))
            reached = bool(now) or (stage.latched and latched.get(stage.name, False))
            if stage.latched and reached:
                latched[stage.name] = True
            criteria.append(Criterion(stage.name, stage.points, reached, float(value)))
            if reached and chain_ok:
                progress = max(progress, stage.points)
            elif not reached:
                chain_ok = False
        return Evaluation(progress, criteria)
