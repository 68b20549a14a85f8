"""Discover the robot tools on the ROS graph and hold one client per tool.

A tool is every maestro_interfaces service or action under the tool namespaces of docs/CONVENTIONS.md
(``/perception``, ``/grasp``, ``/control``, ``/policy``) minus the names that are not agent tools. Services come from
``node.get_service_names_and_types()``; an action shows up there as ``<name>/_action/send_goal`` with type
``maestro_interfaces/action/X_SendGoal``. That list also names services that only have clients (ours included), so a
name counts only while ``node.count_services(name) > 0``. The agent calls :meth:`ToolRegistry.refresh` before each
substep; a tool that disappeared stays known by name so that a call answers UNAVAILABLE (error_code 6) with a clear message.
"""
from __future__ import annotations

import hashlib
import importlib
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from maestro_agent import stubgen

LOG = logging.getLogger("maestro_agent.registry")

TOOL_NAMESPACES: tuple[str, ...] = ("/perception", "/grasp", "/control", "/policy")
NOT_TOOLS: frozenset[str] = frozenset({"/perception/select_backend", "/control/reset_estop"})
UNAVAILABLE = 6
_ACTION_SUFFIX = "/_action/send_goal"

_S0 = frozenset({"capture_images", "get_robot_state", "stop", "move_to_pose", "move_joints", "follow_cartesian_path",
                 "gripper", "move_base"})
_S1 = _S0 | {"detect_objects", "point_to", "segment", "query_semantic_map"}
_S2 = _S1 | {"plan_grasps", "run_policy"}
#: Tool levels of the ablation (RunTask.tools): S0 cameras + motion, S1 + perception, S2 + grasp planning (and the
#: learned policy), S3 + 3D geometry = every tool; "" = every discovered tool. None = no restriction.
TOOL_LEVELS: dict[str, frozenset[str] | None] = {"S0": _S0, "S1": _S1, "S2": _S2, "S3": None, "": None}


def tool_level(level: str) -> frozenset[str] | None:
    """Allowed tool names of ``level`` (None = all); raises ValueError for an unknown level."""
    key = (level or "").strip().upper()
    if key not in TOOL_LEVELS:
        raise ValueError(f"unknown tool level {level!r}; use one of S0, S1, S2, S3 or '' (all)")
    return TOOL_LEVELS[key]
_PKG = stubgen.INTERFACE_PACKAGE


@dataclass
class ToolInfo:
    """One discovered tool."""

    name: str             # snake_case function name in the sandbox
    wire_name: str        # e.g. "/perception/detect_objects"
    kind: str             # "service" | "action"
    type_name: str        # e.g. "DetectObjects"
    spec: stubgen.ToolSpec = field(repr=False)

    @property
    def full_type(self) -> str:
        """``maestro_interfaces/srv/X`` or ``maestro_interfaces/action/X``."""
        return self.spec.full_type

    def interface(self) -> Any:
        """The rosidl service/action class."""
        sub = "srv" if self.kind == "service" else "action"
        return getattr(importlib.import_module(f"{_PKG}.{sub}"), self.type_name)


