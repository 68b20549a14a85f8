"""The agent loop (Algorithm 1 of ARCHITECTURE.md): plan -> execute substep -> react, then reflect.

:class:`AgentLoop` runs one trial with the pieces it is given (model, sandbox, registry, dispatcher, observation
collector, recorder) and reports progress through a feedback callback. It never reads simulator ground truth: the
optional ``evaluate`` callback (the sim's /sim/evaluate_task) is used only to score the finished trial.
Cancel: set ``cancel`` and call :meth:`AgentLoop.cancel_now` (kills the running code, cancels running goals and
calls /control/stop).
"""
from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maestro_agent import stubgen
from maestro_agent.dispatch import ToolDispatcher
from maestro_agent.models.base import AgentModel, AgentStep, ModelError, PlanContext, ReactContext, ReflectContext
from maestro_agent.observations import ObservationCollector
from maestro_agent.recorder import TraceRecorder
from maestro_agent.registry import ToolRegistry, tool_level
from maestro_agent.sandbox import ExecResult, SandboxError, SandboxProcess

LOG = logging.getLogger("maestro_agent.loop")

# RunTask result codes (maestro_interfaces/action/RunTask.action) and common codes.
NONE, INVALID_ARGUMENT, CANCELLED = 0, 2, 5
BUSY_WITH_TASK, MODEL_FAILED, SUBSTEP_BUDGET, SANDBOX_FAILED = 901, 902, 903, 904
DEFAULT_MAX_SUBSTEPS = 8
DEFAULT_SUBSTEP_TIMEOUT = 120.0
STDOUT_TAIL_LINES = 12


@dataclass
class LoopConfig:
    """Per-trial settings (from the RunTask goal)."""

    instruction: str
    task: str = ""
    max_substeps: int = DEFAULT_MAX_SUBSTEPS
    substep_timeout: float = DEFAULT_SUBSTEP_TIMEOUT
    harness: bool = True
    tools: str = ""             # tool level of the ablation: "S0".."S3", "" = every discovered tool
    seed: int = 0
    perturbation: str = ""
    model_retries: int = 1


@dataclass
class LoopResult:
    """Outcome of a trial (maps onto RunTask.Result)."""

    verdict: str
    substeps: int
    progress: float = -1.0
    success: bool = False
    error_code: int = NONE
    error_msg: str = ""
    trace_dir: str = ""
    steps: list[AgentStep] = field(default_factory=list)


class HistoryStore:
    """Across-trial reflections, one JSON-lines file per task (or per instruction when no task id is given)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def key(self, task: str, instruction: str) -> str:
        """File stem for a task/instruction."""
        return re.sub(r"[^a-z0-9]+", "_", (task or instruction).lower()).strip("_")[:60] or "task"

    def load(self, task: str, instruction: str, last: int = 5) -> list[str]:
        """The last ``last`` reflections."""
        path = self.folder / f"{self.key(task, instruction)}.jsonl"
        if not path.exists():
            return []
        out = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(str(json.loads(line)["reflection"]))
            except (ValueError, KeyError, TypeError):
                continue
        return out[-last:] if last > 0 else out

    def append(self, task: str, instruction: str, reflection: str, **meta: Any) -> Path:
        """Append one reflection (with its verdict/progress)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{self.key(task, instruction)}.jsonl"
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"t": time.time(), "instruction": instruction, "reflection": reflection, **meta})
                     + "\n")
        return path


def harness_source() -> str | None:
    """Source text of maestro_agent/harness/skills.py (run inside the sandbox), None if it is missing."""
    import importlib.util

    spec = importlib.util.find_spec("maestro_agent.harness.skills")
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).read_text(encoding="utf-8")


def harness_docs() -> str:
    """The skills' API docs for the prompt ('' when unavailable)."""
    try:
        from maestro_agent.harness import skills

        return skills.describe()
    except Exception as exc:
        LOG.warning("harness docs unavailable: %s", exc)
        return ""


Feedback = Callable[[dict[str, Any]], None]


