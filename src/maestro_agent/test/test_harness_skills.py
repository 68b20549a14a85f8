"""Harness skills against fake tool stubs in a plain dict namespace."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from maestro_agent.harness import skills as skills_mod
from maestro_agent.harness.skills import SKILL_NAMES, install, maybe_install, parse_outcome_line, parse_outcomes

_spec = importlib.util.spec_from_file_location("fake_tools", Path(__file__).with_name("fake_tools.py"))
fake_tools = importlib.util.module_from_spec(_spec)
sys.modules["fake_tools"] = fake_tools
_spec.loader.exec_module(fake_tools)

FRANKA = {"embodiment": "franka", "base": None, "main_camera": "front", "cameras": {"front": {}, "wrist": {}},
          "gripper": {"max_width": 0.08}}
MOBILE = {"embodiment": "go2w_piper", "base": {"max_linear": 0.8}, "main_camera": "head",
          "cameras": {"head": {}, "wrist": {}}, "gripper": {"max_width": 0.07}}


def setup(world=None, profile=FRANKA):
    world = world or fake_tools.tabletop()
    ns = world.namespace()
    names = install(ns, profile)
    return world, ns, names


def test_install_adds_every_skill_and_atomic_only_adds_none() -> None:
    _, ns, names = setup()
    assert names == list(SKILL_NAMES)
    assert all(callable(ns[n]) for n in names)
    ns2 = fake_tools.tabletop().namespace()
    assert maybe_install(ns2, FRANKA, harness=False) == []
    assert "grasp" not in ns2


def test_grasp_first_try(capsys: pytest.CaptureFixture[str]) -> None:
    world, ns, _ = setup()
    r = ns["grasp"]("tennis ball")
    assert r and r.held is True and r.attempts == 1
    assert world.held == "ball" and world.objects["ball"].pos[2] > 0.1  # lifted
    out = parse_outcomes(capsys.readouterr().out)
    assert out[-1]["skill"] == "grasp" and out[-1]["ok"] and out[-1]["label"] in ("tennis ball", "tennis_ball")
    assert any("grasp candidates" in c for c in world.observed)  # annotated grasp image shown
    assert any("grasped" in c for c in world.observed)          # verification snapshot shown


def test_grasp_retries_next_candidate_when_not_holding(capsys: pytest.CaptureFixture[str]) -> None:
    world = fake_tools.tabletop()
    world.failing_candidates = {0}
    world, ns, _ = setup(world)
    r = ns["grasp"]("tennis_ball")
    assert r, r.reason
    assert r.attempts == 2
    closes = [kw for name, kw in world.calls if name == "gripper" and kw.get("command") == "close"]
    assert len(closes) == 2
    assert world.names().count("detect_objects") >= 2  # re-detected after the failed close
    text = capsys.readouterr().out
    assert "closed but not holding" in text
    assert parse_outcomes(text)[-1] == {**parse_outcomes(text)[-1], "skill": "grasp", "ok": True, "attempts": 2}


def test_grasp_gives_up_with_reason_when_all_fail() -> None:
    world = fake_tools.tabletop()
    world.failing_candidates = {0, 1, 2}
    _, ns, _ = setup(world)
    r = ns["grasp"]("tennis ball", attempts=3)
    assert not r and r.attempts == 3 and "not holding" in r.reason
    assert world.held is None


def test_grasp_unreachable_reports_ik_error() -> None:
    world = fake_tools.tabletop()
    world.unreachable = True
    _, ns, _ = setup(world)
    r = ns["grasp"]("tennis ball")
    assert not r and "no IK solution" in r.reason


def test_place_in_checks_object_ended_in_container(capsys: pytest.CaptureFixture[str]) -> None:
    world, ns, _ = setup()
    assert ns["grasp"]("tennis ball")
    r = ns["place_in"]("bowl")
    assert r, r.reason
    ball, bowl = world.objects["ball"], world.objects["bowl"]
    assert abs(ball.pos[0] - bowl.pos[0]) < 0.05 and ball.bottom < bowl.top
    assert world.held is None
    assert parse_outcomes(capsys.readouterr().out)[-1]["skill"] == "place_in"


def test_place_in_checks_with_the_wrist_camera_when_the_rim_hides_the_object(
        capsys: pytest.CaptureFixture[str]) -> None:
    world = fake_tools.tabletop()
    ns = world.namespace()
    geo = ns["get_object_geometry"]
    cams: list[str] = []

    def get_object_geometry(label: str = "", camera: str = "", **kw):
        cams.append(camera)
        ball = world.objects["ball"]
        if camera == "" and "ball" in label and world.held is None and ball.bottom < world.objects["bowl"].top:
            return fake_tools.R(101, f"no '{label}' visible in camera 'front'")  # below the bowl's rim
        return geo(label=label, **kw)

    ns["get_object_geometry"] = get_object_geometry
    install(ns, FRANKA)
    assert ns["grasp"]("tennis ball")
    r = ns["place_in"]("bowl")
    assert r, r.reason
    assert "wrist" in cams and "the wrist camera sees it" in capsys.readouterr().out
    # seen by no camera: still a failure that says so
    world2 = fake_tools.tabletop()
    ns2 = world2.namespace()
    ns2["get_object_geometry"] = lambda label="", camera="", **kw: (
        fake_tools.R(101, "not visible") if "ball" in label and world2.held is None else
        world2.get_object_geometry(label=label))
    install(ns2, FRANKA)
    assert ns2["grasp"]("tennis ball")
    r2 = ns2["place_in"]("bowl")
    assert not r2 and "cannot see" in r2.reason


def test_place_in_rises_and_plans_again_when_no_path_above_the_container(
        capsys: pytest.CaptureFixture[str]) -> None:
    world = fake_tools.tabletop()
    ns = world.namespace()
    move = ns["move_to_pose"]
    box = {"fail": 0, "modes": []}

    def move_to_pose(target=(), mode="planned", **kw):
        box["modes"].append(mode)
        if mode == "planned" and box["fail"] > 0:
            box["fail"] -= 1
            return fake_tools.R(302, "RRTConnect found no collision-free path in 5.00 s")
        return move(target=target, mode=mode, **kw)

    ns["move_to_pose"] = move_to_pose
    install(ns, FRANKA)
    assert ns["grasp"]("tennis ball")
    box["fail"], box["modes"] = 2, []
    r = ns["place_in"]("bowl")
    assert r, r.reason
    assert box["modes"][:4] == ["planned", "planned", "cartesian", "planned"]  # both fail, rise, plan again
    assert "rising 10 cm and planning again" in capsys.readouterr().out
    # no planned path at all (the carried object in the planner's cloud): straight-line crossing at hover height
    assert ns["grasp"]("tennis ball")
    box["fail"], box["modes"] = 3, []
    r = ns["place_in"]("bowl")
    assert r, r.reason
    assert box["modes"][:6] == ["planned", "planned", "cartesian", "planned", "cartesian", "cartesian"]
    assert "crossing over in a straight line" in capsys.readouterr().out


def test_place_in_after_a_restart_finds_what_it_holds_and_still_verifies() -> None:
    world = fake_tools.tabletop()
    world.drop_offset = [0.0, 0.2]  # the ball rolls away when released
    ns = world.namespace()
    ns["detect_objects"] = lambda labels=(), **kw: world.detect_objects(
        labels=list(labels) or [o.label for o in world.objects.values()], **kw)
    install(ns, FRANKA)
    assert ns["grasp"]("tennis ball")
    install(ns, FRANKA)  # a fresh interpreter: the skills' memory of the held object is gone
    r = ns["place_in"]("bowl")
    assert not r and r.object == "tennis_ball" and "from the centre of 'bowl'" in r.reason


def test_place_in_fails_when_object_lands_outside() -> None:
    world = fake_tools.tabletop()
    world.drop_offset = [0.0, 0.2]  # the ball rolls away when released
    _, ns, _ = setup(world)
    assert ns["grasp"]("tennis ball")
    r = ns["place_in"]("bowl")
    assert not r and "from the centre of 'bowl'" in r.reason and r.dxy > 0.09


def test_place_on_checks_resting_on_top() -> None:
    world = fake_tools.tabletop()
    world.objects["box"] = fake_tools.Obj("box", [0.6, -0.2, 0.05], [0.1, 0.1, 0.1])
    _, ns, _ = setup(world)
    assert ns["grasp"]("tennis ball")
    r = ns["place_on"]("box")
    assert r, r.reason
    assert world.objects["ball"].bottom == pytest.approx(0.1, abs=1e-6)


@pytest.mark.parametrize("call, message", [
    (lambda ns: ns["grasp"](""), "non-empty object name"),
    (lambda ns: ns["grasp"](42), "non-empty object name"),
    (lambda ns: ns["grasp"]("ball", approach="sideways"), "approach must be one of"),
    (lambda ns: ns["grasp"]("unicorn"), "cannot see 'unicorn'"),
    (lambda ns: ns["place_in"]("bowl"), "not holding anything"),
    (lambda ns: ns["place_on"](None), "non-empty object name"),
    (lambda ns: ns["open_articulated"]("handle", angle="wide"), "angle must be degrees"),
    (lambda ns: ns["open_articulated"]("handle", angle=400), "angle must be in"),
    (lambda ns: ns["look_for"]("unicorn"), "cannot move its base"),
    (lambda ns: ns["go_to"](3.5), "target must be an object name or a pose"),
    (lambda ns: ns["go_to"]([1.0]), "a pose needs"),
    (lambda ns: ns["wipe"]("board", passes=0), "passes must be"),
])
def test_bad_inputs_give_clear_messages(call, message, capsys: pytest.CaptureFixture[str]) -> None:
    _, ns, _ = setup()
    r = call(ns)
    assert not r and message in r.reason
    line = capsys.readouterr().out.strip().splitlines()[-1]
    parsed = parse_outcome_line(line)
    assert parsed is not None and parsed["ok"] is False and message.split("'")[0] in parsed["reason"]


def test_missing_tool_is_reported() -> None:
    world = fake_tools.tabletop()
    ns = world.namespace()
    del ns["plan_grasps"]
    install(ns, FRANKA)
    r = ns["grasp"]("tennis ball")
    assert not r and "plan_grasps() is not available" in r.reason


def test_open_articulated_follows_arc_about_hinge_keypoints() -> None:
    world = fake_tools.FakeWorld(objects={
        "handle": fake_tools.Obj("door_handle", [0.6, 0.0, 0.3], [0.02, 0.02, 0.1], fixed=True,
                                 keypoints={"hinge_bottom": [0.6, 0.3, 0.1], "hinge_top": [0.6, 0.3, 0.5]}),
    })
    _, ns, _ = setup(world)
    r = ns["open_articulated"]("door handle", angle=60)
    assert r, r.reason
    paths = [kw for name, kw in world.calls if name == "follow_cartesian_path"]
    assert len(paths) == 1
    wps = paths[0]["waypoints"]
    hinge = [0.6, 0.3]
    radii = [((w[0] - hinge[0]) ** 2 + (w[1] - hinge[1]) ** 2) ** 0.5 for w in wps]
    assert max(radii) - min(radii) < 1e-6 and radii[0] == pytest.approx(0.3, abs=0.01)  # arc about the hinge
    assert wps[-1][0] < 0.6  # pulled towards the robot
    assert r.hinge == "keypoints" and r.angle == pytest.approx(60, abs=1)


def test_open_articulated_pulls_segment_by_segment_when_the_door_blocks_the_checked_path() -> None:
    world = fake_tools.FakeWorld(objects={
        "handle": fake_tools.Obj("door_handle", [0.6, 0.0, 0.3], [0.02, 0.02, 0.1], fixed=True,
                                 keypoints={"hinge_bottom": [0.6, 0.3, 0.1], "hinge_top": [0.6, 0.3, 0.5]}),
    })
    ns = world.namespace()
    ns["follow_cartesian_path"] = lambda **kw: fake_tools.R(
        307, "the path runs into an obstacle of the scene cloud at step 3/48", fraction=0.04)
    install(ns, FRANKA)
    r = ns["open_articulated"]("door handle", angle=60)
    assert r, r.reason
    segs = [kw for name, kw in world.calls if name == "move_to_pose" and kw.get("avoid_collisions") is False]
    assert len(segs) == 12 and all(kw["mode"] == "cartesian" for kw in segs)
    assert r.fraction == pytest.approx(1.0) and r.angle == pytest.approx(60, abs=1)


def test_look_for_turns_mobile_base_until_seen() -> None:
    world = fake_tools.FakeWorld(objects={})
    seen_after = {"n": 0}
    orig = world.detect_objects

    def detect_after_turns(**kw):
        seen_after["n"] += 1
        if len([c for c in world.calls if c[0] == "move_base"]) >= 2:
            world.objects["ball"] = fake_tools.Obj("orange_ball", [1.0, 1.0, 0.1], [0.1, 0.1, 0.1])
        return orig(**kw)

    world.detect_objects = detect_after_turns
    ns = world.namespace()
    install(ns, MOBILE)
    r = ns["look_for"]("orange ball")
    assert r and r.source == "camera"
    assert [c for c in world.calls if c[0] == "move_base"][:2]


def test_wipe_grasps_tool_and_sweeps_region() -> None:
    world = fake_tools.tabletop()
    world.objects["eraser"] = fake_tools.Obj("eraser", [0.4, -0.2, 0.02], [0.05, 0.1, 0.04])
    world.objects["marks"] = fake_tools.Obj("marks", [0.6, 0.1, 0.001], [0.2, 0.1, 0.002])
    _, ns, _ = setup(world)
    r = ns["wipe"]("marks", tool_name="eraser", passes=3)
    assert r, r.reason
    assert r.fraction == 1.0 and world.held == "eraser"


def test_outcome_line_round_trip() -> None:
    res = skills_mod.SkillResult("grasp", False, 'it "slipped"', {"label": "tennis ball", "attempts": 2, "dxy": 0.5})
    parsed = parse_outcome_line(res.line())
    assert parsed == {"skill": "grasp", "ok": False, "label": "tennis ball", "attempts": 2, "dxy": 0.5,
                      "reason": "it 'slipped'"}
    assert parse_outcome_line("hello") is None


def test_describe_lists_every_skill() -> None:
    doc = skills_mod.describe()
    for name in SKILL_NAMES:
        assert f"### {name}(" in doc


def test_skills_only_import_allowed_modules() -> None:
    import ast

    allowed = {"math", "numpy", "time", "json", "re", "dataclasses", "typing", "itertools", "collections", "functools"}
    tree = ast.parse(Path(skills_mod.__file__).read_text())
    top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    mods = {a.name.split(".")[0] for n in top if isinstance(n, ast.Import) for a in n.names}
    mods |= {n.module.split(".")[0] for n in top if isinstance(n, ast.ImportFrom)}
    assert mods <= allowed, mods - allowed


def test_skills_source_passes_sandbox_policy() -> None:
    policy = pytest.importorskip("maestro_agent.sandbox.sbx_policy")
    policy.check_source(Path(skills_mod.__file__).read_text(), "<harness>")


def test_clear_view_goes_home_directly_when_the_stale_cloud_blocks_the_home_goal(
        capsys: pytest.CaptureFixture[str]) -> None:
    world = fake_tools.tabletop()
    ns = world.namespace()
    calls: list[bool] = []

    def move_joints(positions=(), plan=True, **_):
        calls.append(plan)
        if plan:
            return fake_tools.R(7, "the goal configuration collides with the robot or the scene cloud; choose another "
                                   "goal")
        return fake_tools.R(final_positions=list(positions))

    ns["move_joints"] = move_joints
    install(ns, {**FRANKA, "arm": {"home": [0.0] * 7}})
    assert ns["clear_view"]()
    assert calls == [True, True, False]  # planned, rose and planned again, then direct
    assert "scene cloud is stale" in capsys.readouterr().out
    # any other failure is not bypassed
    ns["move_joints"] = lambda **_: fake_tools.R(3, "no IK")
    install(ns, {**FRANKA, "arm": {"home": [0.0] * 7}})
    assert not ns["clear_view"]()
