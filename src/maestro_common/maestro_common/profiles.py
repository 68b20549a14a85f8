"""Load embodiment profiles (the single source of truth for both launchers and the nodes)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

PROFILE_PACKAGE = "maestro_bringup"


class ProfileError(ValueError):
    """The profile cannot be found or is inconsistent."""


def profile_dir() -> Path:
    """Folder that holds the installed profiles (``share/maestro_bringup/config``), or the source folder."""
    try:
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory(PROFILE_PACKAGE)) / "config"
    except (ImportError, LookupError):
        return Path(__file__).resolve().parents[2] / PROFILE_PACKAGE / "config"


def available_profiles() -> list[str]:
    """Names of the installed embodiment profiles."""
    return sorted(p.stem for p in profile_dir().glob("*.yaml"))


def resolve_profile_path(name_or_path: str) -> Path:
    """Path of a profile given by name (``franka``) or by a path to a YAML file."""
    candidate = Path(os.path.expanduser(name_or_path))
    if candidate.suffix in (".yaml", ".yml") and candidate.is_file():
        return candidate
    path = profile_dir() / f"{name_or_path}.yaml"
    if not path.is_file():
        raise ProfileError(f"unknown embodiment profile '{name_or_path}'; available: {available_profiles()} "
                           f"(or pass a path to a YAML file)")
    return path


def load_profile(name_or_path: str) -> dict[str, Any]:
    """Load and check a profile; relative file paths inside it (``urdf``) are resolved against its folder."""
    path = resolve_profile_path(name_or_path)
    with open(path) as f:
        profile = yaml.safe_load(f)
    if not isinstance(profile, dict):
        raise ProfileError(f"{path} is not a YAML mapping")
    for key in ("embodiment", "frames", "arm", "cameras", "nodes"):
        if key not in profile:
            raise ProfileError(f"{path} misses the required key '{key}'")
    arm = profile["arm"]
    n = len(arm.get("joint_names", []))
    for key in ("lower", "upper", "velocity", "acceleration", "home"):
        if len(arm.get(key, [])) != n:
            raise ProfileError(f"{path}: arm.{key} must have one value per joint ({n})")
    urdf = arm.get("urdf")
    if urdf and not os.path.isabs(urdf):
        arm["urdf"] = str((path.parent / urdf).resolve())
    profile["_path"] = str(path)
    return profile
