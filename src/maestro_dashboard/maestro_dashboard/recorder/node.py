"""``bag_recorder`` node: records each agent trial into its trace folder (MCAP bag + MP4 per camera).

It listens to ``/agent/events`` (std_msgs/String, one JSON event each). On ``trial_start`` (field ``trace_dir``) it
opens a :class:`~maestro_dashboard.recorder.session.RecordingSession` there; on ``trial_end`` it closes it. Topics are
matched by glob patterns and subscribed as soon as they appear on the graph, with the QoS their publishers offer (so
``/tf_static`` is received transient-local and written at the start of every bag). Callbacks only queue serialized
bytes; writing happens on worker threads. On shutdown (Ctrl-C, SIGTERM) the open bag is finished, so it stays readable.
"""
from __future__ import annotations

import fnmatch
import importlib
import json
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import rclpy
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import String

from maestro_common.params import declare
from maestro_dashboard.recorder.session import RecordingSession

DEFAULT_TOPICS = [
    "/*/image_raw", "/*/depth", "/*/camera_info", "/joint_states", "/tf", "/tf_static", "/odom", "/cmd_vel",
    "/perception/*", "/grasp/*", "/control/*", "/agent/events", "/estop",
]
DEFAULT_EXCLUDE = ["/*/segmentation", "/*/_action/*", "/parameter_events", "/rosout"]
EVENTS_TYPE = "std_msgs/msg/String"


def message_class(type_name: str) -> Any:
    """Import the Python class of 'pkg/msg/Type'."""
    pkg, kind, name = type_name.split("/")
    return getattr(importlib.import_module(f"{pkg}.{kind}"), name)


def qos_yaml(qos: QoSProfile) -> str:
    """The offered-QoS text rosbag2 stores as channel metadata."""
    rel = "reliable" if qos.reliability == ReliabilityPolicy.RELIABLE else "best_effort"
    dur = "transient_local" if qos.durability == DurabilityPolicy.TRANSIENT_LOCAL else "volatile"
    return f"- history: keep_last\n  depth: {qos.depth}\n  reliability: {rel}\n  durability: {dur}\n"


def camera_of(topic: str, suffixes: tuple[str, ...]) -> str | None:
    """'/front/image_raw' -> 'front' when the topic ends with one of ``suffixes``."""
    for suffix in suffixes:
        if topic.endswith("/" + suffix):
            cam = topic[: -len(suffix) - 1].strip("/").replace("/", "_")
            return cam + ("" if suffix == "image_raw" else "_" + suffix) if cam else None
    return None


