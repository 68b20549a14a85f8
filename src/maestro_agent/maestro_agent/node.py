"""The agent node (console script ``agent_node``): the ``/agent/run_task`` action server.

One task at a time: a second goal while one runs is accepted and immediately aborted with ``BUSY_WITH_TASK`` (901)
and a reason (a plain rejection could not carry one). Cancel kills the running code, cancels running tool goals and
calls /control/stop. Blocking work runs in the action's execute callback on a ReentrantCallbackGroup of a
MultiThreadedExecutor, so the node stays responsive (cancel, feedback, tool callbacks) while a trial runs.
"""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import rclpy
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from std_msgs.msg import String

from maestro_agent import msgconv
from maestro_agent.dispatch import ToolDispatcher, _wait
from maestro_agent.loop import BUSY_WITH_TASK, AgentLoop, HistoryStore, LoopConfig, LoopResult
from maestro_agent.models.base import AgentModel
from maestro_agent.observations import ObservationCollector
from maestro_agent.recorder import TraceRecorder, trial_folder_name
from maestro_agent.registry import ToolRegistry
from maestro_agent.sandbox import SandboxConfig, SandboxProcess
from maestro_common.node_runner import spin_node
from maestro_common.params import declare
from maestro_interfaces.action import RunTask
from maestro_interfaces.srv import EvaluateTask

ModelFactory = Callable[[str], AgentModel]


def _default_home() -> Path:
    return Path(os.environ.get("MAESTRO_HOME", Path.home() / ".maestro"))


