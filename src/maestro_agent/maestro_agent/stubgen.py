"""Generate the sandbox's tool stubs, a ``.pyi`` and the API docs the VLM reads, from maestro_interfaces.

One source for all three: the fields and constants come from rosidl introspection of the generated Python classes
(``get_fields_and_field_types()``, upper-case class attributes), the words come from the COMMENTS of the installed
``.srv`` / ``.action`` / ``.msg`` files (``share/maestro_interfaces/...`` found through ament_index). A test keeps
the stubs in sync with the interfaces.

The generated module runs inside the sandbox on top of :mod:`sbx_runtime` (``maestro_agent/sandbox/sbx_runtime.py``):
each tool is a snake_case function whose keyword arguments are the request/goal fields plus ``timeout`` (seconds) and
which returns a ``ToolResult``; actions also get ``<tool>.start(...) -> ToolHandle``.
"""
from __future__ import annotations

import importlib
import keyword
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

INTERFACE_PACKAGE = "maestro_interfaces"

#: Grace added to the caller's wait on top of a goal's own ``timeout`` field (seconds).
WAIT_GRACE_S = 5.0
#: Default client-side wait when neither the caller nor the interface gives one (seconds).
DEFAULT_SERVICE_WAIT_S = 30.0
DEFAULT_ACTION_WAIT_S = 120.0

