"""The control node drives the simulated Go2-W base to a pose within 5 cm / 5 deg (slow: starts a sim)."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

from maestro_common.ros_testing import wait_for
from maestro_interfaces.action import MoveBase

pytestmark = pytest.mark.slow
pytest.importorskip("maestro_sim.node")


def _live_module():
    """Import the Live harness of test_live_sim.py (tests run with --import-mode=importlib)."""
    path = Path(__file__).with_name("test_live_sim.py")
    spec = importlib.util.spec_from_file_location("maestro_control_test_live_sim", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def test_mobile_base_reaches_pose() -> None:
    live = _live_module().Live("go2w_piper", "trash_ball")
    try:
        assert wait_for(lambda: live.control._odom is not None, 20.0)
        g = MoveBase.Goal()
        x0, y0, yaw0 = live.control._base_pose()
        g.target.pose.position.x, g.target.pose.position.y = x0 + 0.8, y0 + 0.3
        yaw = yaw0 + 0.5
        g.target.pose.orientation.z, g.target.pose.orientation.w = math.sin(yaw / 2), math.cos(yaw / 2)
        g.avoid_obstacles = False
        res = live.run("move_base", g, timeout=120.0)
        assert res.error_code == 0, res.error_msg
        x, y, th = live.control._base_pose()
        assert math.hypot(x - x0 - 0.8, y - y0 - 0.3) < 0.05
        assert abs(math.remainder(th - yaw, 2 * math.pi)) < 0.087
    finally:
        live.close()
