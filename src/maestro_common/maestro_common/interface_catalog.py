"""Every service and action type of maestro_interfaces, found from the installed interface files."""
from __future__ import annotations

import importlib
from pathlib import Path


def _share_dir() -> Path:
    from ament_index_python.packages import get_package_share_directory

    return Path(get_package_share_directory("maestro_interfaces"))


def interface_names(kind: str) -> list[str]:
    """Names of the interfaces of ``kind`` ("msg", "srv" or "action") installed by maestro_interfaces."""
    return sorted(p.stem for p in (_share_dir() / kind).glob(f"*.{kind}"))


def _types(kind: str) -> dict[str, type]:
    module = importlib.import_module(f"maestro_interfaces.{kind}")
    return {name: getattr(module, name) for name in interface_names(kind)}


def service_types() -> dict[str, type]:
    """Service name -> generated Python type."""
    return _types("srv")


def action_types() -> dict[str, type]:
    """Action name -> generated Python type."""
    return _types("action")


def message_types() -> dict[str, type]:
    """Message name -> generated Python type."""
    return _types("msg")
