"""Tool-call analytics over trials: counts per module and category, the module "passing map", call bigrams.

Pure functions over :class:`~maestro_dashboard.trace.Trace` objects, shared by ``maestro analyze`` and the dashboard.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from maestro_dashboard.taxonomy import task_category_of
from maestro_dashboard.trace import Trace

START, END = "(start)", "(end)"


@dataclass
class CallRecord:
    """One tool call with the trial context it happened in."""

    trial: str
    task: str
    task_category: str
    embodiment: str
    substep: int | None
    subtask: str
    name: str
    module: str
    tool_category: str
    error_code: int
    t_start: float
    duration: float

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return asdict(self)


def trial_calls(trace: Trace, category_overrides: dict[str, str] | None = None) -> list[CallRecord]:
    """The tool calls of one trial, ordered by start time."""
    task = str(trace.meta.get("task") or "")
    tcat = task_category_of(task, category_overrides)
    out = []
    for ev in trace.tool_calls:
        sub = ev.get("subtask")
        out.append(CallRecord(
            trial=trace.trial_dir.name, task=task, task_category=tcat, embodiment=str(trace.meta.get("embodiment") or ""),
            substep=ev.get("substep"), subtask="" if sub is None else str(sub), name=ev["name"], module=ev["module"],
            tool_category=ev["tool_category"], error_code=int(ev.get("error_code") or 0),
            t_start=float(ev["rel_start"]), duration=max(0.0, float(ev["rel_end"]) - float(ev["rel_start"]))))
    return out


def filter_traces(traces: list[Trace], task_category: str | None = None, task: str | None = None,
                  embodiment: str | None = None, category_overrides: dict[str, str] | None = None) -> list[Trace]:
    """Traces whose task category / task id / embodiment match (None = any)."""
    out = []
    for t in traces:
        task_id = str(t.meta.get("task") or "")
        if task_category and task_category_of(task_id, category_overrides) != task_category:
            continue
        if task and task_id != task:
            continue
        if embodiment and str(t.meta.get("embodiment") or "") != embodiment:
            continue
        out.append(t)
    return out


def count_by(calls: list[CallRecord], key: str) -> Counter[str]:
    """How many calls have each value of attribute ``key`` (module, tool_category, name, ...)."""
    return Counter(str(getattr(c, key)) for c in calls)


def transitions(per_trial: list[list[CallRecord]], key: str = "module",
                with_ends: bool = False) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The passing map: counts[i, j] = times a call of ``labels[i]`` was followed by one of ``labels[j]``.

    Transitions are counted inside each trial only. ``with_ends`` adds (start)/(end) states. Returns
    (labels, counts, probabilities), each row of probabilities summing to 1 (0 where a label is never followed).
    """
    pairs: Counter[tuple[str, str]] = Counter()
    seen: Counter[str] = Counter()
    for calls in per_trial:
        seq = [str(getattr(c, key)) for c in calls]
        seen.update(seq)
        if with_ends and seq:
            seq = [START, *seq, END]
        pairs.update(zip(seq, seq[1:], strict=False))
    labels = sorted(seen, key=lambda k: (-seen[k], k))
    if with_ends:
        labels = [START, *labels, END]
    index = {lab: i for i, lab in enumerate(labels)}
    counts = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for (a, b), n in pairs.items():
        counts[index[a], index[b]] += n
    rows = counts.sum(axis=1, keepdims=True)
    probs = np.divide(counts, rows, out=np.zeros(counts.shape, dtype=float), where=rows > 0)
    return labels, counts, probs


def bigrams(per_trial: list[list[CallRecord]], key: str = "name") -> Counter[tuple[str, str]]:
    """How often each consecutive pair of calls (by ``key``) occurs inside a trial."""
    out: Counter[tuple[str, str]] = Counter()
    for calls in per_trial:
        seq = [str(getattr(c, key)) for c in calls]
        out.update(zip(seq, seq[1:], strict=False))
    return out


def summarize(traces: list[Trace], category_overrides: dict[str, str] | None = None,
              top_bigrams: int = 15) -> dict[str, Any]:
    """Everything the dashboard and the CLI show, as plain JSON-able data."""
    per_trial = [trial_calls(t, category_overrides) for t in traces]
    calls = [c for cs in per_trial for c in cs]
    labels, counts, probs = transitions(per_trial, "module")
    errors = Counter(c.name for c in calls if c.error_code)
    durations: dict[str, list[float]] = {}
    for c in calls:
        durations.setdefault(c.name, []).append(c.duration)
    outcomes = []
    for t, tcalls in zip(traces, per_trial, strict=False):
        end = t.end or {}
        outcomes.append({"trial": t.trial_dir.name, "task": t.meta.get("task"), "embodiment": t.meta.get("embodiment"),
                         "task_category": task_category_of(str(t.meta.get("task") or ""), category_overrides),
                         "progress": end.get("progress"), "success": end.get("success"),
                         "calls": len(tcalls), "duration": round(t.duration, 3)})
    return {
        "trials": len(traces), "calls": len(calls),
        "by_module": dict(count_by(calls, "module").most_common()),
        "by_category": dict(count_by(calls, "tool_category").most_common()),
        "by_tool": dict(count_by(calls, "name").most_common()),
        "errors_by_tool": dict(errors.most_common()),
        "mean_duration_by_tool": {k: round(float(np.mean(v)), 4) for k, v in sorted(durations.items())},
        "passing_map": {"labels": labels, "counts": counts.tolist(), "probs": np.round(probs, 4).tolist()},
        "bigrams": [{"a": a, "b": b, "count": n} for (a, b), n in bigrams(per_trial).most_common(top_bigrams)],
        "task_categories": sorted({task_category_of(str(t.meta.get("task") or ""), category_overrides) for t in traces}),
        "outcomes": outcomes,
    }
