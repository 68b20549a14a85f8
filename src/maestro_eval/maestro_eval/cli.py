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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``maestro eval`` (``maestro eval report RESULTS`` writes a report)."""
    parser.add_argument("action", nargs="?", default="run", choices=["run", "report", "list", "export"],
                        help="run the benchmark (default), 'report RESULTS', 'export RESULTS --out DIR' (LeRobot data set) "
                             "or 'list' the trials without running")
    parser.add_argument("results", nargs="?", help="results folder (report: required; run: default runs/eval-<time>)")
    parser.add_argument("--suite", choices=sorted(SUITES), default="tabletop")
    parser.add_argument("--tasks", nargs="+", help="subset of the suite's task ids")
    parser.add_argument("--trials", default="base+5", help="'base', 'base+N', 'all', or one axis name")
    parser.add_argument("--model", default="offline", help="model backend spec (offline, gemini-..., openai:...)")
    parser.add_argument("--tools", nargs="+", default=["S3"], choices=sorted(TOOL_LEVELS), help="tool levels")
    parser.add_argument("--harness", nargs="+", default=["on"], choices=["on", "off"], help="harness on/off (both = ablation)")
    parser.add_argument("--workers", type=int, default=1, help="parallel stacks, each in its own ROS domain")
    parser.add_argument("--evolve", type=int, default=0, metavar="N",
                        help="self-evolution: N successive base trials per task, reflections carried between trials")
    parser.add_argument("--max-substeps", type=int, default=8)
    parser.add_argument("--trial-timeout", type=float, default=600.0, help="seconds before a trial is cancelled")
    parser.add_argument("--substep-timeout", type=float, default=120.0)
    parser.add_argument("--out", help="export: output folder of the LeRobot data set")


def run(args: argparse.Namespace) -> int:
    """Entry point of ``maestro eval``."""
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
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
        specs = build_trials(args.suite, args.tasks, args.trials, methods, evolve=args.evolve)
    except ValueError as exc:
        print(f"maestro eval: {exc}", file=sys.stderr)
        return 2
    if args.action == "list":
        for s in specs:
            print(f"{s.trial_id}")
        print(f"{len(specs)} trials")
        return 0
    root = Path(args.results) if args.results else default_results_dir()
    store = ResultsStore(root)
    store.write_meta({"command": "maestro eval " + shlex.join(sys.argv[2:] if len(sys.argv) > 2 else []),
                      "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores",
                      "started": time.strftime("%Y-%m-%d %H:%M:%S"), "trials": len(specs)})
    skipped = len(store.finished_ids() & {s.trial_id for s in specs})
    print(f"[eval] {len(specs)} trials ({skipped} already finished, skipped) -> {root}; workers={args.workers}; "
          f"model={args.model}")
    overrides = [f"agent.history_dir={(root / 'history').resolve()}"]
    if not args.evolve:
        overrides.append("agent.use_history=false")
    t0 = time.monotonic()

    def show(row: dict) -> None:
        print(f"[eval] {row['trial_id']}: {row.get('status')} progress={float(row.get('progress') or 0):.0f} "
              f"({float(row.get('wall_time_s') or 0):.0f} s) {row.get('error') or ''}", flush=True)

    rows = run_trials(specs, store, workers=args.workers, max_substeps=args.max_substeps,
                      trial_timeout=args.trial_timeout, substep_timeout=args.substep_timeout,
                      stack_overrides=overrides, on_row=show)
    elapsed = time.monotonic() - t0
    if rows:
        print(f"[eval] {len(rows)} trials in {elapsed:.0f} s ({3600 * len(rows) / max(elapsed, 1e-6):.1f} trials/hour)")
    if store.load():
        print(f"[eval] report: {write_report(root)}")
    return 0
