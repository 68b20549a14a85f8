"""Perception failures (1xx codes of the perception .srv files) on top of maestro_common's typed exceptions."""
from __future__ import annotations

from maestro_common.errors import (  # noqa: F401 - re-exported for the backends
    InvalidArgument,
    NotFound,
    Timeout,
    ToolFailure,
    Unavailable,
    UnknownFrame,
    fill_error,
    require_nonempty,
)
from maestro_interfaces.srv import DetectObjects, GetObjectCloud, PointTo

NO_DETECTIONS = DetectObjects.Response.NO_DETECTIONS
NO_IMAGE = DetectObjects.Response.NO_IMAGE
NOT_UNDERSTOOD = PointTo.Response.NOT_UNDERSTOOD
NO_DEPTH = GetObjectCloud.Response.NO_DEPTH
SIZE_MISMATCH = GetObjectCloud.Response.SIZE_MISMATCH


class NoDetections(ToolFailure):
    """The image was processed but nothing matched."""

    code = NO_DETECTIONS


class NoImage(ToolFailure):
    """No image (or depth / camera info) has arrived from the camera yet."""

    code = NO_IMAGE


class NotUnderstood(ToolFailure):
    """The backend could not ground the query in the image."""

    code = NOT_UNDERSTOOD


class NoDepth(ToolFailure):
    """The object's mask has no valid depth pixels."""

    code = NO_DEPTH


class SizeMismatch(ToolFailure):
    """Mask, depth and camera info sizes differ."""

    code = SIZE_MISMATCH
