"""``maestro eval``: run the STAR-Gen benchmark on the simulator, or write a report of a finished run."""
from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from pathlib import Path

from maestro_eval.report import write_report
from maestro_eval.results import ResultsStore
from maestro_eval.runner import default_results_dir, run_trials
from maestro_eval.suite import SUITES, TOOL_LEVELS, Method, build_trials
from maestro_eval.worker import RunSettings

ACTIONS = ("run", "report", "list", "export")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``maestro eval`` (``maestro eval report RESULTS`` writes a report)."""
    parser.add_argument("action", nargs="?", default="run", metavar="{run,report,list,export}",
                        help="run the benchmark (default; 'maestro eval RESULTS' also runs), 'report RESULTS', "
                             "'export RESULTS --out DIR' (LeRobot data set) or 'list' the trials without running")
    parser.add_argument("results", nargs="?", help="results folder (report: required; run: default runs/eval-<time>)")
    parser.add_argument("--suite", choices=sorted(SUITES), default="tabletop")
    parser.add_argument("--tasks", nargs="+", help="subset of the suite's task ids")
    parser.add_argument("--trials", default=None,
                        help="'base', 'base+N', 'all', an axis name (5 scenes), one scene 'pose-0', or a comma list "
                             "(default base+5; with --evolve: base)")
    parser.add_argument("--model", default="offline", help="model backend spec (offline, gemini-..., openai:...)")
    parser.add_argument("--tools", nargs="+", default=["S3"], choices=sorted(TOOL_LEVELS), help="tool levels")
    parser.add_argument("--harness", nargs="+", default=["on"], choices=["on", "off"], help="harness on/off (both = ablation)")
    parser.add_argument("--workers", type=int, default=1, help="parallel stacks, each in its own ROS domain")
    parser.add_argument("--ray", metavar="ADDRESS",
                        help="dispatch trials to a Ray cluster (one stack per Ray task, --workers at once); "
                             "'local' starts a private Ray instance bound to 127.0.0.1")
    parser.add_argument("--evolve", type=int, default=0, metavar="N",
                        help="self-evolution: N successive trials of each scene (default base) per task and method, "
                             "each seeing the reflections of the earlier ones")
    parser.add_argument("--evolve-control", action="store_true",
                        help="with --evolve: also run each chain's twin without reflections (same trials, run "
                             "alongside), to separate learning from run-to-run variation and code changes")
    parser.add_argument("--max-substeps", type=int, default=8)
    parser.add_argument("--trial-timeout", type=float, default=600.0, help="seconds before a trial is cancelled")
    parser.add_argument("--substep-timeout", type=float, default=120.0)
    parser.add_argument("--out", help="export: output folder of the LeRobot data set")


def _git_commit() -> str:
    """The workspace's git commit (``?`` outside a checkout)."""
    import subprocess

    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10,
                             cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return "?"
    return out.stdout.strip() or "?"


def _cpu_model() -> str:
    """CPU model name from /proc/cpuinfo (empty when unknown)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _load_text() -> str:
    """``uptime``-style load averages (the machine is shared; numbers need it)."""
    try:
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def run(args: argparse.Namespace) -> int:
    """Entry point of ``maestro eval``."""
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    if args.action not in ACTIONS:
        if args.results:
            print(f"maestro eval: unknown action {args.action!r} (choose from {list(ACTIONS)})", file=sys.stderr)
            return 2
        args.action, args.results = "run", args.action  # 'maestro eval RESULTS'
    if args.action == "report":
        if not args.results:
            print("maestro eval report: give the results folder", file=sys.stderr)
            return 2
        try:
            path = write_report(args.results)
        except ValueError as exc:
            print(f"maestro eval report: {exc}", file=sys.stderr)
            return 1
        print(f"report written: {path} (and report.html, figures/)")
        return 0
    if args.action == "export":
        from maestro_eval.lerobot_export import export_results

        if not args.results or not args.out:
            print("maestro eval export: give the results folder and --out DIR", file=sys.stderr)
            return 2
        n = export_results(Path(args.results), Path(args.out))
        print(f"exported {n} successful trial(s) to {args.out}")
        return 0
    methods = [Method(model=args.model, tools=t, harness=h == "on") for t in args.tools for h in args.harness]
    try:
        specs = build_trials(args.suite, args.tasks, args.trials, methods, evolve=args.evolve,
                             control=args.evolve_control)
    except ValueError as exc:
        print(f"maestro eval: {exc}", file=sys.stderr)
        return 2
    if args.action == "list":
        for s in specs:
            print(f"{s.trial_id}")
        print(f"{len(specs)} trials")
        return 0
    if args.workers < 1:
        print("maestro eval: --workers must be at least 1", file=sys.stderr)
        return 2
    root = Path(args.results) if args.results else default_results_dir()
    store = ResultsStore(root)
    settings = RunSettings(args.max_substeps, args.trial_timeout, args.substep_timeout)
    meta = {"command": "maestro eval " + shlex.join(sys.argv[2:] if len(sys.argv) > 2 else []),
            "machine": f"{platform.node()} {platform.machine()} {_cpu_model()}, {os.cpu_count()} cores",
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "trials": len(specs), "workers": args.workers,
            "ray": args.ray or "", "commit": _git_commit(), "load": _load_text(), "settings": vars(settings),
            "planned": [s.trial_id for s in specs]}
    store.write_meta(meta)
    skipped = len(store.finished_ids() & {s.trial_id for s in specs})
    print(f"[eval] {len(specs)} trials ({skipped} already finished, skipped) -> {root}; workers={args.workers}; "
          f"model={args.model}")
    t0 = time.monotonic()

    def show(row: dict) -> None:
        print(f"[eval] {row['trial_id']}: {row.get('status')} progress={float(row.get('progress') or 0):.0f} "
              f"({float(row.get('wall_time_s') or 0):.0f} s) {row.get('error') or ''}", flush=True)

    if args.ray:
        from maestro_eval.ray_dispatch import run_trials_ray

        try:
            rows = run_trials_ray(specs, store, args.ray, workers=args.workers, settings=settings, on_row=show)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            print(f"maestro eval: cannot use Ray at {args.ray!r}: {exc}", file=sys.stderr)
            return 1
    else:
        rows = run_trials(specs, store, workers=args.workers, max_substeps=settings.max_substeps,
                          trial_timeout=settings.trial_timeout, substep_timeout=settings.substep_timeout, on_row=show)
    elapsed = time.monotonic() - t0
    if rows:
        rate = 3600 * len(rows) / max(elapsed, 1e-6)
        print(f"[eval] {len(rows)} trials in {elapsed:.0f} s ({rate:.1f} trials/hour)")
        store.write_meta({**meta, "elapsed_s": round(elapsed, 1), "new_trials": len(rows),
                          "trials_per_hour": round(rate, 2), "load_at_end": _load_text()})
    if store.load():
        print(f"[eval] report: {write_report(root)}")
    return 0
