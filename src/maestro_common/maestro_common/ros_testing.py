"""pytest fixtures and helpers for ROS 2 tests: isolated domains, in-process nodes, node processes.

Loaded as a pytest plugin by the repository's conftest.py. Every test process gets its own ``ROS_DOMAIN_ID``
(overridable with MAESTRO_TEST_DOMAIN_ID) and ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` before rclpy is
initialised, so parallel runs never see each other and DDS stays on loopback. The domain starts from the pid and is
claimed with an flock on ``$TMPDIR/maestro_test_domains/<id>.lock`` held for the life of the process: two test
processes whose pids are equal modulo 215 (likely with several engineers and CI running tests at once) do not share
a domain, where they would see each other's action servers and steal each other's goals.
"""
from __future__ import annotations

import fcntl
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

DOMAIN_COUNT = 215  # domains 1..215; 220-232 are reserved for the lead's evaluation runs
_held_domain_locks: list[IO[str]] = []


def claim_domain(start: int, lock_dir: Path) -> tuple[int, IO[str] | None]:
    """The first domain from ``1 + start % 215`` on whose lock file in ``lock_dir`` this call gets an exclusive flock.

    Returns the domain and the open lock file (keep it open to keep the claim; the OS drops it at exit). When no lock
    can be taken (lock directory unusable, all 215 taken) it falls back to ``1 + start % 215`` and None.
    """
    first = 1 + start % DOMAIN_COUNT
    try:
        lock_dir.mkdir(parents=True, exist_ok=True)
    except OSError:
        return first, None
    for k in range(DOMAIN_COUNT):
        domain = 1 + (start + k) % DOMAIN_COUNT
        try:
            handle = open(lock_dir / f"{domain}.lock", "a")
        except OSError:
            return first, None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        return domain, handle
    return first, None


def _claim_process_domain() -> int:
    if "MAESTRO_TEST_DOMAIN_ID" in os.environ:
        return int(os.environ["MAESTRO_TEST_DOMAIN_ID"])
    domain, handle = claim_domain(os.getpid(), Path(tempfile.gettempdir()) / "maestro_test_domains")
    if handle is not None:
        _held_domain_locks.append(handle)
    return domain


_process_domain = _claim_process_domain()


def isolated_domain_id() -> int:
    """A ROS domain id for this process (1..215), stable for the process and not used by another test process."""
    return _process_domain


def ros_test_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a child process that joins this test's isolated ROS domain on loopback."""
    env = dict(os.environ)
    env["ROS_DOMAIN_ID"] = str(isolated_domain_id())
    env["MAESTRO_TEST_DOMAIN_ID"] = str(isolated_domain_id())  # a child that loads these fixtures stays on it
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
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        from rclpy.executors import ExternalShutdownException

        try:
            # spin_once with a timeout instead of spin(): close() stops this loop *before* it shuts the executor's
            # thread pool down, so no callback is dispatched to a pool that is gone ("cannot schedule new futures
            # after shutdown", which ended the spin thread during teardown)
            while not self._stop.is_set():
                self.executor.spin_once(timeout_sec=0.1)
        except ExternalShutdownException:
            pass
        except BaseException as exc:  # kept; close() re-raises it in the test thread
            if not self._stop.is_set():
                self.error = exc

    def alive(self) -> bool:
        """True while the spin thread runs."""
        return self._thread.is_alive()

    def add(self, node: Any) -> Any:
        """Add ``node`` to the executor and return it."""
        self.executor.add_node(node)
        return node

    def close(self) -> None:
        """Stop spinning, wait for running callbacks, destroy the nodes (all before rclpy.shutdown).

        Raises RuntimeError when the spin thread had died before ``close()``: the test's futures could not complete.
        """
        nodes = list(self.executor.get_nodes())
        self._stop.set()
        self._thread.join(timeout=10.0)
        self.executor.shutdown(timeout_sec=2.0)
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