class AgentLoop:
    """One trial of Algorithm 1 (see the module docstring)."""

    def __init__(self, model: AgentModel, sandbox: SandboxProcess, registry: ToolRegistry,
                 dispatcher: ToolDispatcher, observer: ObservationCollector, recorder: TraceRecorder,
                 profile: dict[str, Any] | None = None, history: HistoryStore | None = None,
                 evaluate: Callable[[str], dict[str, Any] | None] | None = None,
                 feedback: Feedback | None = None) -> None:
        self.model = model
        self.sandbox = sandbox
        self.registry = registry
        self.dispatcher = dispatcher
        self.observer = observer
        self.recorder = recorder
        self.profile = profile or {}
        self.history = history
        self.evaluate = evaluate
        self._feedback = feedback or (lambda _fb: None)
        self.cancel = threading.Event()
        self._fb: dict[str, Any] = {"phase": "planning", "substep": 0, "max_substeps": 0, "code": "",
                                    "stdout_tail": "", "subtasks": [], "current_subtask": 0}
        self._stdout = ""
        self._last_fb = 0.0
        self._fingerprint = ""

    # -- feedback and events ----------------------------------------------------------------------------
    def publish(self, **changes: Any) -> None:
        """Update and send the feedback message."""
        self._fb.update(changes)
        self._last_fb = time.monotonic()
        try:
            self._feedback(dict(self._fb))
        except Exception as exc:
            LOG.debug("feedback failed: %s", exc)

    def on_sandbox_event(self, method: str, params: dict[str, Any]) -> None:
        """Notifications of the sandbox child (stdout, line events, observe)."""
        if method == "stdout":
            text = str(params.get("text", ""))
            self._stdout = (self._stdout + text)[-8000:]
            self.recorder.event("stdout", substep=params.get("substep"), text=text)
            if time.monotonic() - self._last_fb > 0.5:
                self.publish(stdout_tail=_tail(self._stdout))
        elif method == "line":
            self.recorder.event("line", substep=params.get("substep"), line=params.get("line"),
                                dt=params.get("t"))
        elif method == "observe":
            self.observer.on_observe(str(params.get("id", "")), str(params.get("caption", "")))

    def cancel_now(self, reason: str = "cancelled by the client") -> None:
        """Stop everything now (thread-safe): kill the code, cancel goals, stop the robot."""
        self.cancel.set()
        self.sandbox.cancel(reason)
        stop_robot(self.dispatcher)

    # -- model calls ----------------------------------------------------------------------------------
    def _model(self, kind: str, fn: Callable[[Any], Any], ctx: Any, retries: int) -> Any:
        last: Exception | None = None
        for attempt in range(retries + 1):
            self.recorder.event("model_request", kind=kind, model=getattr(self.model, "name", "?"),
                                attempt=attempt, substep=getattr(ctx, "substep", 0), n_images=len(ctx.images),
                                api_docs_chars=len(ctx.api_docs))
            t0 = time.monotonic()
            try:
                out = fn(ctx)
            except ModelError as exc:
                last = exc
                self.recorder.event("model_response", kind=kind, ok=False, error=str(exc),
                                    latency_s=time.monotonic() - t0)
                continue
            except Exception as exc:
                last = exc
                self.recorder.event("model_response", kind=kind, ok=False, error=f"{type(exc).__name__}: {exc}",
                                    latency_s=time.monotonic() - t0)
                continue
            latency = time.monotonic() - t0
            if isinstance(out, AgentStep):
                usage = dict(out.usage)
                usage.setdefault("latency_s", latency)
                self.recorder.event("model_response", kind=kind, ok=True, latency_s=latency,
                                    input_tokens=usage.get("input_tokens"), output_tokens=usage.get("output_tokens"),
                                    verdict=out.verdict, reasoning=out.reasoning, code=out.code,
                                    subtasks=out.subtasks)
            else:
                self.recorder.event("model_response", kind=kind, ok=True, latency_s=latency, text=str(out))
            return out
        raise ModelError(f"the model failed {retries + 1} time(s): {last}")

    # -- the trial ------------------------------------------------------------------------------------
    def _prepare_tools(self, harness: bool) -> str:
        """Refresh the registry, (re)load stubs into the sandbox when tools changed; returns the API docs."""
        self.registry.refresh()
        allowed = self.dispatcher.allowed
        specs = [s for s in self.registry.specs() if allowed is None or s.tool in allowed]
        fingerprint = f"{self.registry.fingerprint()}-{self.dispatcher.level}-{len(specs)}"
        docs = stubgen.render_docs(specs, harness_docs() if harness else "")
        if fingerprint != self._fingerprint:
            self._fingerprint = fingerprint
            info = self.sandbox.configure(stubgen.render_module(specs), harness_source() if harness else None,
                                          self.profile)
            self.recorder.event("tools", fingerprint=fingerprint, tools=[s.tool for s in specs],
                                skills=(info or {}).get("skills"))
        return docs

    def run(self, cfg: LoopConfig) -> LoopResult:
        """Run one trial; never raises for model, sandbox or tool failures."""
        max_sub = cfg.max_substeps if cfg.max_substeps > 0 else DEFAULT_MAX_SUBSTEPS
        timeout = cfg.substep_timeout if cfg.substep_timeout > 0 else DEFAULT_SUBSTEP_TIMEOUT
        self.dispatcher.reset()
        try:
            self.dispatcher.allowed = tool_level(cfg.tools)
            self.dispatcher.level = cfg.tools.strip().upper()
        except ValueError as exc:
            return LoopResult("FAILED", 0, error_code=INVALID_ARGUMENT, error_msg=str(exc),
                              trace_dir=str(self.recorder.folder))
        self.recorder.event("trial_start", instruction=cfg.instruction, task=cfg.task, model=getattr(
            self.model, "name", "?"), max_substeps=max_sub, substep_timeout=timeout, harness=cfg.harness,
            tools=cfg.tools, seed=cfg.seed, perturbation=cfg.perturbation, sandbox_mode=self.sandbox.mode,
            embodiment=self.profile.get("name", ""))
        result = self._trial(cfg, max_sub, timeout)
        result.trace_dir = str(self.recorder.folder)
        if cfg.task and self.evaluate is not None and result.verdict != "CANCELLED":
            self.publish(phase="evaluating")
            try:
                ev = self.evaluate(cfg.task)
            except Exception as exc:
                ev = {"error_code": 1, "error_msg": str(exc)}
            self.recorder.event("evaluation", **(ev or {"error_msg": "no evaluator"}))
            if ev and not ev.get("error_code"):
                result.progress = float(ev.get("progress", -1.0))
                result.success = bool(ev.get("success", result.progress >= 100.0))
        elif not cfg.task:
            result.success = result.verdict == "TASK_COMPLETE"
        self._reflect(cfg, result)
        self.recorder.event("trial_end", verdict=result.verdict, substeps=result.substeps,
                            progress=result.progress, success=result.success, error_code=result.error_code,
                            error_msg=result.error_msg)
        return result

    def _trial(self, cfg: LoopConfig, max_sub: int, timeout: float) -> LoopResult:
        self.publish(phase="planning", substep=0, max_substeps=max_sub)
        harness = cfg.harness
        try:
            docs = self._prepare_tools(harness)
            try:
                info = self.sandbox.start()
            except SandboxError as exc:
                if not harness:
                    raise
                # the skills failed to load: go on with the atomic tools rather than failing the task
                LOG.error("harness skills failed to load, continuing without them: %s", exc)
                self.recorder.event("warning", note=f"harness skills failed to load: {exc}")
                harness = False
                self._fingerprint = ""
                docs = self._prepare_tools(harness)
                info = self.sandbox.start()
        except SandboxError as exc:
            return LoopResult("FAILED", 0, error_code=SANDBOX_FAILED, error_msg=f"sandbox: {exc}")
        cfg.harness = harness
        self.recorder.event("sandbox", mode=self.sandbox.mode, tools=info.get("tools"), skills=info.get("skills"),
                            scratch=self.sandbox.scratch)
        history = self.history.load(cfg.task, cfg.instruction) if self.history else []
        obs0 = self.observer.collect(0)
        base = {"instruction": cfg.instruction, "api_docs": docs, "embodiment": self.profile, "history": history}
        try:
            step = self._model("plan", self.model.plan, PlanContext(images=obs0.images, **base), cfg.model_retries)
        except ModelError as exc:
            return LoopResult("FAILED", 0, error_code=MODEL_FAILED, error_msg=str(exc))
        steps: list[AgentStep] = [step]
        subtasks = list(step.subtasks)
        current = 0
        substep = 0
        if step.verdict in ("TASK_COMPLETE", "FAILED") and not step.code.strip():
            return LoopResult(step.verdict, 0, steps=steps,
                              error_msg="" if step.verdict == "TASK_COMPLETE" else step.reasoning[:500])
        while substep < max_sub:
            if self.cancel.is_set():
                return LoopResult("CANCELLED", substep, error_code=CANCELLED, error_msg="the task was cancelled",
                                  steps=steps)
            substep += 1
            docs = self._prepare_tools(cfg.harness)
            self.dispatcher.substep = substep
            self._stdout = ""
            self.recorder.event("substep", substep=substep, code=step.code, reasoning=step.reasoning,
                                verdict=step.verdict, subtasks=subtasks, current_subtask=current)
            self.publish(phase="executing", substep=substep, code=step.code, stdout_tail="", subtasks=subtasks,
                         current_subtask=current)
            ex = self.sandbox.execute(step.code, substep, timeout)
            self.recorder.event("exec_result", substep=substep, **_exec_summary(ex))
            if ex.timed_out:  # stop what the killed code started; the next substep may call tools again
                stop_robot(self.dispatcher, latch=False)
            if self.cancel.is_set() or ex.cancelled:
                return LoopResult("CANCELLED", substep, error_code=CANCELLED, error_msg="the task was cancelled",
                                  steps=steps)
            self.publish(phase="reacting", stdout_tail=_tail(ex.stdout))
            obs = self.observer.collect(substep)
            ctx = ReactContext(images=obs.images, substep=substep, code=step.code, stdout=ex.stdout,
                               error=ex.error, robot_state=obs.robot_state, steps=list(steps),
                               **{**base, "api_docs": docs})
            try:
                step = self._model("react", self.model.react, ctx, cfg.model_retries)
            except ModelError as exc:
                return LoopResult("FAILED", substep, error_code=MODEL_FAILED, error_msg=str(exc), steps=steps)
            steps.append(step)
            if step.subtasks:
                subtasks = list(step.subtasks)
            if step.verdict == "CONTINUE" and subtasks:
                current = min(current + 1, len(subtasks) - 1)
            self.recorder.event("verdict", substep=substep, verdict=step.verdict, reasoning=step.reasoning)
            if step.verdict == "TASK_COMPLETE":
                return LoopResult("TASK_COMPLETE", substep, steps=steps)
            if step.verdict == "FAILED":
                return LoopResult("FAILED", substep, steps=steps,
                                  error_msg=f"the model judged the task failed: {step.reasoning[:400]}")
        return LoopResult("BUDGET_EXHAUSTED", substep, error_code=SUBSTEP_BUDGET, steps=steps,
                          error_msg=f"the budget of {max_sub} substeps ran out before the agent judged the task "
                                    "complete; raise max_substeps or simplify the instruction")

    def _reflect(self, cfg: LoopConfig, result: LoopResult) -> None:
        if self.history is None or result.verdict == "CANCELLED" or not result.steps:
            return
        self.publish(phase="reflecting")
        summary = "\n".join(f"substep {i}: {s.verdict}: {s.reasoning[:200]}" for i, s in enumerate(result.steps))
        ctx = ReflectContext(instruction=cfg.instruction, embodiment=self.profile, steps=result.steps,
                             outcome=result.verdict, progress=result.progress, trace_summary=summary,
                             history=self.history.load(cfg.task, cfg.instruction))
        try:
            text = self._model("reflect", self.model.reflect, ctx, 0)
        except ModelError as exc:
            self.recorder.event("warning", note=f"reflection failed: {exc}")
            return
        text = str(text or "").strip()
        if text:
            path = self.history.append(cfg.task, cfg.instruction, text, verdict=result.verdict,
                                       progress=result.progress, trace_dir=str(self.recorder.folder))
            self.recorder.event("reflection", text=text, history_file=str(path))


def stop_robot(dispatcher: ToolDispatcher, latch: bool = True) -> None:
    """Cancel running goals and call /control/stop when it is up (best effort); ``latch`` as in
    :meth:`ToolDispatcher.cancel_all` (True for a task cancel, False after a substep timeout)."""
    dispatcher.cancel_all(latch=latch)
    if dispatcher.registry.get("stop") is not None:
        dispatcher.call("stop", {}, 5.0, force=True)


def _tail(text: str, lines: int = STDOUT_TAIL_LINES) -> str:
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def _exec_summary(ex: ExecResult) -> dict[str, Any]:
    d = ex.to_dict()
    d["stdout"] = ex.stdout[-20_000:]
    return d
