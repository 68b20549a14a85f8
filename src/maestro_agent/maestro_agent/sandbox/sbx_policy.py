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
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("__"):
                raise PolicyViolation(f"line {node.lineno}: access to the dunder attribute '.{node.attr}' is not "
                                      "allowed; use the public API of the object instead")
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

    def restricted_import(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (),
                          level: int = 0) -> Any:
        if level != 0 or not module_allowed(name):
            raise ImportError(_import_msg(name, 0).replace("line 0: ", ""))
        for item in fromlist or ():
            if isinstance(item, str) and item != "*" and not module_allowed(f"{name}.{item}"):
                raise ImportError(f"'{name}.{item}' is not allowed in the robot sandbox")
        return real_import(name, globals, locals, fromlist, level)

    return restricted_import


def safe_getattr_factory(real: Callable[..., Any] = getattr) -> Callable[..., Any]:
    """``getattr`` that refuses dunder names (so ``getattr(x, '__class__')`` cannot bypass the AST rule)."""

    def safe_getattr(obj: Any, name: str, *default: Any) -> Any:
        if isinstance(name, str) and name.startswith("__"):
            raise AttributeError(f"access to the dunder attribute '{name}' is not allowed in the robot sandbox")
        return real(obj, name, *default)

    return safe_getattr
