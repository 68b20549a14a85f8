"""A minimal node that answers ``/heartbeat/ping`` (std_srvs/Trigger): a smoke check that the ROS graph works."""
from __future__ import annotations

import os

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from std_srvs.srv import Trigger


class HeartbeatNode(Node):
    """Serves ``/heartbeat/ping`` and answers with its pid."""

    def __init__(self) -> None:
        super().__init__("heartbeat")
        self.declare_parameter("profile", "", )
        self.create_service(Trigger, "/heartbeat/ping", self._on_ping)

    def _on_ping(self, _request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        response.success = True
        response.message = f"alive pid={os.getpid()}"
        return response


def main(args: list[str] | None = None) -> None:
    """Run the heartbeat node until shutdown."""
    try:
        with rclpy.init(args=args):
            rclpy.spin(HeartbeatNode())
    except (KeyboardInterrupt, ExternalShutdownException):
        pass


if __name__ == "__main__":
    main()
