"""The offline planner's rule-based reflector: failure causes of a trial -> parameter changes for the next trial.

After a trial, :func:`reflect` reads the substeps the offline planner ran (the ``# offline:`` marker of each code and
the skill outcome lines that ``react`` copies into its reasoning), picks the failure that decided the trial, and maps
its cause through the rules documented in ``models/reflector.md`` to concrete parameter changes (grasp height offset,
approach axis, handle alias, pull angle/rounds of ``open_articulated``, retries). The reflection is JSON text (one
HistoryStore line); :func:`params_from_history` turns the stored reflections back into the parameters the planner uses
for the next trial. A successful trial keeps the parameters; a trial that did worse than the one before reverts the
previous change.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from maestro_agent.harness.skills import parse_outcome_line
from maestro_agent.models.base import ReflectContext

REFLECTOR_ID = "offline-rules/1"
MARKER = re.compile(r"# offline: step=(\d+)/(\d+) attempt=(\d+) alias=(\d+) approach=(\w+)")

#: The parameters the offline planner writes into its code, with their defaults (the behaviour without history).
DEFAULTS: dict[str, Any] = {
    "grasp_approach": "auto",   # first approach of grasp(): auto | top_down | side | any
    "grasp_z_offset": 0.0,      # metres added to the grasp height (negative: fingers close lower on the object)
    "grasp_attempts": 0,        # grasp executions per call (0: the skill's default, 4)
    "open_angle": 80.0,         # degrees open_articulated pulls the door through
    "open_rounds": 3,           # pull rounds of open_articulated (re-grasp and pull on when the arc ends early)
    "open_steps": 12,           # waypoints of the pull arc
    "retries": 3,               # attempts per substep inside a trial
    "aliases": {},              # object phrase -> index into offline.aliases(phrase) (0: the phrase itself)
}
APPROACH_CYCLE = {"auto": "side", "top_down": "side", "side": "any", "any": "top_down"}
LIMITS = {"grasp_z_offset": (-0.03, 0.03), "grasp_attempts": (0, 8), "open_angle": (30.0, 120.0),
          "open_rounds": (1, 5), "open_steps": (6, 36), "retries": (1, 5)}

_SLIP = ("closed but not holding", "slipped", "not holding", "injected fault", "fell")
_BLOCKED = ("approach blocked", "pre-grasp unreachable")
_NO_PLAN = ("no grasps", "plan_grasps", "no candidate", "wider than the gripper", "already tried")


@dataclass
class Failure:
    """One failed skill call of a trial: which substep/attempt, which skill, why, and the outcome's fields."""

    substep: int
    attempt: int
    skill: str
    reason: str
    fields: dict[str, Any]


def default_params() -> dict[str, Any]:
    """A fresh copy of :data:`DEFAULTS`."""
    return copy.deepcopy(DEFAULTS)


