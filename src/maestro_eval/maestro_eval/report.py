"""``maestro eval report RESULTS``: paper-style tables, the per-trial grid figure, the self-evolution curve and the
tool-call analytics, as Markdown (``report.md``) and HTML (``report.html``). Works on a partial results folder: the
trials planned in ``run.json`` but not recorded are listed as not run."""
from __future__ import annotations

import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from maestro_eval.report_html import markdown_to_html
from maestro_eval.results import ResultsStore


def _mean_std(values: list[float]) -> tuple[float, float]:
    if not values:
        return float("nan"), 0.0
    return statistics.fmean(values), (statistics.pstdev(values) if len(values) > 1 else 0.0)


def summarize(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """task -> method -> {progress_mean, progress_std, success_rate, time_mean, time_std, n, n_done}."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(r.get("task", "?"), r.get("method", "?"))].append(r)
    out: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    for (task, method), items in sorted(groups.items()):
        progress = [float(r.get("progress") or 0.0) for r in items]
        times = [float(r.get("wall_time_s") or 0.0) for r in items if r.get("status") == "done"]
        mean, std = _mean_std(progress)
        t_mean, t_std = _mean_std(times)
        out[task][method] = {"progress_mean": mean, "progress_std": std, "n": len(items), "n_done": len(times),
                             "success_rate": sum(bool(r.get("success")) for r in items) / len(items),
                             "time_mean": t_mean, "time_std": t_std}
    return dict(out)


def chain_name(row: dict[str, Any]) -> str:
    """Label of a row's evolution chain: ``task [scene] / method``."""
    return (f"{row.get('task')} [{row.get('perturbation', 'base')}-{row.get('seed', 0)}] / {row.get('method')}"
            + (" (control: no reflections)" if row.get("control") else ""))


def evolution_rows(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """chain -> rows in trial order, for the chains of a self-evolution run (some trial index > 0)."""
    chains: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        chains[chain_name(r)].append(r)
    return {k: sorted(v, key=lambda r: int(r.get("index") or 0)) for k, v in sorted(chains.items())
            if any(int(r.get("index") or 0) > 0 for r in v)}


def evolution_curve(rows: list[dict[str, Any]]) -> dict[str, list[tuple[int, float]]]:
    """chain -> [(trial index, progress)] for self-evolution runs."""
    return {k: [(int(r.get("index") or 0), float(r.get("progress") or 0.0)) for r in v]
            for k, v in evolution_rows(rows).items()}


def reflection_summary(text: str) -> str:
    """One table cell from a reflection: the offline reflector's rule, root cause and changes, or the start of a
    model's free text."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        data = None
    if isinstance(data, dict):
        adjust = data.get("adjust") or {}
        reverted = data.get("reverted") or {}
        parts = [f"{data.get('rule', '?')}: {data.get('root_cause', '')}".strip()]
        if adjust:
            parts.append("adjust " + ", ".join(f"{k}={v}" for k, v in adjust.items()))
        if reverted:
            parts.append("revert " + ", ".join(f"{k}={v}" for k, v in reverted.items()))
        return "; ".join(parts)
    text = " ".join(str(text or "").split())
    return text[:200] + ("…" if len(text) > 200 else "")


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
            mine = [r for r in rows if r.get("task") == task and r.get("method") == method]
            for k, r in enumerate(mine):
                p = float(r.get("progress") or 0.0)
                dy = 0.0 if len(mine) == 1 else 0.5 * (k / (len(mine) - 1) - 0.5)  # spread trials that coincide
                ax.scatter(p, y + dy, marker=markers.get(r.get("perturbation", "base"), "o"), s=46, zorder=2,
                           color="#2a9d8f" if r.get("success") else ("#e9c46a" if p > 0 else "#e76f51"),
                           edgecolors="black", linewidths=0.5)
        ax.set_yticks(range(len(methods)), methods, fontsize=8)
        ax.set_xlim(-3, 103)
        ax.set_ylim(-0.7, len(methods) - 0.3)
        ax.set_title(task, fontsize=9, loc="left")
        ax.tick_params(axis="x", labelsize=8)
    axes[-1, 0].set_xlabel("task progress (0-100); marker = perturbation axis (o base, s visual, ^ pose, D verb, "
                           "P new_object); green = success", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def evolution_figure(curves: dict[str, list[tuple[int, float]]], path: Path) -> Path:
    """Progress over successive self-evolution trials (PNG, and SVG next to it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    for name, points in curves.items():
        ax.plot([i + 1 for i, _ in points], [p for _, p in points], marker="o", label=name)
    longest = max((len(p) for p in curves.values()), default=1)
    ax.set_xticks(range(1, max((i for p in curves.values() for i, _ in p), default=0) + 2))
    ax.set_xlim(0.7, longest + 0.3)
    ax.set_xlabel("trial (each sees the reflections of the earlier ones)")
    ax.set_ylabel("task progress")
    ax.set_ylim(-3, 103)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    fig.savefig(path.with_suffix(".svg"))
    plt.close(fig)
    return path


def _counts(text: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in str(text or "").split():
        name, _, n = item.rpartition(":")
        if name and n.isdigit():
            out[name] = out.get(name, 0) + int(n)
    return out


def tool_counts(rows: list[dict[str, Any]], field: str = "tool_counts") -> dict[str, int]:
    """Total tool calls (or, with ``field='tool_error_counts'``, failed calls) by tool name across the run."""
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        text = r.get(field)
        if text is None and field == "tool_counts" and ":" in str(r.get("tools") or ""):
            text = r.get("tools")  # results written before 'tool_counts' existed
        for name, n in _counts(text).items():
            counts[name] += n
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def planned_not_run(root: Path, rows: list[dict[str, Any]]) -> list[str]:
    """Trial ids planned in ``run.json`` (``planned``) without a recorded result."""
    meta_path = root / "run.json"
    try:
        planned = json.loads(meta_path.read_text()).get("planned", []) if meta_path.is_file() else []
    except (json.JSONDecodeError, AttributeError):
        return []
    done = {r.get("trial_id") for r in rows}
    return [t for t in planned if t not in done]


def _fmt(x: float, digits: int = 1) -> str:
    return "–" if x != x else f"{x:.{digits}f}"  # NaN -> dash


def _table(header: list[str], body: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in body]


def _analytics(rows: list[dict[str, Any]]) -> list[str]:
    methods = sorted({r.get("method", "?") for r in rows})
    body = []
    for m in methods:
        items = [r for r in rows if r.get("method") == m]
        n = len(items)

        def per(key: str, items: list[dict[str, Any]] = items, n: int = n) -> float:
            return sum(float(r.get(key) or 0) for r in items) / n

        calls = sum(int(r.get("tool_calls") or 0) for r in items)
        errors = sum(int(r.get("tool_errors") or 0) for r in items)
        body.append([m, str(n), _fmt(per("tool_calls")), f"{errors} ({100 * errors / max(calls, 1):.0f}%)",
                     _fmt(per("model_calls")), _fmt(per("input_tokens"), 0), _fmt(per("output_tokens"), 0),
                     _fmt(per("substeps"))])
    lines = ["## Tool-call analytics", "", "Per method (means per trial):", ""]
    lines += _table(["method", "trials", "tool calls", "failed calls (share)", "model calls", "input tokens",
                     "output tokens", "substeps"], body)
    counts, errors = tool_counts(rows), tool_counts(rows, "tool_error_counts")
    if counts:
        per_method = {m: tool_counts([r for r in rows if r.get("method") == m]) for m in methods}
        lines += ["", "Per tool (calls over the run; failed = error_code != 0):", ""]
        lines += _table(["tool", "calls", "failed"] + methods,
                        [[name, str(n), str(errors.get(name, 0))] + [str(per_method[m].get(name, 0)) for m in methods]
                         for name, n in counts.items()])
    return lines + [""]


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
        lines += [f"- command: `{meta.get('command', '?')}`", f"- commit: {meta.get('commit', '?')}",
                  f"- machine: {meta.get('machine', '?')}" + (f"; {meta['load']} at start" if meta.get("load") else ""),
                  f"- started: {meta.get('started', '?')}; workers: {meta.get('workers', 1)}"
                  + (f"; Ray: {meta['ray']}" if meta.get("ray") else "")]
        if meta.get("elapsed_s"):
            lines.append(f"- last session: {meta.get('new_trials')} trials in {meta['elapsed_s']:.0f} s "
                         f"({meta.get('trials_per_hour')} trials/hour); {meta.get('load_at_end', '')} at end")
        lines.append("")
    statuses: dict[str, int] = defaultdict(int)
    for r in rows:
        statuses[r.get("status", "?")] += 1
    missing = planned_not_run(root, rows)
    lines += [f"{len(rows)} trials recorded; status: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
              + (f"; **{len(missing)} planned trials not run** (listed at the end)" if missing else ""), ""]
    missing_by_task: dict[str, int] = defaultdict(int)
    for trial_id in missing:
        missing_by_task[trial_id.split("__", 1)[0]] += 1

    def task_cell(task: str) -> str:
        return task + (f" (+{missing_by_task[task]} not run)" if missing_by_task.get(task) else "")

    lines += ["## Task progress (mean ± std over trials)", ""]
    lines += _table(["task"] + methods, [[task_cell(task)] + [
        f"{per[m]['progress_mean']:.1f} ± {per[m]['progress_std']:.1f} (n={per[m]['n']})" if m in per else "–"
        for m in methods] for task, per in summary.items()]
        + [[task, *(["not run"] * len(methods))] for task in sorted(missing_by_task) if task not in summary])
    lines += ["", "## Success rate and completion time (s, mean ± std over finished trials)", ""]
    lines += _table(["task"] + methods, [[task] + [
        f"{100 * per[m]['success_rate']:.0f}% / {_fmt(per[m]['time_mean'], 0)} ± {per[m]['time_std']:.0f} s"
        if m in per else "–" for m in methods] for task, per in summary.items()])
    grid = trial_grid_figure(rows, root / "figures" / "trial_grid.png")
    lines += ["", "## Trials", "", f"![trial grid]({grid.relative_to(root)})", ""]
    chains = evolution_rows(rows)
    if chains:
        fig = evolution_figure(evolution_curve(rows), root / "figures" / "evolution.png")
        lines += ["## Self-evolution", "", f"![evolution]({fig.relative_to(root)})", ""]
        for name, items in chains.items():
            lines += [f"### {name}", "", "progress by trial: " + " → ".join(
                f"{float(r.get('progress') or 0):.0f}" for r in items), ""]
            lines += _table(["trial", "progress", "success", "verdict", "time (s)", "reflection written after it"],
                            [[str(int(r.get("index") or 0) + 1), f"{float(r.get('progress') or 0):.0f}",
                              "yes" if r.get("success") else "no", str(r.get("verdict") or r.get("status")),
                              _fmt(float(r.get("wall_time_s") or 0), 0),
                              reflection_summary(r.get("reflection", "")).replace("|", "/")] for r in items])
            lines.append("")
    lines += _analytics(rows)
    if missing:
        lines += ["## Not run", "", f"{len(missing)} planned trials have no result yet (a re-run of the same command "
                  "runs only these):", ""] + [f"- {t}" for t in missing] + [""]
    md = root / "report.md"
    md.write_text("\n".join(lines))
    (root / "report.html").write_text(markdown_to_html("\n".join(lines), "Maestro evaluation report"))
    return md
