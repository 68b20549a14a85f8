"""Robot adapters by embodiment name.

Every module in this package that defines an adapter registers it at import time::

    from maestro_sim.robots import register_robot
    from maestro_sim.robots.base import RobotAdapter

    @register_robot
    class MyRobot(RobotAdapter):
        name = "my_robot"
        ...

:func:`get_robot` imports the package's modules on first use, so a new ``robots/<name>.py`` needs no other edit.
A module that fails to import is skipped with a warning (it does not break the other embodiments).
"""
from __future__ import annotations

import importlib
import logging
import pkgutil

from maestro_sim.robots.base import RobotAdapter

_ROBOTS: dict[str, type[RobotAdapter]] = {}
_loaded = False
_log = logging.getLogger(__name__)


def register_robot(cls: type[RobotAdapter]) -> type[RobotAdapter]:
    """Class decorator: make ``cls`` available as ``get_robot(cls.name)``."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no embodiment name")
    _ROBOTS[cls.name] = cls
    return cls


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for info in pkgutil.iter_modules(__path__):
        if info.name == "base":
            continue
        try:
            importlib.import_module(f"{__name__}.{info.name}")
        except Exception as exc:  # a broken robot module must not break the others
            _log.warning("robot module %s failed to import: %s", info.name, exc)


def embodiments() -> list[str]:
    """Names of every registered embodiment, sorted."""
    _load_all()
    return sorted(_ROBOTS)


def get_robot(name: str) -> RobotAdapter:
    """A new adapter for embodiment ``name``; ``KeyError`` with the known names when there is none."""
    _load_all()
    if name not in _ROBOTS:
        raise KeyError(f"unknown embodiment '{name}'; known: {sorted(_ROBOTS)}")
    return _ROBOTS[name]()
