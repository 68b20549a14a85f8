"""Entry point of the sandbox child: a persistent interpreter that runs model code substep by substep.

Started by :class:`maestro_agent.sandbox.process.SandboxProcess` (under bubblewrap when available) as
``python -I sbx_child.py --rpc <path to rpc.py> --scratch <dir>``. Protocol on stdin/stdout (JSON-RPC 2.0, one object
per line); fd 1 is re-pointed at stderr so stray writes cannot corrupt the protocol. Requests from the parent:

* ``init`` {stubs, harness, profile}: load the generated tool stubs (and the harness skills) into the namespace;
* ``exec`` {code, substep, filename}: check, compile and run code in the persistent namespace; returns
  {ok, stdout, error, stdout_truncated, line_events};
* ``ping``, ``shutdown``.

Notifications to the parent: ``ready``, ``stdout`` {substep, text}, ``line`` {substep, line, t}, ``observe``.
Stdlib + numpy only; nothing from ROS.
"""
from __future__ import annotations

import argparse
import builtins
import importlib.util
import io
import linecache
import os
import sys
import time
import traceback
import types
from typing import Any

STDOUT_CAP = 200_000          # characters kept per substep
STREAM_CAP = 64_000           # characters streamed live per substep
LINE_EVENT_CAP = 20_000       # line events per substep
LINE_SAMPLE_S = 0.02          # after a line's first visit, report line changes at most this often (hot loops)


class _Capture(io.TextIOBase):
    """sys.stdout/sys.stderr replacement: keeps a capped copy and streams complete lines to the parent."""

    def __init__(self, state: _State) -> None:
        self._state = state

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            text = str(text)
        st = self._state
        room = STDOUT_CAP - st.stdout_len
        if room > 0:
            st.stdout.append(text[:room])
            st.stdout_len += min(len(text), room)
        else:
            st.stdout_truncated = True
        st.pending += text
        if "\n" in st.pending or len(st.pending) > 4096:
            self.flush()
        return len(text)

    def flush(self) -> None:
        st = self._state
        if not st.pending:
            return
        chunk, st.pending = st.pending, ""
        room = STREAM_CAP - st.streamed
        if room <= 0 or st.channel is None:
            return
        chunk = chunk[:room]
        st.streamed += len(chunk)
        try:
            st.channel.notify("stdout", {"substep": st.substep, "text": chunk})
        except Exception:
            pass


class _State:
    def __init__(self) -> None:
        self.channel: Any = None
        self.substep = 0
        self.filename = ""
        self.stdout: list[str] = []
        self.stdout_len = 0
        self.stdout_truncated = False
        self.pending = ""
        self.streamed = 0
        self.line_events = 0
        self.seen_lines: set[int] = set()
        self.last_line = -1
        self.last_t = 0.0
        self.t0 = 0.0

    def reset(self, substep: int, filename: str) -> None:
        self.substep, self.filename = substep, filename
        self.stdout, self.stdout_len, self.stdout_truncated = [], 0, False
        self.pending, self.streamed = "", 0
        self.line_events, self.last_line, self.last_t = 0, -1, 0.0
        self.seen_lines = set()
        self.t0 = time.monotonic()


STATE = _State()


def _local_trace(frame: types.FrameType, event: str, arg: Any) -> Any:
    if event == "line":
        st = STATE
        now = time.monotonic()
        first = frame.f_lineno not in st.seen_lines
        if st.line_events < LINE_EVENT_CAP and (first or (frame.f_lineno != st.last_line
                                                          and now - st.last_t > LINE_SAMPLE_S)):
            st.seen_lines.add(frame.f_lineno)
            st.line_events += 1
            st.last_line, st.last_t = frame.f_lineno, now
            try:
                st.channel.notify("line", {"substep": st.substep, "line": frame.f_lineno,
                                           "t": round(now - st.t0, 4)})
            except Exception:
                pass
    return _local_trace


def _global_trace(frame: types.FrameType, event: str, arg: Any) -> Any:
    if frame.f_code.co_filename == STATE.filename:
        return _local_trace
    return None


def _scratch_open(scratch: str) -> Any:
    real_open = builtins.open

    def sandbox_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if not isinstance(file, str):
            raise PermissionError("open() takes a path string inside the scratch folder")
        path = os.path.realpath(os.path.join(scratch, file))
        if path != scratch and not path.startswith(scratch + os.sep):
            raise PermissionError(f"files can only be opened inside the scratch folder ({scratch})")
        return real_open(path, mode, *args, **kwargs)

    return sandbox_open


def _make_builtins(policy: Any, scratch: str, runtime: Any) -> dict[str, Any]:
    safe = {k: v for k, v in vars(builtins).items() if k not in policy.BLOCKED_NAMES}
    safe["__import__"] = policy.make_import()
    safe["getattr"] = policy.safe_getattr_factory()
    safe["open"] = _scratch_open(scratch)
    safe["observe"] = runtime.observe
    return safe


