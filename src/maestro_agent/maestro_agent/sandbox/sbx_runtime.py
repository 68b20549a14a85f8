"""Child-side runtime of the tool stubs: results, image/cloud references, action handles, the RPC transport.

Stdlib-only: it runs inside the sandbox child, where the generated stub module does
``from sbx_runtime import ToolResult, ...``. Every tool call crosses to the parent as a JSON-RPC request
(``call_tool``, ``start_tool``, ``handle_*``) over the child's pipes; the parent talks to ROS.
"""
from __future__ import annotations

import math
import sys
from typing import Any

Vec3 = Any       # [x, y, z] | (x, y, z) | {"x":, "y":, "z":} | ToolResult of a Point/Vector3
Quat = Any       # [x, y, z, w] | dict | ToolResult
PoseLike = Any   # [x, y, z] | [x, y, z, qx, qy, qz, qw] | {"position":, "orientation":} | ToolResult of a Pose

UNKNOWN = 1
INVALID_ARGUMENT = 2
_channel: Any = None          # rpc.SyncJsonRpcClient, set by sbx_child
_code_prefix = "<substep"     # filenames of model code (for the source line of a tool call)


class ImageRef:
    """A camera or annotated image kept by the agent (pixels are not copied into the sandbox)."""

    __slots__ = ("encoding", "height", "id", "width")

    def __init__(self, id: str, width: int = 0, height: int = 0, encoding: str = "") -> None:
        self.id = str(id)
        self.width = int(width)
        self.height = int(height)
        self.encoding = str(encoding)

    def __repr__(self) -> str:
        return f"ImageRef(id={self.id!r}, {self.width}x{self.height} {self.encoding})"

    def __bool__(self) -> bool:
        return self.width > 0 and self.height > 0

    def to_wire(self) -> dict[str, Any]:
        """The JSON form that goes back to the parent."""
        return {"__ref__": "image", "id": self.id, "width": self.width, "height": self.height,
                "encoding": self.encoding}


class CloudRef:
    """A point cloud kept by the agent; ``points`` holds up to a few thousand (x, y, z) rows for inspection."""

    __slots__ = ("frame_id", "id", "num_points", "points")

    def __init__(self, id: str, num_points: int = 0, points: list | None = None,
                 frame_id: str = "") -> None:
        self.id = str(id)
        self.num_points = int(num_points)
        self.points = points or []
        self.frame_id = frame_id

    def __repr__(self) -> str:
        return f"CloudRef(id={self.id!r}, num_points={self.num_points}, frame_id={self.frame_id!r})"

    def __len__(self) -> int:
        return self.num_points

    def to_wire(self) -> dict[str, Any]:
        """The JSON form that goes back to the parent (points stay on the parent side)."""
        return {"__ref__": "cloud", "id": self.id, "num_points": self.num_points, "frame_id": self.frame_id}


def from_wire(value: Any) -> Any:
    """JSON value from the parent -> ToolResult / ImageRef / CloudRef / plain Python."""
    if isinstance(value, dict):
        ref = value.get("__ref__")
        if ref == "image":
            return ImageRef(value.get("id", ""), value.get("width", 0), value.get("height", 0),
                            value.get("encoding", ""))
        if ref == "cloud":
            return CloudRef(value.get("id", ""), value.get("num_points", 0), value.get("points"),
                            value.get("frame_id", ""))
        return ToolResult(value)
    if isinstance(value, list):
        return [from_wire(v) for v in value]
    return value


