"""A Foxglove live bridge on localhost: the robot topics re-served over the Foxglove WebSocket protocol (foxglove-sdk).

Every matched ROS topic is subscribed raw (CDR bytes) and logged unchanged on a Foxglove channel with its full
``ros2msg`` schema, so Foxglove decodes the ROS messages itself (images, tf, markers, joint states, agent events).
Open Foxglove, "Open connection" -> ``ws://127.0.0.1:8765``, and import config/foxglove/maestro.json as the layout.

``python -m maestro_dashboard.foxglove_bridge [--port 8765] [--topics PATTERN ...]`` (``maestro up --foxglove``).
"""
from __future__ import annotations

import argparse
import fnmatch
import sys
import threading
import time
from typing import Any

from maestro_dashboard.recorder.msgdefs import MessageDefinitionError, full_definition
from maestro_dashboard.recorder.node import DEFAULT_EXCLUDE, DEFAULT_TOPICS, message_class

LOOPBACK = ("127.0.0.1", "::1", "localhost")


class FoxgloveBridge:
    """Mirror matching ROS topics to a Foxglove server (call ``discover()`` periodically)."""

    def __init__(self, node: Any, patterns: list[str], exclude: list[str], context: Any = None) -> None:
        self.node = node
        self.patterns = patterns
        self.exclude = exclude
        self.context = context
        self.channels: dict[str, Any] = {}
        self.subs: dict[str, Any] = {}
        self.messages = 0

    def wanted(self, topic: str) -> bool:
        """True when ``topic`` matches the patterns and no exclusion."""
        return (any(fnmatch.fnmatchcase(topic, p) for p in self.patterns)
                and not any(fnmatch.fnmatchcase(topic, p) for p in self.exclude))

    def discover(self) -> None:
        """Subscribe to new matching topics."""
        import foxglove
        from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

        for topic, types in self.node.get_topic_names_and_types():
            if topic in self.subs or not types or not self.wanted(topic):
                continue
            type_name = types[0]
            try:
                cls = message_class(type_name)
                schema = foxglove.Schema(name=type_name, encoding="ros2msg", data=full_definition(type_name).encode())
            except (ImportError, AttributeError, ValueError, MessageDefinitionError) as exc:
                self.subs[topic] = None
                self.node.get_logger().warning(f"not bridging {topic} [{type_name}]: {exc}")
                continue
            kwargs = {"context": self.context} if self.context is not None else {}
            self.channels[topic] = foxglove.Channel(topic, schema=schema, message_encoding="cdr", **kwargs)
            infos = self.node.get_publishers_info_by_topic(topic)
            latched = bool(infos) and all(i.qos_profile.durability == DurabilityPolicy.TRANSIENT_LOCAL for i in infos)
            reliable = bool(infos) and all(i.qos_profile.reliability == ReliabilityPolicy.RELIABLE for i in infos)
            qos = QoSProfile(depth=10, durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE,
                             reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT)
            self.subs[topic] = self.node.create_subscription(cls, topic, lambda data, t=topic: self._forward(t, data),
                                                             qos, raw=True)

    def _forward(self, topic: str, data: bytes) -> None:
        self.channels[topic].log(bytes(data), log_time=time.time_ns())
        self.messages += 1


def main(argv: list[str] | None = None) -> int:
    """Serve the bridge until Ctrl-C."""
    p = argparse.ArgumentParser(prog="python -m maestro_dashboard.foxglove_bridge", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=8765, help="Foxglove WebSocket port (default 8765)")
    p.add_argument("--host", default="127.0.0.1", choices=LOOPBACK, help="loopback address only")
    p.add_argument("--topics", nargs="+", default=DEFAULT_TOPICS, help="glob patterns of topics to bridge")
    args, ros_args = p.parse_known_args(argv)
    try:
        import foxglove
        import rclpy
        from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
    except ImportError as exc:
        print(f"error: the Foxglove bridge needs foxglove-sdk and rclpy ({exc}); pip install foxglove-sdk",
              file=sys.stderr)
        return 2
    try:
        server = foxglove.start_server(name="maestro", host=args.host, port=args.port)
    except Exception as exc:
        print(f"error: cannot start the Foxglove server on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    print(f"Foxglove bridge on ws://{args.host}:{server.port}", flush=True)
    try:
        with rclpy.init(args=ros_args):
            node = rclpy.create_node("foxglove_bridge")
            bridge = FoxgloveBridge(node, list(args.topics), DEFAULT_EXCLUDE)
            node.create_timer(1.0, bridge.discover)
            bridge.discover()
            executor = MultiThreadedExecutor(num_threads=2)
            executor.add_node(node)
            try:
                executor.spin()
            finally:
                executor.shutdown(timeout_sec=2.0)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        stopper = threading.Thread(target=server.stop, daemon=True)
        stopper.start()
        stopper.join(timeout=5.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
