"""The pip-mode launcher behind ``maestro up``: one process per node of an embodiment profile.

It prefixes and forwards each node's log lines, restarts a node that crashes (exponential back-off), reports when the
profile's ready services answer on the graph, and on Ctrl-C/SIGTERM stops every node (SIGINT, then SIGTERM, then
SIGKILL) so that no process outlives it. Children also get PR_SET_PDEATHSIG, so they die even if the launcher is killed.
"""
from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

_COLORS = ["\033[36m", "\033[32m", "\033[35m", "\033[33m", "\033[34m", "\033[31m", "\033[96m", "\033[92m"]
_RESET = "\033[0m"


def _set_parent_death_signal() -> None:
    """In the child: get SIGTERM when the launcher dies (Linux prctl PR_SET_PDEATHSIG)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)
    except OSError:
        pass


def find_executable(package: str, executable: str) -> Path | None:
    """Path of a node executable installed by colcon (``<prefix>/lib/<package>/<executable>``), else None."""
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_prefix
    except ImportError:
        return None
    try:
        prefix = Path(get_package_prefix(package))
    except (PackageNotFoundError, ValueError):
        return None
    path = prefix / "lib" / package / executable
    return path if path.is_file() and os.access(path, os.X_OK) else None


def _format_param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_format_param(v) for v in value) + "]"
    return str(value)


def node_command(spec: dict[str, Any], profile_name: str, overrides: dict[str, Any] | None = None) -> list[str] | None:
    """Command line of one profile node (None when its executable is not installed)."""
    exe = find_executable(spec["package"], spec["executable"])
    if exe is None:
        return None
    params = {"profile": profile_name, **(spec.get("parameters") or {}), **(overrides or {})}
    cmd = [sys.executable, str(exe)] if exe.read_bytes()[:2] == b"#!" else [str(exe)]
    cmd += ["--ros-args", "-r", f"__node:={spec['name']}"]
    for key, value in params.items():
        cmd += ["-p", f"{key}:={_format_param(value)}"]
    return cmd


@dataclass
class ManagedProcess:
    """One supervised node process."""

    name: str
    cmd: list[str]
    color: str
    restarts: int = 0
    proc: subprocess.Popen[str] | None = None
    next_start: float = 0.0
    backoff: float = 1.0
    started_at: float = 0.0
    reader: threading.Thread | None = field(default=None, repr=False)


class Launcher:
    """Start, supervise and stop the nodes of a profile."""

    def __init__(self, processes: list[tuple[str, list[str]]], env: dict[str, str] | None = None,
                 out: TextIO | None = None, restart: bool = True, max_backoff: float = 30.0) -> None:
        self.env = {**os.environ, **(env or {})}
        self.env.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
        self.env["PYTHONUNBUFFERED"] = "1"
        self.out = out or sys.stdout
        self.restart = restart
        self.max_backoff = max_backoff
        self.procs = [ManagedProcess(n, c, _COLORS[i % len(_COLORS)]) for i, (n, c) in enumerate(processes)]
        self._stopping = threading.Event()
        self._print_lock = threading.Lock()

    def log(self, name: str, line: str, color: str = "\033[1m") -> None:
        """Print one prefixed line."""
        tty = hasattr(self.out, "isatty") and self.out.isatty()
        prefix = f"{color}[{name}]{_RESET}" if tty else f"[{name}]"
        with self._print_lock:
            self.out.write(f"{prefix} {line.rstrip()}\n")
            self.out.flush()

    def _forward(self, mp: ManagedProcess) -> None:
        assert mp.proc is not None and mp.proc.stdout is not None
        for line in mp.proc.stdout:
            self.log(mp.name, line, mp.color)

    def _start(self, mp: ManagedProcess) -> None:
        mp.proc = subprocess.Popen(mp.cmd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   start_new_session=True, preexec_fn=_set_parent_death_signal)
        mp.started_at = time.monotonic()
        mp.reader = threading.Thread(target=self._forward, args=(mp,), daemon=True)
        mp.reader.start()
        self.log("maestro", f"started {mp.name} (pid {mp.proc.pid})")

    def start(self) -> None:
        """Start every process."""
        for mp in self.procs:
            self._start(mp)

    def pids(self) -> dict[str, int]:
        """Current pid of each running process."""
        return {mp.name: mp.proc.pid for mp in self.procs if mp.proc and mp.proc.poll() is None}

    def poll(self) -> None:
        """Restart crashed processes with exponential back-off (call periodically)."""
        now = time.monotonic()
        for mp in self.procs:
            if mp.proc is None or self._stopping.is_set():
                continue
            code = mp.proc.poll()
            if code is None:
                if now - mp.started_at > 60.0:
                    mp.backoff = 1.0  # ran long enough: reset the back-off
                continue
            if not self.restart:
                continue
            if mp.next_start == 0.0:
                mp.next_start = now + mp.backoff
                self.log("maestro", f"{mp.name} exited with code {code}; restarting in {mp.backoff:.0f} s")
                mp.backoff = min(mp.backoff * 2.0, self.max_backoff)
            elif now >= mp.next_start:
                mp.next_start = 0.0
                mp.restarts += 1
                self._start(mp)

    def run(self, until: Callable[[], bool] | None = None, period: float = 0.2) -> None:
        """Supervise until ``until()`` is true or a stop is requested."""
        while not self._stopping.is_set() and not (until and until()):
            self.poll()
            self._stopping.wait(period)

    def request_stop(self) -> None:
        """Ask :meth:`run` to return (safe from a signal handler)."""
        self._stopping.set()

    def stop(self, grace: float = 8.0) -> dict[str, int]:
        """Stop every process: SIGINT, then SIGTERM, then SIGKILL; return exit codes by name."""
        self._stopping.set()
        live = [mp for mp in self.procs if mp.proc and mp.proc.poll() is None]
        for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
            for mp in live:
                try:
                    os.killpg(mp.proc.pid, sig)  # type: ignore[union-attr]
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and any(mp.proc.poll() is None for mp in live):  # type: ignore[union-attr]
                time.sleep(0.05)
            live = [mp for mp in live if mp.proc.poll() is None]  # type: ignore[union-attr]
            if not live:
                break
        for mp in self.procs:
            if mp.reader:
                mp.reader.join(timeout=2.0)
        return {mp.name: (mp.proc.returncode if mp.proc else 0) for mp in self.procs}  # type: ignore[misc]


def wait_for_services(names: list[str], timeout: float, stop: threading.Event | None = None) -> list[str]:
    """Wait until every service in ``names`` is on the ROS graph; return the ones still missing."""
    if not names:
        return []
    import rclpy
    from rclpy.context import Context

    ctx = Context()
    rclpy.init(context=ctx)
    node = rclpy.create_node(f"maestro_launcher_probe_{os.getpid()}", context=ctx)
    try:
        deadline = time.monotonic() + timeout
        missing = list(names)
        while time.monotonic() < deadline and not (stop and stop.is_set()):
            available = {n for n, _ in node.get_service_names_and_types()}
            missing = [n for n in names if n not in available]
            if not missing:
                break
            time.sleep(0.3)
        return missing
    finally:
        node.destroy_node()
        rclpy.shutdown(context=ctx)


def bwrap_available() -> bool:
    """True when bubblewrap is on PATH."""
    return shutil.which("bwrap") is not None
