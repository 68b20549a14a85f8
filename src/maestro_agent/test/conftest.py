"""Fixtures shared by the agent's end-to-end tests (test_e2e_franka.py, test_e2e_mobile.py)."""
from __future__ import annotations

from typing import Any

import pytest

from maestro_common.ros_testing import unique_name


@pytest.fixture()
def client_node(ros_context: Any, spinning: Any) -> Any:
    """An rclpy node (spinning in the background) for RunTask and control calls."""
    import rclpy

    return spinning.add(rclpy.create_node(unique_name("e2e_client"), context=ros_context))
