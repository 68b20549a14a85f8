"""Parent side of the sandbox: start, talk to, time-limit and kill the child interpreter.

The child (:mod:`sbx_child`) runs under bubblewrap when it works here (``--unshare-net --unshare-pid
--die-with-parent``, read-only binds of the Python install, the venv and the sandbox runtime, a writable scratch
folder, nothing else of the file system), with rlimits on CPU time, address space, file size and open files. Where
user namespaces are not allowed, the fallback runs the same child with rlimits + the AST/import checks only and logs a
loud warning: that is not isolation.

One :class:`SandboxProcess` serves one task: variables persist across :meth:`execute` calls; after a timeout, a
crash or a cancel the child is killed, the outcome is reported in the :class:`ExecResult`, and the next call starts a
fresh child (variables are lost; the result says so).
"""
from __future__ import annotations

import logging
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maestro_agent import rpc

LOG = logging.getLogger("maestro_agent.sandbox")
SANDBOX_DIR = Path(__file__).resolve().parent
RPC_PATH = Path(rpc.__file__).resolve()

_BWRAP_OK: bool | None = None
_BWRAP_LOCK = threading.Lock()


@dataclass
class SandboxConfig:
    """Limits and mode of the sandbox child."""

    mode: str = "auto"                 # "auto" (bwrap if it works), "bwrap", "fallback"
    cpu_limit_s: int = 600             # RLIMIT_CPU of one child (cumulative over its substeps)
    memory_limit_mb: int = 2048        # RLIMIT_AS
    file_limit_mb: int = 128           # RLIMIT_FSIZE (scratch writes)
    max_open_files: int = 128          # RLIMIT_NOFILE
    startup_timeout_s: float = 20.0
    scratch_dir: str | None = None     # None = a fresh temporary folder, removed at close()
    python: str = sys.executable
    stderr_cap: int = 20_000


@dataclass
class ExecResult:
    """Outcome of one substep of code."""

    ok: bool
    stdout: str = ""
    error: str | None = None
    timed_out: bool = False
    crashed: bool = False
    cancelled: bool = False
    duration_s: float = 0.0
    stdout_truncated: bool = False
    line_events: int = 0
    restarted: bool = False            # this substep ran in a fresh child (earlier variables are gone)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for traces."""
        return dict(self.__dict__)


def bwrap_available(python: str = sys.executable) -> bool:
    """True when bubblewrap is installed and can create the namespaces we need (checked once)."""
    global _BWRAP_OK
    with _BWRAP_LOCK:
        if _BWRAP_OK is None:
            exe = shutil.which("bwrap")
            if exe is None:
                _BWRAP_OK = False
            else:
                try:
                    cmd = [exe, "--unshare-net", "--unshare-pid", "--die-with-parent", "--ro-bind", "/", "/", "true"]
                    _BWRAP_OK = subprocess.run(cmd, capture_output=True, timeout=10).returncode == 0
                except (OSError, subprocess.SubprocessError):
                    _BWRAP_OK = False
        return _BWRAP_OK


def _ro_roots(python: str) -> list[str]:
    """Folders the child must read: the Python install, the venv, system libraries."""
    roots = {sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(python))}
    out = []
    for r in sorted(roots):
        real = os.path.realpath(r)
        if real not in out:
            out.append(real)
        if r not in out:
            out.append(r)
    return out


def build_command(config: SandboxConfig, scratch: str, use_bwrap: bool,
                  python_args: list[str] | None = None) -> list[str]:
    """The argv that starts the child (under bwrap or plain); ``python_args`` replaces the child script (tests)."""
    child_args = ["-I", "-u"]
    if not use_bwrap:
        tail = python_args or [str(SANDBOX_DIR / "sbx_child.py"), "--rpc", str(RPC_PATH), "--scratch", scratch]
        return [config.python, *child_args, *tail]
    box = "/opt/maestro_sandbox"
    cmd = [shutil.which("bwrap") or "bwrap", "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
           "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv",
           "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/scratch", "--setenv", "LANG", "C.UTF-8",
           "--setenv", "OMP_NUM_THREADS", "1", "--setenv", "OPENBLAS_NUM_THREADS", "1",
           "--setenv", "PYTHONDONTWRITEBYTECODE", "1"]
    # /tmp, /proc and /dev first: later binds land on top, so a checkout or venv under /tmp stays visible.
    cmd += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for path in ("/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc/ld.so.cache", "/etc/alternatives"):
        if os.path.lexists(path):
            cmd += ["--ro-bind-try", path, path] if not os.path.islink(path) else ["--symlink", os.readlink(path),
                                                                                    path]
    for root in _ro_roots(config.python):
        if not root.startswith("/usr/"):
            cmd += ["--ro-bind", root, root]
    cmd += ["--ro-bind", str(SANDBOX_DIR), box, "--ro-bind", str(RPC_PATH), "/opt/maestro_rpc.py",
            "--bind", scratch, "/scratch", "--chdir", "/scratch"]
    tail = python_args or [f"{box}/sbx_child.py", "--rpc", "/opt/maestro_rpc.py", "--scratch", "/scratch"]
    cmd += [config.python, *child_args, *tail]
    return cmd


