"""CLI subcommands against in-process nodes: `tools` lists signatures, `task` streams feedback and the verdict."""
from __future__ import annotations

import argparse
import importlib.util
import io
import sys
from pathlib import Path
from typing import Any

import pytest

from maestro_common.ros_testing import unique_name

_spec = importlib.util.spec_from_file_location("fake_ros_tools", Path(__file__).with_name("fake_ros_tools.py"))
fake_ros_tools = importlib.util.module_from_spec(_spec)
sys.modules["fake_ros_tools"] = fake_ros_tools
_spec.loader.exec_module(fake_ros_tools)

from maestro_agent import cli  # noqa: E402
from maestro_agent.models.base import AgentStep  # noqa: E402


def _parse(add: Any, argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add(parser)
    return parser.parse_args(argv)


class _Model:
    name = "scripted"

    def __init__(self) -> None:
        self.steps = [AgentStep(subtasks=["look"], code="r = detect_objects(labels=['ball'])\nprint('n =', "
                                                         "len(r.detections))\n"),
                      AgentStep(verdict="TASK_COMPLETE", reasoning="saw it")]

    def plan(self, ctx: Any) -> AgentStep:
        return self.steps.pop(0)

    def react(self, ctx: Any) -> AgentStep:
        return self.steps.pop(0)

    def reflect(self, ctx: Any) -> str:
        return ""


# Residual flake: `maestro tools --wait 1.5` starts a new DDS participant and lists what it discovered in 1.5 s;
# at load average 15-20 on 2 cores (make test, 2026-11-25) that found no tools once. A fixed discovery window.
@pytest.mark.flaky(reruns=2)
def test_tools_and_task_commands(spinning: Any, ros_context: Any, tmp_path: Path) -> None:
    from rclpy.parameter import Parameter

    from maestro_agent.node import AgentNode

    spinning.add(fake_ros_tools.FakeTools(unique_name("fake"), context=ros_context))
    out = io.StringIO()
    code = cli.run_tools(_parse(cli.add_tools_arguments, ["--wait", "1.5"]), out)
    text = out.getvalue()
    assert code == 0, text
    assert "detect_objects(camera: str = '', labels: list[str] | None = None" in text
    assert "action /control/move_to_pose [maestro_interfaces/action/MoveToPose]" in text

    spinning.add(AgentNode(unique_name("agent"), model_factory=lambda spec: _Model(), context=ros_context,
                           parameter_overrides=[Parameter("trace_root", value=str(tmp_path / "t")),
                                                Parameter("history_dir", value=str(tmp_path / "h"))]))
    out = io.StringIO()
    code = cli.run_task(_parse(cli.add_task_arguments, ["Find the ball.", "--max-substeps", "3"]), out)
    text = out.getvalue()
    assert code == 0, text
    assert "substep 1/3  executing  subtask 1/1: look" in text
    assert "    | r = detect_objects(labels=['ball'])" in text
    assert "verdict: TASK_COMPLETE" in text and f"trace: {tmp_path / 't'}" in text
    # the goal asked for the harness: its skills were installed in the sandbox on top of the stubs
    from maestro_agent.recorder import read_trace

    trace = read_trace(next((tmp_path / "t").iterdir()))
    sandbox = next(e for e in trace if e["type"] == "sandbox")
    assert "grasp" in sandbox["skills"] and "detect_objects" in sandbox["tools"]


def test_task_without_agent_server_exits_2() -> None:
    out = io.StringIO()
    args = _parse(cli.add_task_arguments, ["anything", "--server-timeout", "0.5"])
    assert cli.run_task(args, out) == 2
    assert "no agent on /agent/run_task" in out.getvalue()