def _format_error(exc: BaseException, filename: str) -> str:
    """Traceback text limited to the model's own frames (plus the exception line)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith("<")]
    text = "Traceback (most recent call last):\n" if frames else ""
    text += "".join(traceback.format_list(frames))
    text += "".join(traceback.format_exception_only(type(exc), exc))
    return text


class Child:
    """The persistent interpreter."""

    def __init__(self, rpc: Any, policy: Any, runtime: Any, scratch: str, channel: Any) -> None:
        self.rpc, self.policy, self.runtime, self.scratch, self.channel = rpc, policy, runtime, scratch, channel
        self.builtins = _make_builtins(policy, scratch, runtime)
        self.namespace: dict[str, Any] = {"__name__": "__maestro__", "__builtins__": self.builtins}

    def init(self, params: dict[str, Any]) -> dict[str, Any]:
        """Load stubs (trusted, generated) and harness skills (restricted builtins) into the namespace."""
        stubs = str(params.get("stubs", ""))
        module = types.ModuleType("robot_tools")
        module.__dict__["__file__"] = "<robot_tools>"
        linecache.cache["<robot_tools>"] = (len(stubs), None, stubs.splitlines(True), "<robot_tools>")
        exec(compile(stubs, "<robot_tools>", "exec"), module.__dict__)
        sys.modules["robot_tools"] = module
        names = []
        for name in list(getattr(module, "TOOLS", ())):
            self.namespace[name] = getattr(module, name)
            names.append(name)
        for name, value in vars(module).items():
            if isinstance(value, type) and not name.startswith("_") and value.__module__ == "robot_tools":
                self.namespace[name] = value
        for name in ("ToolResult", "ImageRef", "CloudRef", "ToolHandle", "observe"):
            self.namespace[name] = getattr(self.runtime, name)
        skills: list[str] = []
        harness = params.get("harness")
        if harness:
            # Trusted project code (maestro_agent/harness/skills.py): no AST pre-check (its describe() uses inspect
            # outside the sandbox), but it runs with the same restricted builtins and import allow-list.
            hmod = types.ModuleType("maestro_skills")
            hmod.__dict__["__builtins__"] = self.builtins
            sys.modules["maestro_skills"] = hmod      # dataclasses and typing look the module up by name
            linecache.cache["<harness>"] = (len(harness), None, harness.splitlines(True), "<harness>")
            exec(compile(harness, "<harness>", "exec"), hmod.__dict__)
            install = hmod.__dict__.get("install")
            if callable(install):
                skills = [str(s) for s in install(self.namespace, dict(params.get("profile") or {})) or []]
        self.namespace["TOOLS"] = tuple(names)
        return {"tools": names, "skills": skills}

    def execute(self, params: dict[str, Any]) -> dict[str, Any]:
        """Run one substep's code in the persistent namespace."""
        code = str(params.get("code", ""))
        substep = int(params.get("substep", 0))
        filename = str(params.get("filename") or f"<substep-{substep}>")
        STATE.reset(substep, filename)
        capture = _Capture(STATE)
        error: str | None = None
        try:
            self.policy.check_source(code, filename)
            compiled = compile(code, filename, "exec")
        except SyntaxError as exc:
            error = "".join(traceback.format_exception_only(type(exc), exc))
        except self.policy.PolicyViolation as exc:
            error = f"PolicyViolation: {exc}"
        if error is None:
            linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
            old_out, old_err = sys.stdout, sys.stderr
            sys.stdout = sys.stderr = capture
            sys.settrace(_global_trace)
            try:
                exec(compiled, self.namespace)
            except BaseException as exc:
                error = _format_error(exc, filename)
            finally:
                sys.settrace(None)
                capture.flush()
                sys.stdout, sys.stderr = old_out, old_err
        return {"ok": error is None, "stdout": "".join(STATE.stdout), "stdout_truncated": STATE.stdout_truncated,
                "error": error, "line_events": STATE.line_events}

    def serve(self) -> None:
        """Answer the parent's requests until it closes the pipe or asks to shut down."""
        while True:
            msg = self.channel.next_message()
            if msg is None:
                return
            method, params, msg_id = msg.get("method"), msg.get("params") or {}, msg.get("id")
            try:
                if method == "exec":
                    result: Any = self.execute(params)
                elif method == "init":
                    result = self.init(params)
                elif method == "ping":
                    result = {"pid": os.getpid()}
                elif method == "shutdown":
                    if msg_id is not None:
                        self.channel.send(self.rpc.make_response(msg_id, {"bye": True}))
                    return
                else:
                    raise self.rpc.RpcError(self.rpc.METHOD_NOT_FOUND, f"unknown method {method!r}")
                response = self.rpc.make_response(msg_id, result)
            except self.rpc.RpcError as exc:
                response = self.rpc.make_response(msg_id, error=exc)
            except BaseException as exc:
                response = self.rpc.make_response(
                    msg_id, error=self.rpc.RpcError(self.rpc.INTERNAL_ERROR, _format_error(exc, "")))
            if msg_id is not None:
                try:
                    self.channel.send(response)
                except (TypeError, ValueError) as exc:
                    self.channel.send(self.rpc.make_response(
                        msg_id, error=self.rpc.RpcError(self.rpc.INTERNAL_ERROR, f"result not JSON-able: {exc}")))


def main() -> None:
    """Set up the protocol streams, load the runtime and serve."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rpc", required=True)
    parser.add_argument("--scratch", required=True)
    args = parser.parse_args()
    proto_in = os.fdopen(0, "rb", buffering=0)
    proto_out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    spec = importlib.util.spec_from_file_location("maestro_rpc", args.rpc)
    rpc = importlib.util.module_from_spec(spec)
    sys.modules["maestro_rpc"] = rpc
    spec.loader.exec_module(rpc)
    import sbx_policy
    import sbx_runtime

    try:
        import numpy  # noqa: F401 - warm import so model code's `import numpy` is instant
    except ImportError:
        pass
    scratch = os.path.realpath(args.scratch)
    os.chdir(scratch)
    channel = rpc.SyncJsonRpcClient(proto_in, proto_out)
    sbx_runtime._channel = channel
    STATE.channel = channel
    child = Child(rpc, sbx_policy, sbx_runtime, scratch, channel)
    channel.notify("ready", {"pid": os.getpid(), "python": sys.version.split()[0]})
    child.serve()


if __name__ == "__main__":
    main()
