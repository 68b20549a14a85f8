"""Typed grasp-planning failures. Each carries the error code of maestro_interfaces/srv/PlanGrasps.srv.

The library stays free of ROS, so the codes are repeated here; ``test_node.py`` checks that they match the .srv
constants. The node turns these exceptions into ``error_code``/``error_msg`` in one place.
"""

from __future__ import annotations

# Common codes (maestro_interfaces/msg/ToolError.msg).
UNKNOWN = 1
INVALID_ARGUMENT = 2
TIMEOUT = 4
UNAVAILABLE = 6
# Grasp codes (maestro_interfaces/srv/PlanGrasps.srv).
NO_CLOUD = 201
NO_GRASPS = 202
OBJECT_TOO_WIDE = 203


class GraspPlanningError(Exception):
    """Base class: a grasp request that cannot be served; ``code`` is the response's error_code."""

    code: int = UNKNOWN

    def __init__(self, message: str, code: int | None = None) -> None:
        """Store the message (what went wrong and what to try) and optionally override the code."""
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        """The human-readable error message."""
        return str(self.args[0]) if self.args else ""


class InvalidRequest(GraspPlanningError):
    """A request field is missing, NaN, out of range or inconsistent."""

    code = INVALID_ARGUMENT


class NoCloud(GraspPlanningError):
    """No object cloud was given and perception could not provide one."""

    code = NO_CLOUD


class NoGrasps(GraspPlanningError):
    """No collision-free antipodal grasp satisfies the constraints."""

    code = NO_GRASPS


class ObjectTooWide(GraspPlanningError):
    """The object (or part) is wider than the gripper stroke everywhere."""

    code = OBJECT_TOO_WIDE
