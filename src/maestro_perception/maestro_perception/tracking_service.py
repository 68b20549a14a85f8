"""Keypoint tracks per camera for the TrackKeypoints service: optical flow between calls, re-detection to re-anchor.

A track starts from text queries ("towel corner", "handle of the mug"), grounded by the active backend's ``point``
(the same grounding as PointTo). Every later call advances the camera's :class:`~maestro_perception.tracking.
KeypointTracker` to the newest image (pyramidal Lucas-Kanade with a forward-backward check) and, every
``redetect_every`` calls or whenever a point was lost, asks the backend again and re-anchors the points it finds.
No ROS inside; the node side is ``PerceptionBackend._handle_track_keypoints``.

The interface is ``maestro_interfaces/srv/TrackKeypoints.srv``, served as ``/perception/track_keypoints``.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from maestro_perception.errors import InvalidArgument, NotUnderstood
from maestro_perception.results import Keypoint2D
from maestro_perception.tracking import KeypointTracker

__all__ = ["CameraTrack", "KeypointTracks", "TrackedResult"]

PointFn = Callable[[str], list[Keypoint2D]]  # query -> grounded points, best first (raises NotUnderstood)


@dataclass
class CameraTrack:
    """The track of one camera: its queries, tracker and call count."""

    queries: list[str]
    tracker: KeypointTracker
    calls: int = 0


@dataclass
class TrackedResult:
    """One tracked keypoint after a call: image position, whether it is tracked, whether it was re-detected."""

    name: str
    u: float
    v: float
    ok: bool
    redetected: bool
    score: float = 1.0
    history: list[tuple[float, float]] = field(default_factory=list)


class KeypointTracks:
    """Keypoint tracks of every camera of a backend (thread-safe)."""

    def __init__(self, window: int = 21, levels: int = 3, fb_threshold: float = 1.5, max_age: int = 1000) -> None:
        self._args = {"window": window, "levels": levels, "fb_threshold": fb_threshold, "max_age": max_age}
        self._tracks: dict[str, CameraTrack] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forget every track (e.g. when the backend stops serving)."""
        with self._lock:
            self._tracks.clear()

    @staticmethod
    def _ground(queries: list[str], point: PointFn, strict: bool) -> dict[str, tuple[float, float, float]]:
        found = {}
        for q in queries:
            try:
                pts = point(q)
            except NotUnderstood:
                if strict:
                    raise
                continue
            if pts:
                found[q] = (pts[0].u, pts[0].v, pts[0].score)
        return found

    def step(self, camera: str, rgb: np.ndarray, queries: list[str], reset: bool, point: PointFn,
             redetect_every: int = 5) -> list[TrackedResult]:
        """Start (``reset``, or first call of ``camera``) or advance the camera's track on ``rgb``; see the module."""
        queries = [q.strip() for q in queries if q.strip()]
        if redetect_every < 0:
            raise InvalidArgument(f"redetect_every must be >= 0 (0 = only when a point is lost), got {redetect_every}")
        with self._lock:
            track = self._tracks.get(camera)
            if reset or track is None or (queries and queries != track.queries):
                if not queries:
                    raise InvalidArgument(f"no track on camera '{camera}' yet: give queries (parts to track, e.g. "
                                          f"'towel corner') to start one")
                found = self._ground(queries, point, strict=True)  # every query must be grounded to start
                track = CameraTrack(queries, KeypointTracker(**self._args))
                track.tracker.reset(rgb, {q: (u, v) for q, (u, v, _) in found.items()})
                self._tracks[camera] = track
                return [TrackedResult(q, u, v, True, True, s, [(u, v)]) for q, (u, v, s) in found.items()]
            track.calls += 1
            lost = any(not p.ok for p in track.tracker.points.values())
            due = redetect_every > 0 and track.calls % redetect_every == 0
            found = self._ground(track.queries, point, strict=False) if (due or lost) else {}
            state = track.tracker.update(rgb, {q: (u, v) for q, (u, v, _) in found.items()})
            return [TrackedResult(q, p.u, p.v, p.ok, q in found, found[q][2] if q in found else (1.0 if p.ok else 0.0),
                                  list(p.history)) for q, p in state.items()]
