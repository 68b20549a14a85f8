"""Run trials against stacks: reset the scene, send RunTask, score with the sim's rubric, record everything.

Workers run in parallel threads, each with its own stack in its own ROS domain; a hung or crashed trial is cancelled,
timed out and recorded as such, its stack is restarted, and the run goes on. Finished trials are skipped on a re-run.
"""
from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from maestro_eval.results import ResultsStore
from maestro_eval.stack import Stack, StackError
from maestro_eval.suite import TrialSpec
from maestro_eval.trace_stats import read_trace_stats

BASE_DOMAIN = int(os.environ.get("MAESTRO_EVAL_BASE_DOMAIN", "60"))  # worker i uses ROS_DOMAIN_ID = BASE_DOMAIN + i


def _call(node: Any, context: Any, srv_type: Any, name: str, request: Any, timeout: float) -> Any:
    import rclpy

    client = node.create_client(srv_type, name)
    try:
        if not client.wait_for_service(timeout_sec=min(timeout, 30.0)):
            raise StackError(f"service {name} is not available")
        future = client.call_async(request)
        executor = rclpy.executors.SingleThreadedExecutor(context=context)
        executor.add_node(node)
        try:
            executor.spin_until_future_complete(future, timeout_sec=timeout)
        finally:
            executor.remove_node(node)
            executor.shutdown()
        if not future.done():
            raise StackError(f"service {name} did not answer within {timeout:.0f} s")
        return future.result()
    finally:
        node.destroy_client(client)


class TrialRunner:
    """Runs trials on one stack (one embodiment, one ROS domain)."""

    def __init__(self, stack: Stack, max_substeps: int, trial_timeout: float, substep_timeout: float) -> None:
        self.stack = stack
        self.max_substeps = max_substeps
        self.trial_timeout = trial_timeout
        self.substep_timeout = substep_timeout

    def run(self, spec: TrialSpec) -> dict[str, Any]:
        """Run one trial and return its result row (never raises for a failed trial)."""
        from maestro_interfaces.srv import EvaluateTask, ResetScene

        row: dict[str, Any] = {**spec.to_dict(), "trial_id": spec.trial_id, "status": "error", "progress": 0.0,
                               "success": False, "error": "", "verdict": "", "trace_dir": ""}
        t0 = time.monotonic()
        try:
            if not self.stack.alive():
                raise StackError("stack is not running")
            node, ctx = self.stack.node, self.stack.context
            reset = _call(node, ctx, ResetScene, "/sim/reset_scene",
                          ResetScene.Request(task=spec.task, seed=spec.seed, perturbation=spec.perturbation), 60.0)
            if reset.error_code != 0:
                raise StackError(f"reset failed ({reset.error_code}): {reset.error_msg}")
            row["instruction"] = reset.instruction
            result, status = self._run_task(spec, reset.instruction)
            row["status"] = status
            if result is not None:
                row.update(verdict=result.verdict, trace_dir=result.trace_dir, substeps=result.substeps,
                           error="" if result.error_code == 0 else f"{result.error_code}: {result.error_msg}")
            evaluation = _call(node, ctx, EvaluateTask, "/sim/evaluate_task", EvaluateTask.Request(task=spec.task), 30.0)
            if evaluation.error_code == 0:
                row["progress"], row["success"] = float(evaluation.progress), bool(evaluation.success)
                row["criteria"] = {c.name: c.reached for c in evaluation.criteria}
        except StackError as exc:
            row["error"] = str(exc)
        row["wall_time_s"] = round(time.monotonic() - t0, 2)
        if row.get("trace_dir"):
            row.update(read_trace_stats(row["trace_dir"]).to_dict())
        return row

    def _run_task(self, spec: TrialSpec, instruction: str) -> tuple[Any, str]:
        import rclpy
        from rclpy.action import ActionClient

        from maestro_interfaces.action import RunTask

        node, ctx = self.stack.node, self.stack.context
        client = ActionClient(node, RunTask, "/agent/run_task")
        executor = rclpy.executors.SingleThreadedExecutor(context=ctx)
        executor.add_node(node)
        try:
            if not client.wait_for_server(timeout_sec=30.0):
                raise StackError("/agent/run_task is not available")
            goal = RunTask.Goal(instruction=instruction, model=spec.method.model, max_substeps=self.max_substeps,
                                substep_timeout=self.substep_timeout, harness=spec.method.harness,
                                tools=spec.method.tools, task=spec.task, seed=spec.seed,
                                perturbation=spec.perturbation)
            goal_future = client.send_goal_async(goal)
            executor.spin_until_future_complete(goal_future, timeout_sec=30.0)
            handle = goal_future.result() if goal_future.done() else None
            if handle is None or not handle.accepted:
                raise StackError("the agent rejected the goal")
            result_future = handle.get_result_async()
            executor.spin_until_future_complete(result_future, timeout_sec=self.trial_timeout)
            if result_future.done():
                return result_future.result().result, "done"
            cancel = handle.cancel_goal_async()
            executor.spin_until_future_complete(cancel, timeout_sec=15.0)
            executor.spin_until_future_complete(result_future, timeout_sec=15.0)
            return (result_future.result().result if result_future.done() else None), "timeout"
        finally:
            executor.remove_node(node)
            executor.shutdown()
            client.destroy()


def run_trials(specs: list[TrialSpec], store: ResultsStore, workers: int = 1, max_substeps: int = 8,
               trial_timeout: float = 600.0, substep_timeout: float = 120.0, stack_overrides: list[str] | None = None,
               on_row: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Run every unfinished trial of ``specs`` with ``workers`` parallel stacks; return the new rows."""
    done = store.finished_ids()
    todo: queue.Queue[TrialSpec] = queue.Queue()
    for spec in specs:
        if spec.trial_id not in done:
            todo.put(spec)
    rows: list[dict[str, Any]] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        stacks: dict[str, Stack] = {}
        try:
            while True:
                try:
                    spec = todo.get_nowait()
                except queue.Empty:
                    return
                stack = stacks.get(spec.embodiment)
                if stack is None or not stack.alive():
                    for other in stacks.values():
                        other.stop()
                    stacks.clear()
                    stack = Stack(spec.embodiment, BASE_DOMAIN + index,
                                  store.root / "logs" / f"worker{index}-{spec.embodiment}.log", stack_overrides)
                    try:
                        stack.start(task=spec.task)
                    except StackError as exc:
                        row = {**spec.to_dict(), "trial_id": spec.trial_id, "status": "stack_failed",
                               "error": str(exc), "progress": 0.0, "success": False}
                        _record(row)
                        continue
                    stacks[spec.embodiment] = stack
                runner = TrialRunner(stack, max_substeps, trial_timeout, substep_timeout)
                row = runner.run(spec)
                _record(row)
                if row["status"] != "done":
                    stack.stop()  # a hung/crashed trial gets a fresh stack
                    stacks.pop(spec.embodiment, None)
        finally:
            for stack in stacks.values():
                stack.stop()

    def _record(row: dict[str, Any]) -> None:
        store.add(row)
        with lock:
            rows.append(row)
        if on_row:
            on_row(row)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(max(1, workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return rows


def default_results_dir() -> Path:
    """``runs/eval-<timestamp>``."""
    return Path("runs") / time.strftime("eval-%Y%m%d-%H%M%S")
