"""Harness skills: robust composite robot skills executed INSIDE the sandbox on top of the tool stubs.

``install(namespace, profile)`` adds the skills to a namespace that already holds the tool stubs (``detect_objects``,
``plan_grasps``, ``move_to_pose``, ``gripper``, ...) and the ``observe`` built-in, and returns their names. Every skill

* validates its inputs and answers bad ones with a clear message (never an exception into the model's code),
* retries alternatives (next grasp candidate, re-detection, another approach mode),
* checks its own outcome (holding after close and after lift, object above the container after placing, ...),
* shows verification images with ``observe(image, caption)``,
* prints ONE structured outcome line ``[skill] ok key=value ...`` or ``[skill] FAIL key=value ... reason="..."``
  (the offline planner and the VLM read these), and
* returns a :class:`SkillResult` that is truthy on success.

Only modules on the sandbox allow-list are imported here (math, time, re, dataclasses, typing, ...), so this file can run
inside the sandbox child process. With the harness switched off (``ATOMIC_ONLY``), :func:`install` is not called and the
model sees only the atomic tool stubs.
"""
import functools
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any

#: Names added by :func:`install`, in documentation order.
SKILL_NAMES = ("grasp", "place_on", "place_in", "release", "open_articulated", "look_for", "wipe", "go_to",
               "clear_view")

#: Environment-free switch for the ablation: the agent passes ``harness=False`` to :func:`maybe_install`.
ATOMIC_ONLY = False

_OUTCOME_RE = re.compile(r"^\[(?P<skill>[a-z_]+)\] (?P<status>ok|FAIL)(?P<rest>.*)$")
_KV_RE = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')

TOP_DOWN = [1.0, 0.0, 0.0, 0.0]  # TCP +z pointing down (rotation of pi about x), quaternion [x, y, z, w]


@dataclass
class SkillResult:
    """Outcome of a skill: truthy iff ``ok``; ``reason`` says what failed and what to try; ``data`` has details."""

    skill: str
    ok: bool
    reason: str = ""
    data: dict = field(default_factory=dict)

    def __bool__(self) -> bool:
        """True iff the skill succeeded."""
        return bool(self.ok)

    def __post_init__(self) -> None:
        """Expose ``data`` entries as attributes (``r.held``, ``r.position``)."""
        for key, value in self.data.items():
            if key not in ("skill", "ok", "reason", "data", "line"):
                setattr(self, key, value)

    def line(self) -> str:
        """The structured outcome line printed by the skill."""
        parts = [f"[{self.skill}] {'ok' if self.ok else 'FAIL'}"]
        for key, value in self.data.items():
            parts.append(f"{key}={_fmt(value)}")
        if self.reason:
            parts.append(f'reason="{_escape(self.reason)}"')
        return " ".join(parts)


def parse_outcome_line(line: str) -> dict[str, Any] | None:
    """Parse a ``[skill] ok|FAIL k=v ...`` line into a dict (``skill``, ``ok``, keys); None if it is not one."""
    m = _OUTCOME_RE.match(line.strip())
    if not m:
        return None
    out: dict[str, Any] = {"skill": m.group("skill"), "ok": m.group("status") == "ok"}
    for key, raw in _KV_RE.findall(m.group("rest")):
        if raw.startswith('"'):
            out[key] = raw[1:-1].replace('\\"', '"')
        elif raw in ("True", "False"):
            out[key] = raw == "True"
        else:
            try:
                out[key] = float(raw) if any(c in raw for c in ".e") else int(raw)
            except ValueError:
                out[key] = raw
    return out


def parse_outcomes(stdout: str) -> list[dict[str, Any]]:
    """Every outcome line in a substep's stdout, in order."""
    return [o for o in (parse_outcome_line(line) for line in stdout.splitlines()) if o is not None]


def _escape(text: str) -> str:
    return str(text).replace('"', "'").replace("\n", " ")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_fmt(v) for v in value) + "]"
    if isinstance(value, str):
        return '"' + _escape(value) + '"' if (not value or " " in value or "=" in value) else value
    return str(value)


# ----------------------------------------------------------------------------------------------------------------------
# Small geometry helpers (plain Python: they must run in the sandbox and be easy to read).


def xyz(p: Any) -> list[float]:
    """[x, y, z] of a Point-like value: a sequence, a dict, or an object with x/y/z (a ToolResult)."""
    if p is None:
        raise ValueError("missing point")
    if isinstance(p, dict):
        if "position" in p:
            return xyz(p["position"])
        return [float(p["x"]), float(p["y"]), float(p["z"])]
    if isinstance(p, list | tuple):
        if len(p) < 3:
            raise ValueError(f"a point needs 3 numbers, got {list(p)!r}")
        return [float(p[0]), float(p[1]), float(p[2])]
    if hasattr(p, "position"):
        return xyz(p.position)
    return [float(p.x), float(p.y), float(p.z)]


def quat(q: Any) -> list[float]:
    """[x, y, z, w] of a Quaternion-like value (sequence, dict or object)."""
    if isinstance(q, dict):
        return [float(q["x"]), float(q["y"]), float(q["z"]), float(q["w"])]
    if isinstance(q, list | tuple):
        return [float(v) for v in q[:4]]
    return [float(q.x), float(q.y), float(q.z), float(q.w)]


def pose7(p: Any) -> list[float]:
    """[x, y, z, qx, qy, qz, qw] of a Pose-like value (7-list, dict with position/orientation, or object)."""
    if isinstance(p, list | tuple) and len(p) == 7:
        return [float(v) for v in p]
    if isinstance(p, dict):
        return xyz(p["position"]) + quat(p["orientation"])
    if hasattr(p, "pose") and not hasattr(p, "position"):
        return pose7(p.pose)
    return xyz(p.position) + quat(p.orientation)


def _sub(a: list[float], b: list[float]) -> list[float]:
    return [a[0] - b[0], a[1] - b[1], a[2] - b[2]]


def _add(a: list[float], b: list[float]) -> list[float]:
    return [a[0] + b[0], a[1] + b[1], a[2] + b[2]]


def _scale(a: list[float], s: float) -> list[float]:
    return [a[0] * s, a[1] * s, a[2] * s]


def _dot(a: list[float], b: list[float]) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _cross(a: list[float], b: list[float]) -> list[float]:
    return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]


def _norm(a: list[float]) -> float:
    return math.sqrt(_dot(a, a))


def _unit(a: list[float]) -> list[float]:
    n = _norm(a)
    if n < 1e-9:
        raise ValueError("zero-length vector")
    return _scale(a, 1.0 / n)


