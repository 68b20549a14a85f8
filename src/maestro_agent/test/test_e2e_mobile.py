"""End-to-end on the mobile robot (Go2-W + PiPER): ``maestro up go2w_piper --task ...`` and the offline planner.

Slow (several minutes on a 2-core machine): run with ``pytest -m slow src/maestro_agent/test/test_e2e_mobile.py``.
"""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

_spec = importlib.util.spec_from_file_location("e2e_stack", Path(__file__).with_name("e2e_stack.py"))
e2e = importlib.util.module_from_spec(_spec)
sys.modules["e2e_stack"] = e2e
_spec.loader.exec_module(e2e)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_trash_ball_drives_to_the_ball_and_reaches_the_grasp_stage(tmp_path: Path, client_node: Any) -> None:
    """The agent finds the ball with the head camera, drives the base to it and reaches the grasp stage (40).

    The whole task (100) is not reached yet: the PiPER's floor grasps fail (no antipodal pairs on the plush ball's
    cloud, a top-down box grasp that closes on nothing, pre-grasps out of IK reach); see the agent's report.
    """
    with e2e.FrankaStack(tmp_path, "trash_ball", embodiment="go2w_piper") as stack:
        stack.wait_ready(timeout=200.0)
        run = e2e.run_task(client_node, "trash_ball", timeout=1500.0)
    stats = e2e.trace_stats(run.events())
    print(f"\n[e2e] trash_ball (go2w_piper): verdict {run.verdict} progress {run.progress:g} substeps {run.substeps} "
          f"wall {run.wall_s:.0f} s; {json.dumps(stats)}")
    assert stats["tool_calls_by_name"].get("move_base", 0) >= 1  # the base moved
    assert run.progress >= 40.0, run  # at least the grasp stage
