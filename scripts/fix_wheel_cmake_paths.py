"""Repair the CMake files exported by the ROS 2 message wheels.

The wheels are built in a manylinux image, and their exported CMake targets point at that image's Python and numpy
include folders. This rewrites those paths to the venv's own folders so that `colcon build` can compile interfaces.
Idempotent: files that are already correct are left untouched.
"""
from __future__ import annotations

import re
import sys
import sysconfig
from pathlib import Path

import numpy

_BUILD_PY_INCLUDE = re.compile(r"/opt/python/cp3\d+-cp3\d+/include/python3\.\d+")
_BUILD_NUMPY_INCLUDE = re.compile(r"/opt/python/cp3\d+-cp3\d+/lib/python3\.\d+/site-packages/numpy/_core/include")


def fix_cmake_paths(prefix: Path) -> int:
    """Rewrite build-image include paths under ``prefix/share/*/cmake``; return the number of files changed."""
    py_include = sysconfig.get_paths()["include"]
    np_include = numpy.get_include()
    changed = 0
    for cmake_file in prefix.glob("share/*/cmake/*.cmake"):
        text = cmake_file.read_text()
        fixed = _BUILD_NUMPY_INCLUDE.sub(np_include, text)
        fixed = _BUILD_PY_INCLUDE.sub(py_include, fixed)
        if fixed != text:
            cmake_file.write_text(fixed)
            changed += 1
    return changed


if __name__ == "__main__":
    n = fix_cmake_paths(Path(sys.argv[1] if len(sys.argv) > 1 else sys.prefix))
    print(f"[setup] repaired include paths in {n} CMake file(s)")
