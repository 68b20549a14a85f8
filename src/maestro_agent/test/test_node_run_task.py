"""RunTask node end to end with in-process fake tool servers and a scripted model.

Checks: a trial runs plan -> substeps -> TASK_COMPLETE with feedback, trace, images, robot state and reflection;
variables persist across substeps; a second goal is refused with BUSY_WITH_TASK; cancel stops the code and the robot.
"""
from __future__ import annotations

import importlib.util
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from maestro_common.ros_testing import unique_name, wait_for

_spec = importlib.util.spec_from_file_location("fake_ros_tools", Path(__file__).with_name("fake_ros_tools.py"))
fake_ros_tools = importlib.util.module_from_spec(_spec)
sys.modules["fake_ros_tools"] = fake_ros_tools
_spec.loader.exec_module(fake_ros_tools)

from rclpy.action import ActionClient  # noqa: E402
from rclpy.node import Node  # noqa: E402

from maestro_agent.models.base import AgentStep  # noqa: E402
from maestro_agent.recorder import read_trace  # noqa: E402
from maestro_agent.sandbox import SandboxConfig  # noqa: E402
from maestro_interfaces.action import RunTask  # noqa: E402


class ScriptedModel:
    """Plays a fixed list of steps; remembers every context it got."""

    name = "scripted"

    def __init__(self, steps: list[AgentStep]) -> None:
        self.steps = list(steps)
        self.contexts: list[Any] = []
        self.reflections = 0

    def plan(self, ctx: Any) -> AgentStep:
        self.contexts.append(ctx)
        return self.steps.pop(0)

    def react(self, ctx: Any) -> AgentStep:
        self.contexts.append(ctx)
        return self.steps.pop(0) if self.steps else AgentStep(verdict="FAILED", reasoning="script ended")

    def reflect(self, ctx: Any) -> str:
        self.reflections += 1
        return f"lesson {self.reflections}: outcome {ctx.outcome}"


@pytest.fixture()
def agent_env(spinning: Any, ros_context: Any, tmp_path: Path) -> Any:
    from rclpy.parameter import Parameter

    from maestro_agent.node import AgentNode

    fake = spinning.add(fake_ros_tools.FakeTools(unique_name("fake_tools"), motion_s=0.3, context=ros_context))
    holder: dict[str, Any] = {}
    params = [Parameter("trace_root", value=str(tmp_path / "traces")),
              Parameter("history_dir", value=str(tmp_path / "history"))]
    node = spinning.add(AgentNode(unique_name("agent"), model_factory=lambda spec: holder["model"],
                                  sandbox_config=SandboxConfig(startup_timeout_s=30.0), context=ros_context,
                                  parameter_overrides=params))
    client_node = spinning.add(Node(unique_name("client"), context=ros_context))
    client = ActionClient(client_node, RunTask, "/agent/run_task")
    assert client.wait_for_server(timeout_sec=10.0)
    assert wait_for(lambda: (node.registry.refresh(), len(node.registry.tools()) >= 6)[1], timeout=10.0)
    return {"fake": fake, "node": node, "client": client, "holder": holder, "tmp": tmp_path}


def _send(client: ActionClient, feedback: list | None = None, **fields: Any) -> Any:
    goal = RunTask.Goal()
    for k, v in fields.items():
        setattr(goal, k, v)
    fut = client.send_goal_async(goal, feedback_callback=(lambda m: feedback.append(m.feedback))
                                 if feedback is not None else None)
    assert wait_for(fut.done, timeout=10.0)
    handle = fut.result()
    assert handle.accepted
    return handle


def _result(handle: Any, timeout: float = 60.0) -> Any:
    fut = handle.get_result_async()
    assert wait_for(fut.done, timeout=timeout), "no result in time"
    return fut.result().result


