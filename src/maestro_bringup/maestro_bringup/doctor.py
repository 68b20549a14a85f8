"""``maestro doctor``: report what this installation has and how ROS is configured."""
from __future__ import annotations

import argparse
import ctypes
import importlib
import importlib.metadata
import os
import shutil
from typing import Any


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
        return True
    except Exception:
        return False


def gl_renderer() -> dict[str, str]:
    """Create a MuJoCo offscreen GL context and read GL_VENDOR/GL_RENDERER/GL_VERSION (empty values on failure)."""
    backend = os.environ.get("MUJOCO_GL", "egl")
    info = {"backend": backend, "renderer": "", "vendor": "", "version": "", "error": ""}
    try:
        import mujoco

        ctx = mujoco.GLContext(64, 64)
        ctx.make_current()
        lib = None
        for name in ("libOpenGL.so.0", "libGL.so.1", "libGLESv2.so.2"):
            try:
                lib = ctypes.CDLL(name)
                break
            except OSError:
                continue
        if lib is None:
            raise OSError("no OpenGL library found to query the renderer")
        lib.glGetString.restype = ctypes.c_char_p
        for key, enum in (("vendor", 0x1F00), ("renderer", 0x1F01), ("version", 0x1F02)):
            value = lib.glGetString(enum)
            info[key] = value.decode() if value else ""
        ctx.free()
    except Exception as exc:
        info["error"] = f"{type(exc).__name__}: {exc}"
    return info


def collect() -> dict[str, Any]:
    """Everything the doctor reports, as a dict."""
    report: dict[str, Any] = {}
    ros_distro = os.environ.get("ROS_DISTRO")
    report["install_path"] = f"full ROS 2 install ({ros_distro})" if ros_distro else "pip wheels (no ROS install sourced)"
    report["rclpy"] = _version("ros-rclpy") or _version("ros-kilted-rclpy") or ("system" if _importable("rclpy") else None)
    try:
        from rclpy.utilities import get_rmw_implementation_identifier

        report["rmw"] = get_rmw_implementation_identifier()
    except Exception as exc:
        report["rmw"] = f"unavailable ({exc})"
    report["ROS_DOMAIN_ID"] = os.environ.get("ROS_DOMAIN_ID", "0 (default)")
    report["ROS_AUTOMATIC_DISCOVERY_RANGE"] = os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE", "SUBNET (default)")
    report["discovery_on_loopback"] = os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE") == "LOCALHOST"
    report["interfaces_built"] = _importable("maestro_interfaces.srv")
    report["rendering"] = gl_renderer()
    report["optional"] = {
        "tf2_ros": _importable("tf2_ros"),
        "cv_bridge": _importable("cv_bridge"),
        "launch (ros2 launch)": _importable("launch_ros"),
        "ros2 CLI": shutil.which("ros2") is not None,
        "moveit_py": _importable("moveit.planning"),
        "ultralytics": _version("ultralytics") is not None,
        "bubblewrap sandbox": shutil.which("bwrap") is not None,
        "google-genai": _version("google-genai") is not None,
        "gemini key set": bool(os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY")),
        "openai-compatible key set": bool(os.environ.get("OPENAI_API_KEY")),
    }
    gpu = "none"
    try:
        import torch

        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
    except Exception:
        gpu = "none (torch not usable)"
    report["gpu"] = gpu
    report["versions"] = {d: _version(d) for d in ("mujoco", "open3d", "pin", "ompl", "toppra", "ruckig", "torch")}
    return report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``maestro doctor``."""
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    """Print the report; exit 1 when something required is missing."""
    report = collect()
    if args.json:
        import json

        print(json.dumps(report, indent=2))
    else:
        ok = "\033[32mok\033[0m"
        no = "\033[33mno\033[0m"
        print(f"install path        : {report['install_path']}")
        print(f"rclpy               : {report['rclpy']}")
        print(f"rmw                 : {report['rmw']}")
        print(f"ROS_DOMAIN_ID       : {report['ROS_DOMAIN_ID']}")
        print(f"discovery range     : {report['ROS_AUTOMATIC_DISCOVERY_RANGE']}"
              + ("" if report["discovery_on_loopback"] else "  <- set LOCALHOST to keep DDS on this machine"))
        print(f"maestro_interfaces  : {ok if report['interfaces_built'] else no + ' (run make setup)'}")
        r = report["rendering"]
        print(f"rendering           : MUJOCO_GL={r['backend']} -> "
              + (f"{r['renderer']} ({r['version']})" if r["renderer"] else f"FAILED {r['error']}"))
        print(f"GPU                 : {report['gpu']}")
        for name, present in report["optional"].items():
            print(f"  {name:<26}: {ok if present else no}")
        print("versions            : " + ", ".join(f"{k} {v}" for k, v in report["versions"].items() if v))
    required = report["interfaces_built"] and bool(report["rendering"]["renderer"])
    return 0 if required else 1