class AgentNode(Node):
    """The RunTask action server (see the module docstring)."""

    def __init__(self, name: str = "agent", model_factory: ModelFactory | None = None,
                 sandbox_config: SandboxConfig | None = None, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.model_default = str(declare(self, "model", "", "model spec used when a goal leaves `model` empty"))
        self.trace_root = Path(str(declare(self, "trace_root", str(_default_home() / "traces"),
                                            "folder that receives one trace folder per trial")))
        self.history_dir = Path(str(declare(self, "history_dir", str(_default_home() / "history"),
                                             "folder of the per-task reflection history files")))
        self.embodiment = str(declare(self, "embodiment", "franka", "embodiment profile name (maestro_bringup)"))
        self.sandbox_mode = str(declare(self, "sandbox_mode", "auto", "auto | bwrap | fallback",
                                         choices=["auto", "bwrap", "fallback"]))
        self.max_images = int(declare(self, "max_images", 6, "images shown to the model per substep", min_value=0, max_value=32))
        self.inject_grasp_failures = int(declare(
            self, "inject_grasp_failures", 0, "test switch: the first N grasp skill calls of each trial execute a "
            "perturbed first candidate (6 cm short along its approach) and fail, to exercise recovery",
            min_value=0, max_value=10))
        # Every trace event is mirrored live on /agent/events (JSON) for the dashboard and the bag recorder.
        self._events_pub = self.create_publisher(String, "/agent/events", 100)
        self._model_factory = model_factory or _create_model
        self._sandbox_config = sandbox_config
        self._group = ReentrantCallbackGroup()
        self.registry = ToolRegistry(self, callback_group=self._group)
        self.profile = _load_profile(self.embodiment, self.get_logger())
        self._lock = threading.Lock()
        self._active: Any = None           # goal id of the running trial
        self._loop: AgentLoop | None = None
        self._eval_client = self.create_client(EvaluateTask, "/sim/evaluate_task", callback_group=self._group)
        self._server = ActionServer(self, RunTask, "/agent/run_task", execute_callback=self._execute,
                                    goal_callback=self._on_goal, cancel_callback=self._on_cancel,
                                    callback_group=self._group)
        self.get_logger().info(f"agent ready: /agent/run_task (embodiment {self.embodiment}, model "
                               f"{self.model_default or 'default'}, sandbox {self.sandbox_mode})")

    # -- action callbacks -----------------------------------------------------------------------------------
    def _on_goal(self, goal_request: RunTask.Goal) -> GoalResponse:
        return GoalResponse.ACCEPT

    def _on_cancel(self, goal_handle: Any) -> CancelResponse:
        with self._lock:
            loop = self._loop if self._active == bytes(goal_handle.goal_id.uuid) else None
        if loop is not None:
            threading.Thread(target=loop.cancel_now, name="agent-cancel", daemon=True).start()
        return CancelResponse.ACCEPT

    def _execute(self, goal_handle: Any) -> RunTask.Result:
        goal: RunTask.Goal = goal_handle.request
        gid = bytes(goal_handle.goal_id.uuid)
        with self._lock:
            busy = self._active is not None
            if not busy:
                self._active = gid
        if busy:
            goal_handle.abort()
            return _result(LoopResult("FAILED", 0, error_code=BUSY_WITH_TASK,
                                      error_msg="another task is running; cancel it first (one task at a time)"))
        try:
            return self._run(goal_handle, goal, gid)
        finally:
            with self._lock:
                self._active, self._loop = None, None

    def _publish_event(self, record: dict[str, Any]) -> None:
        """Mirror one trace event on /agent/events."""
        self._events_pub.publish(String(data=json.dumps(record, ensure_ascii=False)))

    def _run(self, goal_handle: Any, goal: RunTask.Goal, gid: bytes) -> RunTask.Result:
        instruction = goal.instruction.strip()
        if not instruction:
            goal_handle.abort()
            return _result(LoopResult("FAILED", 0, error_code=2, error_msg="instruction must not be empty"))
        spec = goal.model or self.model_default
        try:
            model = self._model_factory(spec)
        except Exception as exc:
            goal_handle.abort()
            return _result(LoopResult("FAILED", 0, error_code=2, error_msg=f"cannot create model {spec!r}: {exc}"))
        folder = self.trace_root / trial_folder_name(instruction, goal.task)
        recorder = TraceRecorder(folder, on_event=self._publish_event)
        dispatcher = ToolDispatcher(self.registry, msgconv.RefStore(), on_call=lambda c: recorder.event(
            "tool_call", **c))
        observer = ObservationCollector(dispatcher, recorder, max_images=self.max_images)
        config = self._sandbox_config or SandboxConfig(mode=self.sandbox_mode)
        loop_ref: dict[str, AgentLoop] = {}
        sandbox = SandboxProcess(dispatcher.handle, lambda m, p: loop_ref["loop"].on_sandbox_event(m, p), config)

        def feedback(fb: dict[str, Any]) -> None:
            msg = RunTask.Feedback()
            for key, value in fb.items():
                setattr(msg, key, value)
            goal_handle.publish_feedback(msg)

        profile = self.profile
        if self.inject_grasp_failures:
            profile = {**profile, "harness": {**(profile.get("harness") or {}),
                                              "inject_grasp_failures": self.inject_grasp_failures}}
        loop = AgentLoop(model, sandbox, self.registry, dispatcher, observer, recorder, profile,
                         HistoryStore(self.history_dir), self._evaluate if goal.task else None, feedback)
        loop_ref["loop"] = loop
        with self._lock:
            self._loop = loop
        if goal_handle.is_cancel_requested:
            loop.cancel.set()
        cfg = LoopConfig(instruction=instruction, task=goal.task, max_substeps=goal.max_substeps,
                         substep_timeout=goal.substep_timeout, harness=goal.harness,
                         tools=getattr(goal, "tools", ""), seed=goal.seed,
                         perturbation=goal.perturbation)
        self.get_logger().info(f"task: {instruction!r} (model {getattr(model, 'name', spec)}, trace {folder})")
        try:
            result = loop.run(cfg)
        except Exception as exc:
            self.get_logger().error(f"agent loop crashed: {exc!r}")
            result = LoopResult("FAILED", 0, error_code=1, error_msg=f"agent loop error: {exc}",
                                trace_dir=str(folder))
        finally:
            sandbox.close()
            recorder.close()
        if result.verdict == "CANCELLED" and goal_handle.is_cancel_requested:
            goal_handle.canceled()
        elif result.error_code == 0:
            goal_handle.succeed()
        else:
            goal_handle.abort()
        self.get_logger().info(f"task done: {result.verdict} after {result.substeps} substeps, "
                               f"progress {result.progress:g}")
        return _result(result)

    def _evaluate(self, task: str) -> dict[str, Any] | None:
        if not self._eval_client.service_is_ready() and not self._eval_client.wait_for_service(timeout_sec=1.0):
            return None
        req = EvaluateTask.Request()
        req.task = task
        fut = self._eval_client.call_async(req)
        if not _wait(fut, 30.0):
            self._eval_client.remove_pending_request(fut)
            return {"error_code": 4, "error_msg": "/sim/evaluate_task did not answer within 30 s"}
        res = fut.result()
        return {"task": res.task, "progress": float(res.progress), "success": bool(res.success),
                "error_code": int(res.error_code), "error_msg": res.error_msg,
                "criteria": msgconv.to_json(list(res.criteria))}

    def destroy_node(self) -> None:
        """Destroy the action server and tool clients."""
        self._server.destroy()
        self.registry.destroy()
        super().destroy_node()


def _create_model(spec: str) -> AgentModel:
    from maestro_agent import models

    return models.create(spec)


def _load_profile(name: str, logger: Any) -> dict[str, Any]:
    try:
        from maestro_common.profiles import load_profile

        profile = dict(load_profile(name))
        profile.setdefault("name", name)
        return profile
    except Exception as exc:
        logger.warning(f"embodiment profile {name!r} not loaded ({exc}); continuing without one")
        return {"name": name}


def _result(r: LoopResult) -> RunTask.Result:
    res = RunTask.Result()
    res.verdict = r.verdict
    res.progress = float(r.progress)
    res.success = bool(r.success)
    res.substeps = int(r.substeps)
    res.trace_dir = r.trace_dir
    res.error_code = int(r.error_code)
    res.error_msg = r.error_msg
    return res


def main(args: list[str] | None = None) -> None:
    """Run the agent node until shut down."""
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    with rclpy.init(args=args):
        spin_node(AgentNode(), threads=6)


if __name__ == "__main__":
    main()
