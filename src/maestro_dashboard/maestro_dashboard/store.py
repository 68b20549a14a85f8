"""Recorded trials on disk, as the dashboard serves them: listing, replay payloads, video frames, robot state, analytics."""
from __future__ import annotations

import io
import json
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from maestro_dashboard.analytics import filter_traces, summarize
from maestro_dashboard.recorder.session import BAG_DIR, BAG_FILE, VIDEO_DIR
from maestro_dashboard.trace import TRACE_FILE, Trace, find_trials, joints_from_observations, load_trace

JOINT_RATE_HZ = 10.0
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
               ".webp": "image/webp", ".mp4": "video/mp4", ".json": "application/json", ".svg": "image/svg+xml"}


def jpeg_bytes(rgb: np.ndarray, quality: int = 80, max_width: int = 640) -> bytes:
    """Encode an RGB array as JPEG (downscaled to ``max_width``)."""
    from PIL import Image

    img = Image.fromarray(np.ascontiguousarray(rgb[..., :3]))
    if img.width > max_width:
        img = img.resize((max_width, round(img.height * max_width / img.width)))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def read_joint_states(bag: Path, rate_hz: float = JOINT_RATE_HZ) -> dict[str, Any]:
    """/joint_states from a bag, subsampled to ``rate_hz``: {names, t (epoch s), position [[...]], error}."""
    out: dict[str, Any] = {"names": [], "t": [], "position": [], "error": ""}
    if not bag.is_file():
        return out
    try:
        from maestro_dashboard.recorder.bag import iter_bag

        last = -1e18
        for _topic, log_time, msg in iter_bag(bag, ["/joint_states"]):
            t = log_time * 1e-9
            if t - last < 1.0 / rate_hz - 1e-6:
                continue
            last = t
            names = list(msg.name)
            if not out["names"]:
                out["names"] = names
            if names != out["names"]:
                continue
            out["t"].append(round(t, 4))
            out["position"].append([round(float(p), 5) for p in msg.position])
    except Exception as exc:  # a truncated or corrupt bag: keep what was read and say why
        out["error"] = f"{type(exc).__name__}: {exc}"
    return out


def video_info(trial_dir: Path) -> dict[str, Any]:
    """Cameras with an MP4 and its frame stamps: {camera: {file, stamps, fps, frames}}."""
    out = {}
    vdir = trial_dir / VIDEO_DIR
    if not vdir.is_dir():
        return out
    for mp4 in sorted(vdir.glob("*.mp4")):
        side = mp4.with_suffix(".frames.json")
        info: dict[str, Any] = {"file": f"{VIDEO_DIR}/{mp4.name}", "stamps": [], "fps": 0.0, "frames": 0, "error": ""}
        try:
            meta = json.loads(side.read_text())
            info.update(stamps=meta.get("stamps", []), fps=meta.get("fps", 0.0), frames=meta.get("frames", 0))
        except (OSError, ValueError) as exc:
            info["error"] = f"no frame timestamps ({side.name}: {exc}); frames cannot be placed on the timeline"
        out[mp4.stem] = info
    return out


class FrameCache:
    """Decoded video frames as JPEG, per (trial, camera); a few videos kept (LRU)."""

    def __init__(self, max_videos: int = 4) -> None:
        self._cache: OrderedDict[str, list[bytes]] = OrderedDict()
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.max_videos = max_videos

    def frames(self, mp4: Path) -> list[bytes]:
        """All frames of ``mp4`` as JPEG bytes (decoded once)."""
        key = str(mp4)
        with self._guard:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._guard:
                if key in self._cache:
                    return self._cache[key]
            import imageio.v2 as iio

            frames: list[bytes] = []
            reader = iio.get_reader(str(mp4), format="FFMPEG")
            try:
                for frame in reader:
                    frames.append(jpeg_bytes(np.asarray(frame)))
            except (RuntimeError, OSError, IndexError):
                pass  # truncated video: keep the frames that decoded
            finally:
                reader.close()
            with self._guard:
                self._cache[key] = frames
                while len(self._cache) > self.max_videos:
                    self._cache.popitem(last=False)
            return frames


