"""CLI subcommands of the agent: ``maestro task`` (send a RunTask goal, stream feedback) and ``maestro tools``.

The ``maestro`` entry point (maestro_bringup) wires them with :func:`add_task_arguments` / :func:`run_task` and
:func:`add_tools_arguments` / :func:`run_tools`; ``python -m maestro_agent.cli {task,tools} ...`` works too.
Exit codes of ``task``: 0 success (or TASK_COMPLETE without evaluation), 1 not successful, 2 no agent server,
130 cancelled with Ctrl-C.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from typing import Any, TextIO

BAR_WIDTH = 20


def add_task_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``maestro task``."""
    parser.add_argument("instruction", help="what the robot should do, e.g. 'Put the tennis ball into the bowl.'")
    parser.add_argument("--model", default="", help="'offline', 'gemini-<id>', 'openai:<model>', 'replay:<path>' "
                                                   "('' = the agent's default)")
    parser.add_argument("--max-substeps", type=int, default=0, help="substep budget (0 = 8)")
    parser.add_argument("--substep-timeout", type=float, default=0.0, help="seconds per substep (0 = 120)")
    parser.add_argument("--no-harness", action="store_true", help="atomic tools only (ablation)")
    parser.add_argument("--tools", default="", choices=["", "S0", "S1", "S2", "S3"],
                        help="tool level for the ablation ('' = every discovered tool)")
    parser.add_argument("--task", default="", help="simulated task id to score at the end")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--perturbation", default="")
    parser.add_argument("--server-timeout", type=float, default=15.0,
                        help="seconds to wait for /agent/run_task to appear")
    parser.add_argument("--quiet", action="store_true", help="no code listing, only progress and the result")


def add_tools_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``maestro tools``."""
    parser.add_argument("--wait", type=float, default=3.0, help="seconds to let discovery find the tools")
    parser.add_argument("--json", action="store_true", help="machine-readable list")
    parser.add_argument("--docs", action="store_true", help="print the full API docs the model reads")


class FeedbackPrinter:
    """Turns RunTask feedback into readable lines: progress bar, phase, new code, output tail."""

    def __init__(self, out: TextIO = sys.stdout, quiet: bool = False) -> None:
        self.out = out
        self.quiet = quiet
        self._last: tuple[Any, ...] = ()
        self._code = ""
        self._stdout = ""

    def __call__(self, fb: Any) -> None:
        """Print what changed since the previous feedback."""
        total = max(int(fb.max_substeps), 1)
        done = min(int(fb.substep), total)
        key = (fb.phase, fb.substep)
        if key != self._last:
            self._last = key
            bar = "#" * (BAR_WIDTH * done // total) + "-" * (BAR_WIDTH - BAR_WIDTH * done // total)
            subtask = ""
            if fb.subtasks:
                idx = min(max(int(fb.current_subtask), 0), len(fb.subtasks) - 1)
                subtask = f"  subtask {idx + 1}/{len(fb.subtasks)}: {fb.subtasks[idx]}"
            self.out.write(f"[{bar}] substep {fb.substep}/{fb.max_substeps}  {fb.phase}{subtask}\n")
        if fb.code and fb.code != self._code:
            self._code = fb.code
            if not self.quiet:
                self.out.write("".join(f"    | {line}\n" for line in fb.code.rstrip().splitlines()))
        if fb.stdout_tail and fb.stdout_tail != self._stdout:
            new = fb.stdout_tail[len(self._stdout):] if fb.stdout_tail.startswith(self._stdout) else fb.stdout_tail
            self._stdout = fb.stdout_tail
            if not self.quiet and new.strip():
                self.out.write("".join(f"    > {line}\n" for line in new.strip("\n").splitlines()))
        self.out.flush()


def _ros_env() -> None:
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")


def run_task(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Send a RunTask goal and stream its feedback; Ctrl-C cancels the task. Returns the exit code."""
    _ros_env()
    import rclpy
    from rclpy.action import ActionClient
    from rclpy.executors import SingleThreadedExecutor

    import maestro_common  # noqa: F401  (applies the rclpy ActionClient race fixes, see maestro_common.rclpy_compat)
    from maestro_interfaces.action import RunTask

    with rclpy.init():
        node = rclpy.create_node(f"maestro_task_cli_{os.getpid()}")
        # the client exists before the executor spins: rclpy 9.1.2 can crash a spinning executor on a new client
        client = ActionClient(node, RunTask, "/agent/run_task")
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        spin = threading.Thread(target=executor.spin, daemon=True)
        spin.start()
        try:
            if not client.wait_for_server(timeout_sec=args.server_timeout):
                out.write(f"no agent on /agent/run_task after {args.server_timeout:g} s; start it with "
                          "`maestro up` (or `ros2 run maestro_agent agent_node`).\n")
                return 2
            goal = RunTask.Goal()
            goal.instruction = args.instruction
            goal.model = args.model
            goal.max_substeps = args.max_substeps
            goal.substep_timeout = float(args.substep_timeout)
            goal.harness = not args.no_harness
            goal.task = args.task
            if hasattr(goal, "tools"):
                goal.tools = args.tools
            goal.seed = args.seed
            goal.perturbation = args.perturbation
            printer = FeedbackPrinter(out, args.quiet)
            fut = client.send_goal_async(goal, feedback_callback=lambda m: printer(m.feedback))
            while not fut.done():
                time.sleep(0.05)
            handle = fut.result()
            if handle is None or not handle.accepted:
                out.write("the agent rejected the goal\n")
                return 1
            result_fut = handle.get_result_async()
            interrupted = threading.Event()
            previous = signal.getsignal(signal.SIGINT)

            def on_sigint(_sig: int, _frame: Any) -> None:
                if interrupted.is_set():
                    raise KeyboardInterrupt
                interrupted.set()
                out.write("\ncancelling the task (Ctrl-C again to quit without waiting)...\n")
                handle.cancel_goal_async()

            signal.signal(signal.SIGINT, on_sigint)
            try:
                while not result_fut.done():
                    time.sleep(0.05)
            finally:
                signal.signal(signal.SIGINT, previous)
            res = result_fut.result().result
            out.write(format_result(res))
            if interrupted.is_set():
                return 130
            return 0 if (res.success or (res.verdict == "TASK_COMPLETE" and res.progress < 0)) else 1
        except KeyboardInterrupt:
            return 130
        finally:
            client.destroy()
            executor.shutdown(timeout_sec=2.0)
            spin.join(timeout=2.0)  # a spin thread still inside rcl at context shutdown aborts the process
            node.destroy_node()