def to_wire(value: Any) -> Any:
    """Python value from model code -> JSON value for the parent (numpy arrays, tuples, results, refs)."""
    if isinstance(value, (ImageRef, CloudRef)):
        return value.to_wire()
    if isinstance(value, ToolResult):
        return to_wire(value.to_dict())
    if isinstance(value, dict):
        return {str(k): to_wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_wire(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"non-finite number {value!r} in the arguments")
        return value
    tolist = getattr(value, "tolist", None)   # numpy arrays and scalars
    if callable(tolist):
        return to_wire(tolist())
    raise TypeError(f"cannot send a {type(value).__name__} to a robot tool; use numbers, strings, lists or dicts")


class ToolResult:
    """The answer of a tool: attribute access to its fields, truthy iff ``error_code == 0``."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        object.__setattr__(self, "_data", {k: from_wire(v) for k, v in (data or {}).items()})

    def __getattr__(self, name: str) -> Any:
        data = object.__getattribute__(self, "_data")
        if name in data:
            return data[name]
        raise AttributeError(f"result has no field '{name}'; fields: {', '.join(data) or '(none)'}")

    def __setattr__(self, name: str, value: Any) -> None:
        self._data[name] = value

    def __getitem__(self, name: str) -> Any:
        return self._data[name]

    def __contains__(self, name: object) -> bool:
        return name in self._data

    def __bool__(self) -> bool:
        return int(self._data.get("error_code", 0) or 0) == 0

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ToolResult):
            return self.to_dict() == other.to_dict()
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __dir__(self) -> list[str]:
        return list(self._data)

    @property
    def error_code(self) -> int:
        """0 on success, else a ToolError code or a tool-specific one."""
        return int(self._data.get("error_code", 0) or 0)

    @property
    def error_msg(self) -> str:
        """What went wrong and what to try (empty on success)."""
        return str(self._data.get("error_msg", "") or "")

    def keys(self) -> list[str]:
        """Field names."""
        return list(self._data)

    def get(self, name: str, default: Any = None) -> Any:
        """Field value or ``default``."""
        return self._data.get(name, default)

    def to_dict(self) -> dict[str, Any]:
        """Nested plain dict (refs become their wire form)."""
        def plain(v: Any) -> Any:
            if isinstance(v, ToolResult):
                return v.to_dict()
            if isinstance(v, (ImageRef, CloudRef)):
                return v.to_wire()
            if isinstance(v, list):
                return [plain(x) for x in v]
            return v
        return {k: plain(v) for k, v in self._data.items()}

    def to_list(self) -> list[float]:
        """[x, y, z] of a point/vector, [x, y, z, w] of a quaternion, [x, y, z, qx, qy, qz, qw] of a pose."""
        d = self._data
        if "position" in d and "orientation" in d:
            return d["position"].to_list() + d["orientation"].to_list()
        if "pose" in d and isinstance(d["pose"], ToolResult):
            return d["pose"].to_list()
        keys = ("x", "y", "z", "w") if "w" in d else ("x", "y", "z")
        if all(k in d for k in keys):
            return [float(d[k]) for k in keys]
        raise ValueError("to_list() works on points, vectors, quaternions and poses")

    def __repr__(self) -> str:
        text = _summary(self, depth=0)
        return text if len(text) <= 2000 else text[:2000] + "...)"


def _summary(value: Any, depth: int) -> str:
    if isinstance(value, ToolResult):
        if depth > 3:
            return "ToolResult(...)"
        inner = ", ".join(f"{k}={_summary(v, depth + 1)}" for k, v in value._data.items())
        return f"ToolResult({inner})"
    if isinstance(value, list):
        if len(value) > 8:
            return "[" + ", ".join(_summary(v, depth + 1) for v in value[:8]) + f", ... ({len(value)} items)]"
        return "[" + ", ".join(_summary(v, depth + 1) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:.4g}"
    return repr(value)


def _error(code: int, msg: str) -> ToolResult:
    return ToolResult({"error_code": code, "error_msg": msg})


def _source_line() -> int:
    """Line number of the model code that is calling the tool (0 when unknown)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename.startswith(_code_prefix):
            return frame.f_lineno
        frame = frame.f_back
    return 0


def _request(method: str, params: dict[str, Any]) -> Any:
    if _channel is None:
        raise RuntimeError("the tool transport is not connected (stubs used outside the sandbox child)")
    return _channel.request(method, params)


def _call_tool(name: str, args: dict[str, Any], timeout: float = 0.0) -> ToolResult:
    """Blocking tool call through the parent; failures come back as a falsy ToolResult, never as an exception."""
    try:
        wire_args = {k: to_wire(v) for k, v in args.items()}
    except (TypeError, ValueError) as exc:
        return _error(INVALID_ARGUMENT, f"{name}: {exc}")
    try:
        result = _request("call_tool", {"name": name, "args": wire_args, "timeout": float(timeout or 0.0),
                                        "line": _source_line()})
    except Exception as exc:
        return _error(UNKNOWN, f"{name}: the agent could not run the tool call: {exc}")
    return ToolResult(result if isinstance(result, dict) else {"error_code": UNKNOWN, "error_msg": "bad answer"})


class ToolHandle:
    """A running action started with ``<tool>.start(...)``."""

    def __init__(self, name: str, handle_id: str | None, error: ToolResult | None = None) -> None:
        self.name = name
        self.id = handle_id
        self._error = error
        self._result: ToolResult | None = error

    def __repr__(self) -> str:
        return f"ToolHandle({self.name}, id={self.id}, done={self.done()})"

    def _ask(self, method: str, **params: Any) -> Any:
        return _request(method, {"handle": self.id, **params})

    def done(self) -> bool:
        """True once the action finished (succeeded, failed or cancelled)."""
        if self._result is not None:
            return True
        try:
            return bool(self._ask("handle_status").get("done"))
        except Exception:
            return True

    def feedback(self) -> ToolResult | None:
        """Latest feedback message (None before the first one)."""
        if self.id is None:
            return None
        try:
            fb = self._ask("handle_status").get("feedback")
        except Exception:
            return None
        return ToolResult(fb) if isinstance(fb, dict) else None

    def cancel(self) -> bool:
        """Ask the action server to cancel; True when the request was accepted."""
        if self.id is None or self._result is not None:
            return False
        try:
            return bool(self._ask("handle_cancel").get("accepted"))
        except Exception:
            return False

    def result(self, timeout: float = 0.0) -> ToolResult:
        """Wait for the result (``timeout`` seconds, 0 = the tool's default); TIMEOUT result if it is not done."""
        if self._result is not None:
            return self._result
        try:
            res = self._ask("handle_result", timeout=float(timeout or 0.0), line=_source_line())
        except Exception as exc:
            return _error(UNKNOWN, f"{self.name}: lost the action handle: {exc}")
        result = ToolResult(res if isinstance(res, dict) else {})
        if result.error_code != 4 or "still running" not in result.error_msg:
            self._result = result
        return result


def _start_tool(name: str, args: dict[str, Any], timeout: float = 0.0) -> ToolHandle:
    """Start an action without blocking."""
    try:
        wire_args = {k: to_wire(v) for k, v in args.items()}
    except (TypeError, ValueError) as exc:
        return ToolHandle(name, None, _error(INVALID_ARGUMENT, f"{name}: {exc}"))
    try:
        res = _request("start_tool", {"name": name, "args": wire_args, "timeout": float(timeout or 0.0),
                                      "line": _source_line()})
    except Exception as exc:
        return ToolHandle(name, None, _error(UNKNOWN, f"{name}: could not start: {exc}"))
    if not isinstance(res, dict) or not res.get("handle"):
        err = ToolResult(res if isinstance(res, dict) else {"error_code": UNKNOWN, "error_msg": "bad answer"})
        return ToolHandle(name, None, err)
    return ToolHandle(name, str(res["handle"]))


def observe(image: Any, caption: str = "") -> None:
    """Show ``image`` (an ImageRef from a tool result) to the model at the next react step."""
    if not isinstance(image, ImageRef):
        raise TypeError("observe() takes an ImageRef, e.g. result.annotated_image")
    if _channel is not None:
        _channel.notify("observe", {"id": image.id, "caption": str(caption)[:200]})
