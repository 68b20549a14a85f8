"""Typed failures of the simulator (sim range 4xx), built on :mod:`maestro_common.errors`.

The codes are the constants of ``maestro_interfaces/srv/ResetScene.srv`` and ``EvaluateTask.srv``. The node turns them
into ``error_code``/``error_msg`` in one place with :func:`maestro_common.errors.fill_error`.
"""
from __future__ import annotations

from maestro_common.errors import InvalidArgument, NotFound, ToolFailure
from maestro_interfaces.srv import EvaluateTask, ResetScene

__all__ = ["BadPerturbation", "InvalidArgument", "NoTask", "NotFound", "ToolFailure", "UnknownTask",
           "WrongEmbodiment"]


class UnknownTask(ToolFailure):
    """The task id is not registered (see ``/sim/list_tasks``)."""

    code = ResetScene.Response.UNKNOWN_TASK


class BadPerturbation(ToolFailure):
    """The perturbation axis is not one of the task's axes."""

    code = ResetScene.Response.BAD_PERTURBATION


class WrongEmbodiment(ToolFailure):
    """The task belongs to another embodiment than the running world."""

    code = ResetScene.Response.WRONG_EMBODIMENT


class NoTask(ToolFailure):
    """No task has been loaded yet."""

    code = EvaluateTask.Response.NO_TASK
