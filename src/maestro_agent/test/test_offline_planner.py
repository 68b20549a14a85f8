"""The offline rule planner: grammar over the task suite, code that compiles and calls only known names, react."""
from __future__ import annotations

import ast
import builtins
import contextlib
import importlib.util
import io
import json
import re
import sys
from pathlib import Path

import pytest

from maestro_agent.harness.skills import SKILL_NAMES, describe, install
from maestro_agent.models import create
from maestro_agent.models.base import AgentStep, PlanContext, ReactContext, ReflectContext
from maestro_agent.models.offline import (
    OfflinePlanner,
    generate_step_code,
    parse_instruction,
    parse_order,
    split_clauses,
)

_spec = importlib.util.spec_from_file_location("fake_tools", Path(__file__).with_name("fake_tools.py"))
fake_tools = importlib.util.module_from_spec(_spec)
sys.modules["fake_tools"] = fake_tools
_spec.loader.exec_module(fake_tools)

STUBS = {"detect_objects", "point_to", "segment", "get_object_cloud", "get_object_geometry", "capture_images",
         "query_semantic_map", "plan_grasps", "get_robot_state", "stop", "move_to_pose", "move_joints",
         "follow_cartesian_path", "gripper", "move_base", "run_policy", "observe"}
KNOWN = STUBS | set(SKILL_NAMES) | set(dir(builtins))
FRANKA = {"embodiment": "franka", "base": None, "main_camera": "front", "cameras": {"front": {}, "wrist": {}}}
MOBILE = {"embodiment": "go2w_piper", "base": {"max_linear": 0.8}, "main_camera": "head"}
HARNESS_DOCS = "# Robot tool API\n" + describe()

# (instruction, expected clause kinds, expected (obj, target) of the first clause)
CASES = [
    # tabletop, base instructions (TASKS.md)
    ("Put the tennis ball into the bowl.", ["put_in"], ("tennis ball", "bowl")),
    ("Open the lower cabinet door by pulling the yellow door handle.", ["open"],
     ("lower cabinet door", "yellow door handle")),
    ("Fold the four corners of the towel to the center.", ["fold"], ("towel", "")),
    ("Erase the instructions on the whiteboard, then follow them to stack the cubes.", ["wipe", "stack"],
     ("marks", "eraser")),
    ("Rotate the cube so that one of its purple faces points up.", ["rotate"], ("cube", "")),
    ("Hang the mug on the mug hanger stand.", ["hang"], ("mug", "mug hanger stand")),
    ("Cut the banana in half with the black knife, orthogonally.", ["cut"], ("banana", "black knife")),
    ("Clean the table by putting all the items into the bowl, from big size to small size.", ["clean_all"],
     ("", "bowl")),
    # mobile, base instructions
    ("Open the door and enter the building.", ["open", "enter"], ("door", "door handle")),
    ("Search for the orange plush ball and return when it is grasped.", ["search", "pick", "return_start"],
     ("orange plush ball", "")),
    ("Throw the green plush ball into the garbage can.", ["put_in"], ("green plush ball", "garbage can")),
    ("Collect all plush toys on the white table.", ["collect_all"], ("plush toys", "white table")),
    # verb / new-object perturbations (TASKS.md examples and similar rewordings)
    ("Drop the ball into the bowl.", ["put_in"], ("ball", "bowl")),
    ("Push the ball next to the bowl.", ["push"], ("ball", "bowl")),
    ("Put the orange into the bowl.", ["put_in"], ("orange", "bowl")),
    ("Hang the cup on the mug hanger stand.", ["hang"], ("cup", "mug hanger stand")),
    ("Cut the banana in half with the knife, orthogonally.", ["cut"], ("banana", "knife")),
    ("Pick up the red cube, then place it on the plate.", ["pick", "put_on"], ("red cube", "")),
    ("Stack the cubes from big to small.", ["stack"], ("cube", "")),
    ("Bring the tennis ball to the table.", ["search", "pick", "go_to"], ("tennis ball", "")),
    ("Go to the kitchen.", ["go_to"], ("kitchen", "")),
    ("Wipe the table with the sponge.", ["wipe"], ("table", "sponge")),
    ("Look for the bowl.", ["search"], ("bowl", "")),
]


@pytest.mark.parametrize("instruction, kinds, first", CASES, ids=[c[0][:40] for c in CASES])
def test_grammar_parses_task_suite(instruction: str, kinds: list[str], first: tuple[str, str]) -> None:
    clauses = parse_instruction(instruction)
    assert [c.kind for c in clauses] == kinds
    assert (clauses[0].obj, clauses[0].target) == first


