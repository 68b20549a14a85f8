"""TF lookups for both install paths.

Uses ``tf2_ros`` (Buffer + TransformListener) where it is installed; otherwise :class:`TransformCache`, a small buffer
over ``/tf`` and ``/tf_static`` with time interpolation (linear translation, slerp rotation). Both give 4x4 numpy
matrices through :class:`TfBuffer` and fail with :class:`~maestro_common.errors.UnknownFrame` naming the known frames.
"""
from __future__ import annotations

import bisect
import threading
import time
from collections import deque

import numpy as np
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.time import Time

from maestro_common.errors import UnknownFrame
from maestro_common.geometry import interpolate_transform, invert_transform, transform_to_matrix

try:  # full ROS install
    import tf2_ros  # type: ignore[import-not-found]

    HAVE_TF2_ROS = True
except ImportError:  # pip install path
    tf2_ros = None
    HAVE_TF2_ROS = False


class ExtrapolationError(UnknownFrame):
    """The requested time lies outside the buffered history of a transform."""


class TransformCache:
    """Transforms by child frame: a static entry or a time-sorted history, with interpolating lookups."""

    def __init__(self, cache_seconds: float = 10.0) -> None:
        self._cache_ns = int(cache_seconds * 1e9)
        self._parent: dict[str, str] = {}
        self._static: dict[str, np.ndarray] = {}
        self._history: dict[str, deque[tuple[int, np.ndarray]]] = {}
        self._lock = threading.Lock()

    def set_transform(self, parent: str, child: str, matrix: np.ndarray, stamp_ns: int, static: bool) -> None:
        """Insert one transform parent -> child (the pose of ``child`` in ``parent``)."""
        parent, child = parent.lstrip("/"), child.lstrip("/")
        with self._lock:
            self._parent[child] = parent
            if static:
                self._static[child] = matrix
                return
            hist = self._history.setdefault(child, deque())
            if hist and stamp_ns < hist[-1][0]:
                stamps = [s for s, _ in hist]
                hist.insert(bisect.bisect(stamps, stamp_ns), (stamp_ns, matrix))
            else:
                hist.append((stamp_ns, matrix))
            while hist and hist[-1][0] - hist[0][0] > self._cache_ns:
                hist.popleft()

    def frames(self) -> list[str]:
        """Every frame that appears in the buffer."""
        with self._lock:
            return sorted(set(self._parent) | set(self._parent.values()))

    def _edge(self, child: str, stamp_ns: int | None) -> np.ndarray:
        if child in self._static:
            return self._static[child]
        hist = self._history[child]
        if stamp_ns is None or len(hist) == 1:
            if stamp_ns is not None and abs(hist[0][0] - stamp_ns) > 0 and len(hist) == 1:
                raise ExtrapolationError(f"only one transform of '{child}' is buffered; cannot look it up at "
                                         f"{stamp_ns * 1e-9:.3f} s")
            return hist[-1][1]
        if stamp_ns < hist[0][0] or stamp_ns > hist[-1][0]:
            raise ExtrapolationError(
                f"lookup of '{child}' at {stamp_ns * 1e-9:.3f} s is outside the buffered range "
                f"[{hist[0][0] * 1e-9:.3f}, {hist[-1][0] * 1e-9:.3f}] s; use time 0 for the latest")
        stamps = [s for s, _ in hist]
        i = bisect.bisect_left(stamps, stamp_ns)
        if stamps[i] == stamp_ns:
            return hist[i][1]
        (s0, m0), (s1, m1) = hist[i - 1], hist[i]
        return interpolate_transform(m0, m1, (stamp_ns - s0) / (s1 - s0))

    def _chain_to_root(self, frame: str) -> list[str]:
        chain = [frame]
        while chain[-1] in self._parent:
            chain.append(self._parent[chain[-1]])
            if len(chain) > 64:
                raise UnknownFrame(f"TF tree has a loop at '{frame}'")
        return chain

    def lookup(self, target: str, source: str, stamp_ns: int | None = None) -> np.ndarray:
        """Transform that maps points in ``source`` to ``target`` at ``stamp_ns`` (None = latest)."""
        target, source = target.lstrip("/"), source.lstrip("/")
        with self._lock:
            known = set(self._parent) | set(self._parent.values())
            for f in (target, source):
                if f not in known:
                    raise UnknownFrame(f"frame '{f}' does not exist in the TF tree; known frames: {sorted(known)}")
            if target == source:
                return np.eye(4)
            up_src, up_tgt = self._chain_to_root(source), self._chain_to_root(target)
            common = next((f for f in up_src if f in up_tgt), None)
            if common is None:
                raise UnknownFrame(f"frames '{source}' and '{target}' are not connected in the TF tree")

            def to_common(chain: list[str]) -> np.ndarray:
                m = np.eye(4)
                for child in chain[: chain.index(common)]:
                    m = self._edge(child, stamp_ns) @ m
                return m

            return invert_transform(to_common(up_tgt)) @ to_common(up_src)


class TfBuffer:
    """TF lookups as 4x4 matrices; tf2_ros where installed, else a :class:`TransformCache` fed by /tf and /tf_static."""

    def __init__(self, node: Node, cache_seconds: float = 10.0, force_builtin: bool = False) -> None:
        self._node = node
        self.uses_tf2_ros = HAVE_TF2_ROS and not force_builtin
        if self.uses_tf2_ros:
            from rclpy.duration import Duration

            self._buffer = tf2_ros.Buffer(cache_time=Duration(seconds=cache_seconds))
            self._listener = tf2_ros.TransformListener(self._buffer, node, spin_thread=False)
            return
        self.cache = TransformCache(cache_seconds)
        static_qos = QoSProfile(depth=100, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                                reliability=ReliabilityPolicy.RELIABLE)
        from tf2_msgs.msg import TFMessage

        self._subs = [
            node.create_subscription(TFMessage, "/tf", lambda m: self._on_tf(m, False), QoSProfile(depth=100)),
            node.create_subscription(TFMessage, "/tf_static", lambda m: self._on_tf(m, True), static_qos),
        ]

    def _on_tf(self, msg: object, static: bool) -> None:
        for t in msg.transforms:  # type: ignore[attr-defined]
            stamp_ns = Time.from_msg(t.header.stamp).nanoseconds
            self.cache.set_transform(t.header.frame_id, t.child_frame_id, transform_to_matrix(t.transform),
                                     stamp_ns, static)

    def lookup(self, target: str, source: str, stamp: Time | None = None, timeout: float = 0.0) -> np.ndarray:
        """4x4 transform mapping points in ``source`` into ``target`` (stamp None or zero = latest available)."""
        if self.uses_tf2_ros:
            from rclpy.duration import Duration

            try:
                ts = self._buffer.lookup_transform(target, source, stamp or Time(),
                                                   timeout=Duration(seconds=timeout))
            except (tf2_ros.LookupException, tf2_ros.ConnectivityException,
                    tf2_ros.ExtrapolationException) as exc:
                raise UnknownFrame(f"cannot transform '{source}' to '{target}': {exc}") from exc
            return transform_to_matrix(ts.transform)
        stamp_ns = None if stamp is None or stamp.nanoseconds == 0 else stamp.nanoseconds
        deadline = time.monotonic() + timeout  # wall time: sim time may be paused
        while True:
            try:
                return self.cache.lookup(target, source, stamp_ns)
            except UnknownFrame:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.01)
