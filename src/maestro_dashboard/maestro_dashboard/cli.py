"""``maestro dashboard``: serve the live/replay dashboard on localhost.

Live mode follows the agent over ROS (/agent/events, cameras, joint states) and sends instructions through the
/agent/run_task action; replay shows any recorded trial folder. Both work at once: the page lists every trial under
``--runs`` and follows the live trial when the agent runs.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from maestro_dashboard.server import LOOPBACK_HOSTS, DashboardServer
from maestro_dashboard.store import TrialStore
from maestro_dashboard.trace import TRACE_FILE

DEFAULT_PORT = 8780


def default_runs() -> list[str]:
    """Folders searched for trials when --runs is not given: $MAESTRO_RUNS, else ./runs."""
    env = os.environ.get("MAESTRO_RUNS")
    return [env] if env else ["runs"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``maestro dashboard``."""
    parser.add_argument("--runs", action="append", metavar="DIR",
                        help="folder searched for trial folders (repeatable; default $MAESTRO_RUNS or ./runs)")
    parser.add_argument("--replay", metavar="TRIAL_DIR", help="open the page on this recorded trial folder")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT}; 0 = any free)")
    parser.add_argument("--host", default="127.0.0.1", choices=LOOPBACK_HOSTS,
                        help="loopback address to bind (the dashboard is never served on other interfaces)")
    parser.add_argument("--no-live", action="store_true", help="replay only: do not join the ROS graph")
    parser.add_argument("--events-topic", default="/agent/events", help="agent event topic (std_msgs/String JSON)")
    parser.add_argument("--camera-hz", type=float, default=2.0, help="live camera frames per second sent to the page")


def _start_live(server: DashboardServer, args: argparse.Namespace) -> tuple[Any, Any, threading.Thread] | None:
    try:
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
        from rclpy.signals import SignalHandlerOptions

        from maestro_dashboard.live import LiveBridge
    except ImportError as exc:
        print(f"warning: live mode unavailable ({exc}); serving replay only", file=sys.stderr)
        return None
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    ctx = Context()
    rclpy.init(context=ctx, signal_handler_options=SignalHandlerOptions.NO)
    node = LiveBridge(server.broadcast, events_topic=args.events_topic, camera_hz=args.camera_hz, context=ctx)
    executor = MultiThreadedExecutor(num_threads=4, context=ctx)
    executor.add_node(node)

    def spin() -> None:
        try:
            executor.spin()
        except ExternalShutdownException:
            pass

    thread = threading.Thread(target=spin, name="dashboard-ros", daemon=True)
    thread.start()
    server.live = node
    return ctx, executor, thread


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C; returns the exit code (2 on bad arguments)."""
    roots = args.runs or default_runs()
    store = TrialStore(roots)
    initial = ""
    if args.replay:
        trial = Path(args.replay)
        if not (trial / TRACE_FILE).is_file() and not (trial.is_file() and trial.suffix == ".jsonl"):
            print(f"error: {trial} is not a trial folder (no {TRACE_FILE} in it)", file=sys.stderr)
            return 2
        initial = store.add(trial.parent if trial.is_file() else trial)
    try:
        server = DashboardServer(store, host=args.host, port=args.port, initial_trial=initial)
        server.start()
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"error: cannot serve the dashboard: {exc}", file=sys.stderr)
        return 2
    live = None if args.no_live else _start_live(server, args)
    print(f"Maestro dashboard on {server.url}  ({'live + replay' if live else 'replay only'}; trials under "
          f"{', '.join(map(str, roots))})", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    finally:
        if live is not None:
            import rclpy

            ctx, executor, thread = live
            executor.shutdown(timeout_sec=2.0)
            thread.join(timeout=5.0)
            server.live.destroy_node()
            rclpy.shutdown(context=ctx)
        server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (``ros2 run maestro_dashboard dashboard`` / ``python -m maestro_dashboard.cli``)."""
    parser = argparse.ArgumentParser(prog="maestro dashboard", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
