"""The offline planner's rule-based reflector: a failure in trial k changes a parameter of trial k+1 (models/reflector.md).

Trials run on the in-process fake world of ``fake_tools.py`` (the same harness skills as in the sim) or on synthetic
step lists; each test checks the JSON reflection and the code that the next trial's plan() writes from it.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import sys
from pathlib import Path
from typing import Any

from maestro_agent.harness.skills import describe, install
from maestro_agent.loop import HistoryStore
from maestro_agent.models import create
from maestro_agent.models.base import AgentStep, PlanContext, ReactContext, ReflectContext
from maestro_agent.models.offline import OfflinePlanner, generate_step_code, parse_instruction
from maestro_agent.models.reflector import DEFAULTS, params_from_history, parse_reflection

_spec = importlib.util.spec_from_file_location("fake_tools", Path(__file__).with_name("fake_tools.py"))
fake_tools = importlib.util.module_from_spec(_spec)
sys.modules["fake_tools"] = fake_tools
_spec.loader.exec_module(fake_tools)

FRANKA = {"embodiment": "franka", "base": None, "main_camera": "front", "cameras": {"front": {}, "wrist": {}}}
DOCS = "# Robot tool API\n" + describe()
PICK = "Pick up the tennis ball."
OPEN = "Open the lower cabinet door by pulling the yellow door handle."


def _trial(world: Any, instruction: str, history: list[str], budget: int = 8) -> list[AgentStep]:
    """One trial of the react loop on the fake world, the planner given ``history``."""
    ns = world.namespace()
    install(ns, FRANKA)
    planner = create("offline")
    base = {"api_docs": DOCS, "embodiment": FRANKA, "history": list(history)}
    steps = [planner.plan(PlanContext(instruction, **base))]
    while steps[-1].verdict in ("CONTINUE", "RETRY") and len(steps) < budget:
        buf, err = io.StringIO(), None
        with contextlib.redirect_stdout(buf):
            try:
                exec(compile(steps[-1].code, "<substep>", "exec"), ns)
            except Exception as exc:  # the sandbox reports exceptions as text, so do we
                err = f"{type(exc).__name__}: {exc}"
        steps.append(planner.react(ReactContext(instruction, substep=len(steps), code=steps[-1].code,
                                                stdout=buf.getvalue(), error=err, steps=list(steps), **base)))
    return steps


def _reflect(instruction: str, steps: list[AgentStep], history: list[str], progress: float) -> dict[str, Any]:
    text = OfflinePlanner().reflect(ReflectContext(instruction, steps=steps, outcome=steps[-1].verdict,
                                                   progress=progress, history=list(history)))
    data = parse_reflection(text)
    assert data is not None, text
    return data


def _high_grasp_world() -> Any:
    """Grasp candidates 2.5 cm above the ball's centre; the fingers hold it only 1-2 cm above the centre."""
    world = fake_tools.tabletop()
    world.candidate_order = [[0.0, 0.0, 0.025], [0.004, 0.0, 0.025], [-0.004, 0.0, 0.025]]
    close = world.gripper

    def gripper(command: str = "open", **kw: Any) -> Any:
        if command == "close":
            dz = world.ee[2] - world.objects["ball"].pos[2]
            if not 0.008 <= dz <= 0.021:
                world.width = 0.0
                return fake_tools.R(width=0.0, holding=False)
        return close(command=command, **kw)

    world.gripper = gripper
    return world