def test_trial_runs_to_task_complete_with_feedback_trace_and_reflection(agent_env: Any) -> None:
    model = ScriptedModel([
        AgentStep(reasoning="look", subtasks=["find ball", "move"], code=(
            "r = detect_objects(labels=['ball'], annotate=True)\n"
            "print('found', len(r.detections), r.detections[0].label)\n"
            "x = 41\n")),
        AgentStep(verdict="CONTINUE", code="print('x+1 =', x + 1)\nres = move_to_pose(target=[0.4, 0.0, 0.3])\n"
                                           "print('moved', bool(res))\n"),
        AgentStep(verdict="TASK_COMPLETE", reasoning="done"),
    ])
    agent_env["holder"]["model"] = model
    feedback: list = []
    handle = _send(agent_env["client"], feedback, instruction="Put the ball somewhere.", max_substeps=4)
    res = _result(handle)
    assert res.verdict == "TASK_COMPLETE", res.error_msg
    assert res.error_code == 0 and res.substeps == 2 and res.success
    assert res.progress == -1.0
    phases = {fb.phase for fb in feedback}
    assert {"planning", "executing", "reacting"} <= phases
    assert any("find ball" in list(fb.subtasks) for fb in feedback)
    # the react contexts saw the substep outcomes
    react1, react2 = model.contexts[1], model.contexts[2]
    assert "found 1 ball" in react1.stdout and react1.error is None
    assert "x+1 = 42" in react2.stdout and "moved True" in react2.stdout    # variables persisted
    captions = [c for c, _ in react1.images]
    assert any("camera" in c for c in captions) and any("annotated" in c for c in captions)
    assert all(png.startswith(b"\x89PNG") for _, png in react1.images)
    assert react1.robot_state.get("embodiment") == "franka"
    assert "detect_objects(" in model.contexts[0].api_docs
    # trace
    trace_dir = Path(res.trace_dir)
    events = read_trace(trace_dir)
    types = [e["type"] for e in events]
    assert types[0] == "trial_start" and types[-1] == "trial_end"
    calls = [e for e in events if e["type"] == "tool_call"]
    detect = next(c for c in calls if c["name"] == "detect_objects")
    assert detect["substep"] == 1 and detect["line"] == 1 and detect["error_code"] == 0 and detect["images"]
    move = next(c for c in calls if c["name"] == "move_to_pose")
    assert move["substep"] == 2 and move["line"] == 2
    assert any(e["type"] == "model_response" and e.get("latency_s") is not None for e in events)
    assert any(e["type"] == "line" for e in events)
    assert list((trace_dir / "images").glob("*.png"))
    assert all(e["v"] == 1 for e in events)
    # reflection appended to the history file
    hist = list((agent_env["tmp"] / "history").glob("*.jsonl"))
    assert hist and "lesson 1" in hist[0].read_text()


def test_second_goal_busy_and_cancel_stops_code_and_robot(agent_env: Any) -> None:
    fake = agent_env["fake"]
    fake.motion_s = 20.0
    model = ScriptedModel([AgentStep(code="print('start')\nr = move_to_pose(target=[0.4, 0.0, 0.3], timeout=30)\n"
                                          "print('never')\n")])
    agent_env["holder"]["model"] = model
    feedback: list = []
    first = _send(agent_env["client"], feedback, instruction="move forever", max_substeps=2)
    assert wait_for(lambda: any(fb.phase == "executing" for fb in feedback), timeout=30.0)
    assert wait_for(lambda: any(name == "move_to_pose" for name, _ in fake.calls), timeout=10.0)
    second = _send(agent_env["client"], None, instruction="another")
    res2 = _result(second, timeout=10.0)
    assert res2.error_code == RunTask.Result.BUSY_WITH_TASK and "cancel" in res2.error_msg
    t0 = time.monotonic()
    cancel_fut = first.cancel_goal_async()
    assert wait_for(cancel_fut.done, timeout=5.0)
    res1 = _result(first, timeout=15.0)
    assert res1.verdict == "CANCELLED" and res1.error_code == 5
    assert time.monotonic() - t0 < 10.0
    # /control/stop is called by the agent-cancel thread, which may finish after the result is sent
    assert wait_for(lambda: fake.stop_calls >= 1, timeout=10.0)
    assert model.reflections == 0


def test_model_failure_and_crash_are_reported(agent_env: Any) -> None:
    class Broken(ScriptedModel):
        def plan(self, ctx: Any) -> AgentStep:
            raise RuntimeError("backend exploded")

    agent_env["holder"]["model"] = Broken([])
    res = _result(_send(agent_env["client"], None, instruction="anything"))
    assert res.error_code == RunTask.Result.MODEL_FAILED and "backend exploded" in res.error_msg
    # a substep that exceeds its timeout is killed; the next substep runs in a fresh interpreter
    model = ScriptedModel([
        AgentStep(code="y = 1\nwhile True:\n    pass\n"),
        AgentStep(verdict="RETRY", code="print('y' in dir())\n"),
        AgentStep(verdict="FAILED", reasoning="give up"),
    ])
    agent_env["holder"]["model"] = model
    res = _result(_send(agent_env["client"], None, instruction="spin", substep_timeout=1.0, max_substeps=3))
    assert res.verdict == "FAILED" and res.substeps == 2
    assert "TimeoutError" in (model.contexts[1].error or "")
    assert "False" in model.contexts[2].stdout
    assert threading.active_count() < 60


def test_tool_level_restricts_the_stubs(agent_env: Any) -> None:
    model = ScriptedModel([
        AgentStep(code="print('detect_objects' in dir(), 'gripper' in dir())\n"),
        AgentStep(verdict="TASK_COMPLETE"),
    ])
    agent_env["holder"]["model"] = model
    res = _result(_send(agent_env["client"], None, instruction="grip", tools="S0"))
    assert res.verdict == "TASK_COMPLETE"
    assert model.contexts[1].stdout.strip() == "False True"
    docs = model.contexts[0].api_docs
    assert "### detect_objects(" not in docs and "### gripper(" in docs
    res = _result(_send(agent_env["client"], None, instruction="grip", tools="S9"))
    assert res.error_code == 2 and "tool level" in res.error_msg
