"""Helpers of the end-to-end tests: the simulated Franka stack in its own processes, and a RunTask client.

The stack is started exactly as a user does (``python -m maestro_bringup.cli up franka --task ...``) with
:class:`maestro_common.ros_testing.NodeProcess` on the test's isolated ROS domain; the agent writes its traces and
reflections into the test's temporary folder. Nodes the tests do not need (the YOLO and VLM-pointing perception
backends, the bag recorder) are skipped to keep the 2-core test machine responsive.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maestro_common.ros_testing import NodeProcess

SKIP = ("perception_yolo", "perception_vlm_pointing", "recorder")
INSTRUCTIONS = {
    "put_ball_in_bowl": "Put the tennis ball into the bowl.",
    "open_cabinet": "Open the lower cabinet door by pulling the yellow door handle.",
    "clean_table_by_size": "Clean the table by putting all the items into the bowl, from big size to small size.",
    "trash_ball": "Throw the green plush ball into the garbage can.",
    "search_ball": "Search for the orange plush ball and return when it is grasped.",
}


class FrankaStack:
    """``maestro up <embodiment>`` (franka unless given) in a process group; ``wait_ready()`` then use; always
    ``stop()``."""

    def __init__(self, tmp: Path, task: str, extra_sets: tuple[str, ...] = (), embodiment: str = "franka") -> None:
        self.tmp = Path(tmp)
        self.log_path = self.tmp / f"stack-{task}.log"
        sets = [f"agent.trace_root={self.tmp / 'traces'}", f"agent.history_dir={self.tmp / 'history'}",
                *extra_sets]
        self.embodiment = embodiment
        args = ["up", embodiment, "--task", task, "--skip", *SKIP, "--no-restart"]
        for s in sets:
            args += ["--set", s]
        self.proc = NodeProcess([sys.executable, "-m", "maestro_bringup.cli", *args], log_path=self.log_path)

    def wait_ready(self, timeout: float = 150.0) -> float:
        """Seconds until the launcher printed 'all nodes ready'; raises with the log tail otherwise."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            text = self.proc.log_text()
            if "all nodes ready" in text:
                return time.monotonic() - t0
            if "NOT READY" in text or not self.proc.alive():
                break
            time.sleep(0.5)
        raise AssertionError(f"the {self.embodiment} stack did not come up:\n{self.proc.log_text()[-3000:]}")

    def stop(self) -> int:
        """Stop every node (SIGINT to the group, then SIGKILL)."""
        return self.proc.stop(timeout=20.0)

    def __enter__(self) -> FrankaStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class TaskRun:
    """What a RunTask goal ended with."""

    status: int
    verdict: str
    progress: float
    success: bool
    substeps: int
    error_code: int
    error_msg: str
    trace_dir: str
    wall_s: float
    phases: list[str] = field(default_factory=list)

    def events(self) -> list[dict[str, Any]]:
        """The trace.jsonl events of the trial."""
        path = Path(self.trace_dir) / "trace.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def run_task(node: Any, task: str, instruction: str = "", timeout: float = 900.0,
             on_feedback: Callable[[Any, Any], None] | None = None, server_wait: float = 30.0) -> TaskRun:
    """Send one RunTask goal (offline model, scored on ``task``) from ``node`` (spun elsewhere); wait for the end.

    ``on_feedback(feedback, goal_handle)`` sees every feedback message (e.g. to cancel mid-way).
    """
    from rclpy.action import ActionClient

    from maestro_interfaces.action import RunTask

    client = ActionClient(node, RunTask, "/agent/run_task")
    try:
        assert client.wait_for_server(timeout_sec=server_wait), "no /agent/run_task server"
        goal = RunTask.Goal()
        goal.instruction = instruction or INSTRUCTIONS[task]
        goal.model = "offline"
        goal.task = task
        goal.harness = True
        phases: list[str] = []
        handle_box: dict[str, Any] = {}

        def feedback(msg: Any) -> None:
            fb = msg.feedback
            if not phases or phases[-1] != fb.phase:
                phases.append(fb.phase)
            if on_feedback is not None and "handle" in handle_box:
                on_feedback(fb, handle_box["handle"])

        t0 = time.monotonic()
        fut = client.send_goal_async(goal, feedback_callback=feedback)
        _wait(fut, 30.0, "the goal was not answered")
        handle = fut.result()
        assert handle is not None and handle.accepted, "the agent rejected the goal"
        handle_box["handle"] = handle
        res_fut = handle.get_result_async()
        _wait(res_fut, timeout, f"no RunTask result within {timeout:g} s")
        wrapped = res_fut.result()
        r = wrapped.result
        return TaskRun(int(wrapped.status), r.verdict, float(r.progress), bool(r.success), int(r.substeps),
                       int(r.error_code), r.error_msg, r.trace_dir, time.monotonic() - t0, phases)
    finally:
        client.destroy()


def _wait(fut: Any, timeout: float, what: str) -> None:
    done = threading.Event()
    fut.add_done_callback(lambda _f: done.set())
    if not (done.wait(timeout) or fut.done()):
        raise AssertionError(what)


def trace_stats(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts of a trial's trace: substeps, model calls by kind, tool calls by name, failed tool calls."""
    models: dict[str, int] = {}
    tools: dict[str, int] = {}
    failed = 0
    for e in events:
        if e.get("type") == "model_request":
            models[e.get("kind", "?")] = models.get(e.get("kind", "?"), 0) + 1
        elif e.get("type") == "tool_call":
            tools[e.get("name", "?")] = tools.get(e.get("name", "?"), 0) + 1
            failed += int(bool(e.get("error_code")))
    end = next((e for e in reversed(events) if e.get("type") == "trial_end"), {})
    return {"substeps": end.get("substeps"), "model_calls": models, "tool_calls": sum(tools.values()),
            "tool_calls_by_name": tools, "failed_tool_calls": failed}