class TrialStore:
    """Trial folders under the runs roots (plus ones added explicitly), addressed by a stable id."""

    def __init__(self, roots: list[str | Path] | None = None) -> None:
        self.roots = [Path(r) for r in (roots or [])]
        self.extra: dict[str, Path] = {}
        self.frames = FrameCache()
        self._lock = threading.Lock()

    def add(self, trial_dir: str | Path) -> str:
        """Make ``trial_dir`` available (e.g. a live trial's trace_dir or a --replay folder); returns its id."""
        p = Path(trial_dir).resolve()
        with self._lock:
            for tid, q in self.trials().items():
                if q == p:
                    return tid
            tid = self._unique(p.name, set(self.trials()))
            self.extra[tid] = p
            return tid

    @staticmethod
    def _unique(name: str, taken: set[str]) -> str:
        tid, n = name, 2
        while tid in taken:
            tid, n = f"{name}~{n}", n + 1
        return tid

    def trials(self) -> dict[str, Path]:
        """id -> folder for every known trial."""
        out: dict[str, Path] = {}
        for d in find_trials([r for r in self.roots if r.exists()]):
            out[self._unique(d.name, set(out))] = d
        for tid, p in self.extra.items():
            if p not in out.values():
                out[self._unique(tid, set(out))] = p
        return out

    def path(self, trial_id: str) -> Path | None:
        """Folder of ``trial_id`` or None."""
        return self.trials().get(trial_id)

    def listing(self) -> list[dict[str, Any]]:
        """Short description of every trial (from its first and last events), newest first."""
        rows = []
        for tid, d in self.trials().items():
            row: dict[str, Any] = {"id": tid, "dir": str(d), "task": "", "instruction": "", "t0": 0.0,
                                   "success": None, "progress": None, "model": "", "embodiment": ""}
            try:
                lines = (d / TRACE_FILE).read_text(errors="replace").splitlines()
            except OSError:
                lines = []
            for line in lines[:5]:
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                if isinstance(ev, dict) and (ev.get("type") or ev.get("event")) == "trial_start":
                    row.update({k: ev.get(k, row[k]) for k in ("task", "instruction", "model", "embodiment")})
                    row["t0"] = ev.get("t", ev.get("time", 0.0))
                    break
            for line in reversed(lines[-5:]):
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                if isinstance(ev, dict) and (ev.get("type") or ev.get("event")) == "trial_end":
                    row["success"], row["progress"] = ev.get("success"), ev.get("progress")
                    break
            rows.append(row)
        rows.sort(key=lambda r: -(float(r["t0"] or 0.0)))
        return rows

    def payload(self, trial_id: str) -> dict[str, Any] | None:
        """Everything the replay page needs for one trial."""
        d = self.path(trial_id)
        if d is None:
            return None
        trace = load_trace(d)
        out = trace.to_dict()
        out["id"] = trial_id
        out["videos"] = video_info(d)
        bag = d / BAG_DIR / BAG_FILE
        out["joints"] = read_joint_states(bag)
        if not out["joints"]["t"]:
            out["joints"] = joints_from_observations(trace.events) | {"error": out["joints"]["error"]}
        if out["joints"]["error"]:
            out["issues"].append({"line": None, "kind": "bag", "message": f"robot state from {BAG_DIR}/{BAG_FILE} "
                                                                          f"incomplete: {out['joints']['error']}"})
        for cam, info in out["videos"].items():
            if info["error"]:
                out["issues"].append({"line": None, "kind": "video", "message": f"{cam}: {info['error']}"})
        try:
            out["recording"] = json.loads((d / "recording.json").read_text())
        except (OSError, ValueError):
            out["recording"] = None
        out["has_bag"] = bag.is_file()
        return out

    def file(self, trial_id: str, rel: str) -> tuple[bytes, str] | None:
        """(bytes, content type) of a file inside a trial folder; None when missing or outside the folder."""
        d = self.path(trial_id)
        if d is None:
            return None
        p = (d / rel).resolve()
        if not p.is_relative_to(d.resolve()) or not p.is_file() or p.suffix.lower() not in IMAGE_TYPES:
            return None
        return p.read_bytes(), IMAGE_TYPES[p.suffix.lower()]

    def frame(self, trial_id: str, camera: str, index: int) -> bytes | None:
        """JPEG of frame ``index`` of camera ``camera``'s video."""
        d = self.path(trial_id)
        if d is None or "/" in camera or camera.startswith("."):
            return None
        mp4 = d / VIDEO_DIR / f"{camera}.mp4"
        if not mp4.is_file():
            return None
        frames = self.frames.frames(mp4)
        if not frames:
            return None
        return frames[max(0, min(index, len(frames) - 1))]

    def analytics(self, trial_ids: list[str] | None = None, category: str | None = None,
                  embodiment: str | None = None, task: str | None = None) -> dict[str, Any]:
        """Analytics over the chosen trials (all when ``trial_ids`` is empty)."""
        trials = self.trials()
        ids = [t for t in (trial_ids or list(trials)) if t in trials]
        traces: list[Trace] = [t for t in (load_trace(trials[i]) for i in ids) if t.events]
        everything = summarize(traces)
        selected = filter_traces(traces, category or None, task or None, embodiment or None)
        out = summarize(selected)
        out["all_task_categories"] = everything["task_categories"]
        out["all_embodiments"] = sorted({str(t.meta.get("embodiment") or "") for t in traces} - {""})
        out["filter"] = {"category": category, "embodiment": embodiment, "task": task}
        return out
