"""The offline rule planner: the agent's brain when no VLM is configured (no network, no images).

It parses the instruction with the grammar documented in ``models/grammar.md``, writes real Python against the tool
stubs and harness skills (one substep per clause), and in ``react`` reads the structured outcome lines of the skills
(``[grasp] ok ...``, ``[place_in] FAIL ...``) and the closing ``[step] ok|FAIL`` line of each substep to go on, retry
with another strategy (another approach, a shorter object alias), or stop. It is honest about what it is: its name is
"offline" and it never claims to have looked at an image.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maestro_agent.harness.skills import parse_outcome_line, parse_outcomes
from maestro_agent.models import reflector
from maestro_agent.models.base import AgentStep, PlanContext, ReactContext, ReflectContext

GRAMMAR_PATH = Path(__file__).with_name("grammar.md")
MAX_ATTEMPTS = 3

_ARTICLES = re.compile(r"\b(the|a|an|please|some)\b\s*", re.I)
_COLOURS = {"red", "green", "blue", "yellow", "orange", "purple", "black", "white", "pink", "brown", "grey", "gray"}
_MARKER = re.compile(r"# offline: step=(\d+)/(\d+) attempt=(\d+) alias=(\d+) approach=(\w+)")
_SPLIT = re.compile(r"\s*(?:;\s*(?:and then\s+|then\s+|after that\s+)?|\.\s+(?:then\s+)?|"
                    r",?\s+and then\s+|,?\s+then\s+|,?\s+after that\s+)\s*", re.I)


@dataclass
class Clause:
    """One parsed clause of an instruction."""

    kind: str                      # pick, put_in, put_on, open, enter, rotate, hang, fold, wipe, cut, push, search,
    obj: str = ""                  # bring, go_to, release, clean_all, collect_all, stack, follow_instructions
    target: str = ""
    part: str = ""
    order: str = ""                # "", "desc_size", "asc_size", "left_right", "right_left"
    extra: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """Short subtask text."""
        bits = [self.kind.replace("_", " ")]
        if self.obj:
            bits.append(f"'{self.obj}'")
        if self.target:
            bits.append(f"-> '{self.target}'")
        if self.part:
            bits.append(f"(part {self.part})")
        if self.order:
            bits.append(f"[{self.order}]")
        return " ".join(bits)


class GrammarError(ValueError):
    """The instruction (or a clause of it) is outside the offline grammar."""


def clean_phrase(text: str) -> str:
    """Drop articles, politeness and trailing punctuation; lower-case."""
    text = _ARTICLES.sub("", text.strip().lower())
    return re.sub(r"[\s,.!?]+$", "", re.sub(r"\s+", " ", text)).strip()


def aliases(phrase: str) -> list[str]:
    """The phrase, then without colour words, then its last two words, then its head noun (deduplicated)."""
    words = phrase.split()
    out = [phrase, " ".join(w for w in words if w not in _COLOURS), " ".join(words[-2:]), words[-1] if words else ""]
    seen: list[str] = []
    for a in out:
        if a and a not in seen:
            seen.append(a)
    return seen


def parse_order(text: str) -> str:
    """Order words -> "desc_size" | "asc_size" | "left_right" | "right_left" | ""."""
    t = text.lower()
    if re.search(r"(big(gest)?|large(st)?)\s+(size\s+)?to\s+small|largest first|biggest first", t):
        return "desc_size"
    if re.search(r"small(est)?\s+(size\s+)?to\s+(big|large)|smallest first", t):
        return "asc_size"
    if "left to right" in t:
        return "left_right"
    if "right to left" in t:
        return "right_left"
    return ""


def _strip_order(text: str) -> str:
    return re.sub(r",?\s*(from\s+)?(big|large|small|left|right)\w*\s+(size\s+)?to\s+\w+(\s+size)?|,?\s*"
                  r"(largest|smallest|biggest) first", "", text).strip()


_RULES: list[tuple[re.Pattern[str], Any]] = []


def _rule(pattern: str) -> Any:
    def deco(fn: Any) -> Any:
        _RULES.append((re.compile(pattern, re.I), fn))
        return fn
    return deco


@_rule(r"^clean (up )?table by putting all (items|objects|things)( on table)? (into|in) (?P<c>.+)$")
def _clean_all(m: re.Match[str], raw: str) -> list[Clause]:
    return [Clause("clean_all", target=_strip_order(m["c"]), order=parse_order(raw) or "desc_size")]


@_rule(r"^(collect|gather) all (?P<x>.+?) (on|onto|to|into) (?P<y>.+)$")
def _collect(m: re.Match[str], raw: str) -> list[Clause]:
    return [Clause("collect_all", obj=m["x"], target=m["y"], order=parse_order(raw))]


@_rule(r"^(put|place|drop|throw|toss|move|dump) (?P<x>.+?) (into|inside|in) (?P<y>.+)$")
def _put_in(m: re.Match[str], raw: str) -> list[Clause]:
    return [Clause("put_in", obj=m["x"], target=m["y"])]


@_rule(r"^(put|place|set|stack|move) (?P<x>.+?) (on top of|onto|on) (?P<y>.+)$")
def _put_on(m: re.Match[str], raw: str) -> list[Clause]:
    return [Clause("put_on", obj=m["x"], target=m["y"])]


@_rule(r"^stack (?P<x>.+?)$")
def _stack(m: re.Match[str], raw: str) -> list[Clause]:
    obj = _strip_order(m["x"])
    obj = re.sub(r"\s+(in order|in (given|right) order)$", "", obj)
    return [Clause("stack", obj=re.sub(r"s$", "", obj), order=parse_order(raw))]


@_rule(r"^(follow|do) (them|instructions|what they say)( to (?P<rest>.+))?$")
def _follow(m: re.Match[str], raw: str) -> list[Clause]:
    rest = m["rest"] or ""
    sm = re.match(r"stack (?P<x>.+)$", rest)
    return [Clause("stack", obj=re.sub(r"s$", "", sm["x"]) if sm else "cube", order="marks")]


@_rule(r"^open (?P<x>.+?)( by (pulling|grasping|using) (?P<h>.+))?$")
def _open(m: re.Match[str], raw: str) -> list[Clause]:
    handle = m["h"] or (m["x"] + " handle" if "handle" not in m["x"] else m["x"])
    if m["x"] in ("gripper", "hand"):
        return [Clause("release")]
    return [Clause("open", obj=m["x"], target=handle)]


@_rule(r"^(enter|go into|go in|go through|drive through|drive into) (?P<x>.+)$")
def _enter(m: re.Match[str], raw: str) -> list[Clause]:
    return [Clause("enter", obj=m["x"])]


@_rule(r"^(rotate|turn|flip) (?P<x>.+?)( so (that )?(?P<goal>.+))?$")
def _rotate(m: re.Match[str], raw: str) -> list[Clause]:
    return [Clause("rotate", obj=m["x"], extra={"goal": m["goal"] or ""})]


@_rule(r"^hang (?P<x>.+?) on (?P<y>.+)$")
def _hang(m: re.Match[str], raw: str) -> list[Clause]:
    return [Clause("hang", obj=m["x"], target=m["y"], part="handle")]


@_rule(r"^fold (four |all )?corners of (?P<x>.+?) (to|towards|into) (its )?(center|centre|middle)$")
def _fold(m: re.Match[str], raw: str) -> list[Clause]:
    return [Clause("fold", obj=m["x"])]


@_rule(r"^(erase|wipe|clean|wipe off|clean off) (?P<x>.+?)( with (?P<y>.+))?$")
def _wipe(m: re.Match[str], raw: str) -> list[Clause]:
    x = m["x"]
    surface = ""
    if re.match(r"^(instructions|writing|text|marks|drawings?|notes)\b", x):
        surface = x.split(" on ", 1)[1] if " on " in x else ""
        x = "marks"  # what is written is wiped where the perception sees the marks
    return [Clause("wipe", obj=x, target=m["y"] or "eraser", extra={"surface": surface})]


@_rule(r"^(cut|slice) (?P<x>.+?)( in (half|two|halves))?( with (?P<y>.+?))?(,? orthogonally)?$")
def _cut(m: re.Match[str], raw: str) -> list[Clause]:
    return [Clause("cut", obj=m["x"], target=m["y"] or "knife", part="handle")]


@_rule(r"^(push|slide|nudge) (?P<x>.+?) (next to|towards|toward|to|beside) (?P<y>.+)$")
def _push(m: re.Match[str], raw: str) -> list[Clause]:
    return [Clause("push", obj=m["x"], target=m["y"])]


@_rule(r"^(search for|search|look for|find|locate) (?P<x>.+?)( and (return|come back)( when (it is|it's) grasped)?)?$")
def _search(m: re.Match[str], raw: str) -> list[Clause]:
    clauses = [Clause("search", obj=m["x"])]
    if re.search(r"and (return|come back)", raw):
        clauses += [Clause("pick", obj=m["x"], extra={"mobile_approach": True}), Clause("return_start")]
    return clauses


@_rule(r"^(bring|fetch|get) (?P<x>.+?)( (to|back to) (?P<y>.+)| back)?$")
def _bring(m: re.Match[str], raw: str) -> list[Clause]:
    out = [Clause("search", obj=m["x"]), Clause("pick", obj=m["x"], extra={"mobile_approach": True})]
    y = m["y"]
    out.append(Clause("go_to", obj=y) if y and y not in ("me", "start", "here") else Clause("return_start"))
    return out


@_rule(r"^(go to|approach|drive to|walk to|move to) (?P<x>.+)$")
def _go_to(m: re.Match[str], raw: str) -> list[Clause]:
    return [Clause("go_to", obj=m["x"])]


@_rule(r"^(release|let go|let go of)( .*)?$")
def _release(m: re.Match[str], raw: str) -> list[Clause]:
    return [Clause("release")]


@_rule(r"^(pick up|pick|grasp|grab|take|lift|hold) (?P<x>.+?)( up)?$")
def _pick(m: re.Match[str], raw: str) -> list[Clause]:
    return [Clause("pick", obj=m["x"])]


def split_clauses(instruction: str) -> list[str]:
    """Split an instruction at the sequencing words of the grammar."""
    text = instruction.strip().rstrip(".!").strip()
    # "X and enter Y" / "X and return" are two clauses unless part of the search/return phrase
    parts = [p for p in _SPLIT.split(text) if p and p.strip()]
    out: list[str] = []
    for p in parts:
        if re.match(r"^(search|look|find|locate|bring|fetch|get|clean|collect|gather)\b", p.strip(), re.I):
            out.append(p)
            continue
        out.extend(s for s in re.split(r"\s+and\s+(?=(?:open|enter|go|put|place|pick|grasp|stack|drop|throw|"
                                        r"rotate|hang|wipe|erase|cut|push|bring|return|release)\b)", p) if s)
    return out


def parse_instruction(instruction: str) -> list[Clause]:
    """Parse an instruction into clauses; raises GrammarError naming the part it does not understand."""
    if not isinstance(instruction, str) or not instruction.strip():
        raise GrammarError("empty instruction")
    clauses: list[Clause] = []
    for raw in split_clauses(instruction):
        text = clean_phrase(raw)
        if not text:
            continue
        for pattern, fn in _RULES:
            m = pattern.match(text)
            if m:
                found = fn(m, text)
                for c in found:
                    c.obj, c.target = clean_phrase(c.obj), clean_phrase(c.target)
                clauses.extend(found)
                break
        else:
            raise GrammarError(f"the offline planner does not understand {raw.strip()!r}; see models/grammar.md for "
                               "the verbs it knows, or configure a VLM (model 'gemini-...' or 'openai:...')")
    if not clauses:
        raise GrammarError(f"nothing to do in {instruction!r}")
    return clauses


# ----------------------------------------------------------------------------------------------------------------------
# Code generation

HELD_CHECK = (
    "_st = get_robot_state()\n"
    "_held = bool(_st) and bool(_st.state.gripper_holding)\n"
)

ATOMIC_PRELUDE = '''
# Atomic-tools helpers (the harness is off): written by the offline planner on top of the stubs only.
def _p3(p):
    return [p.x, p.y, p.z] if hasattr(p, "x") else list(p)[:3]

def grasp(target, part="", approach="auto", attempts=3, lift=0.1, z_offset=0.0):
    modes = {"auto": ["top_down", "any"], "side": ["any"]}.get(approach, [approach])
    for mode in modes:
        r = plan_grasps(label=target.replace(" ", "_"), part=part, approach_mode=mode, max_candidates=attempts,
                        check_collisions=True, annotate=True)
        if not r:
            print(f"[atomic] plan_grasps {mode}: {r.error_msg}")
            continue
        for g in r.grasps[:attempts]:
            p, q = _p3(g.pose.position), g.pose.orientation
            p[2] += z_offset
            quat = [q.x, q.y, q.z, q.w]
            a = _p3(g.approach)
            off = g.pre_grasp_offset or 0.1
            gripper(command="open")
            if not move_to_pose(target=[p[0] - a[0] * off, p[1] - a[1] * off, p[2] - a[2] * off] + quat):
                continue
            move_to_pose(target=p + quat, mode="cartesian")
            c = gripper(command="close")
            if c and c.holding:
                move_to_pose(target=[p[0], p[1], p[2] + lift] + quat, mode="cartesian")
                print(f'[grasp] ok label="{target}" held=True')
                return True
            gripper(command="open")
    print(f'[grasp] FAIL label="{target}" reason="no grasp candidate held"')
    return False

def _place(skill, target, dz):
    g = get_object_geometry(label=target.replace(" ", "_"))
    if not g:
        print(f'[{skill}] FAIL target="{target}" reason="{g.error_msg}"')
        return False
    c = _p3(g.geometry.centroid)
    q = get_robot_state().state.ee_pose.orientation
    quat = [q.x, q.y, q.z, q.w]
    if not move_to_pose(target=[c[0], c[1], g.geometry.top_height + dz + 0.1] + quat):
        print(f'[{skill}] FAIL target="{target}" reason="cannot move above it"')
        return False
    move_to_pose(target=[c[0], c[1], g.geometry.top_height + dz] + quat, mode="cartesian")
    gripper(command="open")
    move_to_pose(target=[c[0], c[1], g.geometry.top_height + dz + 0.1] + quat, mode="cartesian")
    print(f'[{skill}] ok target="{target}"')
    return True

def place_in(container):
    return _place("place_in", container, 0.08)

def place_on(target):
    return _place("place_on", target, 0.05)

def release():
    r = gripper(command="open")
    print("[release] ok" if r else f'[release] FAIL reason="{r.error_msg}"')
    return bool(r)
'''

_NEEDS_HARNESS = {"open", "hang", "fold", "wipe", "cut", "search", "go_to", "return_start", "collect_all", "stack",
                  "clean_all", "push", "rotate", "enter"}


def _q(s: str) -> str:
    return repr(s)


def _grasp_kw(params: dict[str, Any] | None) -> str:
    """Extra keyword arguments of grasp() from the reflector's parameters (none when they are the defaults)."""
    p = params or {}
    out = ""
    if p.get("grasp_z_offset"):
        out += f", z_offset={float(p['grasp_z_offset']):g}"
    if p.get("grasp_attempts"):
        out += f", attempts={int(p['grasp_attempts'])}"
    return out