def _limits(config: SandboxConfig) -> Callable[[], None]:
    def apply() -> None:
        mib = 1024 * 1024
        resource.setrlimit(resource.RLIMIT_CPU, (config.cpu_limit_s, config.cpu_limit_s + 5))
        resource.setrlimit(resource.RLIMIT_AS, (config.memory_limit_mb * mib, config.memory_limit_mb * mib))
        resource.setrlimit(resource.RLIMIT_FSIZE, (config.file_limit_mb * mib, config.file_limit_mb * mib))
        resource.setrlimit(resource.RLIMIT_NOFILE, (config.max_open_files, config.max_open_files))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


class SandboxError(RuntimeError):
    """The child could not be started or initialised."""


class SandboxProcess:
    """A persistent sandboxed interpreter for one task (see the module docstring).

    ``handler(method, params)`` answers the child's requests (``call_tool``, ``start_tool``, ``handle_*``) and runs
    in a worker thread; ``on_event(method, params)`` receives notifications (``stdout``, ``line``, ``observe``).
    """

    def __init__(self, handler: Callable[[str, dict[str, Any]], Any],
                 on_event: Callable[[str, dict[str, Any]], None] | None = None,
                 config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self._handler = handler
        self._on_event = on_event
        self._lock = threading.RLock()
        self._proc: subprocess.Popen | None = None
        self._endpoint: rpc.JsonRpcEndpoint | None = None
        self._stderr: list[bytes] = []
        self._stderr_thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._kill_reason: str | None = None
        self._init_params: dict[str, Any] = {"stubs": "TOOLS = ()\n", "harness": None, "profile": {}}
        self._init_info: dict[str, Any] = {}
        self._own_scratch = self.config.scratch_dir is None
        self.scratch = self.config.scratch_dir or tempfile.mkdtemp(prefix="maestro_scratch_")
        os.makedirs(self.scratch, exist_ok=True)
        mode = self.config.mode
        if mode == "auto":
            mode = "bwrap" if bwrap_available(self.config.python) else "fallback"
        if mode == "bwrap" and not bwrap_available(self.config.python):
            raise SandboxError("bubblewrap was requested but does not work here (is `bwrap` installed and are user "
                               "namespaces allowed?); use mode='fallback' or 'auto'")
        self.mode = mode
        if mode == "fallback":
            LOG.warning("SANDBOX FALLBACK: bubblewrap is not available, model code runs WITHOUT namespace isolation "
                        "(only rlimits + import/AST checks). Install bubblewrap or allow user namespaces.")
        self.children_started = 0
        self._stream_tail: dict[int, str] = {}

    # -- lifecycle ------------------------------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        """True while a child is running."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """Pid of the current child's process (bwrap's when isolated)."""
        return self._proc.pid if self._proc is not None else None

    def configure(self, stubs: str, harness: str | None = None, profile: dict[str, Any] | None = None) -> dict:
        """Set the stub module (and harness skills); applied now if a child runs, else at its start."""
        with self._lock:
            self._init_params = {"stubs": stubs, "harness": harness, "profile": profile or {}}
            if self.alive:
                return self._init()
            return {}

    def start(self) -> dict[str, Any]:
        """Start a fresh child (killing any old one) and initialise it; returns {tools, skills}."""
        with self._lock:
            self._kill("restart")
            use_bwrap = self.mode == "bwrap"
            cmd = build_command(self.config, self.scratch, use_bwrap)
            env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1", "HOME": self.scratch,
                   "PYTHONDONTWRITEBYTECODE": "1"}
            self._ready.clear()
            self._kill_reason = None
            self._stderr = []
            try:
                self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                              stderr=subprocess.PIPE, env=env, cwd=self.scratch,
                                              start_new_session=True, preexec_fn=_limits(self.config),
                                              close_fds=True)
            except OSError as exc:
                raise SandboxError(f"could not start the sandbox child: {exc}") from exc
            self.children_started += 1
            self._endpoint = rpc.JsonRpcEndpoint(self._proc.stdout, self._proc.stdin, handler=self._handler,
                                                 on_notification=self._notification, name="sandbox")
            self._stderr_thread = threading.Thread(target=self._drain_stderr, args=(self._proc,), daemon=True)
            self._stderr_thread.start()
            if not self._ready.wait(self.config.startup_timeout_s):
                err = self.stderr_tail()
                self._kill("startup timeout")
                raise SandboxError(f"the sandbox child did not start within {self.config.startup_timeout_s} s: {err}")
            return self._init()

    def _init(self) -> dict[str, Any]:
        assert self._endpoint is not None
        try:
            self._init_info = self._endpoint.request("init", self._init_params, timeout=self.config.startup_timeout_s)
        except rpc.RpcError as exc:
            raise SandboxError(f"could not load the tool stubs into the sandbox: {exc.message}") from exc
        return self._init_info

    def close(self) -> None:
        """Stop the child and remove a temporary scratch folder."""
        with self._lock:
            if self.alive and self._endpoint is not None:
                try:
                    self._endpoint.request("shutdown", {}, timeout=2.0)
                except rpc.RpcError:
                    pass
            self._kill("closed")
            if self._own_scratch:
                shutil.rmtree(self.scratch, ignore_errors=True)

    def cancel(self, reason: str = "cancelled") -> None:
        """Kill the running code now (from any thread); the running execute() returns cancelled."""
        self._kill(reason)

    def _kill(self, reason: str) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            self._kill_reason = reason
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        if self._endpoint is not None:
            self._endpoint.close()
        for stream in (proc.stdin, proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        if self._stderr_thread is not None:
            self._stderr_thread.join(timeout=1.0)

    # -- execution ------------------------------------------------------------------------------------------
    def execute(self, code: str, substep: int, timeout: float) -> ExecResult:
        """Run ``code`` as substep ``substep`` with a wall-time limit; never raises for model-code problems."""
        restarted = False
        t0 = time.monotonic()
        if not self.alive:
            try:
                restarted = self.children_started > 0
                self.start()
            except SandboxError as exc:
                return ExecResult(ok=False, error=f"SandboxError: {exc}", crashed=True, restarted=restarted,
                                  duration_s=time.monotonic() - t0)
        endpoint = self._endpoint
        assert endpoint is not None
        fut = endpoint.request_async("exec", {"code": code, "substep": substep,
                                              "filename": f"<substep-{substep}>"})
        try:
            res = fut.result(timeout=timeout if timeout and timeout > 0 else None)
        except TimeoutError:
            self._kill("timeout")
            return ExecResult(ok=False, timed_out=True, restarted=restarted, duration_s=time.monotonic() - t0,
                              stdout=self._stream_tail.get(substep, ""),
                              error=(f"TimeoutError: the code did not finish within {timeout:g} s and was stopped; "
                                     "robot motions started by it were cancelled. Variables from earlier substeps "
                                     "are lost (a fresh interpreter runs the next substep). Split long work into "
                                     "shorter substeps or use smaller timeouts in tool calls."))
        except rpc.RpcError as exc:
            reason = self._kill_reason
            code_ = self._proc.poll() if self._proc is not None else None
            self._kill(reason or "crashed")
            duration = time.monotonic() - t0
            stdout = self._stream_tail.get(substep, "")
            if reason not in (None, "crashed", "restart"):
                return ExecResult(ok=False, cancelled=True, restarted=restarted, duration_s=duration, stdout=stdout,
                                  error=f"Cancelled: the code was stopped ({reason}).")
            why = _describe_exit(code_)
            return ExecResult(ok=False, crashed=True, restarted=restarted, duration_s=duration, stdout=stdout,
                              error=(f"SandboxCrash: the interpreter died ({why}; {exc.message}). stderr tail: "
                                     f"{self.stderr_tail(2000)!r}. Variables from earlier substeps are lost; a fresh "
                                     "interpreter runs the next substep."))
        return ExecResult(ok=bool(res.get("ok")), stdout=str(res.get("stdout", "")), error=res.get("error"),
                          stdout_truncated=bool(res.get("stdout_truncated")),
                          line_events=int(res.get("line_events", 0)), restarted=restarted,
                          duration_s=time.monotonic() - t0)

    # -- child output ---------------------------------------------------------------------------------------

    def _notification(self, method: str, params: dict[str, Any]) -> None:
        if method == "ready":
            self._ready.set()
            return
        if method == "stdout":
            sub = int(params.get("substep", 0))
            tail = (self._stream_tail.get(sub, "") + str(params.get("text", "")))[-20_000:]
            self._stream_tail = {sub: tail}
        if self._on_event is not None:
            self._on_event(method, params)

    def _drain_stderr(self, proc: subprocess.Popen) -> None:
        total = 0
        stream = proc.stderr
        if stream is None:
            return
        try:
            for chunk in iter(lambda: stream.read1(4096), b""):
                if total < self.config.stderr_cap:
                    self._stderr.append(chunk)
                    total += len(chunk)
        except (OSError, ValueError):
            pass
        finally:
            try:
                stream.close()
            except OSError:
                pass

    def stderr_tail(self, n: int = 4000) -> str:
        """Last characters the child wrote to stderr (crash messages)."""
        return b"".join(self._stderr).decode("utf-8", "replace")[-n:]


def _describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "exit status unknown"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        hint = " (CPU time limit)" if name == "SIGXCPU" else ""
        return f"killed by {name}{hint}"
    if returncode > 128:
        return f"exit status {returncode} (signal {returncode - 128})"
    return f"exit status {returncode}"
