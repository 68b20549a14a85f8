"""``maestro perception ...`` subcommands (wired into the ``maestro`` CLI by maestro_bringup).

``maestro perception use yolo`` swaps the active backend through /perception/select_backend and prints the active
and available backends.

``maestro perception train --sim`` trains the yolo backend's detector: it renders a domain-randomised dataset from the
simulator (this venv), trains yolo11n-seg from scratch in the separate training venv ``.venv-train``
(``scripts/setup_training.sh``; a subprocess under ``nice -n 19``), exports ONNX and validates on held-out renders;
``--ship`` installs the result as the backend's default weights. See :mod:`maestro_perception.train_pipeline`.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading

__all__ = ["add_arguments", "run", "use_backend"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the perception subcommands to ``parser``."""
    sub = parser.add_subparsers(dest="perception_cmd", required=True)
    use = sub.add_parser("use", help="activate a perception backend (sim_gt, yolo, vlm_pointing)")
    use.add_argument("backend", help="backend name")
    use.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the manager (default 30)")
    from maestro_perception.train_pipeline import add_train_arguments

    train = sub.add_parser("train", help="render a sim dataset, train yolo11n-seg in .venv-train, export ONNX",
                           description="Render (simulator, this venv) -> fit yolo11n-seg from scratch (.venv-train "
                                       "subprocess, nice 19) -> ONNX export -> val on held-out renders [-> --ship].")
    add_train_arguments(train)


def run(args: argparse.Namespace) -> int:
    """Run the parsed subcommand; returns the process exit code."""
    if args.perception_cmd == "use":
        return use_backend(args.backend, timeout=args.timeout)
    if args.perception_cmd == "train":
        from maestro_perception.train_pipeline import run_train

        return run_train(args)
    print(f"unknown perception command {args.perception_cmd!r}", file=sys.stderr)
    return 2


def use_backend(name: str, timeout: float = 30.0) -> int:
    """Ask the perception manager to activate ``name``; print the outcome; 0 on success, 1 otherwise."""
    import rclpy
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor

    from maestro_interfaces.srv import SelectBackend

    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    ctx = Context()
    rclpy.init(context=ctx)
    node = rclpy.create_node(f"maestro_cli_perception_{os.getpid()}", context=ctx)
    executor = SingleThreadedExecutor(context=ctx)
    executor.add_node(node)
    spin = threading.Thread(target=executor.spin, daemon=True)
    spin.start()
    try:
        client = node.create_client(SelectBackend, "/perception/select_backend")
        if not client.wait_for_service(timeout_sec=min(timeout, 10.0)):
            print("perception manager not found (/perception/select_backend); is the stack up? (`maestro up`)",
                  file=sys.stderr)
            return 1
        done = threading.Event()
        future = client.call_async(SelectBackend.Request(backend=name))
        future.add_done_callback(lambda _f: done.set())
        if not done.wait(timeout):
            print(f"no answer from the perception manager within {timeout:.0f} s", file=sys.stderr)
            return 1
        res = future.result()
        if res.error_code != 0:
            print(f"error {res.error_code}: {res.error_msg} (active: {res.active_backend or 'none'}; available: "
                  f"{', '.join(res.available_backends)})", file=sys.stderr)
            return 1
        print(f"active perception backend: {res.active_backend} (available: {', '.join(res.available_backends)})")
        return 0
    finally:
        executor.shutdown(timeout_sec=2.0)
        node.destroy_node()
        rclpy.shutdown(context=ctx)


def main() -> int:
    """Stand-alone entry: ``python -m maestro_perception.cli use yolo``."""
    parser = argparse.ArgumentParser(prog="maestro perception")
    add_arguments(parser)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
