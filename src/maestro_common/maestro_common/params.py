"""Declare ROS parameters once, with type, default, description and validation."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.node import Node


def declare(
    node: Node,
    name: str,
    default: Any,
    description: str,
    *,
    read_only: bool = False,
    choices: list[str] | None = None,
    min_value: float | None = None,
    max_value: float | None = None,
    validate: Callable[[Any], str | None] | None = None,
) -> Any:
    """Declare ``name`` on ``node`` and return its value.

    ``choices``/``min_value``/``max_value``/``validate`` are checked now and documented in the descriptor; a value that
    fails them raises ``ValueError`` naming the parameter, the value and what is allowed.
    """
    descriptor = ParameterDescriptor(description=description, read_only=read_only)
    if choices:
        descriptor.additional_constraints = f"one of {choices}"
    if min_value is not None and max_value is not None:
        if isinstance(default, bool):
            pass
        elif isinstance(default, int):
            descriptor.integer_range = [IntegerRange(from_value=int(min_value), to_value=int(max_value), step=0)]
        elif isinstance(default, float):
            descriptor.floating_point_range = [FloatingPointRange(from_value=float(min_value),
                                                                  to_value=float(max_value), step=0.0)]
    value = node.declare_parameter(name, default, descriptor).value
    problem = check_value(name, value, choices=choices, min_value=min_value, max_value=max_value, validate=validate)
    if problem:
        raise ValueError(problem)
    return value


def check_value(
    name: str,
    value: Any,
    *,
    choices: list[str] | None = None,
    min_value: float | None = None,
    max_value: float | None = None,
    validate: Callable[[Any], str | None] | None = None,
) -> str | None:
    """Return a message describing why ``value`` is not allowed for parameter ``name``, or None when it is fine."""
    if choices is not None and value not in choices:
        return f"parameter '{name}' = {value!r} is not one of {choices}"
    if min_value is not None and value < min_value:
        return f"parameter '{name}' = {value!r} is below the minimum {min_value}"
    if max_value is not None and value > max_value:
        return f"parameter '{name}' = {value!r} is above the maximum {max_value}"
    if validate is not None:
        return validate(value)
    return None
