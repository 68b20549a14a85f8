"""First-line checks on model-written code: import allow-list and AST rules (stdlib only; used in the child too).

These checks catch honest mistakes and the obvious escapes early with a clear message. They are NOT the security
boundary: that is the bubblewrap namespace (no network, read-only system, writable scratch only) plus rlimits.
"""
from __future__ import annotations

import ast
import builtins
from collections.abc import Callable
from typing import Any

#: Top-level modules model code (and harness skills) may import.
ALLOWED_MODULES: frozenset[str] = frozenset({
    "math", "numpy", "time", "json", "re", "dataclasses", "typing", "itertools", "collections", "functools",
    "random", "statistics", "copy", "enum", "heapq", "bisect", "string", "operator", "fractions", "decimal",
    "textwrap", "cmath", "__future__",
})
#: Submodules that stay blocked even though their package is allowed.
BLOCKED_SUBMODULES: frozenset[str] = frozenset({
    "numpy.f2py", "numpy.distutils", "numpy.ctypeslib", "numpy.testing", "numpy._core", "numpy.lib.format",
})
#: Names model code may not use at all.
BLOCKED_NAMES: frozenset[str] = frozenset({
    "__import__", "eval", "exec", "compile", "globals", "locals", "vars", "breakpoint", "input", "help",
    "__builtins__", "__loader__", "__spec__", "memoryview", "exit", "quit",
})


#: Attribute names model code may not touch (module handles to the OS that allowed modules expose lazily).
BLOCKED_ATTRIBUTES: frozenset[str] = frozenset({
    "ctypeslib", "f2py", "ctypes", "os", "sys", "subprocess", "builtins", "importlib", "testing", "distutils",
    "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "f_globals", "f_locals", "f_builtins", "f_back",
    "tb_frame", "co_code",
})


class PolicyViolation(Exception):
    """Model code broke a rule; the message says which and what to do instead."""


def module_allowed(name: str) -> bool:
    """True when ``import name`` is on the allow-list."""
    if not name or name.startswith("."):
        return False
    for blocked in BLOCKED_SUBMODULES:
        if name == blocked or name.startswith(blocked + "."):
            return False
    return name.split(".")[0] in ALLOWED_MODULES


def check_source(source: str, filename: str = "<code>") -> ast.Module:
    """Parse ``source`` and enforce the rules; returns the AST. Raises SyntaxError or :class:`PolicyViolation`."""
    tree = ast.parse(source, filename=filename, mode="exec")
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not module_allowed(alias.name):
                    raise PolicyViolation(_import_msg(alias.name, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level or not module_allowed(mod):
                raise PolicyViolation(_import_msg("." * node.level + mod, node.lineno))
            for alias in node.names:
                if alias.name.startswith("_") or alias.name in BLOCKED_ATTRIBUTES or not module_allowed(
                        f"{mod}.{alias.name}"):
                    raise PolicyViolation(_import_msg(f"{mod}.{alias.name}", node.lineno))
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("_"):
                kind = "dunder" if node.attr.startswith("__") else "private"
                raise PolicyViolation(f"line {node.lineno}: access to the {kind} attribute '.{node.attr}' is not "
                                      "allowed; use the public API of the object instead")
            if node.attr in BLOCKED_ATTRIBUTES:
                raise PolicyViolation(f"line {node.lineno}: the attribute '.{node.attr}' is not available in the "
                                      "robot sandbox")
        elif isinstance(node, ast.Name):
            if node.id in BLOCKED_NAMES:
                raise PolicyViolation(f"line {node.lineno}: '{node.id}' is not available in the robot sandbox")
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            continue
    return tree


def _import_msg(name: str, lineno: int) -> str:
    allowed = ", ".join(sorted(ALLOWED_MODULES))
    return (f"line {lineno}: import of '{name}' is not allowed in the robot sandbox; allowed modules: {allowed}. "
            "Use the robot tool functions for anything that touches the robot, files or the network.")


def make_import(real_import: Callable[..., Any] = builtins.__import__) -> Callable[..., Any]:
    """An ``__import__`` replacement that only lets allow-listed modules through (absolute imports only)."""

    import sys

    def loaded_internal(name: str) -> bool:
        # C code of an allowed package (e.g. numpy's ndarray.sum) imports its own, already loaded submodules through
        # the builtins of the calling (model) frame; let those through.
        return name in sys.modules and name.split(".")[0] in ALLOWED_MODULES

    def restricted_import(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (),
                          level: int = 0) -> Any:
        if level != 0 or not (module_allowed(name) or loaded_internal(name)):
            raise ImportError(_import_msg(name, 0).replace("line 0: ", ""))
        for item in fromlist or ():
            full = f"{name}.{item}"
            if (isinstance(item, str) and item != "*" and full in sys.modules
                    and not (module_allowed(full) or loaded_internal(full))):
                raise ImportError(f"'{full}' is not allowed in the robot sandbox")
        return real_import(name, globals, locals, fromlist, level)

    return restricted_import


def safe_getattr_factory(real: Callable[..., Any] = getattr) -> Callable[..., Any]:
    """``getattr`` that refuses dunder names (so ``getattr(x, '__class__')`` cannot bypass the AST rule)."""

    def safe_getattr(obj: Any, name: str, *default: Any) -> Any:
        if isinstance(name, str) and (name.startswith("_") or name in BLOCKED_ATTRIBUTES):
            raise AttributeError(f"access to the attribute '{name}' is not allowed in the robot sandbox")
        return real(obj, name, *default)

    return safe_getattr
