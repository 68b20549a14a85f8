"""Trial planning, resumable results, trace statistics, the report and the LeRobot export (no stack needed)."""
import json
from pathlib import Path

import numpy as np
import pytest

from maestro_eval.lerobot_export import camera_key, load_episode, write_episode
from maestro_eval.report import summarize, tool_counts, write_report
from maestro_eval.results import ResultsStore
from maestro_eval.suite import Method, build_trials, parse_trials
from maestro_eval.trace_stats import read_trace_stats


def test_parse_trials() -> None:
    assert parse_trials("base") == [("base", 0)]
    assert parse_trials("base+5") == [("base", 0), ("visual", 0), ("pose", 0), ("verb", 0), ("new_object", 0),
                                      ("visual", 1)]
    assert len(parse_trials("all")) == 21
    assert parse_trials("pose-2") == [("pose", 2)]
    assert parse_trials("base,new_object-1,base") == [("base", 0), ("new_object", 1)]
    for bad in ("many", "pose-x", "base+"):
        with pytest.raises(ValueError, match="--trials"):
            parse_trials(bad)


def test_build_trials_ablation_and_evolve() -> None:
    methods = [Method(tools=t, harness=h) for t in ("S0", "S3") for h in (True, False)]
    specs = build_trials("tabletop", ["put_ball_in_bowl", "open_cabinet"], "base+1", methods)
    assert len(specs) == 2 * 2 * 4
    assert len({s.trial_id for s in specs}) == len(specs)
    evolve = build_trials("tabletop", ["open_cabinet"], "base", [Method()], evolve=3)
    assert [s.index for s in evolve] == [0, 1, 2] and all(s.perturbation == "base" for s in evolve)
    hard = build_trials("tabletop", ["open_cabinet"], None, [Method()], evolve=2) + build_trials(
        "tabletop", ["open_cabinet"], "pose-1", [Method()], evolve=2)
    assert [(s.perturbation, s.seed, s.index) for s in hard] == [("base", 0, 0), ("base", 0, 1), ("pose", 1, 0),
                                                                  ("pose", 1, 1)]
    assert len(build_trials("tabletop", ["open_cabinet"], None, [Method()])) == 6
    with pytest.raises(ValueError, match="not in suite"):
        build_trials("tabletop", ["search_ball"], "base", [Method()])