def format_result(res: Any) -> str:
    """Readable summary of a RunTask result."""
    lines = [f"verdict: {res.verdict}   substeps: {res.substeps}"]
    lines.append(f"progress: {res.progress:g}" + (" (success)" if res.success else "") if res.progress >= 0
                 else "progress: not evaluated (no --task)")
    if res.error_code:
        lines.append(f"error {res.error_code}: {res.error_msg}")
    if res.trace_dir:
        lines.append(f"trace: {res.trace_dir}")
    return "\n".join(lines) + "\n"


def run_tools(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """List the tools discovered on the ROS graph with their signatures. Returns the exit code."""
    _ros_env()
    import rclpy

    from maestro_agent import stubgen
    from maestro_agent.registry import ToolRegistry

    with rclpy.init():
        node = rclpy.create_node(f"maestro_tools_cli_{os.getpid()}")
        try:
            registry = ToolRegistry(node)
            deadline = time.monotonic() + max(args.wait, 0.0)
            registry.refresh()
            while time.monotonic() < deadline:
                time.sleep(0.25)
                registry.refresh()
            tools = registry.tools()
            if args.json:
                out.write(json.dumps([{**t.spec.to_dict(), "wire_name": t.wire_name} for t in tools.values()],
                                     indent=2) + "\n")
            elif args.docs:
                out.write(stubgen.render_docs(registry.specs()))
            else:
                if not tools:
                    out.write("no tools found on the ROS graph (is `maestro up` running on this ROS_DOMAIN_ID?)\n")
                for t in tools.values():
                    out.write(f"{t.name}({stubgen._signature(t.spec)})\n")
                    out.write(f"    {t.kind} {t.wire_name} [{t.full_type}]: {t.spec.description}\n")
            return 0 if tools else 1
        finally:
            node.destroy_node()


def main(argv: list[str] | None = None) -> int:
    """``python -m maestro_agent.cli {task,tools} ...``."""
    parser = argparse.ArgumentParser(prog="maestro-agent")
    sub = parser.add_subparsers(dest="cmd", required=True)
    add_task_arguments(sub.add_parser("task", help="run an instruction on the agent"))
    add_tools_arguments(sub.add_parser("tools", help="list the discovered robot tools"))
    args = parser.parse_args(argv)
    return run_task(args) if args.cmd == "task" else run_tools(args)


if __name__ == "__main__":
    sys.exit(main())
