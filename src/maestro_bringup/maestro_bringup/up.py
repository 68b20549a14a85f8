"""``maestro up <embodiment>``: bring up every node of an embodiment profile (pip path launcher)."""
from __future__ import annotations

import argparse
import os
import signal
import threading
import time
from typing import Any

from maestro_bringup.launcher import Launcher, node_command, wait_for_services
from maestro_common.profiles import available_profiles, load_profile


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``maestro up``."""
    parser.add_argument("embodiment", help=f"profile name ({', '.join(available_profiles())}) or a YAML path")
    parser.add_argument("--real", action="store_true", help="real robot: skip the simulator (sim_only nodes)")
    parser.add_argument("--only", nargs="+", metavar="NODE", help="start only these profile nodes")
    parser.add_argument("--skip", nargs="+", metavar="NODE", default=[], help="do not start these profile nodes")
    parser.add_argument("--task", help="simulated task to load (sim parameter)")
    parser.add_argument("--seed", type=int, help="scene seed (sim parameter)")
    parser.add_argument("--set", action="append", default=[], metavar="NODE.PARAM=VALUE",
                        help="override a node parameter, e.g. --set control.planner=ompl")
    parser.add_argument("--ready-timeout", type=float, default=120.0, help="seconds to wait for the ready services")
    parser.add_argument("--exit-when-ready", action="store_true",
                        help="smoke check: exit 0 once every ready service answers (non-zero if not), stopping nodes")
    parser.add_argument("--no-restart", action="store_true", help="do not restart crashed nodes")
    parser.add_argument("--foxglove", action="store_true",
                        help="also start a Foxglove bridge on localhost (maestro_dashboard.foxglove_bridge)")


def _overrides(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in args.set:
        key, _, value = item.partition("=")
        node, _, param = key.partition(".")
        if not node or not param or not _:
            raise SystemExit(f"--set expects NODE.PARAM=VALUE, got '{item}'")
        out.setdefault(node, {})[param] = value
    if args.task:
        out.setdefault("sim", {})["task"] = args.task
    if args.seed is not None:
        out.setdefault("sim", {})["seed"] = args.seed
    return out


def plan_processes(profile: dict[str, Any], args: argparse.Namespace) -> tuple[list[tuple[str, list[str]]], list[str]]:
    """(name, command) of every node to start, and the names skipped because their executable is not installed."""
    overrides = _overrides(args)
    procs, missing = [], []
    for spec in profile["nodes"]:
        name = spec["name"]
        if (args.only and name not in args.only) or name in args.skip or (args.real and spec.get("sim_only")):
            continue
        cmd = node_command(spec, profile["_path"], overrides.get(name))
        if cmd is None:
            missing.append(f"{name} ({spec['package']}/{spec['executable']})")
        else:
            procs.append((name, cmd))
    if getattr(args, "foxglove", False):
        import importlib.util
        import sys

        if importlib.util.find_spec("maestro_dashboard.foxglove_bridge") is None:
            missing.append("foxglove bridge (maestro_dashboard.foxglove_bridge)")
        else:
            procs.append(("foxglove", [sys.executable, "-m", "maestro_dashboard.foxglove_bridge"]))
    return procs, missing


def run(args: argparse.Namespace) -> int:
    """Run ``maestro up``; returns the exit code."""
    profile = load_profile(args.embodiment)
    procs, missing = plan_processes(profile, args)
    launcher = Launcher(procs, restart=not args.no_restart)
    for m in missing:
        launcher.log("maestro", f"not installed, skipped: {m}")
    if not procs:
        launcher.log("maestro", "no node to start")
        return 1
    launcher.log("maestro", f"embodiment '{profile['embodiment']}', ROS_DOMAIN_ID={os.environ.get('ROS_DOMAIN_ID', '0')}"
                 f", discovery range {os.environ.get('ROS_AUTOMATIC_DISCOVERY_RANGE', 'SUBNET')}")
    signal.signal(signal.SIGINT, lambda *_: launcher.request_stop())
    signal.signal(signal.SIGTERM, lambda *_: launcher.request_stop())
    launcher.start()
    started = {name for name, _ in procs}
    ready = [s for s in profile.get("ready_services", []) if _service_owner_started(s, profile, started)]
    result: dict[str, Any] = {}
    stop_event = threading.Event()

    def watch_ready() -> None:
        t0 = time.monotonic()
        result["missing"] = wait_for_services(ready, args.ready_timeout, stop_event)
        if result["missing"]:
            launcher.log("maestro", f"NOT READY after {args.ready_timeout:.0f} s: missing {result['missing']}")
        else:
            launcher.log("maestro", f"all nodes ready in {time.monotonic() - t0:.1f} s ({len(procs)} processes)")
        result["done"] = True

    watcher = threading.Thread(target=watch_ready, daemon=True)
    watcher.start()
    try:
        launcher.run(until=(lambda: bool(result.get("done"))) if args.exit_when_ready else None)
    finally:
        stop_event.set()
        codes = launcher.stop()
        watcher.join(timeout=5.0)
        launcher.log("maestro", "stopped: " + ", ".join(f"{n}={c}" for n, c in codes.items()))
    if args.exit_when_ready:
        return 0 if result.get("done") and not result.get("missing") else 1
    return 0


def _service_owner_started(service: str, profile: dict[str, Any], started: set[str]) -> bool:
    """Whether the node that serves ``service`` (by namespace convention) is among the started nodes."""
    owners = {"/sim/": "sim", "/control/": "control", "/grasp/": "grasp", "/perception/": "perception_manager",
              "/agent/": "agent"}
    for prefix, node in owners.items():
        if service.startswith(prefix):
            return node in started or (node == "perception_manager" and any(s.startswith("perception") for s in started))
    return True