@dataclass
class RegistryChange:
    """What :meth:`ToolRegistry.refresh` found."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)


def parse_graph(names_and_types: list[tuple[str, list[str]]],
                namespaces: tuple[str, ...] = TOOL_NAMESPACES,
                exclude: frozenset[str] = NOT_TOOLS) -> dict[str, tuple[str, str, str]]:
    """Map tool name -> (wire_name, kind, type_name) from ``get_service_names_and_types()`` output."""
    found: dict[str, tuple[str, str, str]] = {}
    for name, types in sorted(names_and_types):
        for typ in types:
            parts = typ.split("/")
            if len(parts) != 3 or parts[0] != _PKG:
                continue
            if parts[1] == "srv" and "/_action/" not in name:
                wire, kind, type_name = name, "service", parts[2]
            elif parts[1] == "action" and name.endswith(_ACTION_SUFFIX) and parts[2].endswith("_SendGoal"):
                wire, kind, type_name = name[: -len(_ACTION_SUFFIX)], "action", parts[2][: -len("_SendGoal")]
            else:
                continue
            if wire in exclude or not any(wire.startswith(ns + "/") for ns in namespaces):
                continue
            tool = wire.rsplit("/", 1)[-1]
            if tool in found and found[tool][0] != wire:
                LOG.warning("tool name %r is served twice (%s and %s); using %s", tool, found[tool][0], wire,
                            found[tool][0])
                continue
            found[tool] = (wire, kind, type_name)
    return found


class ToolRegistry:
    """Tool discovery + client cache for one node (see the module docstring)."""

    def __init__(self, node: Any, namespaces: tuple[str, ...] = TOOL_NAMESPACES,
                 exclude: frozenset[str] = NOT_TOOLS, callback_group: Any = None) -> None:
        self._node = node
        self._namespaces = namespaces
        self._exclude = exclude
        self._group = callback_group
        self._lock = threading.Lock()
        self._tools: dict[str, ToolInfo] = {}
        self._known: dict[str, ToolInfo] = {}       # every tool ever seen (for UNAVAILABLE messages)
        self._clients: dict[tuple[str, str], Any] = {}
        self._specs: dict[tuple[str, str], stubgen.ToolSpec] = {}

    def refresh(self) -> RegistryChange:
        """Re-read the ROS graph; returns the names that appeared and disappeared."""
        graph = parse_graph(self._node.get_service_names_and_types(), self._namespaces, self._exclude)
        tools: dict[str, ToolInfo] = {}
        for tool, (wire, kind, type_name) in graph.items():
            if not self._has_server(wire, kind):
                continue   # only clients (e.g. our own) keep the name on the graph
            try:
                spec = self._spec(type_name, kind)
            except (OSError, AttributeError, ImportError) as exc:
                LOG.warning("skipping %s (%s/%s): cannot load its interface: %s", wire, kind, type_name, exc)
                continue
            tools[tool] = ToolInfo(tool, wire, kind, type_name, spec)
        with self._lock:
            change = RegistryChange(added=sorted(set(tools) - set(self._tools)),
                                    removed=sorted(set(self._tools) - set(tools)))
            self._tools = tools
            self._known.update(tools)
        if change:
            LOG.info("tools changed: +%s -%s", change.added, change.removed)
        return change

    def _has_server(self, wire: str, kind: str) -> bool:
        """True when a server (not just a client) offers ``wire``: the graph lists services of clients too."""
        name = wire if kind == "service" else wire + _ACTION_SUFFIX
        count = getattr(self._node, "count_services", None)
        if count is None:
            return True
        try:
            return count(name) > 0
        except Exception:
            return True

    def _spec(self, type_name: str, kind: str) -> stubgen.ToolSpec:
        key = (type_name, kind)
        if key not in self._specs:
            self._specs[key] = stubgen.load_tool_spec(type_name, kind)
        return self._specs[key]

    def tools(self) -> dict[str, ToolInfo]:
        """Currently available tools by name (sorted)."""
        with self._lock:
            return dict(sorted(self._tools.items()))

    def specs(self) -> list[stubgen.ToolSpec]:
        """Specs of the currently available tools (stub generation input)."""
        return [t.spec for t in self.tools().values()]

    def get(self, name: str) -> ToolInfo | None:
        """The tool if it is available now."""
        with self._lock:
            return self._tools.get(name)

    def known(self, name: str) -> ToolInfo | None:
        """The tool if it was ever seen (even if gone now)."""
        with self._lock:
            return self._known.get(name)

    def fingerprint(self) -> str:
        """Changes when the set of tools (names, wire names or types) changes: regenerate stubs then."""
        items = sorted((t.name, t.wire_name, t.full_type) for t in self.tools().values())
        return hashlib.sha1(repr(items).encode()).hexdigest()[:12]

    def unavailable_message(self, name: str) -> str:
        """Text of the UNAVAILABLE answer for ``name``."""
        info = self.known(name)
        available = ", ".join(self.tools()) or "none"
        if info is not None:
            return (f"tool '{name}' ({info.wire_name}) is not available on the ROS graph right now; its node may "
                    f"have stopped or been deactivated. Retry later or use another tool. Available tools: {available}")
        return f"tool '{name}' does not exist on this robot. Available tools: {available}"

    def client(self, info: ToolInfo) -> Any:
        """A cached rclpy Client / ActionClient for ``info``."""
        key = (info.wire_name, info.full_type)
        with self._lock:
            cli = self._clients.get(key)
            if cli is None:
                iface = info.interface()
                if info.kind == "service":
                    cli = self._node.create_client(iface, info.wire_name, callback_group=self._group)
                else:
                    from rclpy.action import ActionClient

                    cli = ActionClient(self._node, iface, info.wire_name, callback_group=self._group)
                self._clients[key] = cli
            return cli

    def destroy(self) -> None:
        """Destroy every client."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for cli in clients:
            try:
                if hasattr(cli, "destroy") and not hasattr(cli, "srv_name"):
                    cli.destroy()
                else:
                    self._node.destroy_client(cli)
            except Exception:
                pass
