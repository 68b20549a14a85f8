"""Read, validate and normalise a trial's ``trace.jsonl`` (the agent's append-only event log).

The reader is tolerant: a corrupt or truncated line, an unknown event type, a missing field or a missing image file
becomes a :class:`TraceIssue` and the rest of the trace is still shown. Every event comes out normalised to one shape
(see :func:`normalize_event`) so the dashboard and the analytics read the same fields whatever synonyms the writer used:

``{"type", "t" (seconds since the epoch or since the trial start), "rel" (seconds since trial_start), "seq", ...}``
plus, for ``tool_call``: ``name``, ``module``, ``tool_category``, ``t_start``, ``t_end``, ``error_code``, ``images``.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maestro_dashboard.taxonomy import module_of, tool_category_of

TRACE_FILE = "trace.jsonl"
SUPPORTED_VERSIONS = (1,)

# type -> fields that must be present (after synonym normalisation) for the event to be fully usable.
EVENT_REQUIRED: dict[str, tuple[str, ...]] = {
    "trial_start": ("instruction",),
    "model_request": (),
    "model_response": (),
    "substep_start": ("substep",),
    "substep_code": ("substep", "code"),
    "line": ("substep", "line"),
    "tool_call": ("name",),
    "stdout": ("text",),
    "verdict": ("verdict",),
    "observation": (),  # an observation may hold no image (no camera up)
    "trial_end": (),
    "reflection": (),
    "error": (),
    # maestro_agent recorder (schema v1) extras
    "exec_result": ("substep",),
    "evaluation": (),
    "warning": (),
    "tools": (),
    "sandbox": (),
}
# the agent writes one "substep" event (code, reasoning, subtasks, current_subtask) where this reader says substep_code
TYPE_ALIASES = {"substep": "substep_code", "substep_begin": "substep_start", "model_call": "model_request"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif")
KNOWN_EVENTS = frozenset(EVENT_REQUIRED)

_TIME_KEYS = ("t", "time", "stamp", "timestamp", "wall_time", "ts")
_START_KEYS = ("t_start", "start", "start_time", "started")
_END_KEYS = ("t_end", "end", "end_time", "finished")
_IMAGE_KEYS = ("images", "image", "image_file", "image_files", "files", "image_paths", "annotated_image")
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "type": ("type", "event", "kind"),
    "substep": ("substep", "step", "substep_index"),
    "line": ("line", "lineno", "line_number", "source_line"),
    "name": ("name", "tool", "function"),
    "text": ("text", "stdout", "data", "output"),
    "code": ("code", "source"),
    "verdict": ("verdict", "decision"),
    "subtask": ("subtask", "current_subtask"),
    "latency": ("latency", "latency_s", "duration", "elapsed"),
}


@dataclass
class TraceIssue:
    """Something wrong in a trace: where (1-based line, or None for the whole file), what kind, and a message."""

    line: int | None
    kind: str  # corrupt_line | truncated | unknown_event | missing_field | missing_image | bad_value | unsupported_version
    message: str

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-able)."""
        return {"line": self.line, "kind": self.kind, "message": self.message}


