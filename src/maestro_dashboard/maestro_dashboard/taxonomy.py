"""Which module and category a tool call belongs to, and which category a task belongs to.

Modules follow the wire namespaces of docs/CONVENTIONS.md (``/perception``, ``/grasp``, ``/control``, ``/policy``), plus
``harness`` for the agent's composite skills and ``agent`` for its built-ins. A trace event that names its module or its
service (``/perception/detect_objects``) wins over these tables, so new tools need no change here.
"""
from __future__ import annotations

from typing import Any

TOOL_MODULES: dict[str, str] = {
    "detect_objects": "perception", "point_to": "perception", "segment": "perception",
    "get_object_cloud": "perception", "get_object_geometry": "perception", "capture_images": "perception",
    "query_semantic_map": "perception",
    "plan_grasps": "grasp",
    "move_to_pose": "control", "move_joints": "control", "follow_cartesian_path": "control", "gripper": "control",
    "move_base": "control", "get_robot_state": "control", "stop": "control",
    "run_policy": "policy",
}
HARNESS_SKILLS = frozenset({
    "move", "open_gripper", "retreat", "detect", "geometry", "check_label", "guarded", "grasp", "try_candidate",
    "place_on", "place_in", "release", "open_articulated", "look_for", "seen", "go_to", "wipe", "pick", "place",
    "robot_state", "ee_pose", "snapshot",
})
AGENT_BUILTINS = frozenset({"observe", "show", "print", "sleep", "wait"})

TOOL_CATEGORIES: dict[str, str] = {
    "detect_objects": "detection", "point_to": "pointing", "segment": "segmentation",
    "get_object_cloud": "3D geometry", "get_object_geometry": "3D geometry", "capture_images": "observation",
    "query_semantic_map": "mapping", "plan_grasps": "grasp planning",
    "move_to_pose": "arm motion", "move_joints": "arm motion", "follow_cartesian_path": "arm motion",
    "gripper": "gripper", "move_base": "base motion", "get_robot_state": "robot state", "stop": "safety",
    "run_policy": "learned policy", "observe": "observation", "show": "observation",
}
MODULE_CATEGORY_FALLBACK = {"perception": "perception", "grasp": "grasp planning", "control": "motion",
                            "policy": "learned policy", "harness": "harness skill", "agent": "agent built-in"}

# Task categories of the simulated suite (shared/TASKS.md): what a task mainly exercises.
TASK_CATEGORIES: dict[str, str] = {
    "put_ball_in_bowl": "pick-and-place", "clean_table_by_size": "long-horizon", "erase_then_stack": "long-horizon",
    "open_cabinet": "articulated", "fold_towel": "deformable", "rotate_cube": "reorientation", "hang_mug": "precise placement",
    "cut_banana": "tool use", "open_door_enter": "mobile manipulation", "search_ball": "mobile manipulation",
    "trash_ball": "mobile manipulation", "collect_toys": "mobile manipulation",
}


def module_of(name: str, event: dict[str, Any] | None = None) -> str:
    """The module of tool ``name``: the event's ``module`` or service namespace if given, else the tables above."""
    event = event or {}
    if event.get("module"):
        return str(event["module"])
    for key in ("service", "action", "server", "wire_name"):
        wire = event.get(key)
        if isinstance(wire, str) and wire.startswith("/") and wire.count("/") >= 2:
            return wire.split("/")[1]
    if "." in name:
        return name.split(".", 1)[0]
    if name in TOOL_MODULES:
        return TOOL_MODULES[name]
    if name in HARNESS_SKILLS:
        return "harness"
    if name in AGENT_BUILTINS:
        return "agent"
    return "other"


def tool_category_of(name: str, event: dict[str, Any] | None = None) -> str:
    """The functional category of tool ``name`` (detection, arm motion, ...)."""
    event = event or {}
    if event.get("category"):
        return str(event["category"])
    base = name.split(".", 1)[-1]
    if base in TOOL_CATEGORIES:
        return TOOL_CATEGORIES[base]
    return MODULE_CATEGORY_FALLBACK.get(module_of(name, event), "other")


def task_category_of(task: str | None, overrides: dict[str, str] | None = None) -> str:
    """The category of task id ``task`` ('uncategorised' when unknown, 'none' when no task was given)."""
    if not task:
        return "none"
    if overrides and task in overrides:
        return overrides[task]
    return TASK_CATEGORIES.get(task, "uncategorised")
