"""Typed grasp-planning failures. Each carries the error code of maestro_interfaces/srv/PlanGrasps.srv.

The library stays free of ROS (maestro_common.errors is ROS-free too); ``test_node.py`` checks that the codes match
the .srv constants. The node turns these exceptions into ``error_code``/``error_msg`` in one place.
"""

from __future__ import annotations

from maestro_common.errors import INVALID_ARGUMENT, TIMEOUT, UNAVAILABLE, UNKNOWN, ToolFailure

# Grasp codes (maestro_interfaces/srv/PlanGrasps.srv).
NO_CLOUD = 201
NO_GRASPS = 202
OBJECT_TOO_WIDE = 203
__all__ = ["INVALID_ARGUMENT", "NO_CLOUD", "NO_GRASPS", "OBJECT_TOO_WIDE", "TIMEOUT", "UNAVAILABLE", "UNKNOWN",
           "GraspPlanningError", "InvalidRequest", "NoCloud", "NoGrasps", "ObjectTooWide"]


class GraspPlanningError(ToolFailure):
    """Base class: a grasp request that cannot be served; ``code`` is the response's error_code."""


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