def test_results_are_resumable_and_survive_a_truncated_line(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    store.add({"trial_id": "a", "task": "t", "method": "m", "progress": 50.0, "status": "done"})
    with open(tmp_path / "results.jsonl", "a") as f:
        f.write('{"trial_id": "b", "progr')  # a crash mid-write
    again = ResultsStore(tmp_path)
    assert again.finished_ids() == {"a"}
    assert "a,,t" in (tmp_path / "results.csv").read_text()


def _trace(path: Path) -> Path:
    events = [
        {"type": "trial_start", "task": "put_ball_in_bowl"},
        {"type": "model_response", "substep": 0, "usage": {"input_tokens": 100, "output_tokens": 20, "latency_s": 1.5}},
        {"type": "tool_call", "substep": 1, "name": "detect_objects", "error_code": 0},
        {"type": "tool_call", "substep": 1, "name": "plan_grasps", "error_code": 202},
        {"type": "model_response", "substep": 1, "usage": {"input_tokens": 50, "output_tokens": 5, "latency_s": 0.5}},
        {"type": "tool_call", "substep": 2, "name": "detect_objects", "error_code": 0},
    ]
    path.mkdir(parents=True, exist_ok=True)
    with open(path / "trace.jsonl", "w") as f:
        for e in events:
            f.write(json.dumps(e) + "\n")
        f.write("{broken\n")
    return path


def test_trace_stats_are_exact(tmp_path: Path) -> None:
    stats = read_trace_stats(_trace(tmp_path / "trial"))
    assert (stats.model_calls, stats.input_tokens, stats.output_tokens) == (2, 150, 25)
    assert stats.model_latency_s == pytest.approx(2.0)
    assert (stats.tool_calls, stats.tool_errors, stats.substeps) == (3, 1, 3)
    assert stats.tools == {"detect_objects": 2, "plan_grasps": 1} and stats.bad_lines == 1


def test_report_tables_and_figures(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    rows = [
        {"trial_id": f"t{i}", "task": "put_ball_in_bowl", "method": m, "perturbation": "base", "progress": p,
         "success": p == 100, "status": "done", "wall_time_s": 30.0, "index": 0, "tools": "S3",
         "tool_counts": "grasp:2 place_in:1"}
        for i, (m, p) in enumerate([("offline/S3/harness", 100.0), ("offline/S3/harness", 50.0),
                                    ("offline/S3/atomic", 0.0)])
    ]
    for r in rows:
        store.add(r)
    summary = summarize(rows)
    assert summary["put_ball_in_bowl"]["offline/S3/harness"]["progress_mean"] == pytest.approx(75.0)
    assert summary["put_ball_in_bowl"]["offline/S3/harness"]["progress_std"] == pytest.approx(25.0)
    assert summary["put_ball_in_bowl"]["offline/S3/atomic"]["success_rate"] == 0.0
    assert tool_counts(rows) == {"grasp": 6, "place_in": 3}
    store.write_meta({"command": "maestro eval x", "planned": [r["trial_id"] for r in rows] + ["never_ran"]})
    md = write_report(tmp_path).read_text()
    assert "75.0 ± 25.0 (n=2)" in md and (tmp_path / "figures" / "trial_grid.png").stat().st_size > 1000
    assert "50% / 30 ± 0 s" in md and "1 planned trials not run" in md and "- never_ran" in md
    assert "| never_ran | not run | not run |" in md
    assert "| grasp | 6 | 0 | 2 | 4 |" in md
    page = (tmp_path / "report.html").read_text()
    assert "<th>task</th>" in page and '<img alt="trial grid" src="figures/trial_grid.png">' in page


def test_report_shows_the_evolution_curve_and_reflections(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    reflection = json.dumps({"rule": "R6", "root_cause": "the door opened only 40%", "adjust": {"open_rounds": 4}})
    for i, p in enumerate([40.0, 70.0, 100.0]):
        store.add({"trial_id": f"e{i}", "task": "open_cabinet", "perturbation": "pose", "seed": 1, "index": i,
                   "method": "offline/S3/harness", "progress": p, "success": p == 100, "status": "done",
                   "verdict": "TASK_COMPLETE", "wall_time_s": 60.0, "reflection": reflection if i < 2 else "ok"})
    md = write_report(tmp_path).read_text()
    assert "### open_cabinet [pose-1] / offline/S3/harness" in md and "40 → 70 → 100" in md
    assert "R6: the door opened only 40%; adjust open_rounds=4" in md
    assert (tmp_path / "figures" / "evolution.png").is_file() and (tmp_path / "figures" / "evolution.svg").is_file()


def test_lerobot_episode_round_trip(tmp_path: Path) -> None:
    times = np.linspace(0.0, 2.0, 41)
    states = np.stack([np.sin(times), np.cos(times)], axis=1)
    (tmp_path / "meta").mkdir()
    write_episode(tmp_path, 0, "Put the tennis ball into the bowl.", times, states, fps=10.0)
    ep = load_episode(tmp_path, 0)
    assert ep["observation.state"].shape == (20, 2)
    assert np.allclose(ep["action"][:-1], ep["observation.state"][1:])
    assert np.allclose(ep["observation.state"][5], [np.sin(0.5), np.cos(0.5)], atol=1e-3)
    meta = (tmp_path / "meta" / "episodes.jsonl").read_text()
    assert "tennis ball" in meta


def test_lerobot_episode_video_follows_the_latest_frame(tmp_path: Path) -> None:
    times = np.linspace(0.0, 2.0, 41)
    states = np.stack([np.sin(times), np.cos(times)], axis=1)
    # three camera frames (red, green, blue) at 0, 0.8 and 1.4 s: steps before 0.8 s show red, and so on
    colours = [(220, 30, 30), (30, 220, 30), (30, 30, 220)]
    frames = [np.full((48, 64, 3), c, np.uint8) for c in colours]
    (tmp_path / "meta").mkdir()
    key = camera_key("/front/image_raw")
    assert key == "observation.images.front"
    write_episode(tmp_path, 0, "Put the tennis ball into the bowl.", times, states, fps=10.0,
                  cameras={key: (np.array([0.0, 0.8, 1.4]), frames)})
    video = load_episode(tmp_path, 0)[key]
    assert video.shape == (20, 48, 64, 3)
    dominant = [int(np.argmax(f.reshape(-1, 3).mean(axis=0))) for f in video]
    assert dominant == [0] * 8 + [1] * 6 + [2] * 6


def test_cli_actions_and_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from maestro_eval.cli import add_arguments, run

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert run(parser.parse_args(["list", "--tasks", "open_cabinet", "--trials", "pose-1", "--evolve", "2"])) == 0
    assert "open_cabinet__pose-1__offline-S3-h__1" in capsys.readouterr().out
    assert run(parser.parse_args(["bogus", str(tmp_path)])) == 2
    assert "unknown action" in capsys.readouterr().err
    # 'maestro eval RESULTS' is a run into RESULTS: bad input is still answered before anything starts
    assert run(parser.parse_args([str(tmp_path / "r"), "--workers", "0"])) == 2
    assert run(parser.parse_args([str(tmp_path / "r"), "--tasks", "search_ball"])) == 2
    assert "not in suite" in capsys.readouterr().err and not (tmp_path / "r").exists()
    assert run(parser.parse_args(["report", str(tmp_path / "empty")])) == 1
