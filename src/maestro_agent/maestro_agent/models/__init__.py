"""Model backends of the Maestro agent (see :mod:`maestro_agent.models.base`)."""
from maestro_agent.models.base import (
    VERDICTS,
    AgentModel,
    AgentStep,
    ModelError,
    PlanContext,
    ReactContext,
    ReflectContext,
    create,
    default_spec,
)

__all__ = [
    "VERDICTS",
    "AgentModel",
    "AgentStep",
    "ModelError",
    "PlanContext",
    "ReactContext",
    "ReflectContext",
    "create",
    "default_spec",
]
