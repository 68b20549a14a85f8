"""Task registry: task id -> :class:`~maestro_sim.tasks.base.Task` subclass.

Task modules register their class with the decorator::

    from maestro_sim.tasks.base import Task
    from maestro_sim.tasks.registry import register_task

    @register_task
    class PutBallInBowl(Task):
        id = "put_ball_in_bowl"
        ...

:func:`get_task_class` / :func:`list_tasks` import every module under ``maestro_sim.tasks.tabletop`` and
``maestro_sim.tasks.mobile`` on first use, so a new task file needs no other edit. A module that fails to import is
skipped with a warning (it does not hide the other tasks); :func:`import_errors` tells which and why.
"""
from __future__ import annotations

import importlib
import logging
import pkgutil

from maestro_sim.tasks.base import Task

_TASKS: dict[str, type[Task]] = {}
_ERRORS: dict[str, str] = {}
_loaded = False
_log = logging.getLogger(__name__)
TASK_PACKAGES = ("maestro_sim.tasks.tabletop", "maestro_sim.tasks.mobile")


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: make ``cls`` available under ``cls.id``."""
    if not cls.id or not cls.embodiment:
        raise ValueError(f"{cls.__name__} needs an id and an embodiment")
    _TASKS[cls.id] = cls
    return cls


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for package_name in TASK_PACKAGES:
        try:
            package = importlib.import_module(package_name)
        except ImportError as exc:
            _ERRORS[package_name] = str(exc)
            continue
        for info in pkgutil.iter_modules(package.__path__):
            if info.name.startswith("_") or info.name == "common":
                continue
            module = f"{package_name}.{info.name}"
            try:
                importlib.import_module(module)
            except Exception as exc:  # one broken task must not hide the others
                _ERRORS[module] = f"{type(exc).__name__}: {exc}"
                _log.warning("task module %s failed to import: %s", module, exc)


def list_tasks(embodiment: str = "") -> list[type[Task]]:
    """Registered task classes, sorted by id; only those of ``embodiment`` when given."""
    _load_all()
    return [cls for _, cls in sorted(_TASKS.items()) if not embodiment or cls.embodiment == embodiment]


def task_ids(embodiment: str = "") -> list[str]:
    """Ids of the registered tasks (of ``embodiment`` when given)."""
    return [cls.id for cls in list_tasks(embodiment)]


def get_task_class(task_id: str) -> type[Task]:
    """The class registered as ``task_id``; ``KeyError`` naming the known ids when there is none."""
    _load_all()
    if task_id not in _TASKS:
        raise KeyError(f"unknown task '{task_id}'; known: {sorted(_TASKS)}")
    return _TASKS[task_id]


def import_errors() -> dict[str, str]:
    """Task modules that failed to import, with the reason."""
    _load_all()
    return dict(_ERRORS)