@dataclass
class Trace:
    """A loaded trial: normalised events in time order, the trial metadata and every issue found."""

    trial_dir: Path
    events: list[dict[str, Any]] = field(default_factory=list)
    issues: list[TraceIssue] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    t0: float = 0.0

    @property
    def duration(self) -> float:
        """Seconds from the first to the last event (tool calls count to their end)."""
        if not self.events:
            return 0.0
        ends = [max(e["rel"], e.get("rel_end", e["rel"])) for e in self.events]
        return max(0.0, max(ends))

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        """The ``tool_call`` events ordered by start time."""
        return sorted((e for e in self.events if e["type"] == "tool_call"), key=lambda e: (e["t_start"], e["seq"]))

    @property
    def end(self) -> dict[str, Any] | None:
        """The ``trial_end`` event, when the trial finished."""
        ends = [e for e in self.events if e["type"] == "trial_end"]
        return ends[-1] if ends else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form served to the dashboard."""
        return {"trial_dir": str(self.trial_dir), "name": self.trial_dir.name, "meta": self.meta, "t0": self.t0,
                "duration": self.duration, "events": self.events, "issues": [i.to_dict() for i in self.issues]}


def _first(d: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for k in keys:
        if k in d and d[k] is not None:
            return d[k]
    return None


def _as_float(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _image_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):  # {"file": ..} or {"path": ..}
        v = value.get("file") or value.get("path")
        return [str(v)] if v else []
    if isinstance(value, (list, tuple)):
        out: list[str] = []
        for item in value:
            out.extend(_image_list(item))
        return out
    return []


def normalize_event(raw: dict[str, Any], seq: int) -> tuple[dict[str, Any], list[str]]:
    """Return the normalised event and a list of problems (missing fields, bad values) found in ``raw``."""
    ev = dict(raw)
    problems: list[str] = []
    for canon, keys in _SYNONYMS.items():
        if canon not in ev or ev[canon] is None:
            v = _first(raw, keys)
            if v is not None:
                ev[canon] = v
    ev["type"] = str(ev.get("type", "")) or "?"
    if ev["type"] in TYPE_ALIASES:
        ev["raw_type"], ev["type"] = ev["type"], TYPE_ALIASES[ev["type"]]
    ev["seq"] = seq
    t = _as_float(_first(raw, _TIME_KEYS))
    start = _as_float(_first(raw, _START_KEYS))
    end = _as_float(_first(raw, _END_KEYS))
    if t is None:
        t = start if start is not None else end
    if t is None:
        problems.append("no time field (t)")
    ev["t"] = t
    for key in ("substep", "line"):
        if key in ev and ev[key] is not None:
            try:
                ev[key] = int(ev[key])
            except (TypeError, ValueError):
                problems.append(f"field '{key}' is not an integer: {ev[key]!r}")
                ev[key] = None
    images = []
    for k in _IMAGE_KEYS:
        images.extend(_image_list(raw.get(k)))
    images = list(dict.fromkeys(images))
    # tool_call images may be in-memory image refs (ids), not files: keep them apart so they are not "missing"
    ev["images"] = [i for i in images if i.lower().endswith(IMAGE_SUFFIXES)]
    refs = [i for i in images if not i.lower().endswith(IMAGE_SUFFIXES)]
    if refs:
        ev["image_refs"] = refs
    for req in EVENT_REQUIRED.get(ev["type"], ()):
        if req == "images":
            if not ev["images"]:
                problems.append("no image files")
        elif ev.get(req) is None:
            problems.append(f"missing field '{req}'")
    if ev["type"] == "tool_call":
        ev["t_start"] = start if start is not None else t
        ev["t_end"] = end if end is not None else ev["t_start"]
        if ev["t_start"] is not None and ev["t_end"] is not None and ev["t_end"] < ev["t_start"]:
            problems.append("t_end is before t_start")
            ev["t_end"] = ev["t_start"]
        name = str(ev.get("name") or "?")
        ev["name"] = name
        ev["module"] = module_of(name, raw)
        ev["tool_category"] = tool_category_of(name, raw)
        code = raw.get("error_code", 0)
        try:
            ev["error_code"] = int(code or 0)
        except (TypeError, ValueError):
            problems.append(f"error_code is not an integer: {code!r}")
            ev["error_code"] = -1
    if ev["type"] == "model_response":
        lat = _as_float(ev.get("latency"))
        ev["latency"] = lat
    return ev, problems


def parse_lines(text: str) -> tuple[list[tuple[int, dict[str, Any]]], list[TraceIssue]]:
    """Parse JSON lines; return (line number, object) pairs and issues for lines that are not JSON objects."""
    out: list[tuple[int, dict[str, Any]]] = []
    issues: list[TraceIssue] = []
    lines = text.split("\n")
    for i, line in enumerate(lines, start=1):
        s = line.strip()
        if not s:
            continue
        try:
            obj = json.loads(s)
        except json.JSONDecodeError as exc:
            last = i == len(lines) or all(not rest.strip() for rest in lines[i:])
            if last and not text.endswith("\n"):
                issues.append(TraceIssue(i, "truncated", f"the last line is cut off ({exc.msg}); the trial was "
                                                         "probably still running or the writer crashed"))
            else:
                issues.append(TraceIssue(i, "corrupt_line", f"not valid JSON ({exc.msg} at column {exc.colno}); "
                                                            "line skipped"))
            continue
        if not isinstance(obj, dict):
            issues.append(TraceIssue(i, "corrupt_line", f"a JSON {type(obj).__name__}, not an event object; skipped"))
            continue
        out.append((i, obj))
    return out, issues


def build_trace(trial_dir: Path, text: str, check_files: bool = True) -> Trace:
    """Build a :class:`Trace` from the text of a trace.jsonl that belongs to ``trial_dir``."""
    trace = Trace(trial_dir=trial_dir)
    objs, trace.issues = parse_lines(text)
    events: list[dict[str, Any]] = []
    unknown: dict[str, int] = {}
    for seq, (lineno, raw) in enumerate(objs):
        ev, problems = normalize_event(raw, seq)
        ev["lineno"] = lineno
        version = raw.get("v", raw.get("version", raw.get("schema_version")))
        if version is not None and _as_float(version) not in SUPPORTED_VERSIONS:
            trace.issues.append(TraceIssue(lineno, "unsupported_version",
                                           f"schema version {version!r}; this reader knows {list(SUPPORTED_VERSIONS)}"))
        if ev["type"] not in KNOWN_EVENTS:
            unknown[ev["type"]] = unknown.get(ev["type"], 0) + 1
            if unknown[ev["type"]] == 1:
                trace.issues.append(TraceIssue(lineno, "unknown_event", f"unknown event type '{ev['type']}' "
                                                                        "(shown as raw JSON)"))
        for p in problems:
            trace.issues.append(TraceIssue(lineno, "missing_field" if "missing" in p or "no " in p else "bad_value",
                                           f"{ev['type']}: {p}"))
        if ev["t"] is None:
            ev["t"] = events[-1]["t"] if events else 0.0
            if ev["type"] == "tool_call":
                ev["t_start"] = ev["t_end"] = ev["t"]
        events.append(ev)
    for name, n in unknown.items():
        if n > 1:
            trace.issues.append(TraceIssue(None, "unknown_event", f"{n} events of unknown type '{name}'"))
    starts = [e for e in events if e["type"] == "trial_start"]
    if starts:
        trace.meta = {k: v for k, v in starts[0].items() if k not in ("seq", "lineno", "images")}
        trace.t0 = float(starts[0]["t"])
    elif events:
        trace.issues.append(TraceIssue(None, "missing_field", "no trial_start event: the trial metadata is unknown"))
        trace.t0 = min(float(e["t"]) for e in events)
    for ev in events:
        ev["rel"] = round(float(ev["t"]) - trace.t0, 6)
        if ev["type"] == "tool_call":
            ev["rel_start"] = round(float(ev["t_start"]) - trace.t0, 6)
            ev["rel_end"] = round(float(ev["t_end"]) - trace.t0, 6)
        if check_files:
            ev["missing_images"] = [p for p in ev["images"] if not _resolve(trial_dir, p).is_file()]
            for p in ev["missing_images"]:
                trace.issues.append(TraceIssue(ev["lineno"], "missing_image", f"{ev['type']}: image file '{p}' "
                                                                              "does not exist"))
    events.sort(key=lambda e: (e["t"], e["seq"]))
    attach_observed_images(events)
    trace.events = events
    if events and trace.end is None:
        trace.issues.append(TraceIssue(None, "truncated", "no trial_end event: the trial is still running or stopped "
                                                          "early"))
    return trace


def attach_observed_images(events: list[dict[str, Any]]) -> None:
    """Give tool calls the image files the agent saved for them.

    The agent's observation events list image files with captions such as ``"detect_objects annotated result"`` or
    ``"detect_objects.annotated_image"``; a tool call of the same substep whose name starts the caption gets the file.
    """
    calls_by_substep: dict[Any, list[dict[str, Any]]] = {}
    for ev in events:
        if ev["type"] == "tool_call":
            calls_by_substep.setdefault(ev.get("substep"), []).append(ev)
    for ev in events:
        captions = ev.get("captions")
        if ev["type"] != "observation" or not isinstance(captions, list):
            continue
        for caption, file in zip(captions, ev["images"], strict=False):
            tool = str(caption).split(" ", 1)[0].split(".", 1)[0]
            matches = [c for c in calls_by_substep.get(ev.get("substep"), []) if c["name"] == tool and c["t"] <= ev["t"]]
            if matches and file not in matches[-1]["images"]:
                matches[-1]["images"].append(file)
                missing = ev.get("missing_images") or []
                if file in missing:
                    matches[-1].setdefault("missing_images", []).append(file)


def joints_from_observations(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Robot joint states from the agent's observation events (``robot_state.joints``), when no bag was recorded."""
    out: dict[str, Any] = {"names": [], "t": [], "position": [], "error": "", "source": "observations"}
    for ev in events:
        rs = ev.get("robot_state")
        if ev["type"] != "observation" or not isinstance(rs, dict):
            continue
        joints = rs.get("joints") if isinstance(rs.get("joints"), dict) else rs
        names, pos = joints.get("name") or joints.get("names"), joints.get("position") or joints.get("positions")
        if not isinstance(names, list) or not isinstance(pos, list) or len(names) != len(pos):
            continue
        names, pos = list(names), [float(p) for p in pos]
        if "gripper_width" in rs and not any("finger" in n or "gripper" in n for n in names):
            names, pos = [*names, "gripper_width"], [*pos, float(rs["gripper_width"] or 0.0)]
        if not out["names"]:
            out["names"] = names
        if names == out["names"]:
            out["t"].append(float(ev["t"]))
            out["position"].append(pos)
    return out


