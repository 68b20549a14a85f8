"""Per-trial counts read from a trial folder's ``trace.jsonl`` (model calls, tokens, tool calls, errors)."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class TraceStats:
    """What one trial's trace says about its cost and tool use."""

    model_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    model_latency_s: float = 0.0
    tool_calls: int = 0
    tool_errors: int = 0
    substeps: int = 0
    tools: dict[str, int] = field(default_factory=dict)
    tool_error_counts: dict[str, int] = field(default_factory=dict)
    bad_lines: int = 0

    def to_dict(self) -> dict:
        """Plain dict (tools as a compact 'name:count' string for CSV)."""
        d = asdict(self)
        d["tools"] = " ".join(f"{k}:{v}" for k, v in sorted(self.tools.items()))
        d["tool_error_counts"] = " ".join(f"{k}:{v}" for k, v in sorted(self.tool_error_counts.items()))
        return d


def _int(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0


def read_trace_stats(trace_dir: str | Path) -> TraceStats:
    """Count events in ``trace_dir/trace.jsonl``; unreadable lines are counted in ``bad_lines``, not fatal."""
    stats = TraceStats()
    path = Path(trace_dir) / "trace.jsonl"
    if not path.is_file():
        return stats
    tools: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    substeps: set[int] = set()
    with open(path, errors="replace") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                stats.bad_lines += 1
                continue
            if not isinstance(event, dict):
                stats.bad_lines += 1
                continue
            kind = event.get("type") or event.get("event")
            if kind == "model_response":
                stats.model_calls += 1
                usage = event.get("usage") if isinstance(event.get("usage"), dict) else event
                stats.input_tokens += _int(usage.get("input_tokens"))
                stats.output_tokens += _int(usage.get("output_tokens"))
                try:
                    stats.model_latency_s += float(usage.get("latency_s") or event.get("latency_s") or 0.0)
                except (TypeError, ValueError):
                    pass
            elif kind == "tool_call":
                stats.tool_calls += 1
                tools[str(event.get("name", "?"))] += 1
                if _int(event.get("error_code")) != 0:
                    stats.tool_errors += 1
                    errors[str(event.get("name", "?"))] += 1
            if "substep" in event and isinstance(event["substep"], int):
                substeps.add(event["substep"])
    stats.tools = dict(tools)
    stats.tool_error_counts = dict(errors)
    stats.substeps = len(substeps)
    return stats
