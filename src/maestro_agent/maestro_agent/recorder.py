"""Trial recorder: an append-only, flushed ``trace.jsonl`` plus PNG images in one folder per trial.

The control loop never waits for the disk: :meth:`TraceRecorder.event` and :meth:`TraceRecorder.image` put work on a
queue that one writer thread drains (each line is flushed as it is written, so a crash loses at most the queue).
The schema is versioned (``"v"`` in every line) and documented in docs/trace_schema.md.
"""
from __future__ import annotations

import io
import json
import logging
import math
import queue
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

LOG = logging.getLogger("maestro_agent.recorder")
SCHEMA_VERSION = 1
EVENT_TYPES = frozenset({
    "trial_start", "model_request", "model_response", "substep", "tool_call", "stdout", "exec_result",
    "observation", "verdict", "evaluation", "reflection", "trial_end", "warning", "tools", "line", "sandbox",
})
_STOP = object()


def trial_folder_name(instruction: str, task: str = "", now: float | None = None) -> str:
    """``YYYYmmdd-HHMMSS-<slug>`` for a trial folder."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now or time.time()))
    slug = re.sub(r"[^a-z0-9]+", "_", (task or instruction).lower()).strip("_")[:40] or "task"
    return f"{stamp}-{slug}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    return str(value)


def png_bytes(array: Any) -> bytes:
    """Encode an (H, W) or (H, W, 3/4) uint8 array as PNG (Pillow)."""
    from PIL import Image as PILImage

    buf = io.BytesIO()
    PILImage.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


class TraceRecorder:
    """One trial's trace folder (see the module docstring)."""

    def __init__(self, folder: str | Path, max_queue: int = 10_000,
                 on_event: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.folder = Path(folder)
        self._on_event = on_event  # live mirror of every event (e.g. the /agent/events topic)
        (self.folder / "images").mkdir(parents=True, exist_ok=True)
        self.path = self.folder / "trace.jsonl"
        self._file = open(self.path, "a", encoding="utf-8")
        self._queue: queue.Queue = queue.Queue(maxsize=max_queue)
        self._seq = 0
        self._seq_lock = threading.Lock()
        self._images = 0
        self._dropped = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="trace-writer", daemon=True)
        self._thread.start()

    def event(self, type_: str, **fields: Any) -> None:
        """Append one event (non-blocking; dropped with a count if the queue is full)."""
        if self._closed:
            return
        with self._seq_lock:
            self._seq += 1
            seq = self._seq
        record = {"v": SCHEMA_VERSION, "seq": seq, "t": time.time(), "type": type_, **fields}
        if type_ == "trial_start":
            record.setdefault("trace_dir", str(self.folder.resolve()))
        if self._on_event is not None:
            try:
                self._on_event(_jsonable(record))
            except Exception as exc:
                LOG.warning("live event mirror failed: %s", exc)
        try:
            self._queue.put_nowait(("event", record))
        except queue.Full:
            self._dropped += 1

    def image(self, png: bytes, name: str) -> str:
        """Queue ``png`` to be written as ``images/<NNNN>-<name>.png``; returns the path relative to the folder."""
        with self._seq_lock:
            self._images += 1
            idx = self._images
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:60] or "image"
        rel = f"images/{idx:04d}-{safe}.png"
        if not self._closed:
            try:
                self._queue.put_nowait(("image", (rel, png)))
            except queue.Full:
                self._dropped += 1
        return rel

    def close(self, timeout: float = 10.0) -> None:
        """Flush everything and stop the writer thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join(timeout)
        if self._dropped:
            LOG.warning("trace %s: %d records dropped (queue full)", self.path, self._dropped)

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until everything queued so far is on disk."""
        done = threading.Event()
        if self._closed:
            return
        self._queue.put(("sync", done))
        done.wait(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                break
            kind, payload = item
            try:
                if kind == "event":
                    self._file.write(json.dumps(_jsonable(payload), ensure_ascii=False) + "\n")
                    self._file.flush()
                elif kind == "image":
                    rel, png = payload
                    (self.folder / rel).write_bytes(png)
                elif kind == "sync":
                    payload.set()
            except (OSError, TypeError, ValueError) as exc:
                LOG.error("trace writer: %s", exc)
        self._file.close()


def read_trace(folder: str | Path) -> list[dict[str, Any]]:
    """All events of a trace folder (for tests, the dashboard and analysis)."""
    path = Path(folder) / "trace.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
