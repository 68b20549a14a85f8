"""``maestro analyze RUNS...``: tool-call analytics over trial folders, exported as PNG/SVG figures and CSV files."""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from maestro_dashboard.analytics import CallRecord, filter_traces, summarize, trial_calls
from maestro_dashboard.trace import Trace, find_trials, load_trace


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``maestro analyze``."""
    parser.add_argument("runs", nargs="+", help="trial folders (holding trace.jsonl) or folders to search for them")
    parser.add_argument("--out", default="analysis", help="output folder for figures and CSV files (default ./analysis)")
    parser.add_argument("--category", help="only trials whose task category is this (e.g. 'pick-and-place')")
    parser.add_argument("--task", help="only trials of this task id")
    parser.add_argument("--embodiment", help="only trials of this embodiment")
    parser.add_argument("--categories", metavar="JSON", help="JSON file {task_id: category} overriding the built-in map")
    parser.add_argument("--format", nargs="+", default=["png", "svg"], choices=["png", "svg", "pdf"],
                        help="figure formats (default png svg)")
    parser.add_argument("--no-figures", action="store_true", help="write CSV/JSON only")
    parser.add_argument("--quiet", action="store_true", help="do not print the summary table")


def load_traces(paths: list[str]) -> tuple[list[Trace], list[str]]:
    """Load every trial under ``paths``; return the traces and warnings (unreadable trials, trace issues)."""
    traces, warnings = [], []
    for d in find_trials(paths):
        t = load_trace(d)
        for issue in t.issues:
            where = f":{issue.line}" if issue.line else ""
            warnings.append(f"{d.name}{where}: {issue.kind}: {issue.message}")
        if t.events:
            traces.append(t)
    return traces, warnings


def write_csv(out: Path, summary: dict[str, Any], calls: list[CallRecord]) -> list[Path]:
    """Write calls.csv (one row per call), counts.csv, passing_map.csv, bigrams.csv and trials.csv."""
    files = []
    path = out / "calls.csv"
    fields = list(CallRecord.__dataclass_fields__)
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for c in calls:
            w.writerow(c.to_dict())
    files.append(path)
    path = out / "counts.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["kind", "key", "count"])
        for kind in ("by_module", "by_category", "by_tool", "errors_by_tool"):
            for k, n in summary[kind].items():
                w.writerow([kind[3:] if kind.startswith("by_") else kind, k, n])
    files.append(path)
    path = out / "passing_map.csv"
    pm = summary["passing_map"]
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["from", "to", "count", "probability"])
        for i, a in enumerate(pm["labels"]):
            for j, b in enumerate(pm["labels"]):
                if pm["counts"][i][j]:
                    w.writerow([a, b, pm["counts"][i][j], pm["probs"][i][j]])
    files.append(path)
    path = out / "bigrams.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["first", "second", "count"])
        for b in summary["bigrams"]:
            w.writerow([b["a"], b["b"], b["count"]])
    files.append(path)
    path = out / "trials.csv"
    with path.open("w", newline="") as f:
        keys = ["trial", "task", "task_category", "embodiment", "progress", "success", "calls", "duration"]
        w = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore")
        w.writeheader()
        for row in summary["outcomes"]:
            w.writerow(row)
    files.append(path)
    path = out / "summary.json"
    path.write_text(json.dumps(summary, indent=1))
    files.append(path)
    return files


def write_figures(out: Path, summary: dict[str, Any], formats: list[str], title: str) -> list[Path]:
    """Bar charts (per module, per category, bigrams) and the passing-map heat map."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files: list[Path] = []

    def save(fig: Any, name: str) -> None:
        fig.tight_layout()
        for fmt in formats:
            p = out / f"{name}.{fmt}"
            fig.savefig(p, dpi=150)
            files.append(p)
        plt.close(fig)

    for key, name, label in (("by_module", "calls_by_module", "calls per module"),
                             ("by_category", "calls_by_category", "calls per category")):
        data = summary[key]
        fig, ax = plt.subplots(figsize=(7, 0.4 * max(3, len(data)) + 1))
        ax.barh(list(data)[::-1], list(data.values())[::-1], color="#4C78A8")
        for y, v in enumerate(list(data.values())[::-1]):
            ax.text(v, y, f" {v}", va="center", fontsize=8)
        ax.set_xlabel("tool calls")
        ax.set_title(f"{title}: {label}")
        save(fig, name)
    pm = summary["passing_map"]
    labels = pm["labels"]
    if labels:
        import numpy as np

        probs = np.array(pm["probs"], dtype=float)
        counts = np.array(pm["counts"], dtype=int)
        fig, ax = plt.subplots(figsize=(1.1 * len(labels) + 2.5, 1.0 * len(labels) + 2))
        im = ax.imshow(probs, cmap="viridis", vmin=0.0, vmax=1.0)
        ax.set_xticks(range(len(labels)), labels, rotation=35, ha="right")
        ax.set_yticks(range(len(labels)), labels)
        ax.set_xlabel("next module")
        ax.set_ylabel("module")
        for i in range(len(labels)):
            for j in range(len(labels)):
                if counts[i, j]:
                    ax.text(j, i, f"{probs[i, j]:.2f}\n({counts[i, j]})", ha="center", va="center", fontsize=7,
                            color="white" if probs[i, j] < 0.6 else "black")
        fig.colorbar(im, ax=ax, label="P(next | module)")
        ax.set_title(f"{title}: module passing map")
        save(fig, "passing_map")
    bg = summary["bigrams"]
    if bg:
        fig, ax = plt.subplots(figsize=(8, 0.35 * len(bg) + 1.2))
        names = [f"{b['a']} → {b['b']}" for b in bg][::-1]
        ax.barh(names, [b["count"] for b in bg][::-1], color="#F58518")
        ax.set_xlabel("occurrences")
        ax.set_title(f"{title}: most common call bigrams")
        save(fig, "call_bigrams")
    return files


