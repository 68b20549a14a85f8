"""Analytics on crafted traces: exact counts, passing map, bigrams, filters, and the `maestro analyze` outputs."""
from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

_spec = importlib.util.spec_from_file_location("trace_fixtures", Path(__file__).with_name("trace_fixtures.py"))
fx = importlib.util.module_from_spec(_spec)
sys.modules["trace_fixtures"] = fx
_spec.loader.exec_module(fx)

from maestro_dashboard import analyze  # noqa: E402
from maestro_dashboard.analytics import bigrams, filter_traces, summarize, transitions, trial_calls  # noqa: E402
from maestro_dashboard.trace import load_trace  # noqa: E402


def runs(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    fx.pick_place_trial(root / "t1")
    fx.pick_place_trial(root / "t2", t0=5000.0, task="open_cabinet")
    fx.agent_style_trial(root / "t3")
    return root


def test_counts_are_exact(tmp_path: Path) -> None:
    root = runs(tmp_path)
    traces = [load_trace(root / n) for n in ("t1", "t2", "t3")]
    s = summarize(traces)
    assert s["trials"] == 3 and s["calls"] == 13
    assert s["by_module"] == {"control": 8, "grasp": 2, "perception": 3}
    assert s["by_category"] == {"arm motion": 4, "gripper": 4, "detection": 3, "grasp planning": 2}
    assert s["by_tool"]["move_to_pose"] == 4 and s["errors_by_tool"] == {"move_to_pose": 2}
    assert s["task_categories"] == ["articulated", "pick-and-place"]


def test_passing_map_counts_and_probabilities(tmp_path: Path) -> None:
    root = runs(tmp_path)
    per_trial = [trial_calls(load_trace(root / n)) for n in ("t1", "t2", "t3")]
    labels, counts, probs = transitions(per_trial, "module")
    # a pick-place trial's modules: perception, grasp, control x4 -> P->G, G->C, C->C x3 (labels by frequency)
    assert labels == ["control", "perception", "grasp"]
    c = dict(zip(labels, range(3), strict=True))
    assert counts[c["perception"], c["grasp"]] == 2
    assert counts[c["grasp"], c["control"]] == 2
    assert counts[c["control"], c["control"]] == 6
    assert counts.sum() == 10                                   # 2 trials x 5 transitions + 0 (a 1-call trial)
    np.testing.assert_allclose(probs.sum(axis=1), [1.0, 1.0, 1.0])
    assert probs[c["perception"], c["grasp"]] == 1.0
    labels_e, counts_e, _ = transitions(per_trial, "module", with_ends=True)
    assert labels_e[0] == "(start)" and labels_e[-1] == "(end)"
    assert counts_e[0].sum() == 3 and counts_e[:, -1].sum() == 3  # every trial starts and ends once
    bg = bigrams(per_trial)
    assert bg[("move_to_pose", "gripper")] == 4 and bg[("detect_objects", "plan_grasps")] == 2
    assert sum(bg.values()) == 10


def test_filters(tmp_path: Path) -> None:
    root = runs(tmp_path)
    traces = [load_trace(root / n) for n in ("t1", "t2", "t3")]
    assert [t.trial_dir.name for t in filter_traces(traces, task_category="articulated")] == ["t2", "t3"]
    assert [t.trial_dir.name for t in filter_traces(traces, task="put_ball_in_bowl")] == ["t1"]
    assert filter_traces(traces, embodiment="go2w_piper") == []
    custom = filter_traces(traces, task_category="doors", category_overrides={"open_cabinet": "doors"})
    assert [t.trial_dir.name for t in custom] == ["t2", "t3"]


def _args(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    analyze.add_arguments(p)
    return p.parse_args(list(argv))


def test_analyze_cli_writes_figures_and_csv(tmp_path: Path, capsys) -> None:
    root = runs(tmp_path)
    out = tmp_path / "out"
    assert analyze.run(_args(str(root), "--out", str(out), "--category", "pick-and-place")) == 0
    for name in ("calls_by_module", "calls_by_category", "passing_map", "call_bigrams"):
        for ext in ("png", "svg"):
            f = out / f"{name}.{ext}"
            assert f.is_file() and f.stat().st_size > 1000, f
    assert (out / "passing_map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with (out / "counts.csv").open() as f:
        rows = {(r["kind"], r["key"]): int(r["count"]) for r in csv.DictReader(f)}
    assert rows[("module", "control")] == 4 and rows[("module", "perception")] == 1 and rows[("module", "grasp")] == 1
    with (out / "calls.csv").open() as f:
        assert len(list(csv.DictReader(f))) == 6
    with (out / "passing_map.csv").open() as f:
        pm = {(r["from"], r["to"]): (int(r["count"]), float(r["probability"])) for r in csv.DictReader(f)}
    assert pm == {("perception", "grasp"): (1, 1.0), ("grasp", "control"): (1, 1.0), ("control", "control"): (3, 1.0)}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["trials"] == 1
    assert "6 tool calls" in capsys.readouterr().out


def test_analyze_cli_bad_input(tmp_path: Path, capsys) -> None:
    assert analyze.run(_args(str(tmp_path / "none"), "--out", str(tmp_path / "o"))) == 2
    assert "no readable trial" in capsys.readouterr().err
    root = runs(tmp_path)
    assert analyze.run(_args(str(root), "--out", str(tmp_path / "o"), "--category", "cooking")) == 2
    (tmp_path / "cats.json").write_text("[1, 2]")
    assert analyze.run(_args(str(root), "--categories", str(tmp_path / "cats.json"))) == 2
    # a damaged trace still counts what can be read and warns
    text = (root / "t1" / "trace.jsonl").read_text()
    (root / "t1" / "trace.jsonl").write_text("garbage\n" + text[:-40])
    assert analyze.run(_args(str(root), "--out", str(tmp_path / "o2"), "--no-figures", "--quiet")) == 0
    err = capsys.readouterr().err
    assert "t1:1: corrupt_line" in err and "truncated" in err
