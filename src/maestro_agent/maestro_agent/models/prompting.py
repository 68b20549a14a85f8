"""Load the versioned prompt files (``maestro_agent/prompts/*.md``) and describe the embodiment from its profile."""
from __future__ import annotations

import json
from pathlib import Path
from string import Template
from typing import Any

PROMPT_DIR = Path(__file__).resolve().parent.parent / "prompts"
PROMPT_NAMES = ("system", "plan", "react", "reflect")


def load_prompt(name: str) -> tuple[str, str]:
    """(version, template text) of prompt ``name``; the first line of the file is ``version: N``."""
    if name not in PROMPT_NAMES:
        raise ValueError(f"unknown prompt {name!r}; expected one of {PROMPT_NAMES}")
    text = (PROMPT_DIR / f"{name}.md").read_text()
    first, _, body = text.partition("\n")
    if not first.startswith("version:"):
        raise ValueError(f"prompt {name}.md must start with a 'version: N' line")
    return first.split(":", 1)[1].strip(), body.lstrip("\n")


def prompt_versions() -> dict[str, str]:
    """Versions of every prompt (recorded in traces so results can be tied to prompt revisions)."""
    return {name: load_prompt(name)[0] for name in PROMPT_NAMES}


def render(name: str, **values: Any) -> str:
    """Fill prompt ``name``'s ``$placeholders`` (missing ones stay visible, never raise)."""
    _, template = load_prompt(name)
    return Template(template).safe_substitute({k: ("" if v is None else str(v)) for k, v in values.items()})


def describe_embodiment(profile: dict[str, Any] | None) -> str:
    """Plain-text description of the robot from its embodiment profile (joints, cameras, gripper, base, frames)."""
    p = profile or {}
    if not p:
        return "(no embodiment profile given)"
    lines = [f"Embodiment: {p.get('embodiment', '?')}. {p.get('description', '')}".strip()]
    frames = p.get("frames") or {}
    if frames:
        lines.append(f"Frames: robot base frame '{frames.get('base', '?')}' (tool outputs are in it), tool centre "
                     f"point '{frames.get('tcp', '?')}' (+z = approach direction, +y = finger closing axis).")
    arm = p.get("arm") or {}
    names = arm.get("joint_names") or []
    if names:
        limits = ", ".join(f"{n} [{lo:.2f}, {hi:.2f}]" for n, lo, hi in zip(names, arm.get("lower", []),
                                                                            arm.get("upper", []), strict=False))
        lines.append(f"Arm: {len(names)} joints (rad): {limits or ', '.join(names)}.")
        if arm.get("home"):
            lines.append(f"Home joint positions: {json.dumps(arm['home'])}.")
    gripper = p.get("gripper") or {}
    if gripper:
        lines.append(f"Gripper: parallel jaw, opening 0-{gripper.get('max_width', '?')} m, max force "
                     f"{gripper.get('max_force', '?')} N.")
    base = p.get("base")
    if base:
        lines.append(f"Mobile base: yes (move_base in the odom frame; max {base.get('max_linear', '?')} m/s, "
                     f"{base.get('max_angular', '?')} rad/s; footprint radius {base.get('footprint_radius', '?')} m).")
    else:
        lines.append("Mobile base: none (fixed arm; move_base is not available).")
    cams = p.get("cameras") or {}
    if cams:
        desc = [f"{name} ({c.get('width', '?')}x{c.get('height', '?')}{', depth' if c.get('depth') else ''})"
                for name, c in cams.items()]
        lines.append(f"Cameras: {', '.join(desc)}; main camera: {p.get('main_camera', '?')}.")
    return "\n".join(lines)