class BagRecorderNode(Node):
    """Subscribe to the configured topics and record them per trial."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("bag_recorder", **kwargs)
        self.events_topic = declare(self, "events_topic", "/agent/events", "agent event stream (std_msgs/String JSON)")
        self.patterns = list(declare(self, "topics", DEFAULT_TOPICS, "glob patterns of topics to record"))
        self.exclude = list(declare(self, "exclude", DEFAULT_EXCLUDE, "glob patterns of topics never recorded"))
        self.video = declare(self, "video", True, "write an MP4 per camera image topic")
        self.video_depth = declare(self, "video_depth", False, "also write colour-mapped depth videos")
        self.video_fps = declare(self, "video_fps", 5.0, "nominal frame rate of the MP4s (the camera rate)",
                                 min_value=0.5, max_value=120.0)
        self.max_video_hz = declare(self, "max_video_hz", 10.0, "at most this many frames per second per video",
                                    min_value=0.0, max_value=120.0)
        self.queue_size = declare(self, "queue_size", 512, "bounded writer queue (messages); full = drop + count",
                                  min_value=8, max_value=100000)
        self.default_dir = declare(self, "default_dir", "", "folder for trials whose trial_start has no trace_dir "
                                                            "('' = do not record them)")
        self.discovery_period = declare(self, "discovery_period", 1.0, "seconds between topic discovery passes",
                                        min_value=0.1, max_value=60.0)
        self._group = ReentrantCallbackGroup()
        self._lock = threading.Lock()
        self._subs: dict[str, Any] = {}
        self._types: dict[str, tuple[str, str]] = {}  # topic -> (type, qos yaml)
        self._latched: dict[str, deque[bytes]] = {}
        self.session: RecordingSession | None = None
        self.trial_id = ""
        self.last_summary: dict[str, Any] = {}
        self.create_subscription(String, self.events_topic, self._on_event, 100, callback_group=self._group)
        self.create_timer(self.discovery_period, self._discover, callback_group=self._group)
        self._discover()
        self.get_logger().info(f"recording trials announced on {self.events_topic}; topics {self.patterns}")

    # ---------------------------------------------------------------- discovery
    def _wanted(self, topic: str) -> bool:
        if topic == self.events_topic:
            return False  # written from _on_event, in order with the session start/stop
        return (any(fnmatch.fnmatchcase(topic, p) for p in self.patterns)
                and not any(fnmatch.fnmatchcase(topic, p) for p in self.exclude))

    def _discover(self) -> None:
        for topic, types in self.get_topic_names_and_types():
            if topic in self._subs or not types or not self._wanted(topic):
                continue
            type_name = types[0]
            try:
                cls = message_class(type_name)
            except (ImportError, AttributeError, ValueError) as exc:
                self._subs[topic] = None
                self.get_logger().warning(f"not recording {topic}: type {type_name} is not importable ({exc})")
                continue
            qos = self._qos_for(topic)
            self._types[topic] = (type_name, qos_yaml(qos))
            if qos.durability == DurabilityPolicy.TRANSIENT_LOCAL:
                self._latched[topic] = deque(maxlen=100)
            self._subs[topic] = self.create_subscription(
                cls, topic, lambda data, t=topic: self._on_message(t, data), qos, callback_group=self._group, raw=True)
            with self._lock:
                if self.session is not None:
                    self.session.add_topic(topic, *self._types[topic])
            self.get_logger().debug(f"subscribed {topic} [{type_name}]")

    def _qos_for(self, topic: str) -> QoSProfile:
        infos = self.get_publishers_info_by_topic(topic)
        reliable = bool(infos) and all(i.qos_profile.reliability == ReliabilityPolicy.RELIABLE for i in infos)
        latched = bool(infos) and all(i.qos_profile.durability == DurabilityPolicy.TRANSIENT_LOCAL for i in infos)
        return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=100 if latched else 20,
                          reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
                          durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE)

    # ---------------------------------------------------------------- data path (never blocks)
    def _on_message(self, topic: str, data: bytes) -> None:
        latched = self._latched.get(topic)
        if latched is not None:
            latched.append(data)
        session = self.session
        if session is not None:
            session.offer(topic, data)

    def _on_event(self, msg: String) -> None:
        raw = msg.data
        try:
            event = json.loads(raw)
        except json.JSONDecodeError:
            self.get_logger().warning(f"ignoring an /agent/events message that is not JSON: {raw[:80]!r}")
            return
        if not isinstance(event, dict):
            return
        kind = event.get("type") or event.get("event")
        if kind == "trial_start":
            trace_dir = event.get("trace_dir") or event.get("folder") or event.get("trial_dir") or ""
            if not trace_dir and self.default_dir:
                trace_dir = str(Path(self.default_dir) / time.strftime("trial_%Y%m%d_%H%M%S"))
            if not trace_dir:
                self.get_logger().warning("trial_start without trace_dir and no default_dir: not recording")
                return
            self.start(trace_dir, str(event.get("trial_id") or Path(trace_dir).name))
        self._record_event(msg)
        if kind == "trial_end":
            threading.Thread(target=self.stop, name="bag-close", daemon=True).start()

    def _record_event(self, msg: String) -> None:
        session = self.session
        if session is not None:
            from rclpy.serialization import serialize_message

            session.offer(self.events_topic, serialize_message(msg))

    # ---------------------------------------------------------------- sessions
    def _video_topics(self) -> dict[str, str]:
        if not self.video:
            return {}
        suffixes = ("image_raw", "depth") if self.video_depth else ("image_raw",)
        out = {}
        for topic, (type_name, _) in self._types.items():
            cam = camera_of(topic, suffixes)
            if cam and type_name == "sensor_msgs/msg/Image":
                out[topic] = cam
        return out

    def start(self, trace_dir: str, trial_id: str = "") -> None:
        """Close any open session and start recording into ``trace_dir``."""
        self.stop()
        try:
            session = RecordingSession(trace_dir, video_topics=self._video_topics(), queue_size=self.queue_size,
                                       video_fps=self.video_fps, max_video_hz=self.max_video_hz)
        except OSError as exc:
            self.get_logger().error(f"cannot record into {trace_dir}: {exc}")
            return
        for topic, (type_name, qos) in self._types.items():
            session.add_topic(topic, type_name, qos)
        session.add_topic(self.events_topic, EVENTS_TYPE)
        now = time.time_ns()
        for topic, msgs in self._latched.items():
            for data in list(msgs):
                session.offer(topic, data, now)
        with self._lock:
            self.session, self.trial_id = session, trial_id
        self.get_logger().info(f"recording trial '{trial_id}' into {trace_dir}/bag ({len(self._types)} topics)")

    def stop(self) -> dict[str, Any]:
        """Finish the open session (if any) and return its summary."""
        with self._lock:
            session, self.session = self.session, None
        if session is None:
            return {}
        summary = session.close()
        self.last_summary = summary
        self.get_logger().info(f"trial '{self.trial_id}' recorded: {summary['written']} messages on "
                               f"{len(summary['topics'])} topics, videos {summary['video_frames']}, dropped "
                               f"{summary['dropped_bag']} (bag) / {summary['dropped_video']} (video)")
        for e in summary["errors"]:
            self.get_logger().warning(e)
        return summary


def main(args: list[str] | None = None) -> None:
    """Run the bag recorder until shutdown; an open bag is always finished."""
    node: BagRecorderNode | None = None
    try:
        with rclpy.init(args=args):
            node = BagRecorderNode()
            executor = MultiThreadedExecutor(num_threads=4)
            executor.add_node(node)
            try:
                executor.spin()
            finally:
                node.stop()
                executor.shutdown(timeout_sec=2.0)
    except (KeyboardInterrupt, ExternalShutdownException):
        if node is not None:
            node.stop()


if __name__ == "__main__":
    main()
