"""A Maestro stack (``maestro up <embodiment>``) in its own ROS domain, with an rclpy context joined to it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


class StackError(RuntimeError):
    """The stack did not come up or died."""


class Stack:
    """Starts ``maestro up`` for one embodiment on ``domain_id`` (loopback only) and joins that domain in-process."""

    def __init__(self, embodiment: str, domain_id: int, log_path: Path, overrides: list[str] | None = None,
                 ready_timeout: float = 180.0) -> None:
        self.embodiment = embodiment
        self.domain_id = domain_id
        self.log_path = log_path
        self.overrides = overrides or []
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.context: Any = None
        self.node: Any = None

    def env(self) -> dict[str, str]:
        """Environment of the stack processes."""
        env = dict(os.environ)
        env.update(ROS_DOMAIN_ID=str(self.domain_id), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", PYTHONUNBUFFERED="1")
        return env

    def start(self, task: str | None = None) -> None:
        """Start the stack and wait until it reports ready; raise :class:`StackError` otherwise."""
        cmd = [sys.executable, "-m", "maestro_bringup.cli", "up", self.embodiment]
        if task:
            cmd += ["--task", task]
        for item in self.overrides:
            cmd += ["--set", item]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            text = self.log_path.read_text(errors="replace")
            if "all nodes ready" in text:
                break
            if "NOT READY" in text or self.proc.poll() is not None:
                self.stop()
                raise StackError(f"stack '{self.embodiment}' failed to start; see {self.log_path}")
            time.sleep(0.5)
        else:
            self.stop()
            raise StackError(f"stack '{self.embodiment}' not ready after {self.ready_timeout:.0f} s; see {self.log_path}")
        self._join_domain()

    def _join_domain(self) -> None:
        import rclpy
        from rclpy.context import Context

        self.context = Context()
        rclpy.init(context=self.context, domain_id=self.domain_id)
        self.node = rclpy.create_node(f"maestro_eval_{os.getpid()}_{self.domain_id}", context=self.context)

    def alive(self) -> bool:
        """True while the launcher process runs."""
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """Leave the domain and stop every process of the stack."""
        if self.node is not None:
            self.node.destroy_node()
            self.node = None
        if self.context is not None:
            import rclpy

            if self.context.ok():
                rclpy.shutdown(context=self.context)
            self.context = None
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGINT)
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        self.proc = None