_INT_TYPES = {"int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "byte", "char", "octet"}
_FLOAT_TYPES = {"float", "double", "float32", "float64"}
_STR_TYPES = {"string", "wstring"}

#: Python annotation used in signatures for ROS types the VLM passes in convenient forms.
_CONVENIENT = {
    "geometry_msgs/Point": "Vec3",
    "geometry_msgs/Vector3": "Vec3",
    "geometry_msgs/Quaternion": "Quat",
    "geometry_msgs/Pose": "PoseLike",
    "geometry_msgs/PoseStamped": "PoseLike",
    "sensor_msgs/Image": "ImageRef",
    "sensor_msgs/PointCloud2": "CloudRef",
}


@dataclass
class FieldSpec:
    """One field of a request, response, goal, result or feedback."""

    name: str
    ros_type: str           # as get_fields_and_field_types() spells it, e.g. "sequence<string>", "float"
    doc: str = ""
    default: Any = None     # the interface's default for scalar fields (rosidl), None for messages/sequences

    @property
    def base_type(self) -> str:
        """Element type without sequence/array decoration."""
        return base_type(self.ros_type)

    @property
    def is_sequence(self) -> bool:
        """True for sequences and fixed arrays."""
        return is_sequence(self.ros_type)


@dataclass
class ConstantSpec:
    """One constant of an interface section."""

    name: str
    ros_type: str
    value: Any
    doc: str = ""


@dataclass
class ToolSpec:
    """Everything the stubs, docs and the parent-side converter need to know about one tool type."""

    tool: str                   # snake_case function name, e.g. "detect_objects"
    type_name: str              # e.g. "DetectObjects"
    kind: str                   # "service" or "action"
    description: str
    request: list[FieldSpec]    # request or goal fields
    response: list[FieldSpec]   # response or result fields
    feedback: list[FieldSpec] = field(default_factory=list)
    request_constants: list[ConstantSpec] = field(default_factory=list)
    response_constants: list[ConstantSpec] = field(default_factory=list)
    enums: dict[str, dict[str, int]] = field(default_factory=dict)   # request field -> {CONSTANT: value}
    default_wait_s: float = DEFAULT_SERVICE_WAIT_S

    @property
    def full_type(self) -> str:
        """``maestro_interfaces/srv/X`` or ``maestro_interfaces/action/X``."""
        return f"{INTERFACE_PACKAGE}/{'srv' if self.kind == 'service' else 'action'}/{self.type_name}"

    @property
    def has_timeout_field(self) -> bool:
        """True when the request/goal itself carries a ``timeout`` field (seconds)."""
        return any(f.name == "timeout" for f in self.request)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able description (for the CLI, tests and the recorder)."""
        return {
            "tool": self.tool, "type": self.full_type, "kind": self.kind, "description": self.description,
            "request": [[f.name, f.ros_type, f.doc] for f in self.request],
            "response": [[f.name, f.ros_type, f.doc] for f in self.response],
            "enums": self.enums,
        }


# --------------------------------------------------------------------------------------------------------------
# type helpers


def base_type(ros_type: str) -> str:
    """Strip ``sequence<...>``, ``[N]``, ``[<=N]`` and string bounds from a rosidl type string."""
    t = ros_type
    m = re.fullmatch(r"sequence<(.+?)(?:,\s*\d+)?>", t)
    if m:
        t = m.group(1)
    t = re.sub(r"\[.*\]$", "", t)
    t = re.sub(r"<=\d+$", "", t)
    return t


def is_sequence(ros_type: str) -> bool:
    """True for ``sequence<...>`` and ``T[N]`` types."""
    return ros_type.startswith("sequence<") or ros_type.endswith("]")


def py_annotation(ros_type: str) -> str:
    """The Python annotation of a field in the stub signatures."""
    b = base_type(ros_type)
    if b == "boolean" or b == "bool":
        elem = "bool"
    elif b in _INT_TYPES:
        elem = "int"
    elif b in _FLOAT_TYPES:
        elem = "float"
    elif b in _STR_TYPES:
        elem = "str"
    elif b in _CONVENIENT:
        elem = _CONVENIENT[b]
    elif b.startswith(f"{INTERFACE_PACKAGE}/"):
        elem = b.split("/")[-1]          # documented under "Message types"; a nested ToolResult at run time
    else:
        elem = "dict"
    return f"list[{elem}]" if is_sequence(ros_type) else elem


def py_default(ros_type: str) -> str:
    """Source text of the default value of a field (the ROS zero value; messages and lists default to None)."""
    if is_sequence(ros_type):
        return "None"
    b = base_type(ros_type)
    if b in ("boolean", "bool"):
        return "False"
    if b in _INT_TYPES:
        return "0"
    if b in _FLOAT_TYPES:
        return "0.0"
    if b in _STR_TYPES:
        return '""'
    return "None"


def snake_case(name: str) -> str:
    """``DetectObjects`` -> ``detect_objects``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


# --------------------------------------------------------------------------------------------------------------
# comment parsing


@dataclass
class _Section:
    comments: dict[str, str] = field(default_factory=dict)          # field/constant name -> trailing comment
    constants: list[tuple[str, str, str, str]] = field(default_factory=list)  # (type, NAME, value, comment)
    order: list[tuple[str, str]] = field(default_factory=list)      # ("const"|"field", name) in file order
    field_types: dict[str, str] = field(default_factory=dict)


_CONST_RE = re.compile(r"^\s*([\w/\[\]<=]+)\s+([A-Z][A-Z0-9_]*)\s*=\s*([^#]+?)\s*(?:#\s*(.*))?$")
_FIELD_RE = re.compile(r"^\s*([\w/\[\]<=]+)\s+([a-z_][a-z0-9_]*)(?:\s+[^#]+?)?\s*(?:#\s*(.*))?$")


def parse_interface_text(text: str) -> tuple[str, list[_Section]]:
    """Split a .srv/.action/.msg file into its leading description and per-section comments/constants."""
    description_lines: list[str] = []
    sections = [_Section()]
    seen_field = False
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.strip() == "---":
            sections.append(_Section())
            seen_field = True
            continue
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            if not seen_field:
                description_lines.append(stripped.lstrip("#").strip())
            continue
        seen_field = True
        m = _CONST_RE.match(line)
        if m:
            typ, name, value, comment = m.groups()
            sections[-1].constants.append((typ, name, value.strip(), (comment or "").strip()))
            sections[-1].comments[name] = (comment or "").strip()
            sections[-1].order.append(("const", name))
            continue
        m = _FIELD_RE.match(line)
        if m:
            typ, name, comment = m.groups()
            sections[-1].comments[name] = (comment or "").strip()
            sections[-1].field_types[name] = typ
            sections[-1].order.append(("field", name))
    return " ".join(description_lines).strip(), sections


def _enums_of(section: _Section) -> dict[str, dict[str, int]]:
    """Constants declared right before a field of the same type name that field's allowed values."""
    enums: dict[str, dict[str, int]] = {}
    const_types = {c[1]: c[0] for c in section.constants}
    values = {c[1]: c[2] for c in section.constants}
    pending: list[str] = []
    for kind, name in section.order:
        if kind == "const":
            pending.append(name)
            continue
        ftype = section.field_types.get(name, "")
        group = [c for c in pending if const_types[c] == ftype]
        if group and ftype in _INT_TYPES:
            try:
                enums[name] = {c: int(values[c]) for c in group}
            except ValueError:
                pass
        pending = []
    return enums


_DEFAULT_RE = re.compile(r"\(0\s*=\s*([0-9.]+)\)")


def _default_wait(kind: str, request: list[FieldSpec]) -> float:
    """Client wait when the caller passes no timeout: the goal's documented timeout default + grace."""
    for f in request:
        if f.name == "timeout":
            m = _DEFAULT_RE.search(f.doc)
            if m:
                return float(m.group(1)) + WAIT_GRACE_S
    return DEFAULT_ACTION_WAIT_S if kind == "action" else DEFAULT_SERVICE_WAIT_S


# --------------------------------------------------------------------------------------------------------------
# loading specs


@lru_cache(maxsize=1)
def interface_share_dir() -> Path:
    """``share/maestro_interfaces`` of the installed package (ament_index)."""
    from ament_index_python.packages import get_package_share_directory

    return Path(get_package_share_directory(INTERFACE_PACKAGE))


def _fields(msg_cls: Any, comments: dict[str, str]) -> list[FieldSpec]:
    instance = msg_cls()
    out = []
    for name, typ in msg_cls.get_fields_and_field_types().items():
        value = getattr(instance, name)
        default = value if isinstance(value, (bool, int, float, str)) and not is_sequence(typ) else None
        out.append(FieldSpec(name, typ, comments.get(name, ""), default))
    return out


def _constants(msg_cls: Any, section: _Section) -> list[ConstantSpec]:
    out = []
    for typ, name, _value, comment in section.constants:
        out.append(ConstantSpec(name, typ, getattr(msg_cls, name), comment))
    return out


def load_tool_spec(type_name: str, kind: str, share_dir: Path | None = None) -> ToolSpec:
    """Build the :class:`ToolSpec` of ``maestro_interfaces/{srv,action}/<type_name>``."""
    share_dir = share_dir or interface_share_dir()
    sub = "srv" if kind == "service" else "action"
    text = (share_dir / sub / f"{type_name}.{sub}").read_text()
    description, sections = parse_interface_text(text)
    module = importlib.import_module(f"{INTERFACE_PACKAGE}.{sub}")
    iface = getattr(module, type_name)
    if kind == "service":
        req_cls, res_cls, fb_cls = iface.Request, iface.Response, None
    else:
        req_cls, res_cls, fb_cls = iface.Goal, iface.Result, iface.Feedback
    while len(sections) < 3:
        sections.append(_Section())
    request = _fields(req_cls, sections[0].comments)
    spec = ToolSpec(
        tool=snake_case(type_name),
        type_name=type_name,
        kind=kind,
        description=description,
        request=request,
        response=_fields(res_cls, sections[1].comments),
        feedback=_fields(fb_cls, sections[2].comments) if fb_cls is not None else [],
        request_constants=_constants(req_cls, sections[0]),
        response_constants=_constants(res_cls, sections[1]),
        enums=_enums_of(sections[0]),
        default_wait_s=_default_wait(kind, request),
    )
    return spec


def all_tool_specs(share_dir: Path | None = None) -> list[ToolSpec]:
    """Specs of every service and action type that maestro_interfaces installs (tools and non-tools)."""
    share_dir = share_dir or interface_share_dir()
    specs = [load_tool_spec(p.stem, "service", share_dir) for p in sorted((share_dir / "srv").glob("*.srv"))]
    specs += [load_tool_spec(p.stem, "action", share_dir) for p in sorted((share_dir / "action").glob("*.action"))]
    return specs


def message_docs(type_name: str, share_dir: Path | None = None) -> tuple[str, list[FieldSpec]]:
    """Description and documented fields of ``maestro_interfaces/msg/<type_name>``."""
    share_dir = share_dir or interface_share_dir()
    description, sections = parse_interface_text((share_dir / "msg" / f"{type_name}.msg").read_text())
    cls = getattr(importlib.import_module(f"{INTERFACE_PACKAGE}.msg"), type_name)
    return description, _fields(cls, sections[0].comments)


# --------------------------------------------------------------------------------------------------------------
# rendering

_COMMON_ERRORS = ("NONE=0 success, UNKNOWN=1, INVALID_ARGUMENT=2, NOT_FOUND=3, TIMEOUT=4, CANCELLED=5, "
                  "UNAVAILABLE=6 (tool not on the ROS graph or not active), BUSY=7, UNKNOWN_FRAME=8, ESTOPPED=9")


def _arg_name(name: str) -> str:
    return f"{name}_" if keyword.iskeyword(name) else name


def _signature(spec: ToolSpec, with_types: bool = True) -> str:
    parts = []
    for f in spec.request:
        if f.name == "timeout":
            continue
        ann = f": {py_annotation(f.ros_type)}" if with_types else ""
        default = repr(f.default) if f.default is not None else py_default(f.ros_type)
        if with_types and default == "None" and not py_annotation(f.ros_type).endswith("None"):
            ann += " | None"
        parts.append(f"{_arg_name(f.name)}{ann} = {default}")
    parts.append("timeout: float = 0.0" if with_types else "timeout=0.0")
    return ", ".join(parts)


def _args_dict(spec: ToolSpec) -> str:
    items = ", ".join(f"{f.name!r}: {_arg_name(f.name)}" for f in spec.request if f.name != "timeout")
    return "{" + items + "}"


def _class_name(spec: ToolSpec) -> str:
    return spec.type_name


def render_docstring(spec: ToolSpec, indent: str = "    ") -> str:
    """Docstring of a tool function (also the body of its entry in the API docs)."""
    lines = [spec.description or spec.type_name, ""]
    lines.append("Args:")
    for f in spec.request:
        if f.name == "timeout":
            continue
        doc = f.doc or ""
        enum = spec.enums.get(f.name)
        if enum:
            choices = ", ".join(f"{k}={v}" for k, v in enum.items())
            doc = f"{doc} one of {choices} (or the name as a string, e.g. {next(iter(enum)).lower()!r})".strip()
        lines.append(f"    {f.name} ({py_annotation(f.ros_type)}): {doc}".rstrip())
    timeout_doc = next((f.doc for f in spec.request if f.name == "timeout"), "")
    if timeout_doc:
        lines.append(f"    timeout (float): {timeout_doc}; the call waits this long plus {WAIT_GRACE_S:g} s")
    else:
        lines.append(f"    timeout (float): seconds to wait for the answer (0 = {spec.default_wait_s:g})")
    lines.append("")
    lines.append("Returns ToolResult (truthy iff error_code == 0) with fields:")
    for f in spec.response:
        lines.append(f"    {f.name} ({py_annotation(f.ros_type)}): {f.doc}".rstrip())
    if spec.feedback:
        lines.append("")
        lines.append(f"Feedback (handle = {spec.tool}.start(...); handle.feedback()):")
        for f in spec.feedback:
            lines.append(f"    {f.name} ({py_annotation(f.ros_type)}): {f.doc}".rstrip())
    if spec.response_constants:
        lines.append("")
        lines.append("Error codes of this tool:")
        for c in spec.response_constants:
            lines.append(f"    {c.name}={c.value}: {c.doc}".rstrip(": ").rstrip())
    lines.append(f"Common error codes: {_COMMON_ERRORS}.")
    body = "\n".join((indent + ln) if ln else "" for ln in lines)
    return f'{indent}"""{body.lstrip()}\n{indent}"""'


_MODULE_HEADER = '''# ruff: noqa
"""Maestro robot tools (generated by maestro_agent.stubgen from maestro_interfaces; do not edit)."""
from __future__ import annotations

from sbx_runtime import CloudRef, ImageRef, PoseLike, Quat, ToolHandle, ToolResult, Vec3, _call_tool, _start_tool

'''


def render_module(specs: list[ToolSpec]) -> str:
    """Python source of the stub module executed inside the sandbox."""
    out = [_MODULE_HEADER]
    names = []
    for spec in specs:
        names.append(spec.tool)
        out.append(f"\nclass {_class_name(spec)}:")
        out.append(f'    """Constants of {spec.full_type}."""')
        consts = spec.request_constants + spec.response_constants
        if not consts:
            out.append("    pass")
        for c in consts:
            out.append(f"    {c.name} = {c.value!r}")
        fields = ", ".join(f'"{f.name}"' for f in spec.request)
        out.append("")
        out.append(f"\ndef {spec.tool}({_signature(spec)}) -> ToolResult:")
        out.append(render_docstring(spec))
        out.append(f"    _args = {_args_dict(spec)}")
        if spec.has_timeout_field:
            out.append('    _args["timeout"] = timeout')
        out.append(f"    return _call_tool({spec.tool!r}, _args, timeout)")
        if spec.kind == "action":
            out.append("")
            out.append(f"\ndef _{spec.tool}_start({_signature(spec)}) -> ToolHandle:")
            out.append(f'    """Start {spec.tool} without blocking; returns a handle (done, feedback, cancel, result)."""')
            out.append(f"    _args = {_args_dict(spec)}")
            if spec.has_timeout_field:
                out.append('    _args["timeout"] = timeout')
            out.append(f"    return _start_tool({spec.tool!r}, _args, timeout)")
            out.append("")
            out.append(f"\n{spec.tool}.start = _{spec.tool}_start")
        for c in spec.request_constants + spec.response_constants:
            out.append(f"{spec.tool}.{c.name} = {c.value!r}")
        out.append(f"{spec.tool}.FIELDS = ({fields}{',' if len(spec.request) == 1 else ''})")
    out.append("")
    out.append(f"TOOLS = {tuple(names)!r}")
    out.append("")
    return "\n".join(out)


def render_pyi(specs: list[ToolSpec]) -> str:
    """Type stub (``.pyi``) of the generated module, for editors and type checkers."""
    out = [
        "# ruff: noqa",
        '"""Type stubs of the Maestro robot tools (generated by maestro_agent.stubgen; do not edit)."""',
        "from __future__ import annotations",
        "",
        "from typing import Any, Protocol",
        "",
        "Vec3 = list[float] | tuple[float, float, float] | dict[str, float]",
        "Quat = list[float] | tuple[float, float, float, float] | dict[str, float]",
        "PoseLike = list[float] | tuple[float, ...] | dict[str, Any]",
        "",
        "class ImageRef:",
        "    id: str",
        "    width: int",
        "    height: int",
        "    encoding: str",
        "",
        "class CloudRef:",
        "    id: str",
        "    num_points: int",
        "    points: list[list[float]]",
        "",
        "class ToolResult:",
        "    error_code: int",
        "    error_msg: str",
        "    def __bool__(self) -> bool: ...",
        "    def __getattr__(self, name: str) -> Any: ...",
        "    def to_dict(self) -> dict[str, Any]: ...",
        "",
        "class ToolHandle:",
        "    def done(self) -> bool: ...",
        "    def feedback(self) -> ToolResult | None: ...",
        "    def cancel(self) -> bool: ...",
        "    def result(self, timeout: float = ...) -> ToolResult: ...",
        "",
    ]
    for name in _used_messages(specs):
        out.append(f"{name} = ToolResult")
    out.append("")
    for spec in specs:
        out.append(f"class {_class_name(spec)}:")
        consts = spec.request_constants + spec.response_constants
        if not consts:
            out.append("    ...")
        for c in consts:
            out.append(f"    {c.name}: int")
        out.append("")
        if spec.kind == "action":
            out.append(f"class _{_class_name(spec)}Tool(Protocol):")
            out.append(f"    def __call__(self, {_signature(spec)}) -> ToolResult: ...")
            out.append(f"    def start(self, {_signature(spec)}) -> ToolHandle: ...")
            out.append("")
            out.append(f"{spec.tool}: _{_class_name(spec)}Tool")
        else:
            out.append(f"def {spec.tool}({_signature(spec)}) -> ToolResult: ...")
        out.append("")
    out.append("def observe(image: ImageRef, caption: str = ...) -> None: ...")
    out.append("TOOLS: tuple[str, ...]")
    out.append("")
    return "\n".join(out)


def _used_messages(specs: list[ToolSpec]) -> list[str]:
    seen: list[str] = []

    def visit(ros_type: str) -> None:
        b = base_type(ros_type)
        if b.startswith(f"{INTERFACE_PACKAGE}/"):
            name = b.split("/")[-1]
            if name not in seen:
                seen.append(name)
                try:
                    _, fields = message_docs(name)
                except (OSError, AttributeError):
                    return
                for f in fields:
                    visit(f.ros_type)

    for spec in specs:
        for f in spec.request + spec.response + spec.feedback:
            visit(f.ros_type)
    return seen


def render_docs(specs: list[ToolSpec], extra: str = "") -> str:
    """The tool API text the VLM reads: calling conventions, every tool, and the message types they use."""
    out = [
        "# Robot tool API (Python, already imported; call the functions directly)",
        "",
        "Calling conventions:",
        "- Call tools with keyword arguments named after the fields below; every call blocks for at most `timeout` s.",
        "- A point/vector is [x, y, z]; a quaternion is [x, y, z, w]; a pose is [x, y, z] (orientation top-down:",
        "  the gripper's approach axis points down, quaternion [1, 0, 0, 0]), [x, y, z, qx, qy, qz, qw], or a dict",
        "  {'position': [...], 'orientation': [...]}; results convert back with .to_list().",
        "  Poses are in the robot base frame (metres) unless a frame is given ({'frame_id': ..., 'pose': ...}).",
        "- Constants are attributes (Gripper.CLOSE, gripper.CLOSE) or case-insensitive names (gripper(command='close')).",
        "- Every call returns a ToolResult: attribute access to the fields, truthy iff error_code == 0, and",
        "  .error_code / .error_msg. Check it: `r = detect_objects(labels=['bowl']); if not r: print(r.error_msg)`.",
        "- Images come back as ImageRef (.id, .width, .height); `observe(ref, 'caption')` shows one to you next turn.",
        "  Annotated images of perception/grasp tools are shown to you automatically.",
        "- Actions also offer `h = move_to_pose.start(...)`; then h.done(), h.feedback(), h.cancel(), h.result(timeout).",
        "- print() what you need to see next turn; variables persist between substeps.",
        "",
        "## Tools",
    ]
    for spec in specs:
        out.append("")
        sig = _signature(spec)
        out.append(f"### {spec.tool}({sig}) -> ToolResult   [{spec.kind} {spec.full_type}]")
        doc = render_docstring(spec, indent="")
        out.append(doc.strip('"').strip())
        if spec.request_constants:
            out.append("Constants: " + ", ".join(f"{_class_name(spec)}.{c.name}={c.value}" for c in spec.request_constants))
    msgs = _used_messages(specs)
    if msgs:
        out.append("")
        out.append("## Message types (fields of nested results)")
        for name in msgs:
            description, fields = message_docs(name)
            out.append("")
            out.append(f"### {name}: {description}")
            for f in fields:
                out.append(f"- {f.name} ({py_annotation(f.ros_type)}): {f.doc}".rstrip(": "))
    if extra:
        out.append("")
        out.append(extra.strip())
    out.append("")
    return "\n".join(out)


#: Interface types that are not agent tools (sim/evaluation services, backend manager, e-stop reset, RunTask).
NON_TOOL_TYPES: frozenset[str] = frozenset({
    "SelectBackend", "ResetEStop", "EvaluateTask", "ListTasks", "ResetScene", "GetSceneGroundTruth", "RunTask",
})


def agent_tool_specs() -> list[ToolSpec]:
    """Specs of every agent tool type maestro_interfaces defines (the full catalogue, independent of the graph)."""
    return [s for s in all_tool_specs() if s.type_name not in NON_TOOL_TYPES]


def write_generated(folder: str | Path) -> list[Path]:
    """Write ``robot_tools.py``, ``robot_tools.pyi`` and ``tool_api.md`` for the full tool catalogue."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    specs = agent_tool_specs()
    files = {"robot_tools.py": render_module(specs), "robot_tools.pyi": render_pyi(specs),
             "tool_api.md": render_docs(specs)}
    out = []
    for name, text in files.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        out.append(path)
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m maestro_agent.stubgen [--out DIR]``: regenerate the committed stubs and API docs."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "generated"))
    args = parser.parse_args(argv)
    for path in write_generated(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
