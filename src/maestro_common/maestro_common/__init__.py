"""Shared helpers for Maestro nodes: TF buffer, image conversion, parameters, error handling, ROS test fixtures."""
from importlib.util import find_spec as _find_spec

if _find_spec("rclpy") is not None:
    # rclpy 9.1.2 (Kilted) loses action goal responses in two races; see maestro_common.rclpy_compat.
    from maestro_common import rclpy_compat as _rclpy_compat

    _rclpy_compat.apply()
