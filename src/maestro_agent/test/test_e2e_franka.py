"""End-to-end: the simulated Franka stack (sim, sim_gt perception, grasp, control, agent) runs a task with the offline
planner and is scored by the simulator. Each test starts its own stack with ``maestro up franka --task ...``.

The smoke test (not slow) only checks that the stack comes up and the tools are discovered. Every trial test is slow
(a trial is one to several minutes on a 2-core machine); run them with ``make test-slow`` or ``pytest -m slow``.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from maestro_common.ros_testing import ros_test_env, wait_for

_spec = importlib.util.spec_from_file_location("e2e_stack", Path(__file__).with_name("e2e_stack.py"))
e2e = importlib.util.module_from_spec(_spec)
sys.modules["e2e_stack"] = e2e
_spec.loader.exec_module(e2e)

EXPECTED_TOOLS = {"detect_objects", "point_to", "segment", "get_object_cloud", "get_object_geometry",
                  "capture_images", "query_semantic_map", "plan_grasps", "get_robot_state", "stop", "move_to_pose",
                  "move_joints", "follow_cartesian_path", "gripper", "move_base"}
NOT_TOOLS = {"select_backend", "reset_estop", "run_task"}


def _report(name: str, run: Any) -> None:
    """Print the numbers of a trial (visible with -s; also kept in the test log)."""
    stats = e2e.trace_stats(run.events())
    print(f"\n[e2e] {name}: verdict {run.verdict} progress {run.progress:g} substeps {run.substeps} "
          f"wall {run.wall_s:.0f} s; {json.dumps(stats)}")


def test_stack_up_and_agent_discovers_tools(tmp_path: Path) -> None:
    """Smoke (< 60 s): the stack comes up and the agent's discovery finds exactly the agent tools."""
    with e2e.FrankaStack(tmp_path, "put_ball_in_bowl") as stack:
        ready_s = stack.wait_ready(timeout=55.0)
        # a fresh DDS participant needs seconds to discover ~40 services under load: a fresh-clone CI once
        # missed the grasp node's plan_grasps after a 3 s wait
        out = subprocess.run([sys.executable, "-m", "maestro_agent.cli", "tools", "--json", "--wait", "10"],
                             env=ros_test_env(), capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        names = {t["tool"] for t in json.loads(out.stdout)}
        assert EXPECTED_TOOLS <= names, f"missing {sorted(EXPECTED_TOOLS - names)}"
        assert not names & NOT_TOOLS
        assert stack.proc.alive()
    print(f"\n[e2e] stack ready in {ready_s:.1f} s, {len(names)} tools")


@pytest.mark.slow
@pytest.mark.timeout(1500)  # the trial's own limit is 1200 s; the suite's default 300 s is too short on a loaded CPU
@pytest.mark.parametrize(("task", "seed"), [("put_ball_in_bowl", 0), ("open_cabinet", 0), ("clean_table_by_size", 0),
                                           ("put_ball_in_bowl", 1)])  # seed 1: other ball and bowl positions
def test_task_reaches_80(task: str, seed: int, tmp_path: Path, client_node: Any) -> None:
    """The offline planner reaches progress >= 80 on the base setting of each Franka task (seed 0, and one more)."""
    with e2e.FrankaStack(tmp_path, task, (f"sim.seed={seed}",)) as stack:
        stack.wait_ready()
        run = e2e.run_task(client_node, task, timeout=1200.0)
    _report(f"{task} seed {seed}", run)
    assert run.verdict == "TASK_COMPLETE", (run.verdict, run.error_msg)
    assert run.progress >= 80.0, run


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_forced_grasp_failure_is_recovered(tmp_path: Path, client_node: Any) -> None:
    """With the first grasp sabotaged (perturbed first candidate), the loop sees the failure and recovers."""
    with e2e.FrankaStack(tmp_path, "put_ball_in_bowl", ("agent.inject_grasp_failures=1",)) as stack:
        stack.wait_ready()
        run = e2e.run_task(client_node, "put_ball_in_bowl", timeout=900.0)
    _report("recovery", run)
    events = run.events()
    out = "".join(e.get("text", "") for e in events if e.get("type") == "stdout")
    assert "fault injection" in out and '[grasp] FAIL' in out
    verdicts = [e["verdict"] for e in events if e.get("type") == "verdict"]
    assert verdicts[0] == "RETRY" and verdicts[-1] == "TASK_COMPLETE", verdicts
    assert run.substeps >= 2 and run.progress >= 80.0, run


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_cancel_stops_the_robot(tmp_path: Path, client_node: Any) -> None:
    """Cancelling RunTask while the arm moves ends the goal as cancelled and the arm comes to rest within 3 s."""
    from maestro_interfaces.srv import GetRobotState

    state_cli = client_node.create_client(GetRobotState, "/control/get_robot_state")

    def robot_state() -> Any:
        fut = state_cli.call_async(GetRobotState.Request())
        assert wait_for(fut.done, 10.0), "get_robot_state did not answer"
        return fut.result().state

    cancel: dict[str, Any] = {}

    def on_feedback(fb: Any, handle: Any) -> None:
        cancel.setdefault("handle", handle)

    def cancel_when_moving() -> None:
        # cancel as soon as the arm moves (the first planned motion of the grasp)
        if wait_for(lambda: "handle" in cancel and bool(robot_state().moving), 300.0, period=0.2):
            cancel["sent"] = time.monotonic()
            cancel["handle"].cancel_goal_async()

    with e2e.FrankaStack(tmp_path, "put_ball_in_bowl") as stack:
        stack.wait_ready()
        watcher = threading.Thread(target=cancel_when_moving, daemon=True)
        watcher.start()
        run = e2e.run_task(client_node, "put_ball_in_bowl", timeout=600.0, on_feedback=on_feedback)
        assert "sent" in cancel, "the arm never moved, nothing to cancel"
        t_result = time.monotonic()
        assert wait_for(lambda: not robot_state().moving, 3.0, period=0.1), "still moving 3 s after the cancel"
        vel = max(abs(v) for v in robot_state().joints.velocity)
        print(f"\n[e2e] cancel: result {t_result - cancel['sent']:.2f} s after the cancel, max joint velocity {vel:.3f}")
    assert run.verdict == "CANCELLED", (run.verdict, run.error_msg)
    assert run.status == 5  # GoalStatus.STATUS_CANCELED
    assert vel < 0.05
