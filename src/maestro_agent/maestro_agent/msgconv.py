"""Convert between the sandbox's JSON values and ROS messages (parent side), and keep big payloads by reference.

Into ROS (:func:`fill_message`): keyword arguments of a stub call become request/goal fields. Convenient forms:
a Point/Vector3 as ``[x, y, z]``, a Quaternion as ``[x, y, z, w]``, a Pose as ``[x, y, z]`` (orientation top-down:
the TCP's +z approach axis points down, quaternion ``[1, 0, 0, 0]``) or ``[x, y, z, qx, qy, qz, qw]`` or a dict, a
PoseStamped like a Pose or ``{"frame_id": ..., "pose": ...}`` (frame ``""`` = robot base frame). Integer fields with
constants accept the constant's name, case-insensitive, with or without the common prefix
(``command="close"``, ``approach_mode="top_down"``). Bad input raises :class:`ConversionError` (INVALID_ARGUMENT).

Out of ROS (:func:`to_json`): messages become dicts, arrays lists, NaN ``None``, ``builtin_interfaces/Time`` seconds;
``sensor_msgs/Image`` and ``sensor_msgs/PointCloud2`` are kept in a :class:`RefStore` and cross as references
(``{"__ref__": "image", "id", "width", "height", "encoding"}``; clouds also carry up to :data:`CLOUD_PREVIEW_POINTS`
points), so pixels never enter the sandbox.
"""
from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

TOP_DOWN_QUAT = (1.0, 0.0, 0.0, 0.0)
CLOUD_PREVIEW_POINTS = 2000

