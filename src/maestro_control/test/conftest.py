"""Shared fixtures for maestro_control tests: kinematics and collision models of both arms."""

from __future__ import annotations

import numpy as np
import pytest

from maestro_control.collision import CollisionChecker
from maestro_control.kinematics import ArmKinematics
from maestro_control.robot_models import PANDA, PIPER, default_robots_dir

ROBOTS = default_robots_dir()
PANDA_URDF = str(ROBOTS / "panda.urdf")
PIPER_URDF = str(ROBOTS / "piper.urdf")
PANDA_HOME = np.array([0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785])


@pytest.fixture(scope="session")
def panda() -> ArmKinematics:
    return ArmKinematics(PANDA_URDF, [j.name for j in PANDA.joints], "panda_tcp",
                         locked_positions={"panda_finger_joint1": 0.04, "panda_finger_joint2": 0.04})


@pytest.fixture(scope="session")
def piper() -> ArmKinematics:
    return ArmKinematics(PIPER_URDF, [j.name for j in PIPER.joints], "piper_tcp")


@pytest.fixture()
def panda_checker(panda: ArmKinematics) -> CollisionChecker:
    return CollisionChecker(panda, PANDA_URDF, ignore_links=("panda_link0",))


@pytest.fixture(scope="session")
def urdf_paths() -> dict[str, str]:
    return {"panda": PANDA_URDF, "piper": PIPER_URDF}


@pytest.fixture(scope="session")
def panda_home() -> np.ndarray:
    return PANDA_HOME.copy()


@pytest.fixture(scope="session")
def scene_tools() -> object:
    """Namespace with ``table_cloud`` and ``box_points`` helpers."""

    class _Tools:
        table_cloud = staticmethod(table_cloud)
        box_points = staticmethod(box_points)

    return _Tools


def table_cloud(extra: np.ndarray | None = None) -> np.ndarray:
    """A flat table at z = 0 (panda_link0 frame) in front of the robot, plus optional extra points."""
    xs, ys = np.meshgrid(np.linspace(0.2, 1.0, 81), np.linspace(-0.6, 0.6, 121))
    table = np.c_[xs.ravel(), ys.ravel(), np.zeros(xs.size)]
    return table if extra is None else np.vstack([table, extra])


def box_points(lo: list[float], hi: list[float], step: float = 0.01) -> np.ndarray:
    """Surface-ish filled box of points from ``lo`` to ``hi``."""
    axes = [np.arange(a, b + 1e-9, step) for a, b in zip(lo, hi, strict=True)]
    g = np.meshgrid(*axes, indexing="ij")
    return np.stack([a.ravel() for a in g], axis=1)