def mobile_reach(attempt: int) -> float:
    """Stand-off (m, base centre to object) of a mobile pick: 0.45 m, the reach the Go2-W + PiPER oracle uses.

    (Coming closer on retries was tried: move_base refuses goals nearer than ~0.45 m, the object itself being an
    obstacle in the head camera's view, so every attempt keeps the same stand-off.)"""
    return 0.45


def _pick_place(obj: str, approach: str, place: str = "", target: str = "", mobile: bool = False,
                part: str = "", params: dict[str, Any] | None = None, attempt: int = 1) -> list[str]:
    lines = [HELD_CHECK.rstrip("\n")]
    if mobile:
        lines.append(f"if not _held:\n    go_to({_q(obj)}, distance={mobile_reach(attempt):.2f})")
    part_arg = f", part={_q(part)}" if part else ""
    lines.append(f"g = True if _held else grasp({_q(obj)}{part_arg}, approach={_q(approach)}{_grasp_kw(params)})")
    if place:
        if mobile:
            lines.append(f"if g:\n    go_to({_q(target)}, distance=0.45)")
        lines.append(f"p = {place}({_q(target)}) if g else False")
        lines.append("ok = bool(g) and bool(p)")
    else:
        lines.append("ok = bool(g)")
    return lines


def generate_clause_code(c: Clause, obj: str, approach: str, mobile: bool,
                         params: dict[str, Any] | None = None, attempt: int = 1) -> list[str]:
    """Python lines for one clause (without the closing [step] line); ``params`` are the reflector's parameters
    (``models/reflector.py``; None: the defaults)."""
    k = c.kind
    p = params or {}
    if k == "pick":
        return _pick_place(obj, approach, mobile=mobile or bool(c.extra.get("mobile_approach")), params=p,
                           attempt=attempt)
    if k == "put_in":
        return _pick_place(obj, approach, "place_in", c.target, mobile=mobile, params=p, attempt=attempt)
    if k == "put_on":
        return _pick_place(obj, approach, "place_on", c.target, mobile=mobile, params=p, attempt=attempt)
    if k == "hang":
        return _pick_place(obj, approach, "place_on", c.target, part="handle", params=p)
    if k == "release":
        return ["ok = bool(release())"]
    if k == "open":
        handles = aliases(c.target) or [c.target]
        handle = handles[min(int(p.get("aliases", {}).get(c.target, 0)), len(handles) - 1)]
        extra = ""
        if int(p.get("open_rounds", 3)) != 3:
            extra += f", rounds={int(p['open_rounds'])}"
        if int(p.get("open_steps", 12)) != 12:
            extra += f", steps={int(p['open_steps'])}"
        return [f"r = open_articulated({_q(handle)}, angle={float(p.get('open_angle', 80.0)):.1f}, door={_q(obj)}"
                f"{extra})", "ok = bool(r)"]
    if k == "enter":
        return [
            "bp = get_robot_state().state.base_pose",
            "import math",
            "yaw = math.atan2(2 * (bp.orientation.w * bp.orientation.z + bp.orientation.x * bp.orientation.y),"
            " 1 - 2 * (bp.orientation.y ** 2 + bp.orientation.z ** 2))",
            "goal = [bp.position.x + 1.5 * math.cos(yaw), bp.position.y + 1.5 * math.sin(yaw), 0.0,"
            " 0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)]",
            "r = move_base(target=goal, avoid_obstacles=True)",
            "print(f\"[enter] {'ok' if r else 'FAIL'} reason=\\\"{r.error_msg}\\\"\")",
            "ok = bool(r)",
        ]
    if k == "search":
        return [f"r = look_for({_q(obj)})", "ok = bool(r)"]
    if k == "go_to":
        return [f"r = go_to({_q(obj)})", "ok = bool(r)"]
    if k == "return_start":
        return [
            "r = go_to([0.0, 0.0, 0.0])  # the start pose of the trial (odom origin)",
            "ok = bool(r)",
        ]
    if k == "wipe":
        return [f"r = wipe({_q(obj)}, tool_name={_q(c.target)}, passes=4)", "ok = bool(r)"]
    if k == "rotate":
        return _pick_place(obj, approach, params=p) + [
            "if ok:",
            "    import math",
            "    e = get_robot_state().state.ee_pose",
            "    # roll the held object by 90 degrees about the base x axis, then set it down again",
            "    qr = [math.sin(math.pi / 4), 0.0, 0.0, math.cos(math.pi / 4)]",
            "    q = [e.orientation.x, e.orientation.y, e.orientation.z, e.orientation.w]",
            "    qn = [qr[3]*q[0] + qr[0]*q[3] + qr[1]*q[2] - qr[2]*q[1], qr[3]*q[1] - qr[0]*q[2] + qr[1]*q[3]"
            " + qr[2]*q[0], qr[3]*q[2] + qr[0]*q[1] - qr[1]*q[0] + qr[2]*q[3], qr[3]*q[3] - qr[0]*q[0]"
            " - qr[1]*q[1] - qr[2]*q[2]]",
            "    r = move_to_pose(target=[e.position.x, e.position.y, e.position.z] + qn)",
            "    print(f\"[rotate] {'ok' if r else 'FAIL'} reason=\\\"{r.error_msg}\\\"\")",
            "    if r:",
            "        move_to_pose(target=[e.position.x, e.position.y, e.position.z - 0.08] + qn, mode='cartesian')",
            "    ok = bool(r) and bool(release())",
        ]
    if k == "fold":
        return [
            f"geo = get_object_geometry(label={_q(obj.replace(' ', '_'))})",
            "corners = [kp for kp in (geo.keypoints if geo else []) if str(kp.name).startswith('corner')]",
            "print(f'[fold] corners={len(corners)}')",
            "ok = bool(geo) and len(corners) > 0",
            "centre = geo.geometry.centroid if geo else None",
            "for kp in corners:",
            f"    g = grasp({_q(obj)}, part=kp.name, lift=0.05, approach='top_down')",
            "    if not g:",
            "        ok = False",
            "        continue",
            "    e = get_robot_state().state.ee_pose",
            "    q = [e.orientation.x, e.orientation.y, e.orientation.z, e.orientation.w]",
            "    move_to_pose(target=[centre.x, centre.y, e.position.z] + q, mode='cartesian')",
            "    ok = bool(release()) and ok",
        ]
    if k == "cut":
        return _pick_place(c.target, approach, part="handle", params=p) + [
            "if ok:",
            f"    geo = get_object_geometry(label={_q(obj.replace(' ', '_'))})",
            "    ok = bool(geo)",
            "if ok:",
            "    import math",
            "    ax = geo.geometry.principal_axes[0]",
            "    c = geo.geometry.centroid",
            "    yaw = math.atan2(ax.y, ax.x) + math.pi / 2  # blade across the long axis",
            "    q = [math.cos(yaw / 2), math.sin(yaw / 2), 0.0, 0.0]  # top-down, rotated about z by yaw",
            "    top = geo.geometry.top_height",
            "    r1 = move_to_pose(target=[c.x, c.y, top + 0.12] + q)",
            "    r2 = move_to_pose(target=[c.x, c.y, geo.geometry.bottom_height + 0.03] + q, mode='cartesian',"
            " velocity_scaling=0.1) if r1 else r1",
            "    move_to_pose(target=[c.x, c.y, top + 0.12] + q, mode='cartesian')",
            "    print(f\"[cut] {'ok' if r2 else 'FAIL'} reason=\\\"{r2.error_msg}\\\"\")",
            "    ok = bool(r2)",
        ]
    if k == "push":
        return [
            f"a = get_object_geometry(label={_q(obj.replace(' ', '_'))})",
            f"b = get_object_geometry(label={_q(c.target.replace(' ', '_'))})",
            "ok = bool(a) and bool(b)",
            "if ok:",
            "    import math",
            "    pa, pb = a.geometry.centroid, b.geometry.centroid",
            "    d = math.hypot(pb.x - pa.x, pb.y - pa.y) or 1.0",
            "    ux, uy = (pb.x - pa.x) / d, (pb.y - pa.y) / d",
            "    z = a.geometry.bottom_height + 0.02",
            "    stop = max(0.0, d - 0.12)  # end next to the target, not on it",
            "    gripper(command='close')",
            "    move_to_pose(target=[pa.x - 0.08 * ux, pa.y - 0.08 * uy, z + 0.1])",
            "    move_to_pose(target=[pa.x - 0.08 * ux, pa.y - 0.08 * uy, z], mode='cartesian')",
            "    r = follow_cartesian_path(waypoints=[[pa.x + stop * ux, pa.y + stop * uy, z]], velocity_scaling=0.2)",
            "    print(f\"[push] {'ok' if r else 'FAIL'} fraction={r.fraction if r else 0} \"",
            "          f\"reason=\\\"{r.error_msg}\\\"\")",
            "    ok = bool(r)",
        ]
    if k in ("clean_all", "collect_all", "stack"):
        return _loop_code(c, approach, p)
    raise GrammarError(f"no code template for clause kind {k!r}")


