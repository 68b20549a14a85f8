"""Object memory of the mobile robot: what was seen where (odom frame), when, and how sure we are.

Observations of one label closer than ``merge_distance`` to a remembered entry update that entry (confidence-weighted
position average, confidence raised towards 1); otherwise a new entry is made. Confidence decays exponentially with
``decay_rate`` per second while an entry is expected in view but not seen (``mark_unseen``) and, slowly, with age
(``age_decay_rate``). Entries below ``forget_below`` are dropped. No ROS inside.
"""
from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from maestro_perception.results import label_matches

__all__ = ["MapEntry", "SemanticMap"]


@dataclass
class MapEntry:
    """One remembered object (position in the odom frame, times in seconds)."""

    key: int
    label: str
    position: np.ndarray
    first_seen: float
    last_seen: float
    confidence: float
    times_seen: int = 1
    instance_id: int = -1
    last_update: float = 0.0  # time the confidence was last brought up to date

    def to_json(self) -> dict:
        """JSON-serialisable dict."""
        d = asdict(self)
        d["position"] = [float(v) for v in self.position]
        return d


class SemanticMap:
    """Thread-safe object memory with merge by label + distance and confidence decay."""

    def __init__(
        self,
        merge_distance: float = 0.3,
        decay_rate: float = 0.5,
        age_decay_rate: float = 0.002,
        forget_below: float = 0.05,
        gain: float = 0.5,
    ) -> None:
        self.merge_distance = merge_distance
        self.decay_rate = decay_rate
        self.age_decay_rate = age_decay_rate
        self.forget_below = forget_below
        self.gain = gain
        self._entries: dict[int, MapEntry] = {}
        self._next = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def _age(self, e: MapEntry, now: float) -> None:
        dt = max(0.0, now - e.last_update)
        e.confidence *= math.exp(-self.age_decay_rate * dt)
        e.last_update = max(e.last_update, now)

    def observe(self, label: str, position: np.ndarray, stamp: float, score: float = 1.0,
                instance_id: int = -1) -> MapEntry:
        """Record one sighting; returns the (new or merged) entry."""
        pos = np.asarray(position, dtype=float).reshape(3)
        if not np.isfinite(pos).all():
            raise ValueError(f"position must be finite, got {pos}")
        score = float(np.clip(score, 0.0, 1.0))
        with self._lock:
            best, best_d = None, self.merge_distance
            for e in self._entries.values():
                if e.label == label:
                    d = float(np.linalg.norm(e.position - pos))
                    if d <= best_d:
                        best, best_d = e, d
            if best is None:
                e = MapEntry(self._next, label, pos, stamp, stamp, score, 1, instance_id, stamp)
                self._entries[self._next] = e
                self._next += 1
                return e
            self._age(best, stamp)
            w_old, w_new = best.confidence * best.times_seen, max(score, 1e-3)
            best.position = (best.position * w_old + pos * w_new) / (w_old + w_new)
            best.confidence = best.confidence + (1.0 - best.confidence) * self.gain * score
            best.last_seen = max(best.last_seen, stamp)
            best.first_seen = min(best.first_seen, stamp)
            best.times_seen += 1
            if instance_id >= 0:
                best.instance_id = instance_id
            return best

    def mark_unseen(self, now: float, expected_visible: Callable[[MapEntry], bool], dt: float,
                    seen_keys: set[int] | None = None) -> list[int]:
        """Decay entries that ``expected_visible(entry)`` says should be in view but were not seen this frame.

        Returns the keys forgotten (dropped below ``forget_below``).
        """
        seen_keys = seen_keys or set()
        forgotten = []
        with self._lock:
            for key, e in list(self._entries.items()):
                if key in seen_keys or not expected_visible(e):
                    continue
                e.confidence *= math.exp(-self.decay_rate * dt)
                if e.confidence < self.forget_below:
                    del self._entries[key]
                    forgotten.append(key)
        return forgotten

    def query(self, label: str = "", min_confidence: float = 0.0, now: float | None = None) -> list[MapEntry]:
        """Entries matching ``label`` ("" = all) with confidence >= ``min_confidence``, most confident first."""
        with self._lock:
            if now is not None:
                for e in self._entries.values():
                    self._age(e, now)
            out = [e for e in self._entries.values()
                   if (not label or label_matches(e.label, [label])) and e.confidence >= min_confidence]
        return sorted(out, key=lambda e: -e.confidence)

    def dumps(self) -> str:
        """The memory as a JSON string (``{"entries": [...]}``)."""
        with self._lock:
            data = [e.to_json() for e in self._entries.values()]
        return json.dumps({"entries": data})

    def loads(self, text: str) -> None:
        """Replace the memory with the entries of a JSON string written by :meth:`dumps` (ValueError if malformed)."""
        try:
            entries = {}
            for d in json.loads(text)["entries"]:
                d = dict(d)
                d["position"] = np.asarray(d["position"], dtype=float).reshape(3)
                e = MapEntry(**d)
                entries[e.key] = e
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a semantic map: {exc}") from exc
        with self._lock:
            self._entries = entries
            self._next = max(self._entries, default=-1) + 1

    def save(self, path: str | Path) -> None:
        """Write the memory to a JSON file."""
        Path(path).write_text(self.dumps())

    def load(self, path: str | Path) -> None:
        """Replace the memory with the entries of a JSON file written by :meth:`save`."""
        self.loads(Path(path).read_text())
