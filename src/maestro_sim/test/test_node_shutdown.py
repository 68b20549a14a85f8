"""The sim node process shuts down in order on SIGINT while it renders: no error from the render or physics thread."""
from __future__ import annotations

import sys
import time
from typing import Any

from sensor_msgs.msg import Image

from maestro_common.ros_testing import NodeProcess, unique_name, wait_for


def test_sigint_while_rendering_is_clean(spinning: Any, tmp_path: Any) -> None:
    import rclpy

    log = tmp_path / "sim.log"
    sim = NodeProcess([sys.executable, "-m", "maestro_sim.node", "--ros-args", "-p", "camera_rate:=10.0"],
                      log_path=log)
    try:
        node = spinning.add(rclpy.create_node(unique_name("shutdown_probe"), context=spinning.executor.context))
        frames: list[float] = []
        for topic in ("/front/image_raw", "/front/segmentation", "/wrist/depth"):
            node.create_subscription(Image, topic, lambda _m: frames.append(time.monotonic()), 2, raw=True)
        assert wait_for(lambda: len(frames) >= 6, 90.0), f"no camera frames; log:\n{log.read_text()[-2000:]}"
        code = sim.stop(timeout=15.0)
    finally:
        sim.stop()
    text = log.read_text()
    assert code == 0, f"exit code {code}; log:\n{text[-2000:]}"
    for bad in ("rendering stopped", "Traceback", "context is invalid", "Exception in thread"):
        assert bad not in text, f"'{bad}' in the log:\n{text[-2000:]}"
    assert "GL_RENDERER" in text