#: Reads the whiteboard marks (their labels name the order), left to right; kept in `_marks_order` across substeps.
MARKS_READ = [
    "try:",
    "    _marks_order",
    "except NameError:",
    "    _mk = detect_objects(labels=['mark', 'marks', 'instruction'])",
    "    _mk = sorted(_mk.detections if _mk else [], key=lambda d: -d.center_3d.y)",
    "    _marks_order = [d.label for d in _mk]",
]


def _loop_code(c: Clause, approach: str, params: dict[str, Any] | None = None) -> list[str]:
    """Code for 'for each item' clauses: detect, order, then pick and place each."""
    order_key = {
        "desc_size": "(-size.get(l, 0.0))", "asc_size": "size.get(l, 0.0)",
        "left_right": "(-ypos.get(l, 0.0))", "right_left": "ypos.get(l, 0.0)",
    }.get(c.order, "0")
    lines = ["clear_view()  # the arm out of the camera's view before listing what is on the table"]
    if c.kind == "clean_all":
        lines += [f"container = {_q(c.target)}",
                  "r = detect_objects(labels=[], annotate=True)",
                  "labels = [d.label for d in (r.detections if r else [])]",
                  "cont = container.replace(' ', '_')",
                  "items = [l for l in labels if l not in (container, cont) and 'table' not in l]"]
    else:  # collect_all / stack: every detected object whose label shares a word with the (singular) phrase
        words = [re.sub(r"(?<=[^s])s$", "", w) for w in c.obj.split() if w not in ("all", "every", "of")]
        if c.kind == "collect_all":
            lines += [f"container = {_q(c.target)}"]
        lines += ["r = detect_objects(labels=[], annotate=True)",
                  f"words = {words!r}",
                  "items = [d.label for d in (r.detections if r else []) if any(w in d.label for w in words)]"]
        if c.kind == "collect_all":
            lines += ["items = [l for l in items if l not in (container, container.replace(' ', '_'))]"]
        if c.order == "marks":
            lines += MARKS_READ + [
                "print(f'[stack] marks order={_marks_order}')",
                "def _rank(l):",
                "    words = [w for w in l.replace(' ', '_').split('_') if w not in ('cube', 'block')]",
                "    hits = [i for i, m in enumerate(_marks_order) if any(w in m for w in words)]",
                "    return hits[0] if hits else len(_marks_order)",
            ]
            order_key = "_rank(l)"
    if c.kind == "clean_all":  # a retry must not take out what an earlier attempt already put in
        lines += [
            "cg = get_object_geometry(label=cont)",
            "def _inside(l):",
            "    gg = get_object_geometry(label=l)",
            "    if not (gg and cg):",
            "        return False",
            "    o, b = gg.geometry.centroid, cg.geometry.centroid",
            "    r = 0.5 * min(cg.geometry.obb_extent.x, cg.geometry.obb_extent.y)",
            "    return ((o.x - b.x) ** 2 + (o.y - b.y) ** 2) ** 0.5 < r and o.z < cg.geometry.top_height + 0.05",
            "done = [l for l in items if _inside(l)]",
            "if done:",
            "    print(f'[plan] already in {container}: {done}')",
            "items = [l for l in items if l not in done]",
        ]
    lines += [
        "size, ypos = {}, {}",
        "for l in items:",
        "    gg = get_object_geometry(label=l)",
        "    if gg:",
        "        e = gg.geometry.obb_extent",
        "        size[l] = e.x * e.y * e.z",
        "        ypos[l] = gg.geometry.centroid.y",
        f"items = sorted(dict.fromkeys(items), key=lambda l: {order_key})",
        "print(f'[plan] items in order: {items}')",
        "ok = len(items) > 0" if c.kind != "clean_all" else "ok = len(items) > 0 or len(done) > 0",
    ]
    if c.kind == "stack":
        lines += [
            "for below, above in zip(items, items[1:]):",
            f"    g = grasp(above, approach={_q(approach)}{_grasp_kw(params)})",
            "    p = place_on(below) if g else False",
            "    ok = ok and bool(g) and bool(p)",
        ]
    else:
        place = "place_in" if c.kind == "clean_all" else "place_on"
        # clean_all: one item per substep (the substep re-detects what is already in the container, so it is
        # repeated until none is left; a substep stays well inside the per-substep time limit)
        each = "items[:1]" if c.kind == "clean_all" else "items"
        lines += [
            f"for l in {each}:",
            f"    g = grasp(l, approach={_q(approach)}{_grasp_kw(params)})",
            f"    p = {place}(container) if g else False",
            "    ok = ok and bool(g) and bool(p)",
        ]
        if c.kind == "clean_all":
            lines.append("print(f'[items] ok placed={items[:1]} remaining={max(0, len(items) - 1)}')")
    return lines


