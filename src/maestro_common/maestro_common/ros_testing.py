"""pytest fixtures and helpers for ROS 2 tests: isolated domains, in-process nodes, node processes.

Loaded as a pytest plugin by the repository's conftest.py. Every test process gets its own ``ROS_DOMAIN_ID``
(derived from the pid, overridable with MAESTRO_TEST_DOMAIN_ID) and ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST``
before rclpy is initialised, so parallel runs never see each other and DDS stays on loopback.
"""
from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


def isolated_domain_id() -> int:
    """A ROS domain id for this process (1..215), stable for the process."""
    return int(os.environ.get("MAESTRO_TEST_DOMAIN_ID", 1 + os.getpid() % 215))


def ros_test_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a child process that joins this test's isolated ROS domain on loopback."""
    env = dict(os.environ)
    env["ROS_DOMAIN_ID"] = str(isolated_domain_id())
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("MUJOCO_GL", "egl")
    env.update(extra or {})
    return env


def _apply_isolation() -> None:
    os.environ["ROS_DOMAIN_ID"] = str(isolated_domain_id())
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    os.environ.setdefault("MUJOCO_GL", "egl")


_apply_isolation()
_names = itertools.count()


def unique_name(prefix: str = "test_node") -> str:
    """A node name unique within this test process."""
    return f"{prefix}_{os.getpid()}_{next(_names)}"


@pytest.fixture(scope="session")
def ros_domain() -> int:
    """The isolated ROS domain id of this test process."""
    return isolated_domain_id()


@pytest.fixture()
def ros_context(ros_domain: int) -> Iterator[Any]:
    """A fresh rclpy Context for one test, shut down afterwards."""
    import rclpy
    from rclpy.context import Context

    ctx = Context()
    rclpy.init(context=ctx)
    try:
        yield ctx
    finally:
        if ctx.ok():
            rclpy.shutdown(context=ctx)


class SpinningExecutor:
    """A MultiThreadedExecutor spinning in a background thread; add nodes, then ``close()``.

    If the spin thread dies with an exception, nothing of the nodes on it is processed any more (every later
    future stays "not done"); ``close()`` then raises with that exception so the test reports the real cause.
    """

    def __init__(self, context: Any, threads: int = 4) -> None:
        from rclpy.executors import MultiThreadedExecutor

        from maestro_common import rclpy_compat

        rclpy_compat.apply()
        self.error: BaseException | None = None
        self.executor = MultiThreadedExecutor(num_threads=threads, context=context)
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        from rclpy.executors import ExternalShutdownException

        try:
            self.executor.spin()
        except ExternalShutdownException:
            pass
        except BaseException as exc:  # kept; close() re-raises it in the test thread
            self.error = exc

    def alive(self) -> bool:
        """True while the spin thread runs."""
        return self._thread.is_alive()

    def add(self, node: Any) -> Any:
        """Add ``node`` to the executor and return it."""
        self.executor.add_node(node)
        return node

    def close(self) -> None:
        """Stop spinning and destroy the nodes (executors are shut down before rclpy.shutdown)."""
        nodes = list(self.executor.get_nodes())
        self.executor.shutdown(timeout_sec=2.0)
        self._thread.join(timeout=5.0)
        for node in nodes:
            node.destroy_node()
        if self.error is not None:
            raise RuntimeError(f"the executor thread died: {self.error!r}") from self.error


@pytest.fixture()
def spinning(ros_context: Any) -> Iterator[SpinningExecutor]:
    """An executor spinning in a thread for in-process nodes; nodes added to it are destroyed after the test."""
    ex = SpinningExecutor(ros_context)
    try:
        yield ex
    finally:
        ex.close()


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, period: float = 0.02) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass; return its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(period)
    return bool(predicate())


class NodeProcess:
    """A node (or any command) in its own process group on this test's ROS domain; always stopped by ``stop()``."""

    def __init__(self, cmd: list[str], env: dict[str, str] | None = None, log_path: Path | None = None) -> None:
        self.cmd = cmd
        self.log_path = log_path
        self._log = open(log_path, "w") if log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(cmd, env=ros_test_env(env), stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    @classmethod
    def python_module(cls, module: str, *args: str, **kwargs: Any) -> NodeProcess:
        """Run ``python -m module args...``."""
        return cls([sys.executable, "-m", module, *args], **kwargs)

    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> int:
        """SIGINT the process group, then SIGKILL after ``timeout``; return the exit code."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGINT)
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5.0)
            except ProcessLookupError:
                pass
        if self._log is not subprocess.DEVNULL:
            self._log.close()
        return int(self.proc.returncode)

    def log_text(self) -> str:
        """Everything the process wrote so far (when started with a log path)."""
        return self.log_path.read_text() if self.log_path and self.log_path.exists() else ""

    def __enter__(self) -> NodeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
