"""The ``maestro`` command: one entry point for bringing up, checking and using a Maestro robot stack.

Subcommands provided by other packages (sim, perception, task, tools, ...) are loaded lazily, so ``maestro --help``
works even where an optional package is missing.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

from maestro_bringup import doctor, up

EPILOG = """examples:
  maestro up franka                         start the simulated Franka stack (Ctrl-C stops everything)
  maestro task "Put the tennis ball into the bowl."   let the agent do a task on the running stack
  maestro doctor                            check the installation (ROS, rendering, optional parts)
  maestro sim --embodiment franka --task put_ball_in_bowl --seed 3   render a scene to PNG files

Every command keeps ROS 2 traffic on this machine (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST) unless you set otherwise.
"""

# name -> (module, add-arguments function, run function, help)
LAZY_COMMANDS: dict[str, tuple[str, str, str, str]] = {
    "sim": ("maestro_sim.cli", "add_arguments", "run", "render a simulated task scene to PNG files"),
    "task": ("maestro_agent.cli", "add_task_arguments", "run_task", "send an instruction to the agent"),
    "tools": ("maestro_agent.cli", "add_tools_arguments", "run_tools", "list the tools the agent discovers"),
    "perception": ("maestro_perception.cli", "add_arguments", "run", "manage perception backends (use, list)"),
    "dashboard": ("maestro_dashboard.cli", "add_arguments", "run", "serve the live/replay dashboard on localhost"),
    "analyze": ("maestro_dashboard.analyze", "add_arguments", "run", "tool-call analytics over trial folders"),
    "eval": ("maestro_eval.cli", "add_arguments", "run", "run the STAR-Gen benchmark"),
}


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Callable[[argparse.Namespace], int]]]:
    """The argument parser and the run function of each available subcommand."""
    parser = argparse.ArgumentParser(
        prog="maestro", description="Maestro: a VLM coding agent that composes robot tools into closed-loop programs.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    runners: dict[str, Callable[[argparse.Namespace], int]] = {}
    p = sub.add_parser("up", help="bring up every node of an embodiment profile")
    up.add_arguments(p)
    runners["up"] = up.run
    p = sub.add_parser("doctor", help="check ROS, rendering and optional components")
    doctor.add_arguments(p)
    runners["doctor"] = doctor.run
    for name, (module, add_fn, run_fn, help_text) in LAZY_COMMANDS.items():
        try:
            mod = importlib.import_module(module)
            add, runner = getattr(mod, add_fn), getattr(mod, run_fn)
        except (ImportError, AttributeError):
            continue
        add(sub.add_parser(name, help=help_text))
        runners[name] = runner
    return parser, runners


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``maestro`` console script."""
    import os

    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    parser, runners = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    return int(runners[args.command](args) or 0)


if __name__ == "__main__":
    sys.exit(main())