def generate_step_code(clauses: list[Clause], index: int, attempt: int = 1, alias: int = 0,
                       approach: str = "auto", mobile: bool = False, atomic: bool = False,
                       params: dict[str, Any] | None = None) -> str:
    """The full code of substep ``index`` (0-based): prelude (atomic mode), clause code, [step] line, marker.

    ``params`` are the reflector's parameters for this trial (grasp offset/attempts, open angle/rounds/steps, the
    handle alias); the approach and the object alias are passed explicitly (the react loop varies them).
    """
    c = clauses[index]
    names = aliases(c.obj) if c.obj else [""]
    obj = names[min(alias, len(names) - 1)]
    body = generate_clause_code(c, obj, approach, mobile, params, attempt)
    out = [f"# Substep {index + 1}/{len(clauses)}: {c.describe()} (offline rule planner, attempt {attempt})"]
    if atomic and index == 0 or atomic and attempt > 1:
        out.append(ATOMIC_PRELUDE.strip("\n"))
    if c.kind == "wipe" and index + 1 < len(clauses) and clauses[index + 1].order == "marks":
        out += ["# read the marks before wiping them: the next substep stacks in their order"] + MARKS_READ
    out += body
    out.append(f"print(f\"[step] {{'ok' if ok else 'FAIL'}} index={index + 1} of={len(clauses)}\")")
    out.append(f"# offline: step={index + 1}/{len(clauses)} attempt={attempt} alias={alias} approach={approach}")
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------------------------------------------------


