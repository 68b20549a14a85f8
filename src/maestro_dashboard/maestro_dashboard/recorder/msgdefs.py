"""Full ``ros2msg`` definitions (the text rosbag2 stores as an MCAP schema) built from the installed .msg files."""
from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

_SEPARATOR = "=" * 80
_PRIMITIVES = frozenset({
    "bool", "byte", "char", "float32", "float64", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64",
    "uint64", "string", "wstring",
})


class MessageDefinitionError(LookupError):
    """The .msg file of a type (or of one of its fields) is not installed."""


def _share_dirs() -> list[Path]:
    dirs = [Path(p) / "share" for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    return [d for d in dirs if d.is_dir()]


def normalize_type(type_name: str) -> tuple[str, str]:
    """'sensor_msgs/msg/Image' or 'sensor_msgs/Image' -> ('sensor_msgs', 'Image')."""
    parts = type_name.strip().split("/")
    if len(parts) == 3 and parts[1] == "msg":
        return parts[0], parts[2]
    if len(parts) == 2:
        return parts[0], parts[1]
    raise MessageDefinitionError(f"'{type_name}' is not a message type name like 'sensor_msgs/msg/Image'")


@lru_cache(maxsize=256)
def msg_file_text(package: str, name: str) -> str:
    """The text of ``<share>/<package>/msg/<name>.msg`` on AMENT_PREFIX_PATH."""
    for share in _share_dirs():
        f = share / package / "msg" / f"{name}.msg"
        if f.is_file():
            return f.read_text()
    raise MessageDefinitionError(f"no {package}/msg/{name}.msg under AMENT_PREFIX_PATH (is {package} installed and "
                                 "the workspace sourced?)")


def _field_types(text: str, package: str) -> list[tuple[str, str]]:
    out = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) < 2 or "=" in parts[1] or (len(parts) > 2 and parts[2].startswith("=")):
            continue  # constants
        base = re.sub(r"(\[.*\]|<=\d+)$", "", parts[0])
        base = re.sub(r"<=\d+$", "", base)
        if base in _PRIMITIVES:
            continue
        if "/" in base:
            out.append(normalize_type(base))
        elif base == "Header":
            out.append(("std_msgs", "Header"))
        else:
            out.append((package, base))
    return out


@lru_cache(maxsize=256)
def full_definition(type_name: str) -> str:
    """The concatenated definition of ``type_name`` and every nested type, in rosbag2's ``ros2msg`` format."""
    package, name = normalize_type(type_name)
    text = msg_file_text(package, name)
    parts = [text.rstrip("\n")]
    seen: set[tuple[str, str]] = {(package, name)}
    queue = _field_types(text, package)
    while queue:
        dep = queue.pop(0)
        if dep in seen:
            continue
        seen.add(dep)
        dep_text = msg_file_text(*dep)
        parts.append(f"{_SEPARATOR}\nMSG: {dep[0]}/{dep[1]}\n{dep_text.rstrip(chr(10))}")
        queue.extend(_field_types(dep_text, dep[0]))
    return "\n".join(parts) + "\n"