def _called_names(code: str) -> set[str]:
    tree = ast.parse(code)
    defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    defined |= {t.id for n in ast.walk(tree) if isinstance(n, ast.Assign) for t in ast.walk(n) if
                isinstance(t, ast.Name)}
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    return called - defined


@pytest.mark.parametrize("profile", [FRANKA, MOBILE], ids=["franka", "mobile"])
@pytest.mark.parametrize("instruction", [c[0] for c in CASES], ids=[c[0][:40] for c in CASES])
def test_generated_code_compiles_and_calls_only_known_names(instruction: str, profile: dict) -> None:
    clauses = parse_instruction(instruction)
    for i in range(len(clauses)):
        for attempt, alias, approach in ((1, 0, "auto"), (2, 1, "any")):
            code = generate_step_code(clauses, i, attempt, alias, approach, mobile=bool(profile["base"]))
            compile(code, f"<{instruction}>", "exec")
            unknown = _called_names(code) - KNOWN
            assert not unknown, f"unknown calls {unknown} in:\n{code}"
            imports = {a.name for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Import) for a in n.names}
            assert imports <= {"math", "time", "json", "re"}


def test_atomic_mode_defines_its_own_helpers() -> None:
    planner = OfflinePlanner()
    step = planner.plan(PlanContext("Put the tennis ball into the bowl.", api_docs="# Robot tool API\n(no skills)"))
    assert step.verdict == "CONTINUE"
    assert "def grasp(" in step.code and "def place_in(" in step.code
    assert not (_called_names(step.code) - KNOWN)
    refused = planner.plan(PlanContext("Open the door.", api_docs="# Robot tool API\n(no skills)"))
    assert refused.verdict == "FAILED" and "harness" in refused.reasoning


def test_unknown_instruction_fails_honestly() -> None:
    step = create("offline").plan(PlanContext("Juggle three oranges while singing."))
    assert step.verdict == "FAILED" and "does not understand" in step.reasoning and step.code == ""
    assert create("offline").plan(PlanContext("   ")).verdict == "FAILED"


def test_order_words_and_splitting() -> None:
    assert parse_order("from big size to small size") == "desc_size"
    assert parse_order("smallest first") == "asc_size"
    assert parse_order("left to right") == "left_right"
    assert split_clauses("Pick up the cube, then put it in the box; then release") == [
        "Pick up the cube", "put it in the box", "release"]


def _run(code: str, ns: dict) -> tuple[str, str | None]:
    buf = io.StringIO()
    err = None
    with contextlib.redirect_stdout(buf):
        try:
            exec(compile(code, "<substep>", "exec"), ns)
        except Exception as exc:  # the sandbox reports exceptions as text, so do we
            err = f"{type(exc).__name__}: {exc}"
    return buf.getvalue(), err


def _episode(world, instruction: str, profile: dict = FRANKA, budget: int = 8) -> list[AgentStep]:
    ns = world.namespace()
    install(ns, profile)
    planner = create("offline")
    steps = [planner.plan(PlanContext(instruction, api_docs=HARNESS_DOCS, embodiment=profile))]
    while steps[-1].verdict in ("CONTINUE", "RETRY") and len(steps) < budget:
        stdout, err = _run(steps[-1].code, ns)
        steps.append(planner.react(ReactContext(instruction, api_docs=HARNESS_DOCS, embodiment=profile,
                                                substep=len(steps), code=steps[-1].code, stdout=stdout,
                                                error=err, steps=list(steps))))
    return steps


def test_put_ball_in_bowl_runs_to_completion_on_fake_world() -> None:
    world = fake_tools.tabletop()
    steps = _episode(world, "Put the tennis ball into the bowl.")
    assert [s.verdict for s in steps] == ["CONTINUE", "TASK_COMPLETE"]
    ball, bowl = world.objects["ball"], world.objects["bowl"]
    assert abs(ball.pos[0] - bowl.pos[0]) < 0.05 and abs(ball.pos[1] - bowl.pos[1]) < 0.05
    assert steps[0].subtasks == ["put in 'tennis ball' -> 'bowl'"]