class OfflinePlanner:
    """AgentModel that plans with the offline grammar and reacts to the skills' outcome lines."""

    name = "offline"

    def __init__(self, **_: Any) -> None:
        """No options are needed; unknown options are ignored so ``create('offline', ...)`` always works."""

    @staticmethod
    def _mode(ctx: PlanContext) -> tuple[bool, bool]:
        """(mobile, atomic) from the embodiment profile and the API docs."""
        mobile = bool((ctx.embodiment or {}).get("base"))
        atomic = bool(ctx.api_docs) and "Harness skills" not in ctx.api_docs
        return mobile, atomic

    def plan(self, ctx: PlanContext) -> AgentStep:
        """Parse the instruction and return the code of the first substep plus the subtask list."""
        t0 = time.monotonic()
        try:
            clauses = parse_instruction(ctx.instruction)
        except GrammarError as exc:
            return AgentStep(reasoning=str(exc), code="", verdict="FAILED", usage=self._usage(t0))
        mobile, atomic = self._mode(ctx)
        unsupported = [c.kind for c in clauses if atomic and c.kind in _NEEDS_HARNESS]
        if unsupported:
            return AgentStep(reasoning=f"offline planner: {unsupported} need the harness skills, which are off",
                             verdict="FAILED", subtasks=[c.describe() for c in clauses], usage=self._usage(t0))
        params = reflector.params_from_history(ctx.history)
        code = self._first_code(clauses, 0, params, mobile, atomic)
        reasoning = (f"Offline rule planner (no VLM, no image understanding): parsed {len(clauses)} substep(s) "
                     f"from the instruction: " + "; ".join(c.describe() for c in clauses))
        changed = {k: v for k, v in params.items() if v != reflector.DEFAULTS[k]}
        if changed:
            reasoning += f". Parameters from the reflections of earlier trials: {changed}"
        return AgentStep(reasoning=reasoning, code=code, verdict="CONTINUE",
                         subtasks=[c.describe() for c in clauses], usage=self._usage(t0))

    def react(self, ctx: ReactContext) -> AgentStep:
        """Read the substep's [step]/skill outcome lines and decide: next substep, retry, complete or fail."""
        t0 = time.monotonic()
        try:
            clauses = parse_instruction(ctx.instruction)
        except GrammarError as exc:
            return AgentStep(reasoning=str(exc), verdict="FAILED", usage=self._usage(t0))
        subtasks = [c.describe() for c in clauses]
        m = _MARKER.search(ctx.code or "")
        if not m:
            return AgentStep(reasoning="offline planner: the last code has no offline marker (it was not written by "
                             "this planner); cannot continue it", verdict="FAILED", subtasks=subtasks,
                             usage=self._usage(t0))
        step, total, attempt, alias, approach = int(m[1]), int(m[2]), int(m[3]), int(m[4]), m[5]
        mobile, atomic = self._mode(ctx)
        params = reflector.params_from_history(ctx.history)
        max_attempts = int(params.get("retries", MAX_ATTEMPTS))
        outcomes = parse_outcomes(ctx.stdout or "")
        final = [o for o in outcomes if o["skill"] == "step"]
        fails = [o for o in outcomes if not o["ok"] and o["skill"] != "step"]
        # the skills' outcome lines travel in the reasoning: the reflector reads them after the trial
        lines = [ln.strip() for ln in (ctx.stdout or "").splitlines() if parse_outcome_line(ln)]
        seen = ("\noutcomes:\n" + "\n".join(lines[-8:])) if lines else ""

        def retry(reason: str, **change: Any) -> AgentStep:
            if attempt >= max_attempts:
                return AgentStep(reasoning=f"substep {step}/{total} failed {attempt} times ({reason}); giving up"
                                 + seen, verdict="FAILED", subtasks=subtasks, usage=self._usage(t0))
            a = {"alias": alias, "approach": approach, **change}
            code = generate_step_code(clauses, step - 1, attempt + 1, a["alias"], a["approach"], mobile, atomic,
                                      params)
            return AgentStep(reasoning=f"substep {step}/{total} failed ({reason}); retrying with "
                             f"approach={a['approach']} alias={a['alias']}" + seen, code=code, verdict="RETRY",
                             subtasks=subtasks, usage=self._usage(t0))

        if ctx.error:
            return retry(f"Python error: {ctx.error.strip().splitlines()[-1] if ctx.error.strip() else 'error'}")
        if not final:
            return retry("the substep printed no [step] outcome line")
        if final[-1]["ok"]:
            more = [o for o in outcomes if o["skill"] == "items"]
            if more and int(more[-1].get("remaining", 0) or 0) > 0:  # a "for each" clause done item by item
                code = self._first_code(clauses, step - 1, params, mobile, atomic)
                return AgentStep(reasoning=f"substep {step}/{total}: one item done, {more[-1]['remaining']} left; "
                                 "the same substep again for the next item" + seen, code=code, verdict="CONTINUE",
                                 subtasks=subtasks, usage=self._usage(t0))
            if step >= total:
                return AgentStep(reasoning=f"all {total} substep(s) reported ok (checked by the skills' own "
                                 "verification, not by looking at images)" + seen, verdict="TASK_COMPLETE",
                                 subtasks=subtasks, usage=self._usage(t0))
            code = self._first_code(clauses, step, params, mobile, atomic)
            return AgentStep(reasoning=f"substep {step}/{total} ok; next: {subtasks[step]}" + seen, code=code,
                             verdict="CONTINUE", subtasks=subtasks, usage=self._usage(t0))
        last = fails[-1] if fails else {"skill": "step", "reason": "unknown"}
        reason = f"{last['skill']}: {last.get('reason', 'failed')}"
        if last["skill"] == "grasp" or "cannot see" in str(last.get("reason", "")):
            if "cannot see" in str(last.get("reason", "")):
                n_alias = len(aliases(clauses[step - 1].obj)) if clauses[step - 1].obj else 1
                if alias + 1 < n_alias:
                    return retry(reason, alias=alias + 1)
            first = params.get("grasp_approach", "auto")
            if approach == first and attempt == 1:
                return retry(reason)  # a failed grasp is often transient (slip, a stale view): same plan first
            if approach == first:
                return retry(reason, approach="any" if first != "any" else "top_down")
            return retry(reason, alias=alias + 1)
        return retry(reason)

    def reflect(self, ctx: ReflectContext) -> str:
        """The rule-based reflection (JSON, see ``models/reflector.md``): root cause, failed skill/substep and the
        parameter changes the next trial's plan() applies."""
        try:
            clauses = parse_instruction(ctx.instruction)
        except GrammarError:
            clauses = []
        objects: dict[int, tuple[str, int]] = {}
        for i, c in enumerate(clauses):
            if c.obj:
                objects[i + 1] = (c.obj, len(aliases(c.obj)))
            if c.kind == "open" and c.target:
                objects[-1] = (c.target, len(aliases(c.target)))
        return reflector.reflect(ctx, objects)

    @staticmethod
    def _first_code(clauses: list[Clause], index: int, params: dict[str, Any], mobile: bool, atomic: bool) -> str:
        """First attempt of substep ``index`` with the reflector's approach and object alias."""
        c = clauses[index]
        alias = int(params.get("aliases", {}).get(c.obj, 0)) if c.obj else 0
        return generate_step_code(clauses, index, 1, alias, str(params.get("grasp_approach", "auto")), mobile,
                                  atomic, params)

    @staticmethod
    def _usage(t0: float) -> dict[str, float]:
        return {"input_tokens": 0, "output_tokens": 0, "latency_s": time.monotonic() - t0}