def quat_mul(a: list[float], b: list[float]) -> list[float]:
    """Hamilton product a*b of [x, y, z, w] quaternions."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return [
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    ]


def axis_angle_quat(axis: list[float], angle: float) -> list[float]:
    """Quaternion [x, y, z, w] of a rotation by ``angle`` rad about ``axis``."""
    u = _unit(axis)
    s = math.sin(angle / 2.0)
    return [u[0] * s, u[1] * s, u[2] * s, math.cos(angle / 2.0)]


def rotate(v: list[float], axis: list[float], angle: float) -> list[float]:
    """Rotate vector v about a unit axis by angle (Rodrigues)."""
    k = _unit(axis)
    c, s = math.cos(angle), math.sin(angle)
    return _add(_add(_scale(v, c), _scale(_cross(k, v), s)), _scale(k, _dot(k, v) * (1.0 - c)))


def quat_rotate(q: list[float], v: list[float]) -> list[float]:
    """Rotate vector v by the unit quaternion q = [x, y, z, w]."""
    r = quat_mul(quat_mul(q, [v[0], v[1], v[2], 0.0]), [-q[0], -q[1], -q[2], q[3]])
    return r[:3]


def yaw_quat(yaw: float) -> list[float]:
    """Quaternion of a rotation by yaw about +z."""
    return [0.0, 0.0, math.sin(yaw / 2.0), math.cos(yaw / 2.0)]


def quat_yaw(q: list[float]) -> float:
    """Yaw (rotation about +z) of a quaternion [x, y, z, w]."""
    x, y, z, w = q
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


_STOP_WORDS = {"the", "a", "an", "of", "on", "in", "to", "with", "and"}


def _words(label: str) -> list[str]:
    """Lower-case words of a label ('Yellow door-handle' / 'yellow_door_handle' -> ['yellow', 'door', 'handle'])."""
    out = []
    for w in re.split(r"[\s_\-]+", str(label).lower()):
        if w and w not in _STOP_WORDS:
            out.append(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w)
    return out


def best_label(query: str, labels: list[str]) -> str | None:
    """The visible label that best matches a free-form object name, by shared words (the head noun, the last word
    of the query, counts most; extra words count slightly against), or None when no label shares a word."""
    q = _words(query)
    if not q:
        return None
    head = q[-1]
    best, best_score = None, 0.0
    for label in dict.fromkeys(labels):
        w = _words(label)
        shared = len(set(q) & set(w))
        if not shared:
            continue
        score = shared + (0.5 if head in w else 0.0) + (0.25 if w and w[-1] == head else 0.0) \
            - 0.1 * len(set(w) - set(q))
        if score > best_score:
            best, best_score = label, score
    return best


def closest_flip(q: list[float], ref: list[float]) -> list[float]:
    """``q`` or ``q`` turned by 180 deg about its own z (the approach axis), whichever is nearer to ``ref``.

    A parallel-jaw grasp is symmetric under that turn; the nearer one needs less wrist rotation.
    """
    flipped = quat_mul(q, [0.0, 0.0, 1.0, 0.0])
    near = abs(sum(a * b for a, b in zip(q, ref, strict=True)))
    return flipped if abs(sum(a * b for a, b in zip(flipped, ref, strict=True))) > near + 1e-9 else list(q)


def mat_quat(cols: list[list[float]]) -> list[float]:
    """Quaternion [x, y, z, w] of the rotation whose columns are the unit vectors ``cols`` = [x_axis, y_axis, z_axis]."""
    (m00, m10, m20), (m01, m11, m21), (m02, m12, m22) = cols
    tr = m00 + m11 + m22
    if tr > 0:
        s = 2.0 * math.sqrt(tr + 1.0)
        q = [(m21 - m12) / s, (m02 - m20) / s, (m10 - m01) / s, 0.25 * s]
    elif m00 > m11 and m00 > m22:
        s = 2.0 * math.sqrt(1.0 + m00 - m11 - m22)
        q = [0.25 * s, (m01 + m10) / s, (m02 + m20) / s, (m21 - m12) / s]
    elif m11 > m22:
        s = 2.0 * math.sqrt(1.0 + m11 - m00 - m22)
        q = [(m01 + m10) / s, 0.25 * s, (m12 + m21) / s, (m02 - m20) / s]
    else:
        s = 2.0 * math.sqrt(1.0 + m22 - m00 - m11)
        q = [(m02 + m20) / s, (m12 + m21) / s, 0.25 * s, (m10 - m01) / s]
    n = math.sqrt(sum(v * v for v in q))
    return [v / n for v in q]


def label_variants(label: str) -> list[str]:
    """The label as given plus its snake_case form ('tennis ball' -> ['tennis ball', 'tennis_ball'])."""
    out = [label]
    snake = re.sub(r"[\s\-]+", "_", label.strip().lower())
    if snake not in out:
        out.append(snake)
    return out


# ----------------------------------------------------------------------------------------------------------------------


@dataclass
class HarnessConfig:
    """Numbers the skills need, read from the embodiment profile (defaults are safe for both robots)."""

    embodiment: str = ""
    has_base: bool = False
    main_camera: str = ""
    cameras: tuple = ()
    gripper_max_width: float = 0.08
    lift_height: float = 0.10
    hover_height: float = 0.12
    place_clearance: float = 0.03
    default_held_offset: float = 0.03   # TCP height above the held object's bottom when unknown
    finger_length: float = 0.045        # TCP (fingertip plane) to palm, metres
    inject_grasp_failures: int = 0      # test switch: the first N grasp calls run a perturbed candidate and fail
    gripper_timeout: float = 15.0       # s; a loaded simulator can take several seconds to close on an object
    palm_clearance: float = 0.012       # keep the palm this far above the object's top (a wedged object jumps out)
    grasp_attempts: int = 4
    fresh_wait: float = 5.0             # s to wait for camera frames taken after the robot's latest state
    search_step_deg: float = 45.0
    approach_distance: float = 0.6      # mobile go_to stand-off from the object, metres
    home: tuple = ()                    # arm joint positions that keep the arm out of the main camera's view

    @classmethod
    def from_profile(cls, profile: dict) -> "HarnessConfig":
        """Read the profile (``maestro_bringup/config/<embodiment>.yaml`` as a dict)."""
        profile = profile or {}
        gripper = profile.get("gripper") or {}
        cams = profile.get("cameras") or {}
        harness = profile.get("harness") or {}
        cfg = cls(
            embodiment=str(profile.get("embodiment", "")),
            has_base=bool(profile.get("base")),
            main_camera=str(profile.get("main_camera", "")),
            cameras=tuple(cams) if isinstance(cams, dict) else tuple(cams or ()),
            gripper_max_width=float(gripper.get("max_width", 0.08) or 0.08),
            home=tuple(float(v) for v in ((profile.get("arm") or {}).get("home") or ())),
        )
        for key, value in harness.items():  # optional per-profile tuning: harness: {lift_height: 0.15}
            if hasattr(cfg, key):
                setattr(cfg, key, type(getattr(cfg, key))(value))
        return cfg


def maybe_install(namespace: dict, profile: dict, harness: bool = True) -> list[str]:
    """Install the skills unless the harness is off (the atomic-tools ablation); returns the names installed."""
    if not harness or ATOMIC_ONLY:
        return []
    return install(namespace, profile)


def install(namespace: dict, profile: dict) -> list[str]:
    """Add the harness skills to ``namespace`` (which already holds the tool stubs) and return their names."""
    ns = namespace
    cfg = HarnessConfig.from_profile(profile)
    state: dict[str, Any] = {"held": None, "held_offset": None}

    # -- plumbing ------------------------------------------------------------------------------------------------------
    def tool(name: str) -> Any:
        fn = ns.get(name)
        if fn is None:
            raise _SkillAbort(f"tool {name}() is not available on this robot (is its node running?)")
        return fn

    def show(image: Any, caption: str) -> None:
        observe = ns.get("observe")
        if observe is None or image is None or not getattr(image, "width", 0):
            return
        try:
            observe(image, caption)
        except Exception as exc:  # a failed display must not fail the skill
            print(f"[harness] could not show image {caption!r}: {exc}")

    def snapshot(caption: str) -> None:
        cap = ns.get("capture_images")
        if cap is None:
            return
        cams = [c for c in ("wrist", cfg.main_camera) if c and (not cfg.cameras or c in cfg.cameras)]
        r = cap(cameras=cams or [], with_depth=False)
        if r:
            names = list(getattr(r, "cameras", []) or cams)
            for i, img in enumerate(list(getattr(r, "images", []) or [])):
                show(img, f"{caption} ({names[i] if i < len(names) else 'camera'} camera)")

    def finish(result: SkillResult, snap: str | None = None) -> SkillResult:
        if snap:
            try:
                snapshot(snap)
            except Exception as exc:
                print(f"[harness] snapshot failed: {exc}")
        print(result.line())
        return result

    def robot_state() -> Any:
        r = tool("get_robot_state")()
        if not r:
            raise _SkillAbort(f"get_robot_state failed: {r.error_msg}")
        return r.state

    def ee_pose() -> list[float]:
        return pose7(robot_state().ee_pose)

    def move(target: list[float], mode: str = "planned", **kw: Any) -> Any:
        state["at_clear_view"] = False
        r = tool("move_to_pose")(target=list(target), mode=mode, **kw)
        if not r and "goal response" in str(getattr(r, "error_msg", "")):  # a controller too busy to answer in time
            print(f"[harness] move_to_pose: {r.error_msg}; retrying once")
            r = tool("move_to_pose")(target=list(target), mode=mode, **kw)
        return r

    def open_gripper() -> Any:
        return tool("gripper")(command="open", timeout=cfg.gripper_timeout)

    def retreat(dz: float = 0.08) -> None:
        try:
            p = ee_pose()
            move([p[0], p[1], p[2] + dz] + p[3:], mode="cartesian")
        except _SkillAbort:
            pass

    def state_stamp() -> float:
        """Clock (s) of the robot's current joint state; 0 when the robot does not stamp it."""
        try:
            return float(robot_state().joints.header.stamp or 0.0)
        except (_SkillAbort, AttributeError, TypeError, ValueError):
            return 0.0

    def fresh(name: str, **kwargs: Any) -> Any:
        """Call perception tool ``name`` until its answer comes from a camera frame taken after the robot's current
        state (bounded by ``cfg.fresh_wait``): camera pipelines lag the joint states by a second or more, and a frame
        from before the last motion shows the arm (and what it carries) where it was."""
        t_ref = state_stamp()
        deadline = time.time() + cfg.fresh_wait
        while True:
            r = tool(name)(**kwargs)
            try:
                stamp = float(r.header.stamp or 0.0)
            except (AttributeError, TypeError, ValueError):
                stamp = 0.0
            if t_ref <= 0.0 or stamp <= 0.0 or stamp + 1e-3 >= t_ref or time.time() >= deadline:
                return r
            time.sleep(0.1)

    def resolve(label: str) -> str | None:
        """The visible object label that best matches ``label`` (e.g. 'yellow door handle' -> 'yellow_handle')."""
        known = state.setdefault("aliases", {})
        if label in known:
            return known[label]
        r = fresh("detect_objects", labels=[])
        for _ in range(2):  # a busy simulator or camera can time out once; the list of labels is worth a retry
            if r:
                break
            print(f"[harness] listing the visible objects failed ({r.error_msg}); retrying")
            r = fresh("detect_objects", labels=[])
        labels = [str(d.label) for d in (list(getattr(r, "detections", []) or []) if r else [])]
        match = best_label(label, labels)
        if match is not None and match not in label_variants(label):
            print(f"[harness] using the visible object '{match}' for '{label}' (visible: {sorted(set(labels))})")
            known[label] = match
            return match
        return None

    def names_for(label: str) -> Any:
        """The label, its snake_case form, then (lazily) the best-matching visible label."""
        yield from label_variants(label)
        match = resolve(label)
        if match is not None:
            yield match

    def look_again() -> bool:
        """Move the (empty) arm out of the camera's view once per call chain; True when it moved."""
        if state.get("held") is not None or not cfg.home or state.get("at_clear_view"):
            return False
        r = clear_view()
        return bool(r)

    def detect(label: str, again: bool = True) -> tuple[Any, str]:
        """Best detection of label (trying its snake_case form and the best-matching visible label); (None, why).
        When nothing matches, the arm may be hiding it: look once more from the clear-view pose."""
        det, why = _detect(label)
        if det is None and again and look_again():
            state.get("aliases", {}).pop(label, None)
            det, why = _detect(label)
        return det, why

    def _detect(label: str) -> tuple[Any, str]:
        why = ""
        for name in names_for(label):
            r = fresh("detect_objects", labels=[name], annotate=True)
            show(getattr(r, "annotated_image", None), f"detections for '{name}'")
            dets = list(getattr(r, "detections", []) or []) if r else []
            if dets:
                return dets[0], name
            why = r.error_msg if not r else f"no '{name}' detected"
        return None, why

    def geometry(label: str, again: bool = True) -> tuple[Any, Any]:
        """(ObjectGeometry, keypoints) of label, or raise _SkillAbort with the tool's message (after one more look
        from the clear-view pose when the empty arm may be hiding it)."""
        try:
            return _geometry(label)
        except _SkillAbort:
            if not (again and look_again()):
                raise
        state.get("aliases", {}).pop(label, None)
        return _geometry(label)

    def _geometry(label: str) -> tuple[Any, Any]:
        msg = ""
        for name in names_for(label):
            r = fresh("get_object_geometry", label=name)
            if r:
                best = state.setdefault("best_view", {})  # the most complete view of each object seen so far
                n = int(getattr(r.geometry, "num_points", 0) or 0)
                if n > int(getattr(best.get(label), "num_points", 0) or 0):
                    best[label] = r.geometry
                show(getattr(r, "annotated_image", None), f"geometry of '{name}'")
                return r.geometry, list(getattr(r, "keypoints", []) or [])
            msg = r.error_msg
        raise _SkillAbort(f"no geometry for '{label}': {msg}")

    def other_view(label: str) -> Any:
        """The geometry of ``label`` from a camera other than the main one (None when no camera sees it)."""
        for cam in cfg.cameras:
            if cam == cfg.main_camera or not cam:
                continue
            for name in label_variants(label):
                r = fresh("get_object_geometry", label=name, camera=cam)
                if r:
                    print(f"[harness] '{label}' is hidden from the main camera; the {cam} camera sees it")
                    show(getattr(r, "annotated_image", None), f"geometry of '{name}' ({cam} camera)")
                    return r.geometry
        return None

    def check_label(name: str, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise _SkillAbort(f"{name} must be a non-empty object name such as 'tennis ball', got {value!r}")
        return value.strip()

    def guarded(skill: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> SkillResult:
            try:
                return fn(*args, **kwargs)
            except _SkillAbort as exc:
                return finish(SkillResult(skill, False, str(exc)))
            except (TypeError, ValueError, KeyError, AttributeError) as exc:
                return finish(SkillResult(skill, False, f"bad input or tool reply: {exc!r}"))

        return functools.wraps(fn)(wrapper)

    # -- grasp ---------------------------------------------------------------------------------------------------------
    def grasp(target: str, part: str = "", approach: str = "auto", attempts: int = 0, lift: float = -1.0,
              z_offset: float = 0.0) -> SkillResult:
        """Grasp an object (or one of its parts) and lift it; retries other candidates, re-detects, other approaches.

        target: object name ("tennis ball"); part: "" or a part name ("handle", "rim"); approach: "auto" (top-down,
        then any), "top_down", "any" or "side"; attempts: max grasp executions (0 = 4); lift: metres (-1 = 0.10; 0 = no
        lift, e.g. for a door handle); z_offset: metres added to every grasp height (-0.01: close the fingers 1 cm
        lower on the object; within +-0.05). Prints ``[grasp] ok label=... held=True attempts=N`` or ``[grasp] FAIL``.
        """
        label = check_label("target", target)
        try:
            dz = float(z_offset)
        except (TypeError, ValueError):
            raise _SkillAbort(f"z_offset must be metres as a number, got {z_offset!r}") from None
        if not -0.05 <= dz <= 0.05:
            raise _SkillAbort(f"z_offset must be within +-0.05 m, got {z_offset!r}")
        if not isinstance(part, str):
            raise _SkillAbort(f"part must be a string such as 'handle' or '', got {part!r}")
        modes = {"auto": ["top_down", "any"], "top_down": ["top_down"], "any": ["any"], "side": ["along_axis", "any"]}
        if approach not in modes:
            raise _SkillAbort(f"approach must be one of {sorted(modes)}, got {approach!r}")
        budget = int(attempts) if attempts and attempts > 0 else cfg.grasp_attempts
        lift_h = cfg.lift_height if lift is None or lift < 0 else float(lift)
        det, det_label = detect(label)
        if det is None:
            return finish(SkillResult("grasp", False, f"cannot see '{label}': {det_label}; look around or check the "
                                      "name", {"label": label}), snap="grasp: target not found")
        label = det_label
        if not state.get("scene_seen"):  # remember the unoccluded view of the other objects (containers, targets)
            state["scene_seen"] = True
            r_all = fresh("detect_objects", labels=[])
            for d in (list(getattr(r_all, "detections", []) or []) if r_all else []):
                if str(d.label) not in label_variants(label):
                    try:
                        geometry(str(d.label))
                    except _SkillAbort:
                        pass
        part_kps = [k for k in (getattr(det, "keypoints", []) or []) if part and part in str(getattr(k, "name", ""))]
        try:
            geo0 = geometry(label)[0]
            bottom, top = float(geo0.bottom_height), float(geo0.top_height)
        except _SkillAbort:
            bottom, top = None, None
        tried: list[list[float]] = []
        executions = 0
        last_reason = ""
        for mode in modes[approach]:
            replans = 0
            while executions < budget and replans < 3:
                replans += 1
                req: dict[str, Any] = {"label": label, "part": part, "approach_mode": mode, "max_candidates": 5,
                                       "check_collisions": True, "annotate": True}
                if part_kps:
                    req["part_keypoints"] = part_kps
                if mode == "along_axis":
                    c = xyz(det.center_3d) if getattr(det, "has_center_3d", True) else [1.0, 0.0, 0.0]
                    req["approach_axis"] = _unit([c[0], c[1], 0.0])
                planned = tool("plan_grasps")(**req)
                show(getattr(planned, "annotated_image", None), f"grasp candidates for '{label}' ({mode})")
                if not planned or not list(getattr(planned, "grasps", []) or []):
                    last_reason = f"plan_grasps({mode}) failed: {getattr(planned, 'error_msg', '') or 'no grasps'}"
                    print(f"[harness] {last_reason}; trying the next approach")
                    break
                untried = [g for g in planned.grasps
                         if all(_norm(_sub(xyz(g.pose), t)) > 0.01 for t in tried)]
                if not untried:
                    last_reason = last_reason or "every planned candidate was already tried"
                    break
                replan = False
                for idx, cand in enumerate(untried):
                    if executions >= budget:
                        break
                    executions += 1
                    gp = pose7(cand.pose)
                    gp = gp[:3] + closest_flip(gp[3:], TOP_DOWN)
                    tried.append(gp[:3])
                    gp = palm_clear(gp, cand, top)
                    gp[2] += dz
                    if state.get("injected", 0) < cfg.inject_grasp_failures:
                        state["injected"] = state.get("injected", 0) + 1
                        back = quat_rotate(gp[3:], [0.0, 0.0, -1.0])  # 6 cm short along the approach: the
                        bad = _add(gp[:3], _scale(back, 0.06)) + gp[3:]  # fingers close on air next to the object
                        print("[harness] fault injection: executing the first candidate 6 cm short of its pose")
                        outcome = try_candidate(bad, cand, lift_h, bottom)
                        outcome = "injected fault: " + (outcome if isinstance(outcome, str) else "held by chance")
                        if outcome.endswith("by chance"):
                            open_gripper()
                        return finish(SkillResult("grasp", False, outcome, {"label": label, "held": False,
                                                                           "attempts": executions}),
                                      snap=f"grasp of '{label}' failed")
                    outcome = try_candidate(gp, cand, lift_h, bottom)
                    if outcome is True:
                        state["held"] = label
                        return finish(SkillResult("grasp", True, "", {
                            "label": label, "part": part, "held": True, "attempts": executions, "candidate": idx,
                            "approach": mode, "width": float(getattr(cand, "width", 0.0))}), snap=f"grasped '{label}'")
                    last_reason = outcome
                    print(f"[harness] grasp candidate {idx} ({mode}) failed: {outcome}")
                    if "not holding" in outcome or "slipped" in outcome:
                        replan = True  # the object may have moved: re-detect and plan again
                        break
                if not replan:
                    break
                det2, _ = detect(label)
                if det2 is not None:
                    det = det2
        if not part and approach in ("auto", "top_down") and executions < budget:
            # last resort: a top-down grasp across the object's box (a single view often has no antipodal pairs on
            # boxes and cylinders: their far faces are hidden)
            try:
                geo_b = geometry(label)[0]
            except _SkillAbort as exc:
                geo_b, last_reason = None, last_reason or str(exc)
            box = box_candidate(geo_b) if geo_b is not None else None
            if box is None:
                last_reason = last_reason or "the object's box is wider than the gripper"
            else:
                executions += 1
                box[0][2] += dz
                outcome = try_candidate(box[0], box[1], lift_h, float(geo_b.bottom_height))
                if outcome is True:
                    state["held"] = label
                    return finish(SkillResult("grasp", True, "", {
                        "label": label, "part": part, "held": True, "attempts": executions, "candidate": -1,
                        "approach": "box_top_down", "width": float(box[1].width)}), snap=f"grasped '{label}'")
                last_reason = f"box grasp: {outcome}"
                print(f"[harness] top-down box grasp failed: {outcome}")
        return finish(SkillResult("grasp", False, f"{last_reason or 'no candidate worked'}; try another approach, "
                                  "move closer, or grasp a part", {"label": label, "held": False,
                                                                   "attempts": executions}),
                      snap=f"grasp of '{label}' failed")

    def box_candidate(geo: Any) -> tuple[list[float], Any] | None:
        """A top-down grasp at the centre of the object's box, fingers closing across its narrower horizontal side,
        the fingertips low enough to pinch it and the palm clear of its top; None when neither side fits."""
        ext = xyz(geo.obb_extent)
        axes = [xyz(v) for v in geo.principal_axes]
        horiz = sorted(range(3), key=lambda i: abs(axes[i][2]))[:2]  # the two most horizontal axes
        fits = [i for i in sorted(horiz, key=lambda i: abs(ext[i])) if abs(ext[i]) < cfg.gripper_max_width - 0.01]
        if not fits:
            return None
        u = _unit([axes[fits[0]][0], axes[fits[0]][1], 0.0])
        c = xyz(geo.obb_pose.position) if getattr(geo, "obb_pose", None) is not None else xyz(geo.centroid)
        top, bottom = float(geo.top_height), float(geo.bottom_height)
        z = max(bottom + 0.015, min(0.5 * (top + bottom), top - cfg.finger_length + cfg.palm_clearance + 0.02))
        yaw = math.atan2(u[0], -u[1])  # TOP_DOWN turned about z so that the TCP's y (closing axis) is along u
        q = closest_flip(quat_mul(yaw_quat(yaw), TOP_DOWN), TOP_DOWN)
        return [c[0], c[1], z] + q, _BoxCandidate(width=abs(ext[fits[0]]))

    def palm_clear(gp: list[float], cand: Any, top: float | None) -> list[float]:
        """Back a steep (top-down-like) grasp off along its approach until the palm clears the object's top.

        A grasp whose fingers reach past the object's middle presses it into the palm; squeezed there it shoots out
        when the fingers open. The shift keeps at least 15 mm of finger on the object.
        """
        a = xyz(cand.approach) if getattr(cand, "approach", None) is not None else [0.0, 0.0, -1.0]
        if top is None or _norm(a) < 1e-6:
            return gp
        a = _unit(a)
        if a[2] > -0.7:  # side grasps: the top height says nothing about the palm
            return gp
        palm_z = gp[2] - a[2] * cfg.finger_length  # a[2] < 0: the palm is above the TCP
        overlap = top + cfg.palm_clearance - palm_z
        if overlap <= 0.0:
            return gp
        back = min(overlap / -a[2], cfg.finger_length - 0.015)
        return _sub(gp[:3], _scale(a, back)) + gp[3:]

    def try_candidate(gp: list[float], cand: Any, lift_h: float, bottom: float | None) -> Any:
        """Execute one grasp candidate; True on success, else a reason string. Leaves the gripper open on failure."""
        approach_v = xyz(cand.approach) if getattr(cand, "approach", None) is not None else [0.0, 0.0, -1.0]
        if _norm(approach_v) < 1e-6:
            approach_v = [0.0, 0.0, -1.0]
        approach_v = _unit(approach_v)
        offset = float(getattr(cand, "pre_grasp_offset", 0.0) or 0.0) or 0.10
        pre = _sub(gp[:3], _scale(approach_v, offset)) + gp[3:]
        width = float(getattr(cand, "width", 0.0) or 0.0)
        g = tool("gripper")
        r = (g(command="move", width=min(cfg.gripper_max_width, width + 0.03), timeout=cfg.gripper_timeout)
             if width > 0 else open_gripper())
        if not r:
            open_gripper()
        r = move(pre, mode="planned", avoid_collisions=True)
        if not r:
            return f"pre-grasp unreachable ({r.error_msg})"
        r = move(gp, mode="cartesian")
        if not r:
            move(pre, mode="cartesian")
            return f"approach blocked ({r.error_msg})"
        r = g(command="close", timeout=cfg.gripper_timeout)
        if not r or not getattr(r, "holding", False):
            open_gripper()
            move(pre, mode="cartesian")
            return "closed but not holding" if r else f"gripper failed ({r.error_msg})"
        state["held_offset"] = (gp[2] - bottom) if bottom is not None else None
        if lift_h > 0:
            r = move([gp[0], gp[1], gp[2] + lift_h] + gp[3:], mode="cartesian")
            if not r:
                print(f"[harness] lift failed ({r.error_msg}); still holding, continuing")
        st = robot_state()
        if not getattr(st, "gripper_holding", False):
            open_gripper()
            return "slipped during lift (not holding after lift)"
        return True

    # -- place ---------------------------------------------------------------------------------------------------------
    def free_spot(geo: Any, label: str, held: str | None) -> list[float]:
        """Where to drop into a container: its centre, or, when objects already lie in it, the point of a ring at
        half its radius farthest from them (so the new object lands on the floor, not on top of another)."""
        c = xyz(geo.centroid)
        ext = xyz(geo.obb_extent)
        radius = 0.5 * min(abs(ext[0]), abs(ext[1]))
        r = fresh("detect_objects", labels=[])
        taken = []
        for d in (list(getattr(r, "detections", []) or []) if r else []):
            name = str(d.label)
            if name in label_variants(label) or (held and name in label_variants(held)):
                continue
            if getattr(d, "has_center_3d", True):
                p = xyz(d.center_3d)
                if math.hypot(p[0] - c[0], p[1] - c[1]) < radius and p[2] < float(geo.top_height) + 0.05:
                    taken.append(p)
        if not taken or radius < 0.04:
            return c
        ring = 0.5 * radius
        spots = [[c[0] + ring * math.cos(a), c[1] + ring * math.sin(a), c[2]]
                 for a in (2.0 * math.pi * i / 8 for i in range(8))]
        best = max(spots, key=lambda s: min(math.hypot(s[0] - p[0], s[1] - p[1]) for p in taken))
        print(f"[harness] '{label}' already holds {len(taken)} object(s); dropping at [{best[0]:.3f}, {best[1]:.3f}]")
        return best

    def _place(skill: str, target: str, inside: bool, release_obj: bool = True) -> SkillResult:
        label = check_label("target", target)
        st = robot_state()
        held = state.get("held")
        if not getattr(st, "gripper_holding", False):
            raise _SkillAbort(f"not holding anything; grasp an object before {skill}('{label}')")
        if not held:  # a fresh interpreter (e.g. after a substep timeout) forgot what the gripper holds
            held = held_by_position()
        geo, _ = geometry(label)
        best = state.get("best_view", {}).get(label)
        if best is not None and int(getattr(best, "num_points", 0) or 0) > 1.5 * int(getattr(geo, "num_points", 0) or 0):
            # the arm hides part of the target now: its earlier, fuller view places better (targets rarely move)
            print(f"[harness] '{label}' is partly hidden ({geo.num_points} points); using its earlier view "
                  f"({best.num_points} points)")
            geo = best
        c = xyz(geo.centroid)
        top = float(geo.top_height)
        drop = free_spot(geo, label, held) if inside else c
        offset = state.get("held_offset")
        offset = cfg.default_held_offset if offset is None else max(0.0, float(offset))
        z = top + offset + (0.05 if inside else cfg.place_clearance)
        cur = ee_pose()
        above = [drop[0], drop[1], z + cfg.hover_height] + cur[3:]
        r = move(above, mode="planned", avoid_collisions=True)
        if not r:
            r = move(above[:3] + TOP_DOWN, mode="planned", avoid_collisions=True)
        if not r:  # boxed in low (a loaded planner's time runs out): rise straight up, then plan once more
            print(f"[harness] no planned path above '{label}' ({r.error_msg}); rising 10 cm and planning again")
            retreat(0.10)
            r = move(above[:3] + TOP_DOWN, mode="planned", avoid_collisions=True)
        if not r:
            # the planner's scene cloud holds the carried object itself (it is not part of the robot model), so
            # every planned path leaving the grasp "collides": cross over at the hover height in a straight line
            cur = ee_pose()
            travel = max(cur[2], above[2])
            print(f"[harness] still no planned path above '{label}' ({r.error_msg}); crossing over in a straight "
                  f"line at z={travel:.2f}")
            r = move(cur[:2] + [travel] + cur[3:], mode="cartesian")
            if r:
                r = move(above[:2] + [travel] + cur[3:], mode="cartesian")
            if r and travel > above[2] + 1e-3:
                r = move(above[:3] + cur[3:], mode="cartesian")
            if not r:
                raise _SkillAbort(f"cannot move above '{label}': {r.error_msg}")
        r = move([drop[0], drop[1], z] + ee_pose()[3:], mode="cartesian")
        if not r:
            print(f"[harness] lowering over '{label}' stopped early ({r.error_msg}); releasing from here")
        if not release_obj:
            return finish(SkillResult(skill, True, "", {"target": label, "released": False}))
        open_gripper()
        time.sleep(0.3)
        retreat(cfg.hover_height)
        state["held"] = None
        state["held_offset"] = None
        # verify where the object ended up
        data: dict[str, Any] = {"target": label, "object": held or "", "released": True}
        if not held:
            return finish(SkillResult(skill, True, "", data), snap=f"after {skill} '{label}'")
        try:
            ogeo, _ = geometry(held)
        except _SkillAbort as exc:
            ogeo = other_view(held)  # e.g. inside a bowl, below its rim: the wrist camera looks down into it
            if ogeo is None:
                return finish(SkillResult(skill, False, f"released, but cannot see '{held}' any more: {exc}", data),
                              snap=f"after {skill} '{label}'")
        o = xyz(ogeo.centroid)
        ext = xyz(geo.obb_extent)
        half = max(0.02, 0.5 * min(ext[0], ext[1]))
        dxy = math.hypot(o[0] - c[0], o[1] - c[1])
        data["dxy"] = dxy
        if inside:
            ok = dxy <= half and float(ogeo.bottom_height) >= float(geo.bottom_height) - 0.02 and o[2] <= top + 0.05
            why = f"'{held}' is {dxy:.3f} m from the centre of '{label}' (radius {half:.3f}) at z={o[2]:.3f}"
        else:
            ok = dxy <= half + 0.02 and float(ogeo.bottom_height) >= top - 0.03
            why = f"'{held}' is {dxy:.3f} m off '{label}' or below its top (z={ogeo.bottom_height:.3f} < {top:.3f})"
        return finish(SkillResult(skill, ok, "" if ok else why + "; grasp it again and retry", data),
                      snap=f"after {skill} '{label}'")

    def held_by_position() -> str | None:
        """The label of the detected object nearest the TCP (within 8 cm): what the gripper holds when the skills'
        memory of it was lost; None when nothing is that close."""
        tcp = ee_pose()[:3]
        r = fresh("detect_objects", labels=[])
        near = [(_norm(_sub(xyz(d.center_3d), tcp)), str(d.label))
                for d in (list(getattr(r, "detections", []) or []) if r else []) if getattr(d, "has_center_3d", True)]
        near = sorted(n for n in near if n[0] < 0.08)
        if near:
            print(f"[harness] holding '{near[0][1]}' (the object nearest the gripper)")
            return near[0][1]
        return None

    def place_on(target: str) -> SkillResult:
        """Put the held object on top of ``target`` (e.g. "plate"), release it and check it rests there.

        Prints ``[place_on] ok target=... dxy=...`` or ``[place_on] FAIL ... reason="..."``.
        """
        return _place("place_on", target, inside=False)

    def place_in(container: str) -> SkillResult:
        """Put the held object into ``container`` (e.g. "bowl"): move above it, lower, release, and check that the
        object ended inside the container's footprint. Prints ``[place_in] ok ...`` or ``[place_in] FAIL ...``.
        """
        return _place("place_in", container, inside=True)

    def release() -> SkillResult:
        """Open the gripper, retreat upwards and check nothing is held. Prints ``[release] ok`` or ``FAIL``."""
        r = open_gripper()
        retreat(0.08)
        state["held"] = None
        holding = bool(getattr(robot_state(), "gripper_holding", False))
        ok = bool(r) and not holding
        return finish(SkillResult("release", ok, "" if ok else f"gripper still holding or failed: "
                                  f"{getattr(r, 'error_msg', '')}", {"holding": holding}))

    # -- open_articulated ----------------------------------------------------------------------------------------------
    def grasp_handle(label: str, hgeo: Any, dgeo: Any) -> SkillResult:
        """Grasp a handle (bar or knob) straight on: approach against the door's outward normal, fingers closing
        across the bar. Needs no antipodal pairs, so it works on thin bars seen from one side."""
        # the box centre, not the point centroid: a camera above sees the bar's top face more than its front, and
        # a few millimetres off-centre across the bar only one (coupled) finger touches it
        c = xyz(hgeo.obb_pose.position) if getattr(hgeo, "obb_pose", None) is not None else xyz(hgeo.centroid)
        a = None
        if dgeo is not None:  # the door's thinnest axis is its normal; the outward side faces the robot base
            ext = xyz(dgeo.obb_extent)
            axes = [xyz(v) for v in dgeo.principal_axes]
            n = _unit(axes[min(range(3), key=lambda i: abs(ext[i]))])
            if _dot(n, _sub([0.0, 0.0, c[2]], xyz(dgeo.centroid))) < 0:
                n = _scale(n, -1.0)
            if abs(n[2]) < 0.5:
                a = _scale(n, -1.0)
        if a is None:
            a = _unit([c[0], c[1], 0.0])  # from the base toward the handle
        ext = xyz(hgeo.obb_extent)
        axes = [xyz(v) for v in hgeo.principal_axes]
        order = sorted(range(3), key=lambda i: -abs(ext[i]))
        longest = axes[order[0]]
        bar = abs(ext[order[0]]) > 1.5 * abs(ext[order[1]])
        long_dir = _sub(longest, _scale(a, _dot(longest, a)))
        if not bar or _norm(long_dir) < 0.3:  # knob: close the fingers vertically
            long_dir = _cross([0.0, 0.0, 1.0], a)
        y = _unit(_cross(a, _unit(long_dir)))  # closing axis: across the bar, square to the approach
        x = _cross(y, a)
        qg = closest_flip(mat_quat([x, y, a]), ee_pose()[3:])
        grasp_pt = _add(c, _scale(a, 0.005))
        pre = _sub(grasp_pt, _scale(a, 0.10)) + qg
        open_gripper()
        r = move(pre, mode="planned", avoid_collisions=True)
        if not r:
            r = move(pre, mode="planned", avoid_collisions=False)
            if not r:
                return SkillResult("grasp", False, f"cannot reach in front of '{label}': {r.error_msg}")
        r = move(grasp_pt + qg, mode="cartesian")
        if not r:
            print(f"[harness] approach to '{label}' stopped early ({r.error_msg}); closing anyway")
        c_r = tool("gripper")(command="close", timeout=cfg.gripper_timeout)
        if not c_r or not getattr(c_r, "holding", False):
            open_gripper()
            retreat_along(0.08)
            return SkillResult("grasp", False, "closed on the handle but not holding" if c_r else
                               f"gripper failed ({c_r.error_msg})")
        state["held"] = label
        print(f'[harness] holding \'{label}\' (straight-on handle grasp, approach [{a[0]:.2f}, {a[1]:.2f}, {a[2]:.2f}])')
        return SkillResult("grasp", True, "", {"label": label})

    def retreat_along(dist: float) -> None:
        """Back the gripper off along its own -z (the approach axis)."""
        try:
            e = ee_pose()
            move(_sub(e[:3], _scale(quat_rotate(e[3:], [0.0, 0.0, 1.0]), dist)) + e[3:], mode="cartesian")
        except _SkillAbort:
            pass

    def pull_unchecked(waypoints: list[list[float]], failed: Any) -> tuple[Any, float]:
        """Follow the arc segment by segment with Cartesian moves that skip the scene-cloud check: the door being
        pulled is itself in the planner's (static) scene cloud, so a checked path "collides" with it at once.
        Returns (the last move's result, fraction of the waypoints reached)."""
        print(f"[harness] the checked arc stops at the door itself ({failed.error_msg}); pulling segment by segment "
              "without the scene check")
        done, r = 0, failed
        for wp in waypoints:
            r = move(wp, mode="cartesian", avoid_collisions=False, velocity_scaling=0.2)
            if not r:
                print(f"[harness] segment {done + 1}/{len(waypoints)} stopped: {r.error_msg}")
                break
            done += 1
        return r, done / max(1, len(waypoints))

    def open_articulated(handle: str, angle: float = 75.0, door: str = "door", hinge: Any = None,
                         axis: Any = None, steps: int = 12, rounds: int = 3) -> SkillResult:
        """Open a hinged door/lid by its handle: grasp the handle, estimate the hinge (keypoints named 'hinge*',
        else the door's far edge from get_object_geometry(door)), follow an arc about it with follow_cartesian_path
        and check that the handle moved. angle in degrees; hinge=[x, y, z] and axis=[x, y, z] override the estimate;
        steps: waypoints of the arc; rounds: pulls (when the arm's reach ends the arc early it re-grasps and pulls on,
        1-5). Prints ``[open_articulated] ok angle=... fraction=... moved=...`` or ``FAIL``.
        """
        label = check_label("handle", handle)
        try:
            ang = math.radians(float(angle))
        except (TypeError, ValueError):
            raise _SkillAbort(f"angle must be degrees as a number, got {angle!r}") from None
        if not 0.0 < ang <= math.pi:
            raise _SkillAbort(f"angle must be in (0, 180] degrees, got {angle!r}")
        if not isinstance(steps, int) or steps < 2:
            raise _SkillAbort(f"steps must be an integer >= 2, got {steps!r}")
        if not isinstance(rounds, int) or not 1 <= rounds <= 5:
            raise _SkillAbort(f"rounds must be an integer in 1..5, got {rounds!r}")
        hgeo, hkps = geometry(label)
        h0 = xyz(hgeo.centroid)
        try:
            dgeo, dkps = geometry(door)
        except _SkillAbort as exc:
            print(f"[harness] no door geometry ({exc}); estimating from the handle alone")
            dgeo, dkps = None, []
        # hinge estimate: given, else keypoints named hinge* (handle's, then door's), else the door box's far edge
        if hinge is not None:
            p = xyz(hinge)
            k = _unit(xyz(axis)) if axis is not None else [0.0, 0.0, 1.0]
            source = "given"
        else:
            kp = {str(getattr(k_, "name", "")): k_ for k_ in list(hkps) + list(dkps)}
            tops = [kp[n] for n in kp if n.startswith("hinge") and getattr(kp[n], "has_position", True)]
            if len(tops) >= 2:
                a_, b_ = xyz(tops[0].position), xyz(tops[1].position)
                p, k = a_, _unit(_sub(b_, a_))
                if k[2] < 0:
                    k = _scale(k, -1.0)
                source = "keypoints"
            elif len(tops) == 1:
                p, k, source = xyz(tops[0].position), [0.0, 0.0, 1.0], "keypoint"
            elif dgeo is not None:
                dc = xyz(dgeo.centroid)
                ext = xyz(dgeo.obb_extent)
                axes = [xyz(a) for a in dgeo.principal_axes]
                # widest horizontal axis of the door box is its width direction
                horiz = [(abs(ext[i]) * math.hypot(axes[i][0], axes[i][1]), i) for i in range(3)]
                _, i = max(horiz)
                w = _unit([axes[i][0], axes[i][1], 0.0])
                s = 1.0 if _dot(_sub(h0, dc), w) > 0 else -1.0
                p = _sub(dc, _scale(w, s * 0.5 * ext[i]))
                k = [0.0, 0.0, 1.0]
                source = "door box"
            else:
                raise _SkillAbort(f"cannot estimate the hinge without the door ('{door}'); pass door=<its name> or "
                                  "hinge=[x, y, z]")
        g = grasp_handle(label, hgeo, dgeo)
        if not g:
            print(f"[harness] geometric handle grasp failed ({g.reason}); trying planned grasps")
            g = grasp(label, approach="any", lift=0.0)
        if not g:
            return finish(SkillResult("open_articulated", False, f"could not grasp the handle: {g.reason}",
                                      {"handle": label}))
        radius, achieved, fraction, moved, res, expected = 0.0, 0.0, 0.0, 0.0, None, 0.0
        for round_ in range(rounds):  # pull; when the arm's reach ends the arc early, re-grasp and pull on
            if round_ > 0:
                try:
                    hgeo_n, _ = geometry(label)
                    dgeo_n = geometry(door)[0] if dgeo is not None else None
                except _SkillAbort as exc:
                    print(f"[harness] cannot see the handle to re-grasp it: {exc}")
                    break
                g = grasp_handle(label, hgeo_n, dgeo_n)
                if not g:
                    print(f"[harness] re-grasping the handle failed: {g.reason}")
                    break
            start = ee_pose()
            r0 = _sub(start[:3], p)
            r0 = _sub(r0, _scale(k, _dot(r0, k)))  # radius vector, perpendicular to the axis
            if _norm(r0) < 0.03:
                release()
                raise _SkillAbort(f"hinge estimate ({source}) is too close to the handle; pass hinge=[x, y, z]")
            radius = radius or _norm(r0)
            along = _scale(k, _dot(_sub(start[:3], p), k))
            # pull direction: the rotation sign that brings the handle towards the robot (smaller distance to base)
            probe = [_add(_add(p, along), rotate(r0, k, sgn * 0.2)) for sgn in (1.0, -1.0)]
            sgn = 1.0 if _norm(probe[0][:2] + [0.0]) < _norm(probe[1][:2] + [0.0]) else -1.0
            remaining = ang - math.radians(achieved)
            n = max(2, int(round(steps * remaining / ang)))
            waypoints = []
            for j in range(1, n + 1):
                a = sgn * remaining * j / n
                pos = _add(_add(p, along), rotate(r0, k, a))
                q = quat_mul(axis_angle_quat(k, a), start[3:])
                waypoints.append(pos + q)
            res = tool("follow_cartesian_path")(waypoints=waypoints, min_fraction=0.1, velocity_scaling=0.2)
            fraction = float(getattr(res, "fraction", 0.0) or 0.0)
            if not res and "scene cloud" in str(getattr(res, "error_msg", "")):
                res, fraction = pull_unchecked(waypoints, res)
            open_gripper()
            state["held"] = None
            end = ee_pose()
            retreat_along(0.08)
            moved = _norm(_sub(end[:3], h0))
            try:
                hgeo2, _ = geometry(label)
                moved = _norm(_sub(xyz(hgeo2.centroid), h0))
            except _SkillAbort:
                print("[harness] handle not visible after opening; using the gripper motion instead")
            achieved = math.degrees(2.0 * math.asin(min(1.0, moved / (2.0 * radius))))
            print(f"[harness] pull {round_ + 1}: {fraction:.0%} of the arc, door at ~{achieved:.0f} deg")
            if achieved >= math.degrees(ang) - 10.0 or fraction < 0.15:
                break
        expected = 2.0 * radius * math.sin(ang / 2.0)
        ok = res is not None and moved > max(0.03, 0.5 * expected)
        data = {"handle": label, "hinge": source, "fraction": fraction, "moved": moved, "angle": achieved}
        reason = "" if ok else (f"the handle moved {moved:.3f} m (expected {expected:.3f}); "
                                f"{getattr(res, 'error_msg', '') or 'the door may be locked or the hinge wrong'}")
        return finish(SkillResult("open_articulated", ok, reason, data), snap=f"after opening with '{label}'")

    def clear_view() -> SkillResult:
        """Move the arm to its home pose, out of the main camera's view (use it before looking at the whole scene,
        e.g. to list the objects left on the table). Prints ``[clear_view] ok`` or ``FAIL``."""
        if not cfg.home:
            return finish(SkillResult("clear_view", False, "this robot's profile has no home pose"))
        r = tool("move_joints")(positions=list(cfg.home), plan=True)
        if not r:  # often boxed in just above a container: rise straight up, then plan again
            print(f"[harness] clear_view: {r.error_msg}; rising 12 cm and planning again")
            retreat(0.12)
            r = tool("move_joints")(positions=list(cfg.home), plan=True)
            if not r and any(m in str(r.error_msg) for m in ("goal configuration collides", "no collision-free path")):
                # the profile's home pose is free by definition, and it is reachable from above the workspace: a
                # scene cloud that says otherwise holds stale points (e.g. of the arm itself); from 12 cm higher, go
                # there by direct joint interpolation
                print(f"[harness] clear_view: no planned way home ({r.error_msg}); moving there directly (the scene "
                      "cloud is stale)")
                r = tool("move_joints")(positions=list(cfg.home), plan=False)
        ok = bool(r)
        state["at_clear_view"] = ok
        return finish(SkillResult("clear_view", ok, "" if ok else f"move_joints failed: {r.error_msg}"))

    # -- mobile: look_for / go_to --------------------------------------------------------------------------------------
    def look_for(target: str, turns: int = 0, waypoints: Any = None, min_confidence: float = 0.3) -> SkillResult:
        """Search for an object: check the semantic map and the cameras, turning the base in steps (45 deg by
        default, ``turns`` steps = a full circle when 0) and optionally driving to ``waypoints`` ([[x, y], ...], odom
        frame) to look again. Prints ``[look_for] ok label=... position=[x,y,z] source=...`` or ``FAIL``.
        """
        label = check_label("target", target)
        if waypoints is not None and not all(isinstance(w, list | tuple) and len(w) >= 2 for w in waypoints):
            raise _SkillAbort(f"waypoints must be a list of [x, y] points, got {waypoints!r}")
        n_turns = int(turns) if turns else int(round(360.0 / cfg.search_step_deg))

        def seen() -> SkillResult | None:
            det, name = detect(label)
            if det is not None and getattr(det, "has_center_3d", True):
                return SkillResult("look_for", True, "", {"label": name, "position": xyz(det.center_3d),
                                                          "frame": "base", "source": "camera"})
            qm = ns.get("query_semantic_map")
            if qm is not None:
                for name in label_variants(label):
                    r = qm(label=name, min_confidence=min_confidence)
                    objs = list(getattr(r, "objects", []) or []) if r else []
                    if objs:
                        return SkillResult("look_for", True, "", {"label": name, "position": xyz(objs[0].pose),
                                                                  "frame": "odom", "source": "semantic_map"})
            return None

        found = seen()
        if found:
            return finish(found, snap=f"found '{label}'")
        if not cfg.has_base:
            return finish(SkillResult("look_for", False, f"'{label}' is not visible and this robot cannot move its "
                                      "base; check the name or the scene", {"label": label}))
        stops = [None] + list(waypoints or [])
        for stop in stops:
            if stop is not None:
                r = tool("move_base")(target=[float(stop[0]), float(stop[1]), 0.0], avoid_obstacles=True)
                if not r:
                    print(f"[harness] cannot drive to {list(stop)}: {r.error_msg}")
                    continue
            for _ in range(n_turns):
                bp = pose7(robot_state().base_pose)
                yaw = quat_yaw(bp[3:]) + math.radians(cfg.search_step_deg)
                r = tool("move_base")(target=[bp[0], bp[1], 0.0] + yaw_quat(yaw), avoid_obstacles=True)
                if not r:
                    print(f"[harness] turning failed: {r.error_msg}")
                found = seen()
                if found:
                    return finish(found, snap=f"found '{label}'")
        return finish(SkillResult("look_for", False, f"'{label}' not found after turning around"
                                  f"{' and visiting the waypoints' if waypoints else ''}; give waypoints to explore",
                                  {"label": label}), snap=f"searching '{label}'")

    def go_to(target: Any, distance: float = -1.0) -> SkillResult:
        """Go to an object or a pose. Mobile robot: drive the base to ``distance`` m (default 0.6) in front of the
        object (found with look_for) or to a pose [x, y, (z), ...] in the odom frame. Fixed arm: hover the gripper
        above the object or move it to the pose. Prints ``[go_to] ok target=... position=[...]`` or ``FAIL``.
        """
        if isinstance(target, str):
            label = check_label("target", target)
            if cfg.has_base:
                found = look_for(label)
                if not found:
                    return finish(SkillResult("go_to", False, f"cannot find '{label}'", {"target": label}))
                obj = found.position
                bp = pose7(robot_state().base_pose)
                if found.source == "camera":  # base frame -> odom frame
                    yaw0 = quat_yaw(bp[3:])
                    c, s = math.cos(yaw0), math.sin(yaw0)
                    obj = [bp[0] + c * obj[0] - s * obj[1], bp[1] + s * obj[0] + c * obj[1], obj[2]]
                d = cfg.approach_distance if distance is None or distance < 0 else float(distance)
                heading = math.atan2(obj[1] - bp[1], obj[0] - bp[0])
                goal = [obj[0] - d * math.cos(heading), obj[1] - d * math.sin(heading), 0.0] + yaw_quat(heading)
                r = tool("move_base")(target=goal, avoid_obstacles=True)
                ok = bool(r)
                return finish(SkillResult("go_to", ok, "" if ok else f"move_base failed: {r.error_msg}",
                                          {"target": label, "position": goal[:3]}), snap=f"arrived at '{label}'")
            geo, _ = geometry(label)
            c = xyz(geo.centroid)
            goal = [c[0], c[1], float(geo.top_height) + cfg.hover_height] + ee_pose()[3:]
            r = move(goal, mode="planned", avoid_collisions=True)
            ok = bool(r)
            return finish(SkillResult("go_to", ok, "" if ok else f"move_to_pose failed: {r.error_msg}",
                                      {"target": label, "position": goal[:3]}))
        if not isinstance(target, list | tuple | dict):
            raise _SkillAbort(f"target must be an object name or a pose [x, y, z, ...], got {target!r}")
        if isinstance(target, list | tuple) and len(target) not in (2, 3, 7):
            raise _SkillAbort(f"a pose needs 2 (x, y), 3 or 7 numbers, got {len(target)}")
        goal = list(target) if not isinstance(target, dict) else pose7(target)
        if cfg.has_base:
            goal = goal + [0.0] if len(goal) == 2 else goal
            r = tool("move_base")(target=[float(v) for v in goal], avoid_obstacles=True)
        else:
            r = move([float(v) for v in goal], mode="planned", avoid_collisions=True)
        ok = bool(r)
        return finish(SkillResult("go_to", ok, "" if ok else f"motion failed: {r.error_msg}",
                                  {"target": "pose", "position": [float(v) for v in goal[:3]]}))

    # -- wipe ----------------------------------------------------------------------------------------------------------
    def wipe(region: str, tool_name: str = "", passes: int = 3, press: float = 0.005) -> SkillResult:
        """Wipe the area of ``region`` (e.g. "whiteboard marks") in zig-zag passes, holding ``tool_name`` (e.g.
        "eraser", grasped first unless already held). press: metres pushed below the surface. Checks how many
        detections of ``region`` remain. Prints ``[wipe] ok region=... passes=N fraction=... remaining=K`` or FAIL.
        """
        label = check_label("region", region)
        if not isinstance(passes, int) or not 1 <= passes <= 20:
            raise _SkillAbort(f"passes must be an integer in 1..20, got {passes!r}")
        if tool_name:
            if state.get("held") != tool_name:
                g = grasp(tool_name)
                if not g:
                    return finish(SkillResult("wipe", False, f"could not grasp the wiping tool: {g.reason}",
                                              {"region": label}))
        det_before = fresh("detect_objects", labels=[label])
        n_before = len(list(getattr(det_before, "detections", []) or [])) if det_before else 0
        geo, _ = geometry(label)
        c = xyz(geo.centroid)
        ext = xyz(geo.obb_extent)
        axes = [xyz(a) for a in geo.principal_axes]
        long_i = 0 if ext[0] >= ext[1] else 1
        u = _unit([axes[long_i][0], axes[long_i][1], 0.0])
        v = [-u[1], u[0], 0.0]
        half_u, half_v = 0.5 * ext[long_i] + 0.02, 0.5 * ext[1 - long_i]
        offset = state.get("held_offset")
        offset = cfg.default_held_offset if offset is None else float(offset)
        z = float(geo.top_height) + offset - press
        q = ee_pose()[3:]
        rows = max(2, passes)
        waypoints = []
        for r_i in range(rows):
            t = -half_v + 2.0 * half_v * r_i / (rows - 1)
            ends = [-half_u, half_u] if r_i % 2 == 0 else [half_u, -half_u]
            for e in ends:
                waypoints.append(_add(_add(c[:2] + [z], _scale(u, e)), _scale(v, t)) + q)
        above = waypoints[0][:2] + [z + 0.08] + q
        r = move(above, mode="planned", avoid_collisions=False)
        if not r:
            raise _SkillAbort(f"cannot reach above '{label}': {r.error_msg}")
        res = tool("follow_cartesian_path")(waypoints=waypoints, min_fraction=0.3, velocity_scaling=0.2)
        fraction = float(getattr(res, "fraction", 0.0) or 0.0)
        retreat(0.08)
        det_after = fresh("detect_objects", labels=[label], annotate=True)
        show(getattr(det_after, "annotated_image", None), f"'{label}' after wiping")
        n_after = len(list(getattr(det_after, "detections", []) or [])) if det_after else 0
        ok = bool(res) and fraction >= 0.3
        data = {"region": label, "passes": rows, "fraction": fraction, "before": n_before, "remaining": n_after}
        return finish(SkillResult("wipe", ok, "" if ok else f"wiping path failed: {getattr(res, 'error_msg', '')}",
                                  data), snap=f"after wiping '{label}'")

    skills = {
        "grasp": guarded("grasp", grasp),
        "place_on": guarded("place_on", place_on),
        "place_in": guarded("place_in", place_in),
        "release": guarded("release", release),
        "open_articulated": guarded("open_articulated", open_articulated),
        "look_for": guarded("look_for", look_for),
        "wipe": guarded("wipe", wipe),
        "go_to": guarded("go_to", go_to),
        "clear_view": guarded("clear_view", clear_view),
    }
    ns.update(skills)
    ns.setdefault("SkillResult", SkillResult)
    return list(skills)


@dataclass
class _BoxCandidate:
    """A grasp candidate made by the harness (same fields the skills read from a GraspCandidate)."""

    width: float
    approach: tuple = (0.0, 0.0, -1.0)
    pre_grasp_offset: float = 0.10


class _SkillAbort(Exception):
    """Internal: stop the skill with a clear reason (turned into a FAIL outcome, never raised to the caller)."""


def describe() -> str:
    """Markdown docs of the skills for the prompt (signatures + docstrings); importable outside the sandbox."""
    ns: dict[str, Any] = {}
    install(ns, {})
    out = ["## Harness skills (robust composite calls; prefer them over raw tool chains)",
           "Each prints one outcome line `[skill] ok ...` or `[skill] FAIL ... reason=\"...\"` and returns a result",
           "that is truthy on success (`.ok`, `.reason`, and the printed fields as attributes).", ""]
    for name in SKILL_NAMES:
        out.append(f"### {name}{_SIGNATURES[name]}")
        out.append(_cleandoc(getattr(ns[name], "__doc__", None) or ""))  # describe() runs outside the sandbox
        out.append("")
    return "\n".join(out)


def _cleandoc(doc: str) -> str:
    """Strip the common indentation of a docstring's continuation lines (like inspect.cleandoc, no import)."""
    lines = doc.expandtabs().strip().splitlines()
    rest = [ln for ln in lines[1:] if ln.strip()]
    indent = min((len(ln) - len(ln.lstrip()) for ln in rest), default=0)
    return "\n".join([lines[0].strip()] + [ln[indent:] for ln in lines[1:]]) if lines else ""


_SIGNATURES = {
    "grasp": "(target: str, part: str = '', approach: str = 'auto', attempts: int = 0, lift: float = -1.0, "
             "z_offset: float = 0.0)",
    "place_on": "(target: str)",
    "place_in": "(container: str)",
    "release": "()",
    "open_articulated": "(handle: str, angle: float = 75.0, door: str = 'door', hinge=None, axis=None, steps: int = 12, "
                        "rounds: int = 3)",
    "look_for": "(target: str, turns: int = 0, waypoints=None, min_confidence: float = 0.3)",
    "go_to": "(target: str | list, distance: float = -1.0)",
    "wipe": "(region: str, tool_name: str = '', passes: int = 3, press: float = 0.005)",
    "clear_view": "()",
}
