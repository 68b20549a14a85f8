"""The contract between the agent loop and its model backends.

A model backend ("brain") turns contexts into :class:`AgentStep` objects:

* ``plan(PlanContext)``: the first code to run for an instruction;
* ``react(ReactContext)``: judge the substep that just ran (code, stdout, error, images, robot state) and return the
  next code, corrected code, or a final verdict;
* ``reflect(ReflectContext)``: after a trial, a short lesson appended to the across-trial history.

Backends are created with :func:`create` from a spec string:

=====================  ======================================================================================
spec                   backend
=====================  ======================================================================================
``""``                 gemini when ``GEMINI_API_KEY``/``GOOGLE_API_KEY`` is set, else offline
``"offline"``          the rule planner (:mod:`maestro_agent.models.offline`), no network
``"gemini-<id>"``      Google Gemini through google-genai (:class:`maestro_agent.models.chat.GeminiChat`)
``"openai:<model>"``   any OpenAI-compatible ``/v1/chat/completions`` server (OpenAI, vLLM, Ollama)
``"replay:<path>"``    replays a recorded transcript (:mod:`maestro_agent.models.replay`)
=====================  ======================================================================================
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Verdict = Literal["CONTINUE", "RETRY", "TASK_COMPLETE", "FAILED"]
VERDICTS: tuple[str, ...] = ("CONTINUE", "RETRY", "TASK_COMPLETE", "FAILED")

#: Images travel as (caption, PNG bytes).
ImageItem = tuple[str, bytes]


class ModelError(RuntimeError):
    """A model backend failed for good (after its retries); the message says why and what to try."""


@dataclass
class PlanContext:
    """Everything a backend sees when it writes the first code for an instruction."""

    instruction: str
    api_docs: str = ""
    embodiment: dict[str, Any] = field(default_factory=dict)
    images: list[ImageItem] = field(default_factory=list)
    history: list[str] = field(default_factory=list)


@dataclass
class AgentStep:
    """One model decision: its reasoning, the code to run next and the verdict on the task so far."""

    reasoning: str = ""
    code: str = ""
    verdict: str = "CONTINUE"
    subtasks: list[str] = field(default_factory=list)
    usage: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Normalise the verdict and reject unknown ones."""
        self.verdict = str(self.verdict).strip().upper()
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}; expected one of {', '.join(VERDICTS)}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (used by the recorder and the replay backend)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AgentStep:
        """Inverse of :meth:`to_dict`; unknown keys are ignored."""
        return cls(
            reasoning=str(data.get("reasoning", "")),
            code=str(data.get("code", "")),
            verdict=str(data.get("verdict", "CONTINUE")),
            subtasks=[str(s) for s in data.get("subtasks", []) or []],
            usage=dict(data.get("usage", {}) or {}),
        )


@dataclass
class ReactContext(PlanContext):
    """A :class:`PlanContext` plus the outcome of the substep that just ran."""

    substep: int = 0
    code: str = ""
    stdout: str = ""
    error: str | None = None
    robot_state: dict[str, Any] = field(default_factory=dict)
    steps: list[AgentStep] = field(default_factory=list)


@dataclass
class ReflectContext(PlanContext):
    """What a backend sees after a trial to write its lesson for the next trial."""

    steps: list[AgentStep] = field(default_factory=list)
    outcome: str = ""           # e.g. "TASK_COMPLETE", "FAILED", "BUDGET_EXHAUSTED"
    progress: float = -1.0      # evaluated progress 0-100 (-1 when unknown)
    trace_summary: str = ""     # short text summary of the trial's tool calls and outputs


@runtime_checkable
class AgentModel(Protocol):
    """A model backend: plans, reacts and reflects."""

    name: str

    def plan(self, ctx: PlanContext) -> AgentStep:
        """Return the first step (code + subtasks) for ``ctx.instruction``."""
        ...

    def react(self, ctx: ReactContext) -> AgentStep:
        """Judge the last substep and return the next step or a final verdict."""
        ...

    def reflect(self, ctx: ReflectContext) -> str:
        """Return a short lesson learned from the finished trial."""
        ...


def default_spec(env: dict[str, str] | None = None) -> str:
    """The spec that ``""`` resolves to: gemini when a Google key is set, else offline."""
    env = dict(os.environ) if env is None else env
    if env.get("GEMINI_API_KEY") or env.get("GOOGLE_API_KEY"):
        return env.get("MAESTRO_GEMINI_MODEL", "gemini-2.5-flash")
    return "offline"


def create(spec: str = "", **options: Any) -> AgentModel:
    """Create a model backend from a spec string (see the module docstring).

    Options are passed to the backend (e.g. ``chat=`` a ready ChatClient, ``base_url=``, ``api_key=``,
    ``temperature=``, ``max_retries=``, ``record=`` for replay). Raises :class:`ValueError` for an unknown spec.
    """
    spec = (spec or "").strip() or default_spec()
    if spec == "offline":
        from maestro_agent.models.offline import OfflinePlanner

        return OfflinePlanner(**options)
    if spec.startswith("replay:"):
        from maestro_agent.models.replay import ReplayModel

        path = spec[len("replay:"):]
        if not path:
            raise ValueError("replay spec needs a path: 'replay:/path/to/transcript.jsonl'")
        record_with = options.pop("record_with", None)
        if record_with:  # record misses from another backend, e.g. create("replay:t.jsonl", record_with="gemini-...")
            options.setdefault("inner", create(record_with))
            options.setdefault("record", True)
        return ReplayModel(path, **options)
    if spec.startswith("gemini-") or spec.startswith("gemini:"):
        from maestro_agent.models.chat import GeminiChat
        from maestro_agent.models.llm_agent import LLMAgent

        model_id = spec[len("gemini:"):] if spec.startswith("gemini:") else spec
        chat = options.pop("chat", None) or GeminiChat(model=model_id, **_pop_chat_options(options))
        return LLMAgent(chat, **options)
    if spec.startswith("openai:"):
        from maestro_agent.models.chat import OpenAIChat
        from maestro_agent.models.llm_agent import LLMAgent

        model_id = spec[len("openai:"):]
        if not model_id:
            raise ValueError("openai spec needs a model name: 'openai:gpt-4o' or 'openai:qwen2.5-vl'")
        chat = options.pop("chat", None) or OpenAIChat(model=model_id, **_pop_chat_options(options))
        return LLMAgent(chat, **options)
    raise ValueError(
        f"unknown model spec {spec!r}; use '', 'offline', 'gemini-<id>', 'openai:<model>' or 'replay:<path>'"
    )


_CHAT_OPTION_KEYS = ("base_url", "api_key", "temperature", "max_retries", "backoff_s", "timeout_s", "max_output_tokens")


def _pop_chat_options(options: dict[str, Any]) -> dict[str, Any]:
    """Move the options that configure the ChatClient out of ``options``."""
    return {k: options.pop(k) for k in _CHAT_OPTION_KEYS if k in options}
