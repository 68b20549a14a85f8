"""Trace reading and validation: well-formed traces, the agent's schema, and every kind of damage."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location("trace_fixtures", Path(__file__).with_name("trace_fixtures.py"))
fx = importlib.util.module_from_spec(_spec)
sys.modules["trace_fixtures"] = fx
_spec.loader.exec_module(fx)

from maestro_dashboard.trace import find_trials, joints_from_observations, load_trace  # noqa: E402


def kinds(trace) -> list[str]:
    return [i.kind for i in trace.issues]


def test_complete_trial_has_no_issues_and_relative_times(tmp_path: Path) -> None:
    t = load_trace(fx.pick_place_trial(tmp_path / "a"))
    assert t.issues == []
    assert t.meta["task"] == "put_ball_in_bowl" and t.meta["instruction"] == "Put the ball in the bowl."
    assert t.t0 == 1000.0 and t.duration == 11.0
    calls = t.tool_calls
    assert [c["name"] for c in calls] == ["detect_objects", "plan_grasps", "move_to_pose", "gripper", "move_to_pose",
                                          "gripper"]
    assert calls[0]["rel_start"] == 1.0 and calls[0]["rel_end"] == 2.0
    assert calls[0]["module"] == "perception" and calls[1]["module"] == "grasp" and calls[2]["module"] == "control"
    assert calls[4]["error_code"] == 301
    assert calls[0]["images"] == ["images/d.png"] and calls[0]["missing_images"] == []
    assert t.end["success"] is True


def test_agent_recorder_schema_is_understood(tmp_path: Path) -> None:
    """maestro_agent's recorder writes 'substep', start/end, image refs and captioned observations."""
    t = load_trace(fx.agent_style_trial(tmp_path / "b"))
    assert [i for i in t.issues if i.kind in ("unknown_event", "missing_field", "missing_image")] == []
    sub = [e for e in t.events if e["type"] == "substep_code"]
    assert len(sub) == 1 and sub[0]["raw_type"] == "substep" and sub[0]["current_subtask"] == 0
    call = t.tool_calls[0]
    assert call["rel_start"] == 1.5 and abs(call["rel_end"] - 1.9) < 1e-9
    assert call["module"] == "perception"           # from wire_name
    assert call["image_refs"] == ["img_3"]           # an in-memory ref is not a missing file
    assert call["images"] == ["images/0002-s1-detect_objects_annotated_result.png"]  # attached via the caption
    resp = [e for e in t.events if e["type"] == "model_response"][0]
    assert resp["latency"] == 1.0
    joints = joints_from_observations(t.events)
    assert joints["names"] == ["j1", "j2", "gripper_width"] and joints["position"] == [[0.1, 0.2, 0.04]]


def test_corrupt_line_is_skipped_and_reported(tmp_path: Path) -> None:
    d = fx.pick_place_trial(tmp_path / "c")
    lines = (d / "trace.jsonl").read_text().splitlines()
    lines.insert(3, "{not json")
    lines.insert(5, "[1, 2]")
    (d / "trace.jsonl").write_text("\n".join(lines) + "\n")
    t = load_trace(d)
    assert kinds(t).count("corrupt_line") == 2
    assert {i.line for i in t.issues} == {4, 6}
    assert len(t.tool_calls) == 6                    # everything else still shown


def test_truncated_last_line(tmp_path: Path) -> None:
    d = fx.pick_place_trial(tmp_path / "d")
    text = (d / "trace.jsonl").read_text()
    (d / "trace.jsonl").write_text(text[: len(text) - 30])  # cut inside trial_end
    t = load_trace(d)
    assert "truncated" in kinds(t)
    assert t.end is None and len(t.tool_calls) == 6
    assert any("no trial_end" in i.message for i in t.issues)


def test_unknown_events_missing_images_and_fields(tmp_path: Path) -> None:
    ev = [{"type": "trial_start", "t": 5.0, "instruction": "x"},
          {"type": "teleport", "t": 6.0}, {"type": "teleport", "t": 6.5},
          {"type": "observation", "t": 7.0, "images": ["images/gone.png"]},
          {"type": "tool_call", "t": 8.0},
          {"type": "line", "t": 9.0, "substep": "two", "line": 3},
          {"type": "stdout", "text": "no time"}]
    t = load_trace(fx.write_trial(tmp_path / "e", ev))
    msgs = [i.message for i in t.issues]
    assert kinds(t).count("unknown_event") == 2      # first occurrence + a count
    assert any("images/gone.png" in m for m in msgs)
    assert any("tool_call: missing field 'name'" in m for m in msgs)
    assert any("not an integer" in m for m in msgs)
    assert any("no time field" in m for m in msgs)
    assert t.events[-1]["rel"] == 4.0                # an event without time takes its predecessor's time
    obs = [e for e in t.events if e["type"] == "observation"][0]
    assert obs["missing_images"] == ["images/gone.png"]


def test_unreadable_empty_and_binary_files(tmp_path: Path) -> None:
    t = load_trace(tmp_path / "nothing")
    assert t.events == [] and "cannot read" in t.issues[0].message
    d = tmp_path / "bin"
    d.mkdir()
    (d / "trace.jsonl").write_bytes(b"\xff\xfe\x00garbage\n" + json.dumps({"type": "trial_start", "t": 1}).encode())
    t = load_trace(d)
    assert len(t.events) == 1 and any("not UTF-8" in i.message for i in t.issues)
    (d / "trace.jsonl").write_text("")
    assert load_trace(d).events == []


def test_unsupported_version_is_reported(tmp_path: Path) -> None:
    t = load_trace(fx.write_trial(tmp_path / "v", [{"v": 7, "type": "trial_start", "t": 1, "instruction": "x"}]))
    assert "unsupported_version" in kinds(t)


def test_find_trials(tmp_path: Path) -> None:
    fx.pick_place_trial(tmp_path / "runs" / "a")
    fx.pick_place_trial(tmp_path / "runs" / "deep" / "b")
    (tmp_path / "runs" / "empty").mkdir()
    found = find_trials([tmp_path / "runs", tmp_path / "runs" / "a"])
    assert [p.name for p in found] == ["a", "b"]


def test_real_agent_recorded_trial_validates() -> None:
    """A trial recorded by maestro_agent's TraceRecorder (RunTask node with fake tools and a scripted model)."""
    d = Path(__file__).with_name("data") / "agent_trial"
    t = load_trace(d)
    assert t.issues == [], [i.to_dict() for i in t.issues]
    assert t.meta["instruction"] == "Put the ball somewhere." and t.meta["trace_dir"]
    assert [e["substep"] for e in t.events if e["type"] == "substep_code"] == [1, 2]
    calls = t.tool_calls
    assert [(c["name"], c["module"]) for c in calls] == [("detect_objects", "perception"), ("move_to_pose", "control")]
    assert all(0 <= c["rel_start"] <= c["rel_end"] <= t.duration for c in calls)
    assert calls[0]["images"] == ["images/0003-s1-detect_objects_annotated_result.png"]
    assert (d / calls[0]["images"][0]).is_file()
    lines = [e for e in t.events if e["type"] == "line"]
    assert lines and all(isinstance(e["line"], int) and e["substep"] in (1, 2) for e in lines)
    assert t.end["verdict"] == "TASK_COMPLETE"