def parse_reflection(text: str) -> dict[str, Any] | None:
    """The JSON reflection in a history line, None when the line is free text (e.g. written by a VLM)."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("reflector") == REFLECTOR_ID else None


def _clamp(key: str, value: Any) -> Any:
    lo, hi = LIMITS.get(key, (None, None))
    if lo is None:
        return value
    return type(DEFAULTS[key])(min(hi, max(lo, value)))


def sanitize(params: dict[str, Any]) -> dict[str, Any]:
    """Defaults for missing keys, known keys only, values clamped to :data:`LIMITS` (history files are input)."""
    out = default_params()
    for key, default in DEFAULTS.items():
        if key not in params:
            continue
        value = params[key]
        try:
            if key == "aliases":
                out[key] = {str(k): max(0, int(v)) for k, v in dict(value).items()}
            elif key == "grasp_approach":
                out[key] = value if value in APPROACH_CYCLE else default
            else:
                out[key] = _clamp(key, type(default)(value))
        except (TypeError, ValueError):
            out[key] = copy.deepcopy(default)
    return out


def params_from_history(history: list[str]) -> dict[str, Any]:
    """The parameters for the next trial: those of the latest structured reflection (defaults when there is none)."""
    for text in reversed(history or []):
        data = parse_reflection(text)
        if data is not None and isinstance(data.get("params"), dict):
            return sanitize(data["params"])
    return default_params()


def failures(ctx: ReflectContext) -> list[Failure]:
    """Every failed skill call of the trial, in order, from the planner's markers and its reasoning's outcome lines.

    ``steps[i]`` (i >= 1) is the planner's reaction to the code of ``steps[i - 1]``; its reasoning carries the outcome
    lines of that code's run. A Python error shows as skill ``python``; a substep without outcome line as ``step``.
    """
    out: list[Failure] = []
    for prev, cur in zip(ctx.steps, ctx.steps[1:], strict=False):
        m = MARKER.search(prev.code or "")
        if not m:
            continue
        substep, attempt = int(m[1]), int(m[3])
        outcomes = [o for o in (parse_outcome_line(ln) for ln in (cur.reasoning or "").splitlines()) if o]
        bad = [o for o in outcomes if not o["ok"] and o["skill"] != "step"]
        for o in bad:
            out.append(Failure(substep, attempt, str(o["skill"]), str(o.get("reason", "")),
                               {k: v for k, v in o.items() if k not in ("skill", "ok", "reason")}))
        if not bad and cur.verdict in ("RETRY", "FAILED"):
            why = "Python error" if "Python error" in (cur.reasoning or "") else "no skill outcome"
            out.append(Failure(substep, attempt, "python" if why == "Python error" else "step",
                               (cur.reasoning or "")[:300], {}))
    return out


def _open_fields(ctx: ReflectContext) -> dict[str, Any] | None:
    """The fields of the last open_articulated outcome (ok or not), None when the trial did not open anything."""
    last = None
    for cur in ctx.steps[1:]:
        for ln in (cur.reasoning or "").splitlines():
            o = parse_outcome_line(ln)
            if o and o["skill"] == "open_articulated":
                last = o
    return last


def _grasp_rule(f: Failure, p: dict[str, Any], obj: str, n_aliases: int) -> tuple[str, str, dict[str, Any]]:
    r = f.reason.lower()
    if "cannot see" in r:
        idx = p["aliases"].get(obj, 0)
        if obj and idx + 1 < n_aliases:
            return "R1", f"the perception did not find '{obj}' under its name", \
                {"aliases": {**p["aliases"], obj: idx + 1}}
        return "R1", f"the perception did not find '{obj}' under any alias", {"retries": p["retries"] + 1}
    if any(s in r for s in _SLIP):
        return "R2", "the fingers closed but the object was not held (too high on it, or it slipped)", \
            {"grasp_z_offset": round(p["grasp_z_offset"] - 0.01, 3), "grasp_attempts": max(6, p["grasp_attempts"])}
    if any(s in r for s in _BLOCKED):
        return "R3", "the approach to the grasp was blocked or out of reach", \
            {"grasp_approach": APPROACH_CYCLE[p["grasp_approach"]],
             "grasp_z_offset": round(p["grasp_z_offset"] + 0.01, 3)}
    if any(s in r for s in _NO_PLAN):
        return "R4", "no usable grasp candidate for the approach used", \
            {"grasp_approach": APPROACH_CYCLE[p["grasp_approach"]]}
    return "R7", f"grasp failed ({f.reason[:80]})", {"retries": p["retries"] + 1}


def _open_rule(fields: dict[str, Any], p: dict[str, Any], handle: str,
               n_aliases: int) -> tuple[str, str, dict[str, Any]]:
    reason = str(fields.get("reason", "")).lower()
    if "could not grasp the handle" in reason or "cannot see" in reason:
        idx = p["aliases"].get(handle, 0)
        if handle and idx + 1 < n_aliases:
            return "R5", f"the handle '{handle}' was not grasped (not found or no grasp)", \
                {"aliases": {**p["aliases"], handle: idx + 1}}
        return "R5", "the handle was not grasped under any alias", \
            {"grasp_z_offset": round(p["grasp_z_offset"] - 0.01, 3), "retries": p["retries"] + 1}
    fraction = float(fields.get("fraction", 1.0) or 0.0)
    if fraction < 0.8:
        return "R6", f"the pull arc ended early ({fraction:.0%} of it): the arm's reach or the hinge estimate", \
            {"open_rounds": p["open_rounds"] + 1, "open_steps": p["open_steps"] + 6}
    return "R6", f"the whole arc was followed but the door opened only ~{float(fields.get('angle', 0.0)):.0f} deg", \
        {"open_angle": p["open_angle"] + 20.0}


def decide(ctx: ReflectContext, params: dict[str, Any], objects: dict[int, tuple[str, int]]) -> dict[str, Any]:
    """Apply the rules to a finished trial; returns rule, root_cause, failed (or None) and adjust (new values).

    ``objects`` maps a substep number to (object phrase, number of aliases) of its clause, for the alias rules.
    """
    fails = failures(ctx)
    success = ctx.outcome == "TASK_COMPLETE" and (ctx.progress < 0 or ctx.progress >= 100.0)
    if success:
        return {"rule": "R0", "root_cause": "none: the trial succeeded; keep the parameters", "failed": None,
                "adjust": {}}
    opened = _open_fields(ctx)
    if ctx.outcome == "TASK_COMPLETE":  # the skills said ok but the evaluation says otherwise
        if opened is not None:
            handle, n = objects.get(-1, ("", 1))
            rule, cause, adjust = _open_rule(opened, params, handle, n)
            return {"rule": rule, "root_cause": f"judged complete at progress {ctx.progress:.0f}: {cause}",
                    "failed": {"skill": "open_articulated", **{k: v for k, v in opened.items() if k != "ok"}},
                    "adjust": adjust}
        return {"rule": "R8", "root_cause": f"every skill reported ok but the evaluated progress is "
                f"{ctx.progress:.0f}: a check the skills do not make; one more attempt per substep",
                "failed": None, "adjust": {"retries": params["retries"] + 1}}
    if not fails:
        return {"rule": "R9", "root_cause": f"ended {ctx.outcome or 'unknown'} without a failed skill (substep "
                "budget or time)", "failed": None, "adjust": {}}
    f = fails[-1]  # the failure the trial ended with
    failed = {"substep": f.substep, "attempt": f.attempt, "skill": f.skill, "reason": f.reason[:200]}
    obj, n = objects.get(f.substep, ("", 1))
    if f.skill == "grasp":
        rule, cause, adjust = _grasp_rule(f, params, obj, n)
    elif f.skill == "open_articulated":
        handle, n_h = objects.get(-1, ("", 1))
        rule, cause, adjust = _open_rule({**f.fields, "reason": f.reason}, params, handle, n_h)
    elif f.skill in ("place_in", "place_on"):
        rule, cause, adjust = "R7", "the object did not end where it was placed", {"retries": params["retries"] + 1}
    elif f.skill == "python":
        rule, cause, adjust = "R10", "the generated code raised an error: no parameter fixes it", {}
    else:
        rule, cause, adjust = "R7", f"{f.skill} failed ({f.reason[:80]})", {"retries": params["retries"] + 1}
    return {"rule": rule, "root_cause": cause, "failed": failed, "adjust": adjust}


def reflect(ctx: ReflectContext, objects: dict[int, tuple[str, int]]) -> str:
    """The JSON reflection of a trial: root cause, failed skill/substep, adjust (new values) and the next params."""
    params = params_from_history(ctx.history)
    decision = decide(ctx, params, objects)
    adjust = {k: (v if k in ("aliases", "grasp_approach") else _clamp(k, v)) for k, v in decision["adjust"].items()}
    adjust = {k: v for k, v in adjust.items() if v != params.get(k)}  # a clamped change that changes nothing
    new = sanitize({**params, **adjust})
    reverted: dict[str, Any] = {}
    prev = next((d for d in (parse_reflection(t) for t in reversed(ctx.history or [])) if d is not None), None)
    if (prev is not None and prev.get("adjust") and ctx.progress >= 0
            and float(prev.get("progress", -1.0)) > ctx.progress):
        # the change made after the previous trial made this one worse: undo it (keep this trial's own change)
        before = sanitize(prev.get("before") or {})
        reverted = {k: before[k] for k in prev["adjust"] if k in before and k not in adjust}
        new = sanitize({**new, **reverted})
    data = {
        "reflector": REFLECTOR_ID, "instruction": ctx.instruction, "outcome": ctx.outcome,
        "progress": ctx.progress, "rule": decision["rule"], "root_cause": decision["root_cause"],
        "failed": decision["failed"], "adjust": adjust, "reverted": reverted, "before": params, "params": new,
    }
    return json.dumps(data, sort_keys=True)
