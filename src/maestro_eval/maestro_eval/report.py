"""``maestro eval report RESULTS``: paper-style tables, the per-trial grid figure and tool-call analytics."""
from __future__ import annotations

import html
import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from maestro_eval.results import ResultsStore


def _mean_std(values: list[float]) -> tuple[float, float]:
    if not values:
        return 0.0, 0.0
    return statistics.fmean(values), (statistics.pstdev(values) if len(values) > 1 else 0.0)


def summarize(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """task -> method -> {progress_mean, progress_std, success_rate, time_mean, n}."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(r.get("task", "?"), r.get("method", "?"))].append(r)
    out: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    for (task, method), items in sorted(groups.items()):
        progress = [float(r.get("progress") or 0.0) for r in items]
        times = [float(r.get("wall_time_s") or 0.0) for r in items if r.get("status") == "done"]
        mean, std = _mean_std(progress)
        out[task][method] = {"progress_mean": mean, "progress_std": std, "n": len(items),
                             "success_rate": sum(bool(r.get("success")) for r in items) / len(items),
                             "time_mean": statistics.fmean(times) if times else float("nan")}
    return dict(out)


def evolution_curve(rows: list[dict[str, Any]]) -> dict[str, list[tuple[int, float]]]:
    """task/method -> [(trial index, progress)] for self-evolution runs (rows with index > 0 present)."""
    curves: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for r in rows:
        curves[f"{r.get('task')} / {r.get('method')}"].append((int(r.get("index") or 0), float(r.get("progress") or 0)))
    return {k: sorted(v) for k, v in curves.items() if len(v) > 1 and any(i > 0 for i, _ in v)}


def trial_grid_figure(rows: list[dict[str, Any]], path: Path) -> Path:
    """The paper's trial grid: per task and method, each trial's progress as a marker on a 0-100 bar."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = sorted({r.get("task", "?") for r in rows})
    methods = sorted({r.get("method", "?") for r in rows})
    fig, axes = plt.subplots(len(tasks), 1, figsize=(8, 0.5 + 0.45 * len(methods) * len(tasks) + 0.3 * len(tasks)),
                             squeeze=False)
    markers = {"base": "o", "visual": "s", "pose": "^", "verb": "D", "new_object": "P"}
    for ax, task in zip(axes[:, 0], tasks, strict=True):
        for y, method in enumerate(methods):
            ax.plot([0, 100], [y, y], color="#ddd", linewidth=6, solid_capstyle="round", zorder=1)
            for r in rows:
                if r.get("task") == task and r.get("method") == method:
                    p = float(r.get("progress") or 0.0)
                    ax.scatter(p, y, marker=markers.get(r.get("perturbation", "base"), "o"), s=46, zorder=2,
                               color="#2a9d8f" if r.get("success") else ("#e9c46a" if p > 0 else "#e76f51"),
                               edgecolors="black", linewidths=0.5)
        ax.set_yticks(range(len(methods)), methods, fontsize=8)
        ax.set_xlim(-3, 103)
        ax.set_ylim(-0.7, len(methods) - 0.3)
        ax.set_title(task, fontsize=9, loc="left")
        ax.tick_params(axis="x", labelsize=8)
    axes[-1, 0].set_xlabel("task progress (0-100); marker = perturbation axis, green = success")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def evolution_figure(curves: dict[str, list[tuple[int, float]]], path: Path) -> Path:
    """Progress over successive self-evolution trials."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2))
    for name, points in curves.items():
        ax.plot([i + 1 for i, _ in points], [p for _, p in points], marker="o", label=name)
    ax.set_xlabel("trial")
    ax.set_ylabel("progress")
    ax.set_ylim(-3, 103)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def tool_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Total tool calls by tool name across the run (per-trial 'tool_counts', 'name:n name:n')."""
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        text = r.get("tool_counts")
        if text is None and ":" in str(r.get("tools") or ""):
            text = r.get("tools")  # results written before 'tool_counts' existed
        for item in str(text or "").split():
            name, _, n = item.rpartition(":")
            if name and n.isdigit():
                counts[name] += int(n)
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def write_report(results_dir: str | Path) -> Path:
    """Write ``report.md``, ``report.html`` and the figures into the results folder; return the Markdown path."""
    root = Path(results_dir)
    rows = ResultsStore(root).load()
    if not rows:
        raise ValueError(f"no trial results in {root} (results.jsonl missing or empty)")
    summary = summarize(rows)
    methods = sorted({m for per_task in summary.values() for m in per_task})
    meta_path = root / "run.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    lines = ["# Maestro evaluation report", ""]
    if meta:
        lines += [f"- command: `{meta.get('command', '?')}`", f"- machine: {meta.get('machine', '?')}",
                  f"- started: {meta.get('started', '?')}", ""]
    statuses: dict[str, int] = defaultdict(int)
    for r in rows:
        statuses[r.get("status", "?")] += 1
    lines += [f"{len(rows)} trials; status: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())), ""]
    lines += ["## Task progress (mean ± std over trials)", "", "| task | " + " | ".join(methods) + " |",
              "|---|" + "---|" * len(methods)]
    for task, per in summary.items():
        cells = [f"{per[m]['progress_mean']:.1f} ± {per[m]['progress_std']:.1f} (n={per[m]['n']})" if m in per else "–"
                 for m in methods]
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    lines += ["", "## Success rate and completion time (s, finished trials)", "",
              "| task | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for task, per in summary.items():
        cells = [f"{100 * per[m]['success_rate']:.0f}% / {per[m]['time_mean']:.0f} s" if m in per else "–"
                 for m in methods]
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    grid = trial_grid_figure(rows, root / "figures" / "trial_grid.png")
    lines += ["", "## Trials", "", f"![trial grid]({grid.relative_to(root)})", ""]
    curves = evolution_curve(rows)
    if curves:
        fig = evolution_figure(curves, root / "figures" / "evolution.png")
        lines += ["## Self-evolution", "", f"![evolution]({fig.relative_to(root)})", ""]
        for name, points in curves.items():
            lines.append(f"- {name}: " + ", ".join(f"{p:.0f}" for _, p in points))
        lines.append("")
    counts = tool_counts(rows)
    if counts:
        lines += ["## Tool calls", "", "| tool | calls |", "|---|---|"]
        lines += [f"| {name} | {n} |" for name, n in counts.items()]
        lines.append("")
    md = root / "report.md"
    md.write_text("\n".join(lines))
    body = "\n".join(f"<p>{html.escape(line)}</p>" if not line.startswith("|") else f"<pre>{html.escape(line)}</pre>"
                     for line in lines)
    body = body.replace(html.escape(f"![trial grid]({grid.relative_to(root)})"), f'<img src="{grid.relative_to(root)}">')
    (root / "report.html").write_text(f"<!doctype html><meta charset=utf-8><title>Maestro report</title>"
                                      f"<body style='font-family:sans-serif;max-width:1000px;margin:auto'>{body}</body>")
    return md
