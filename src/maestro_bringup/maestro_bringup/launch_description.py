"""Turn an embodiment profile into a ``ros2 launch`` description (full ROS install only).

``launch/<embodiment>.launch.py`` is a thin wrapper around :func:`generate_from_profile`, so ``ros2 launch`` and
``maestro up`` read the same profile and start the same nodes with the same parameters.
"""
from __future__ import annotations

from typing import Any

from maestro_common.profiles import load_profile


def generate_from_profile(profile_name: str, real_robot: bool = False) -> Any:
    """A ``LaunchDescription`` with one ``launch_ros`` Node per profile node (sim-only nodes skipped on a real robot)."""
    from launch_ros.actions import Node

    from launch import LaunchDescription

    profile = load_profile(profile_name)
    actions = []
    for spec in profile["nodes"]:
        if real_robot and spec.get("sim_only"):
            continue
        params = {"profile": profile["_path"], **(spec.get("parameters") or {})}
        actions.append(Node(package=spec["package"], executable=spec["executable"], name=spec["name"],
                            parameters=[params], output="screen", respawn=True, respawn_delay=2.0))
    return LaunchDescription(actions)
