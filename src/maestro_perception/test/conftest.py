"""pytest fixtures of the perception node tests; the fakes live in perception_fakes.py (loaded by path)."""
from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from typing import Any

import pytest

if "perception_fakes" not in sys.modules:
    _spec = importlib.util.spec_from_file_location("perception_fakes", Path(__file__).with_name("perception_fakes.py"))
    _mod = importlib.util.module_from_spec(_spec)
    sys.modules["perception_fakes"] = _mod
    _spec.loader.exec_module(_mod)

from perception_fakes import FakeSim
from rclpy.node import Node


@pytest.fixture()
def fake_sim(spinning: Any, ros_context: Any) -> FakeSim:
    """The fake simulator, spinning."""
    from maestro_common.ros_testing import unique_name

    sim = spinning.add(FakeSim(unique_name("fake_sim"), context=ros_context))
    time.sleep(0.2)
    return sim


@pytest.fixture()
def client_node(spinning: Any, ros_context: Any) -> Node:
    """A plain node for test-side clients."""
    from maestro_common.ros_testing import unique_name

    return spinning.add(Node(unique_name("test_client"), context=ros_context))