def _resolve(trial_dir: Path, rel: str) -> Path:
    p = Path(rel)
    return p if p.is_absolute() else trial_dir / p


def load_trace(path: str | Path, check_files: bool = True) -> Trace:
    """Load a trial folder (or its trace.jsonl). A missing or unreadable file gives an empty trace with an issue."""
    p = Path(path)
    trial_dir, file = (p, p / TRACE_FILE) if p.is_dir() or p.suffix != ".jsonl" else (p.parent, p)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        t = Trace(trial_dir=trial_dir)
        t.issues.append(TraceIssue(None, "corrupt_line", f"cannot read {file}: {exc.strerror or exc}"))
        return t
    text = raw.decode("utf-8", errors="replace")
    trace = build_trace(trial_dir, text, check_files=check_files)
    if "\ufffd" in text:
        trace.issues.append(TraceIssue(None, "corrupt_line", "the file holds bytes that are not UTF-8 (replaced)"))
    return trace


def find_trials(paths: list[str | Path]) -> list[Path]:
    """Trial folders (folders holding a trace.jsonl) at or under each path, sorted, without duplicates."""
    found: dict[Path, None] = {}
    for p in map(Path, paths):
        if p.is_file() and p.name == TRACE_FILE:
            found[p.parent.resolve()] = None
        elif (p / TRACE_FILE).is_file():
            found[p.resolve()] = None
        elif p.is_dir():
            for f in sorted(p.rglob(TRACE_FILE)):
                found[f.parent.resolve()] = None
    return sorted(found)