def test_slip_failure_lowers_the_grasp_in_the_next_trial_which_then_succeeds(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    t1 = _trial(_high_grasp_world(), PICK, store.load("pick", PICK))
    assert t1[-1].verdict == "FAILED" and "z_offset" not in t1[0].code
    r1 = _reflect(PICK, t1, store.load("pick", PICK), progress=0.0)
    assert r1["rule"] == "R2" and r1["failed"]["skill"] == "grasp" and "not holding" in r1["failed"]["reason"]
    assert r1["adjust"] == {"grasp_z_offset": -0.01, "grasp_attempts": 6}
    store.append("pick", PICK, json.dumps(r1), verdict="FAILED", progress=0.0)

    t2 = _trial(_high_grasp_world(), PICK, store.load("pick", PICK))
    assert "z_offset=-0.01, attempts=6" in t2[0].code
    assert t2[-1].verdict == "TASK_COMPLETE", [s.reasoning for s in t2]
    r2 = _reflect(PICK, t2, store.load("pick", PICK), progress=100.0)
    assert r2["rule"] == "R0" and r2["adjust"] == {} and r2["params"]["grasp_z_offset"] == -0.01


def test_success_history_keeps_the_code() -> None:
    fresh = _trial(fake_tools.tabletop(), PICK, [])
    assert fresh[-1].verdict == "TASK_COMPLETE"
    ok = _reflect(PICK, fresh, [], progress=100.0)
    assert ok["rule"] == "R0" and ok["params"] == DEFAULTS
    again = _trial(fake_tools.tabletop(), PICK, [json.dumps(ok)])
    assert again[0].code == fresh[0].code


def _open_steps(line: str, verdict: str) -> list[AgentStep]:
    plan = OfflinePlanner().plan(PlanContext(OPEN, api_docs=DOCS, embodiment=FRANKA))
    return [plan, AgentStep(reasoning=f"substep 1/1 ...\noutcomes:\n{line}\n[step] ok index=1 of=1", verdict=verdict)]


def test_door_opened_too_little_pulls_farther_next_time() -> None:
    steps = _open_steps('[open_articulated] ok handle="yellow door handle" fraction=1.0 moved=0.12 angle=40.0',
                        "TASK_COMPLETE")
    assert "angle=80.0" in steps[0].code
    r = _reflect(OPEN, steps, [], progress=60.0)
    assert r["rule"] == "R6" and r["adjust"] == {"open_angle": 100.0}
    nxt = OfflinePlanner().plan(PlanContext(OPEN, api_docs=DOCS, embodiment=FRANKA, history=[json.dumps(r)]))
    assert "angle=100.0" in nxt.code


def test_pull_arc_cut_short_adds_pull_rounds_and_waypoints() -> None:
    steps = _open_steps('[open_articulated] FAIL fraction=0.3 moved=0.02 reason="the handle moved 0.020 m"',
                        "FAILED")
    r = _reflect(OPEN, steps, [], progress=30.0)
    assert r["rule"] == "R6" and r["adjust"] == {"open_rounds": 4, "open_steps": 18}
    nxt = OfflinePlanner().plan(PlanContext(OPEN, api_docs=DOCS, embodiment=FRANKA, history=[json.dumps(r)]))
    assert "rounds=4, steps=18" in nxt.code


def test_handle_not_grasped_tries_a_shorter_handle_name() -> None:
    steps = _open_steps('[open_articulated] FAIL reason="could not grasp the handle: cannot see it"', "FAILED")
    r = _reflect(OPEN, steps, [], progress=0.0)
    assert r["rule"] == "R5" and r["adjust"] == {"aliases": {"yellow door handle": 1}}
    nxt = OfflinePlanner().plan(PlanContext(OPEN, api_docs=DOCS, embodiment=FRANKA, history=[json.dumps(r)]))
    assert "open_articulated('door handle'" in nxt.code


def test_blocked_approach_switches_to_a_side_grasp_and_raises_it() -> None:
    plan = OfflinePlanner().plan(PlanContext(PICK, api_docs=DOCS, embodiment=FRANKA))
    steps = [plan, AgentStep(reasoning='x\noutcomes:\n[grasp] FAIL label="tennis ball" reason="approach blocked '
                             '(collision)"', verdict="FAILED")]
    r = _reflect(PICK, steps, [], progress=0.0)
    assert r["rule"] == "R3" and r["adjust"] == {"grasp_approach": "side", "grasp_z_offset": 0.01}
    nxt = OfflinePlanner().plan(PlanContext(PICK, api_docs=DOCS, embodiment=FRANKA, history=[json.dumps(r)]))
    assert "approach='side', z_offset=0.01" in nxt.code and "approach=side" in nxt.code


def test_unseen_object_starts_the_next_trial_with_the_next_alias() -> None:
    world = fake_tools.tabletop()
    world.objects["ball"].label = "nothing"  # the ball is never found under any name in trial 1
    t1 = _trial(world, PICK, [])
    r = _reflect(PICK, t1, [], progress=0.0)
    assert r["rule"] == "R1" and r["params"]["aliases"]["tennis ball"] >= 1
    nxt = OfflinePlanner().plan(PlanContext(PICK, api_docs=DOCS, embodiment=FRANKA, history=[json.dumps(r)]))
    assert f"alias={r['params']['aliases']['tennis ball']}" in nxt.code


def test_a_change_that_made_things_worse_is_reverted() -> None:
    first = {"reflector": "offline-rules/1", "progress": 60.0, "adjust": {"open_angle": 100.0},
             "before": dict(DEFAULTS), "params": {**DEFAULTS, "open_angle": 100.0}}
    steps = _open_steps('[open_articulated] FAIL fraction=0.3 moved=0.02 reason="the handle moved 0.020 m"',
                        "FAILED")
    r = _reflect(OPEN, steps, [json.dumps(first)], progress=30.0)
    assert r["reverted"] == {"open_angle": 80.0}
    assert r["params"]["open_angle"] == 80.0 and r["params"]["open_rounds"] == 4


def test_free_text_and_bad_history_lines_fall_back_to_defaults() -> None:
    bad = json.dumps({"reflector": "offline-rules/1", "params": {"grasp_z_offset": "x", "open_angle": 1e9,
                                                               "grasp_approach": "sideways"}})
    p = params_from_history(["grasp it from the side (a VLM's free text)", bad])
    assert p["grasp_z_offset"] == 0.0 and p["open_angle"] == 120.0 and p["grasp_approach"] == "auto"
    assert params_from_history(["free text only"]) == DEFAULTS
    clauses = parse_instruction(PICK)
    assert generate_step_code(clauses, 0, params=p) == generate_step_code(clauses, 0, params={**DEFAULTS,
                                                                                             "open_angle": 120.0})


def test_more_retries_from_the_history_allow_a_fourth_attempt() -> None:
    world = fake_tools.tabletop()
    world.failing_candidates = {0, 1, 2}  # every grasp fails: attempts run out
    base = _trial(world, PICK, [])
    assert [s.verdict for s in base][-1] == "FAILED" and len(base) == 4  # plan + 3 attempts
    more = json.dumps({"reflector": "offline-rules/1", "params": {**DEFAULTS, "retries": 4}})
    world2 = fake_tools.tabletop()
    world2.failing_candidates = {0, 1, 2}
    longer = _trial(world2, PICK, [more])
    assert [s.verdict for s in longer] == ["CONTINUE", "RETRY", "RETRY", "RETRY", "FAILED"]
