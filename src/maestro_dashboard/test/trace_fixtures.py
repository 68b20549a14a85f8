"""Crafted trial folders for the dashboard tests (loaded by path; not a package module)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc0000003010100"
    "c9fe92ef0000000049454e44ae426082")


def call(t0: float, name: str, start: float, end: float, substep: int = 1, line: int = 1, error: int = 0,
         **extra: Any) -> dict[str, Any]:
    """A tool_call event (times relative to ``t0``)."""
    return {"v": 1, "type": "tool_call", "t": t0 + end, "name": name, "substep": substep, "line": line,
            "t_start": t0 + start, "t_end": t0 + end, "error_code": error, **extra}


def write_trial(folder: Path, events: list[dict[str, Any]], images: list[str] = (), raw_tail: str = "") -> Path:
    """Write ``events`` as trace.jsonl (+ ``raw_tail`` appended verbatim) and 1x1 PNGs at ``images``."""
    folder.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(e) + "\n" for e in events) + raw_tail
    (folder / "trace.jsonl").write_text(text)
    for rel in images:
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(PNG_1X1)
    return folder


def pick_place_trial(folder: Path, t0: float = 1000.0, task: str = "put_ball_in_bowl",
                     embodiment: str = "franka") -> Path:
    """A complete trial with 6 tool calls: detect, plan_grasps, move_to_pose, gripper, move_to_pose, gripper."""
    ev = [
        {"v": 1, "type": "trial_start", "t": t0, "task": task, "embodiment": embodiment, "model": "m",
         "instruction": "Put the ball in the bowl.", "seed": 1, "scene": "s"},
        {"v": 1, "type": "substep_start", "t": t0 + 1, "substep": 1},
        {"v": 1, "type": "substep_code", "t": t0 + 1, "substep": 1, "code": "a()\nb()\nc()", "reasoning": "r1",
         "subtasks": ["find", "grasp", "place"]},
        call(t0, "detect_objects", 1.0, 2.0, line=1, subtask=0, image="images/d.png"),
        call(t0, "plan_grasps", 2.0, 3.0, line=2, subtask=1),
        call(t0, "move_to_pose", 3.0, 5.0, line=2, subtask=1),
        call(t0, "gripper", 5.0, 6.0, line=3, subtask=1),
        {"v": 1, "type": "verdict", "t": t0 + 7, "substep": 1, "verdict": "CONTINUE"},
        {"v": 1, "type": "substep_code", "t": t0 + 8, "substep": 2, "code": "d()", "reasoning": "r2"},
        call(t0, "move_to_pose", 8.0, 9.0, substep=2, line=1, subtask=2, error=301),
        call(t0, "gripper", 9.0, 10.0, substep=2, line=1, subtask=2),
        {"v": 1, "type": "trial_end", "t": t0 + 11, "progress": 100.0, "success": True, "verdict": "TASK_COMPLETE"},
    ]
    return write_trial(folder, ev, images=["images/d.png"])


def agent_style_trial(folder: Path, t0: float = 2000.0) -> Path:
    """Events shaped like maestro_agent's recorder (schema v1): 'substep' events, start/end, image refs, captions."""
    ev = [
        {"v": 1, "seq": 1, "t": t0, "type": "trial_start", "instruction": "Open the cabinet.", "task": "open_cabinet",
         "model": "offline", "max_substeps": 8, "embodiment": "franka"},
        {"v": 1, "seq": 2, "t": t0 + 0.1, "type": "tools", "tools": ["detect_objects"], "fingerprint": "x"},
        {"v": 1, "seq": 3, "t": t0 + 0.2, "type": "sandbox", "mode": "bwrap"},
        {"v": 1, "seq": 4, "t": t0 + 0.3, "type": "model_request", "kind": "plan", "substep": 0, "n_images": 1},
        {"v": 1, "seq": 5, "t": t0 + 1.3, "type": "model_response", "kind": "plan", "ok": True, "latency_s": 1.0,
         "input_tokens": 10, "output_tokens": 5},
        {"v": 1, "seq": 6, "t": t0 + 1.4, "type": "substep", "substep": 1, "code": "detect_objects(labels=['h'])",
         "reasoning": "look", "verdict": "CONTINUE", "subtasks": ["find handle", "pull"], "current_subtask": 0},
        {"v": 1, "seq": 7, "t": t0 + 1.5, "type": "line", "substep": 1, "line": 1, "dt": 0.01},
        {"v": 1, "seq": 8, "t": t0 + 2.0, "type": "tool_call", "substep": 1, "line": 1, "name": "detect_objects",
         "wire_name": "/perception/detect_objects", "args": {"labels": ["h"]}, "result": {"detections": 1},
         "error_code": 0, "error_msg": "", "start": t0 + 1.5, "end": t0 + 1.9, "images": ["img_3"]},
        {"v": 1, "seq": 9, "t": t0 + 2.1, "type": "stdout", "substep": 1, "text": "found\n"},
        {"v": 1, "seq": 10, "t": t0 + 2.2, "type": "exec_result", "substep": 1, "ok": True, "error": ""},
        {"v": 1, "seq": 11, "t": t0 + 2.3, "type": "observation", "substep": 1,
         "images": ["images/0001-s1-camera_front.png", "images/0002-s1-detect_objects_annotated_result.png"],
         "captions": ["camera front", "detect_objects annotated result"],
         "robot_state": {"joints": {"name": ["j1", "j2"], "position": [0.1, 0.2]}, "gripper_width": 0.04}},
        {"v": 1, "seq": 12, "t": t0 + 3.0, "type": "verdict", "substep": 1, "verdict": "TASK_COMPLETE",
         "reasoning": "done"},
        {"v": 1, "seq": 13, "t": t0 + 3.1, "type": "evaluation", "progress": 60.0, "success": False},
        {"v": 1, "seq": 14, "t": t0 + 3.2, "type": "trial_end", "verdict": "TASK_COMPLETE", "substeps": 1,
         "progress": 60.0, "success": False, "error_code": 0, "error_msg": ""},
    ]
    return write_trial(folder, ev, images=["images/0001-s1-camera_front.png",
                                           "images/0002-s1-detect_objects_annotated_result.png"])
