"""One trial's recording: bounded queues and worker threads that write the MCAP and the camera videos.

``offer()`` never blocks: when a queue is full the message is dropped and counted, so a slow disk or encoder can never
stall a ROS callback. The MCAP writer and the video encoder have separate threads and queues, so slow video encoding
cannot make the bag drop messages.
"""
from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from maestro_dashboard.recorder.bag import McapBagWriter
from maestro_dashboard.recorder.video import CameraVideo, to_rgb8

BAG_DIR = "bag"
BAG_FILE = "bag.mcap"
VIDEO_DIR = "video"
_STOP = object()

# decode(serialized) -> (array, encoding, stamp seconds) for image topics; injected so tests can run without rclpy.
ImageDecoder = Callable[[bytes], tuple[np.ndarray, str, float]]


@dataclass
class SessionStats:
    """What a session wrote and dropped."""

    received: int = 0
    written: int = 0
    dropped_bag: int = 0
    dropped_video: int = 0
    video_frames: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def rclpy_image_decoder(serialized: bytes) -> tuple[np.ndarray, str, float]:
    """Deserialize a sensor_msgs/Image and convert it with maestro_common.images."""
    from rclpy.serialization import deserialize_message
    from sensor_msgs.msg import Image

    from maestro_common.images import image_to_numpy

    msg = deserialize_message(serialized, Image)
    return image_to_numpy(msg), msg.encoding, msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9


class RecordingSession:
    """Record one trial into ``trace_dir``: ``bag/bag.mcap`` and ``video/<camera>.mp4`` (+ ``.frames.json``)."""

    def __init__(self, trace_dir: str | Path, video_topics: dict[str, str] | None = None, queue_size: int = 256,
                 video_queue_size: int = 32, video_fps: float = 5.0, max_video_hz: float = 10.0,
                 image_decoder: ImageDecoder | None = None, chunk_size: int = 1 << 20) -> None:
        self.trace_dir = Path(trace_dir)
        self.bag = McapBagWriter(self.trace_dir / BAG_DIR / BAG_FILE, chunk_size=chunk_size)
        self.video_topics = dict(video_topics or {})  # topic -> camera name
        self.video_fps = video_fps
        self._min_video_dt = 1.0 / max_video_hz if max_video_hz > 0 else 0.0
        self._last_video: dict[str, float] = {}
        self._decode = image_decoder or rclpy_image_decoder
        self._q: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._vq: queue.Queue[Any] = queue.Queue(maxsize=video_queue_size)
        self._videos: dict[str, CameraVideo] = {}
        self._pending_types: dict[str, tuple[str, str]] = {}
        self.stats = SessionStats()
        self.started = time.time()
        self._closed = threading.Event()
        self._bag_thread = threading.Thread(target=self._bag_loop, name="bag-writer", daemon=True)
        self._video_thread = threading.Thread(target=self._video_loop, name="video-writer", daemon=True)
        self._bag_thread.start()
        self._video_thread.start()

    # ---------------------------------------------------------------- producer side (ROS callbacks)
    def add_topic(self, topic: str, type_name: str, qos_yaml: str = "") -> None:
        """Declare a topic before offering its messages (cheap: registration happens on the writer thread)."""
        self._pending_types[topic] = (type_name, qos_yaml)

    def offer(self, topic: str, data: bytes, log_time_ns: int | None = None) -> bool:
        """Queue one serialized message; never blocks. False when it was dropped (queue full or session closed)."""
        if self._closed.is_set():
            return False
        self.stats.received += 1
        t = time.time_ns() if log_time_ns is None else log_time_ns
        try:
            self._q.put_nowait((topic, data, t))
        except queue.Full:
            self.stats.dropped_bag += 1
            return False
        if topic in self.video_topics:
            now = t * 1e-9
            if now - self._last_video.get(topic, -1e9) >= self._min_video_dt:
                self._last_video[topic] = now
                try:
                    self._vq.put_nowait((topic, data, t))
                except queue.Full:
                    self.stats.dropped_video += 1
        return True

    # ---------------------------------------------------------------- writer threads
    def _bag_loop(self) -> None:
        while True:
            item = self._q.get()
            if item is _STOP:
                return
            topic, data, t = item
            try:
                if not self.bag.has_topic(topic):
                    type_name, qos = self._pending_types.get(topic, ("", ""))
                    if not type_name:
                        raise KeyError(f"topic {topic} was offered before add_topic()")
                    self.bag.add_topic(topic, type_name, qos)
                self.bag.write(topic, data, t)
                self.stats.written += 1
            except Exception as exc:
                if len(self.stats.errors) < 20:
                    self.stats.errors.append(f"bag: {topic}: {type(exc).__name__}: {exc}")

    def _video_loop(self) -> None:
        while True:
            item = self._vq.get()
            if item is _STOP:
                return
            topic, data, t = item
            camera = self.video_topics[topic]
            try:
                array, encoding, stamp = self._decode(data)
                video = self._videos.get(camera)
                if video is None:
                    video = self._videos[camera] = CameraVideo(self.trace_dir / VIDEO_DIR / f"{camera}.mp4",
                                                               self.video_fps)
                if video.append(to_rgb8(array, encoding), stamp if stamp > 0 else t * 1e-9):
                    self.stats.video_frames[camera] = self.stats.video_frames.get(camera, 0) + 1
            except Exception as exc:
                if len(self.stats.errors) < 20:
                    self.stats.errors.append(f"video: {topic}: {type(exc).__name__}: {exc}")

    # ---------------------------------------------------------------- shutdown
    def close(self, timeout: float = 30.0) -> dict[str, Any]:
        """Drain the queues, finish the MCAP and the MP4s, write ``recording.json``; idempotent. Returns the stats."""
        if self._closed.is_set():
            return self.summary()
        self._closed.set()
        for q, th in ((self._q, self._bag_thread), (self._vq, self._video_thread)):
            deadline = time.monotonic() + timeout
            while th.is_alive():
                try:
                    q.put(_STOP, timeout=0.2)
                    break
                except queue.Full:
                    if time.monotonic() > deadline:
                        break
            th.join(timeout=max(0.1, deadline - time.monotonic()))
        self.bag.close()
        for video in self._videos.values():
            info = video.close()
            if info["error"]:
                self.stats.errors.append(info["error"])
        summary = self.summary()
        (self.trace_dir / "recording.json").write_text(json.dumps(summary, indent=1))
        return summary

    def summary(self) -> dict[str, Any]:
        """Plain-dict statistics of the session."""
        return {"bag": str(Path(BAG_DIR) / BAG_FILE), "topics": self.bag.topics(), "received": self.stats.received,
                "written": self.stats.written, "dropped_bag": self.stats.dropped_bag,
                "dropped_video": self.stats.dropped_video,
                "videos": {c: f"{VIDEO_DIR}/{c}.mp4" for c in self._videos},
                "video_frames": self.stats.video_frames, "errors": self.stats.errors,
                "started": self.started, "duration": round(time.time() - self.started, 3)}