def test_react_retries_with_another_approach_then_completes() -> None:
    world = fake_tools.tabletop()
    world.failing_candidates = {0, 1, 2}  # every top-down candidate fails on the first attempt
    calls = {"n": 0}
    orig = world.plan_grasps

    def plan_grasps(**kw):
        calls["n"] += 1
        if kw.get("approach_mode") == "any":
            world.failing_candidates = set()  # side grasps work
        return orig(**kw)

    world.plan_grasps = plan_grasps
    steps = _episode(world, "Put the tennis ball into the bowl.")
    verdicts = [s.verdict for s in steps]
    assert verdicts[-1] == "TASK_COMPLETE"
    assert "RETRY" in verdicts or calls["n"] > 1


def test_react_gives_up_after_max_attempts() -> None:
    world = fake_tools.tabletop()
    world.failing_candidates = {0, 1, 2}
    steps = _episode(world, "Pick up the tennis ball.")
    assert [s.verdict for s in steps] == ["CONTINUE", "RETRY", "RETRY", "FAILED"]
    assert "approach=auto" in steps[1].code and re.search(r"approach=any", steps[2].code)  # same plan, then any
    assert "failed 3 times" in steps[-1].reasoning


def test_react_next_alias_when_object_not_seen() -> None:
    world = fake_tools.tabletop()
    world.objects["ball"].label = "ball"  # perception only knows the head noun
    steps = _episode(world, "Pick up the yellow tennis ball.")
    assert steps[-1].verdict == "TASK_COMPLETE"
    assert any("alias=1" in s.code for s in steps)


def test_react_python_error_retries_then_fails() -> None:
    planner = OfflinePlanner()
    plan = planner.plan(PlanContext("Pick up the cube."))
    ctx = ReactContext("Pick up the cube.", code=plan.code, stdout="", error="NameError: name 'grasp' is not defined")
    step = planner.react(ctx)
    assert step.verdict == "RETRY" and "NameError" in step.reasoning
    assert planner.react(ReactContext("Pick up the cube.", code="print(1)")).verdict == "FAILED"


def test_reflect_summarises_failures() -> None:
    plan = OfflinePlanner().plan(PlanContext("Pick up the cube."))
    steps = [plan, AgentStep(reasoning='x\noutcomes:\n[grasp] FAIL reason="slipped during lift"', verdict="FAILED")]
    text = OfflinePlanner().reflect(ReflectContext("Pick up the cube.", steps=steps, outcome="FAILED", progress=30))
    data = json.loads(text)  # structured reflection: models/reflector.md
    assert data["outcome"] == "FAILED" and "slipped" in data["failed"]["reason"] and data["rule"] == "R2"


def test_clean_table_goes_item_by_item_biggest_first() -> None:
    world = fake_tools.tabletop()
    world.objects["cube"] = fake_tools.Obj("red_cube", [0.55, -0.15, 0.025], [0.05, 0.05, 0.05])
    world.objects["pin"] = fake_tools.Obj("small_cylinder", [0.4, -0.1, 0.015], [0.03, 0.03, 0.03])
    placed: list[str] = []
    orig = world.gripper

    def gripper(command: str = "open", **kw):
        if command in ("open", "move") and world.held:
            placed.append(world.objects[world.held].label)
        return orig(command=command, **kw)

    world.gripper = gripper
    base_ns = world.namespace

    def move_joints(**kw):  # home: the arm up and out of the way
        world.ee = [0.3, 0.0, 0.5] + world.ee[3:]
        return fake_tools.R(final_positions=list(kw.get("positions") or []))

    def detect_all(labels=(), **kw):  # an open-vocabulary call (no labels) lists every object
        return world.detect_objects(labels=list(labels) or [o.label for o in world.objects.values()], **kw)

    world.namespace = lambda: {**base_ns(), "move_joints": move_joints, "detect_objects": detect_all}
    profile = {**FRANKA, "arm": {"home": [0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785]}}
    steps = _episode(world, "Clean the table by putting all the items into the bowl, from big size to small size.",
                     profile)
    assert [s.verdict for s in steps] == ["CONTINUE", "CONTINUE", "CONTINUE", "TASK_COMPLETE"], \
        [s.reasoning for s in steps]
    assert all(s.code.count("grasp(l,") == 1 and "items[:1]" in s.code for s in steps[:3])  # one item a substep
    assert placed == ["tennis_ball", "red_cube", "small_cylinder"]



def test_mobile_put_in_drives_to_the_object_then_to_the_container() -> None:
    clauses = parse_instruction("Throw the green plush ball into the garbage can.")
    code = generate_step_code(clauses, 0, attempt=2, mobile=True)
    assert code.index("go_to('green plush ball', distance=0.45)") < code.index("grasp(")
    assert code.index("grasp(") < code.index("go_to('garbage can', distance=0.45)") < code.index("place_in(")
