"""Typed tool failures and the one place that turns them into ``error_code`` / ``error_msg``.

Nodes raise :class:`ToolFailure` (or a subclass) anywhere in their request handling; the service/action callback
catches it once with :func:`fill_error`, in the navigation2 style (typed exceptions -> codes in one catch block).
The common codes are the constants of ``maestro_interfaces/msg/ToolError.msg`` (repeated here so that ROS-free
libraries can raise these exceptions; a test keeps both in sync); package-specific codes are the constants declared in
each .srv/.action file.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

NONE = 0
UNKNOWN = 1
INVALID_ARGUMENT = 2
NOT_FOUND = 3
TIMEOUT = 4
CANCELLED = 5
UNAVAILABLE = 6
BUSY = 7
UNKNOWN_FRAME = 8
ESTOPPED = 9


class ToolFailure(Exception):
    """A request that a tool cannot serve; carries the error code and a message that says what to try."""

    code: int = UNKNOWN

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        """The human-readable error message."""
        return str(self.args[0]) if self.args else ""


class InvalidArgument(ToolFailure):
    """A request field is missing, NaN, out of range or inconsistent."""

    code = INVALID_ARGUMENT


class NotFound(ToolFailure):
    """The named object, task, camera or joint does not exist."""

    code = NOT_FOUND


class Timeout(ToolFailure):
    """The work did not finish in time."""

    code = TIMEOUT


class Cancelled(ToolFailure):
    """The request was cancelled or pre-empted."""

    code = CANCELLED


class Unavailable(ToolFailure):
    """A backend or peer the tool needs is not active."""

    code = UNAVAILABLE


class Busy(ToolFailure):
    """The tool is serving another request that cannot be pre-empted."""

    code = BUSY


class UnknownFrame(ToolFailure):
    """A frame id is not in the TF tree."""

    code = UNKNOWN_FRAME


class EStopped(ToolFailure):
    """The robot is e-stopped."""

    code = ESTOPPED


def fill_error(response: Any, error: BaseException | None, logger: Any | None = None) -> Any:
    """Set ``response.error_code``/``error_msg`` from ``error`` (None = success) and return the response.

    Unexpected exceptions become ``UNKNOWN`` with their type and text, and are logged, so that a tool never crashes on a
    bad request.
    """
    if error is None:
        response.error_code = NONE
        response.error_msg = ""
    elif isinstance(error, ToolFailure):
        response.error_code = int(error.code)
        response.error_msg = error.message
    else:
        response.error_code = UNKNOWN
        response.error_msg = f"internal error: {type(error).__name__}: {error}"
        if logger is not None:
            logger.error(f"unexpected failure: {type(error).__name__}: {error}")
    return response


def require_finite(name: str, values: float | Iterable[float]) -> None:
    """Raise :class:`InvalidArgument` when any of ``values`` is NaN or infinite."""
    items = [values] if isinstance(values, (int, float)) else list(values)
    if not all(math.isfinite(float(v)) for v in items):
        raise InvalidArgument(f"{name} contains NaN or infinite values: {items}; send finite numbers")


def require_nonempty(name: str, value: str) -> str:
    """Raise :class:`InvalidArgument` when a string field is empty or blank; return it stripped."""
    if not value or not value.strip():
        raise InvalidArgument(f"{name} must not be empty")
    return value.strip()