def print_table(summary: dict[str, Any], stream: Any = None) -> None:
    """Human-readable summary (to stdout unless ``stream`` is given)."""
    stream = stream or sys.stdout
    p = lambda s="": print(s, file=stream)  # noqa: E731
    p(f"{summary['trials']} trials, {summary['calls']} tool calls")
    for key, head in (("by_module", "per module"), ("by_category", "per category")):
        p(f"\n{head}:")
        for k, n in summary[key].items():
            p(f"  {k:<24} {n:>6}")
    pm = summary["passing_map"]
    if pm["labels"]:
        p("\npassing map P(next | module):")
        p("  " + " " * 14 + "".join(f"{lab[:10]:>11}" for lab in pm["labels"]))
        for lab, row in zip(pm["labels"], pm["probs"], strict=False):
            p(f"  {lab[:14]:<14}" + "".join(f"{v:>11.2f}" for v in row))
    if summary["bigrams"]:
        p("\nmost common call bigrams:")
        for b in summary["bigrams"]:
            p(f"  {b['count']:>5}  {b['a']} -> {b['b']}")


def run(args: argparse.Namespace) -> int:
    """Run ``maestro analyze``; 0 on success, 2 when no usable trial was found."""
    overrides = None
    if args.categories:
        try:
            overrides = json.loads(Path(args.categories).read_text())
            if not isinstance(overrides, dict):
                raise ValueError("expected a JSON object {task_id: category}")
        except (OSError, ValueError) as exc:
            print(f"error: cannot read --categories {args.categories}: {exc}", file=sys.stderr)
            return 2
    traces, warnings = load_traces(args.runs)
    for w in warnings[:50]:
        print(f"warning: {w}", file=sys.stderr)
    if len(warnings) > 50:
        print(f"warning: ... and {len(warnings) - 50} more", file=sys.stderr)
    if not traces:
        print(f"error: no readable trial (folder with trace.jsonl) under {' '.join(args.runs)}", file=sys.stderr)
        return 2
    selected = filter_traces(traces, args.category, args.task, args.embodiment, overrides)
    if not selected:
        print(f"error: {len(traces)} trials found but none matches the filters", file=sys.stderr)
        return 2
    summary = summarize(selected, overrides)
    calls = [c for t in selected for c in trial_calls(t, overrides)]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files = write_csv(out, summary, calls)
    if not args.no_figures:
        title = args.category or args.task or "all trials"
        files += write_figures(out, summary, args.format, title)
    if not args.quiet:
        print_table(summary)
        print(f"\nwrote {len(files)} files to {out}/")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (``python -m maestro_dashboard.analyze``)."""
    parser = argparse.ArgumentParser(prog="maestro analyze", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
