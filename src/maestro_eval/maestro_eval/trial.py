"""One trial on a running stack: reset the scene, send RunTask (cancelled on timeout), score with the sim's rubric."""
from __future__ import annotations

import time
from typing import Any

from maestro_eval.stack import Stack, StackError
from maestro_eval.suite import TrialSpec


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