_INT_TYPES = {"int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "byte", "char", "octet"}
_FLOAT_TYPES = {"float", "double"}
_INT_RANGES = {
    "int8": (-(2 ** 7), 2 ** 7 - 1), "uint8": (0, 2 ** 8 - 1), "int16": (-(2 ** 15), 2 ** 15 - 1),
    "uint16": (0, 2 ** 16 - 1), "int32": (-(2 ** 31), 2 ** 31 - 1), "uint32": (0, 2 ** 32 - 1),
    "int64": (-(2 ** 63), 2 ** 63 - 1), "uint64": (0, 2 ** 64 - 1), "byte": (0, 255), "octet": (0, 255),
    "char": (0, 255),
}


class ConversionError(ValueError):
    """An argument cannot be turned into the field's type; the message names the field and the accepted forms."""


@dataclass
class StoredRef:
    """A message kept on the parent side."""

    kind: str          # "image" | "cloud"
    msg: Any
    field: str         # field name it came from (e.g. "annotated_image")
    tool: str
    substep: int


class RefStore:
    """Thread-safe, bounded store of images/clouds handed to the sandbox by reference."""

    def __init__(self, capacity: int = 256) -> None:
        self._items: OrderedDict[str, StoredRef] = OrderedDict()
        self._lock = threading.Lock()
        self._count = 0
        self.capacity = capacity

    def put(self, kind: str, msg: Any, field: str = "", tool: str = "", substep: int = 0) -> str:
        """Store ``msg``; returns its id."""
        with self._lock:
            self._count += 1
            ref_id = f"{'img' if kind == 'image' else kind}-{self._count}"
            self._items[ref_id] = StoredRef(kind, msg, field, tool, substep)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
            return ref_id

    def get(self, ref_id: str) -> StoredRef | None:
        """The stored entry or None (unknown or evicted)."""
        with self._lock:
            return self._items.get(ref_id)

    def produced(self, substep: int, kind: str = "image") -> list[tuple[str, StoredRef]]:
        """Entries created during ``substep``, oldest first."""
        with self._lock:
            return [(k, v) for k, v in self._items.items() if v.substep == substep and v.kind == kind]


# --------------------------------------------------------------------------------------------------------------
# into ROS


def _base(ros_type: str) -> tuple[str, bool, int | None]:
    """(element type, is sequence, fixed length)."""
    t = ros_type
    seq, fixed = False, None
    if t.startswith("sequence<"):
        seq = True
        t = t[len("sequence<"):-1].split(",")[0]
    elif t.endswith("]"):
        seq = True
        inner = t[t.index("[") + 1:-1]
        fixed = int(inner) if inner.isdigit() else None
        t = t[: t.index("[")]
    if "<=" in t:
        t = t.split("<=")[0]
    return t, seq, fixed


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConversionError(f"{path}: expected a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(float(value)):
        raise ConversionError(f"{path}: must be finite, got {value!r}")
    return float(value)


def _enum_value(value: str, enum: dict[str, int], path: str) -> int:
    key = value.strip().upper().replace(" ", "_").replace("-", "_")
    if key in enum:
        return enum[key]
    for name, v in enum.items():
        if name.endswith("_" + key):
            return v
    raise ConversionError(f"{path}: unknown value {value!r}; use one of {', '.join(enum)} (case-insensitive)")


def _scalar(ros_type: str, value: Any, path: str, enum: dict[str, int] | None = None) -> Any:
    if ros_type in ("boolean", "bool"):
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise ConversionError(f"{path}: expected true/false, got {value!r}")
    if ros_type in _INT_TYPES:
        if isinstance(value, str):
            if not enum:
                raise ConversionError(f"{path}: expected an integer, got the string {value!r}")
            return _enum_value(value, enum, path)
        num = _number(value, path)
        if num != int(num):
            raise ConversionError(f"{path}: expected an integer, got {value!r}")
        lo, hi = _INT_RANGES.get(ros_type, (-(2 ** 63), 2 ** 64))
        if not lo <= int(num) <= hi:
            raise ConversionError(f"{path}: {int(num)} is out of range [{lo}, {hi}] for {ros_type}")
        return int(num)
    if ros_type in _FLOAT_TYPES:
        return _number(value, path)
    if ros_type in ("string", "wstring"):
        if not isinstance(value, str):
            raise ConversionError(f"{path}: expected a string, got {type(value).__name__}")
        return value
    raise ConversionError(f"{path}: unsupported type {ros_type}")


def _vector(msg: Any, value: Any, keys: tuple[str, ...], path: str) -> Any:
    if isinstance(value, dict):
        unknown = set(value) - set(keys)
        if unknown:
            raise ConversionError(f"{path}: unknown keys {sorted(unknown)}; expected {list(keys)}")
        for k in keys:
            if k in value:
                setattr(msg, k, _number(value[k], f"{path}.{k}"))
        return msg
    if isinstance(value, (list, tuple)) and len(value) == len(keys):
        for k, v in zip(keys, value, strict=True):
            setattr(msg, k, _number(v, f"{path}.{k}"))
        return msg
    raise ConversionError(f"{path}: expected [{', '.join(keys)}] or a dict with those keys, got {value!r}")


def _quaternion(msg: Any, value: Any, path: str) -> Any:
    _vector(msg, value, ("x", "y", "z", "w"), path)
    norm = math.sqrt(msg.x ** 2 + msg.y ** 2 + msg.z ** 2 + msg.w ** 2)
    if norm < 1e-6:
        raise ConversionError(f"{path}: quaternion has zero length; use [x, y, z, w] with w=1 for identity")
    msg.x, msg.y, msg.z, msg.w = msg.x / norm, msg.y / norm, msg.z / norm, msg.w / norm
    return msg


def _pose(msg: Any, value: Any, path: str) -> Any:
    if isinstance(value, (list, tuple)):
        if len(value) == 3:
            _vector(msg.position, value, ("x", "y", "z"), f"{path}.position")
            msg.orientation.x, msg.orientation.y, msg.orientation.z, msg.orientation.w = TOP_DOWN_QUAT
            return msg
        if len(value) == 7:
            _vector(msg.position, value[:3], ("x", "y", "z"), f"{path}.position")
            _quaternion(msg.orientation, value[3:], f"{path}.orientation")
            return msg
        raise ConversionError(f"{path}: a pose is [x, y, z] or [x, y, z, qx, qy, qz, qw], got {len(value)} numbers")
    if isinstance(value, dict):
        unknown = set(value) - {"position", "orientation"}
        if unknown:
            raise ConversionError(f"{path}: unknown keys {sorted(unknown)}; a pose dict has position, orientation")
        if "position" not in value:
            raise ConversionError(f"{path}: a pose dict needs 'position'")
        _vector(msg.position, value["position"], ("x", "y", "z"), f"{path}.position")
        if value.get("orientation") is None:
            msg.orientation.x, msg.orientation.y, msg.orientation.z, msg.orientation.w = TOP_DOWN_QUAT
        else:
            _quaternion(msg.orientation, value["orientation"], f"{path}.orientation")
        return msg
    raise ConversionError(f"{path}: expected a pose ([x, y, z], 7 numbers or a dict), got {value!r}")


def _pose_stamped(msg: Any, value: Any, path: str) -> Any:
    if isinstance(value, dict) and ("pose" in value or "header" in value or "frame_id" in value):
        unknown = set(value) - {"pose", "header", "frame_id"}
        if unknown:
            raise ConversionError(f"{path}: unknown keys {sorted(unknown)}; a stamped pose dict has frame_id, pose")
        header = value.get("header") or {}
        frame = value.get("frame_id", header.get("frame_id", "") if isinstance(header, dict) else "")
        if not isinstance(frame, str):
            raise ConversionError(f"{path}.frame_id: expected a string")
        msg.header.frame_id = frame
        if "pose" not in value:
            raise ConversionError(f"{path}: a stamped pose dict needs 'pose'")
        _pose(msg.pose, value["pose"], f"{path}.pose")
        return msg
    _pose(msg.pose, value, path)
    return msg


def _ref(value: Any, kind: str, store: RefStore | None, path: str) -> Any:
    if isinstance(value, dict) and value.get("__ref__") == kind:
        entry = store.get(str(value.get("id", ""))) if store is not None else None
        if entry is None:
            raise ConversionError(f"{path}: the {kind} {value.get('id')!r} is no longer available; fetch a new one")
        return entry.msg
    raise ConversionError(f"{path}: expected a {kind} reference returned by an earlier tool call")


def convert_value(field_msg: Any, ros_type: str, value: Any, path: str, store: RefStore | None,
                  enum: dict[str, int] | None = None) -> Any:
    """Convert ``value`` for a field of type ``ros_type``; ``field_msg`` is the field's current (default) value."""
    base, seq, fixed = _base(ros_type)
    if seq:
        if not isinstance(value, (list, tuple)):
            if hasattr(value, "tolist"):
                value = value.tolist()
            else:
                raise ConversionError(f"{path}: expected a list, got {type(value).__name__}")
        if fixed is not None and len(value) != fixed:
            raise ConversionError(f"{path}: expected exactly {fixed} items, got {len(value)}")
        if "/" in base:
            cls = _msg_class(base)
            return [convert_value(cls(), base, v, f"{path}[{i}]", store) for i, v in enumerate(value)]
        return [_scalar(base, v, f"{path}[{i}]", enum) for i, v in enumerate(value)]
    if "/" not in base:
        return _scalar(base, value, path, enum)
    if base in ("geometry_msgs/Point", "geometry_msgs/Vector3"):
        return _vector(field_msg, value, ("x", "y", "z"), path)
    if base == "geometry_msgs/Quaternion":
        return _quaternion(field_msg, value, path)
    if base == "geometry_msgs/Pose":
        return _pose(field_msg, value, path)
    if base == "geometry_msgs/PoseStamped":
        return _pose_stamped(field_msg, value, path)
    if base == "sensor_msgs/Image":
        return _ref(value, "image", store, path)
    if base == "sensor_msgs/PointCloud2":
        return _ref(value, "cloud", store, path)
    if base == "std_msgs/Header":
        if isinstance(value, dict):
            field_msg.frame_id = str(value.get("frame_id", ""))
            return field_msg
        raise ConversionError(f"{path}: expected {{'frame_id': ...}}")
    if isinstance(value, dict):
        fill_message(field_msg, value, store=store, path=path)
        return field_msg
    raise ConversionError(f"{path}: expected a dict with the fields of {base}, got {value!r}")


def _msg_class(type_name: str) -> Any:
    import importlib

    pkg, name = type_name.split("/")
    return getattr(importlib.import_module(f"{pkg}.msg"), name)


def fill_message(msg: Any, values: dict[str, Any], enums: dict[str, dict[str, int]] | None = None,
                 store: RefStore | None = None, path: str = "") -> Any:
    """Set ``msg``'s fields from ``values`` (None leaves the default); raises :class:`ConversionError`."""
    fields = msg.get_fields_and_field_types()
    for key, value in values.items():
        fpath = f"{path}.{key}" if path else key
        if key not in fields:
            raise ConversionError(f"{fpath}: unknown field; fields are {', '.join(fields)}")
        if value is None:
            continue
        converted = convert_value(getattr(msg, key), fields[key], value, fpath, store,
                                  (enums or {}).get(key))
        try:
            setattr(msg, key, converted)
        except (AssertionError, TypeError, ValueError) as exc:
            raise ConversionError(f"{fpath}: {exc}") from None
    return msg


# --------------------------------------------------------------------------------------------------------------
# out of ROS


def _float(v: float) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def cloud_points(msg: Any, limit: int | None = None) -> np.ndarray:
    """(N, 3) float array of the x, y, z fields of a PointCloud2 (optionally evenly subsampled to ``limit``)."""
    n = int(msg.width) * int(msg.height)
    if n == 0 or not msg.fields:
        return np.zeros((0, 3), dtype=np.float32)
    offsets = {f.name: f.offset for f in msg.fields}
    if not all(k in offsets for k in ("x", "y", "z")):
        return np.zeros((0, 3), dtype=np.float32)
    raw = np.frombuffer(bytes(msg.data), dtype=np.uint8)
    step = int(msg.point_step)
    if raw.size < n * step:
        n = raw.size // step
    rows = raw[: n * step].reshape(n, step)
    if limit is not None and n > limit:
        rows = rows[np.linspace(0, n - 1, limit).astype(int)]
    endian = ">" if msg.is_bigendian else "<"
    cols = [np.ascontiguousarray(rows[:, offsets[k]:offsets[k] + 4]).view(f"{endian}f4")[:, 0] for k in "xyz"]
    return np.stack(cols, axis=1).astype(np.float32)


def to_json(msg: Any, store: RefStore | None = None, tool: str = "", substep: int = 0, field: str = "") -> Any:
    """ROS message (or field value) -> JSON-able value; images/clouds go to ``store`` and cross as references."""
    if msg is None or isinstance(msg, (bool, str)):
        return msg
    if isinstance(msg, int):
        return int(msg)
    if isinstance(msg, float):
        return _float(msg)
    if isinstance(msg, (bytes, bytearray)):
        return list(msg)
    if isinstance(msg, np.ndarray) or type(msg).__name__ == "array":
        arr = np.asarray(msg)
        if arr.dtype.kind == "f":
            return [_float(x) for x in arr.tolist()]
        return arr.tolist()
    if isinstance(msg, (list, tuple)):
        return [to_json(v, store, tool, substep, field) for v in msg]
    cls_name = type(msg).__name__
    module = type(msg).__module__
    if cls_name == "Image" and module.startswith("sensor_msgs"):
        if msg.width == 0 or msg.height == 0:
            return {"__ref__": "image", "id": "", "width": 0, "height": 0, "encoding": msg.encoding}
        ref_id = store.put("image", msg, field, tool, substep) if store is not None else ""
        return {"__ref__": "image", "id": ref_id, "width": int(msg.width), "height": int(msg.height),
                "encoding": msg.encoding}
    if cls_name == "PointCloud2" and module.startswith("sensor_msgs"):
        n = int(msg.width) * int(msg.height)
        ref_id = store.put("cloud", msg, field, tool, substep) if (store is not None and n) else ""
        pts = cloud_points(msg, CLOUD_PREVIEW_POINTS)
        return {"__ref__": "cloud", "id": ref_id, "num_points": n, "frame_id": msg.header.frame_id,
                "points": [[_float(v) for v in row] for row in pts.tolist()]}
    if cls_name == "Time" and module.startswith("builtin_interfaces"):
        return msg.sec + msg.nanosec * 1e-9
    if hasattr(msg, "get_fields_and_field_types"):
        return {name: to_json(getattr(msg, name), store, tool, substep, name)
                for name in msg.get_fields_and_field_types()}
    return str(msg)


def summarize(value: Any, limit: int = 300) -> str:
    """Short one-line text of a JSON result for traces (refs and long lists abbreviated)."""
    def short(v: Any, depth: int) -> str:
        if isinstance(v, dict):
            if "__ref__" in v:
                return f"<{v['__ref__']} {v.get('id', '')}>"
            if depth > 2:
                return "{...}"
            return "{" + ", ".join(f"{k}: {short(x, depth + 1)}" for k, x in v.items()) + "}"
        if isinstance(v, list):
            if len(v) > 4:
                return "[" + ", ".join(short(x, depth + 1) for x in v[:4]) + f", ...{len(v)}]"
            return "[" + ", ".join(short(x, depth + 1) for x in v) + "]"
        if isinstance(v, float):
            return f"{v:.4g}"
        return repr(v)

    text = short(value, 0)
    return text if len(text) <= limit else text[: limit - 3] + "..."
