"""A small kinematic fake of the robot tool stubs (tests only): objects, a gripper that holds, a bowl that catches.

The stubs return :class:`R` objects that behave like the sandbox's ToolResult (attribute access, truthy iff
error_code == 0, nested results for messages). The world is deliberately simple: the TCP teleports to move targets;
closing the gripper holds the nearest object within 3 cm unless that grasp candidate is scripted to fail; opening
drops the held object straight down onto the table or into a container under it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


class R:
    """ToolResult-like: attributes from kwargs, truthy iff error_code == 0."""

    def __init__(self, error_code: int = 0, error_msg: str = "", **fields: Any) -> None:
        self.error_code = error_code
        self.error_msg = error_msg
        self.__dict__.update(fields)

    def __bool__(self) -> bool:
        return self.error_code == 0

    def __repr__(self) -> str:
        return f"R({self.__dict__})"


def point(p: list[float]) -> R:
    return R(x=p[0], y=p[1], z=p[2])


def pose(p: list[float]) -> R:
    return R(position=point(p[:3]), orientation=R(x=p[3], y=p[4], z=p[5], w=p[6]))


@dataclass
class Obj:
    label: str
    pos: list[float]
    size: list[float]
    container: bool = False
    fixed: bool = False          # articulated parts (handles) do not fall when released
    keypoints: dict[str, list[float]] = field(default_factory=dict)

    @property
    def bottom(self) -> float:
        return self.pos[2] - self.size[2] / 2

    @property
    def top(self) -> float:
        return self.pos[2] + self.size[2] / 2


@dataclass
class FakeWorld:
    """The fake scene; ``failing_candidates`` are candidate indices whose close ends with holding=False."""

    objects: dict[str, Obj] = field(default_factory=dict)
    ee: list[float] = field(default_factory=lambda: [0.3, 0.0, 0.4, 1.0, 0.0, 0.0, 0.0])
    base: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0])
    held: str | None = None
    width: float = 0.08
    failing_candidates: set[int] = field(default_factory=set)
    drop_offset: list[float] = field(default_factory=lambda: [0.0, 0.0])
    calls: list[tuple[str, dict]] = field(default_factory=list)
    observed: list[str] = field(default_factory=list)
    unreachable: bool = False
    candidate_order: list[list[float]] = field(default_factory=list)
    _current_candidates: list[list[float]] = field(default_factory=list)

    # -- helpers --
    def find(self, label: str) -> Obj | None:
        for o in self.objects.values():
            if o.label == label or o.label.replace("_", " ") == label.replace("_", " "):
                return o
        return None

    def namespace(self) -> dict[str, Any]:
        ns = {name: self._wrap(name, getattr(self, name)) for name in (
            "detect_objects", "plan_grasps", "get_object_geometry", "move_to_pose", "gripper", "get_robot_state",
            "capture_images", "follow_cartesian_path", "move_base", "query_semantic_map")}
        ns["observe"] = lambda image, caption="": self.observed.append(caption)
        return ns

    def _wrap(self, name: str, fn: Any) -> Any:
        def call(**kw: Any) -> Any:
            self.calls.append((name, kw))
            return fn(**kw)
        return call

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]

    # -- stubs --
    def detect_objects(self, labels: list[str] = (), annotate: bool = False, **_: Any) -> R:
        dets = []
        for lab in labels:
            o = self.find(lab)
            if o is not None:
                kps = [R(name=k, position=point(v), has_position=True) for k, v in o.keypoints.items()]
                dets.append(R(label=o.label, score=0.9, center_3d=point(o.pos), has_center_3d=True, keypoints=kps))
        img = R(id="img-det", width=64, height=48) if annotate else R(id="", width=0, height=0)
        if not dets:
            return R(101, f"no {labels} in view", detections=[], annotated_image=img)
        return R(detections=dets, annotated_image=img)

    def get_object_geometry(self, label: str = "", **_: Any) -> R:
        o = self.find(label)
        if o is None:
            return R(3, f"unknown object '{label}'")
        axes = [point([1, 0, 0]), point([0, 1, 0]), point([0, 0, 1])]
        geo = R(label=o.label, centroid=point(o.pos), obb_extent=point(o.size), principal_axes=axes,
                top_height=o.top, bottom_height=o.bottom)
        kps = [R(name=k, position=point(v), has_position=True) for k, v in o.keypoints.items()]
        return R(geometry=geo, keypoints=kps, annotated_image=R(id="img-geo", width=64, height=48))

    def plan_grasps(self, label: str = "", approach_mode: str = "any", **_: Any) -> R:
        o = self.find(label)
        if o is None:
            return R(201, "no cloud")
        offsets = self.candidate_order or [[0.0, 0.0, 0.0], [0.01, 0.015, 0.0], [-0.012, 0.0, 0.005]]
        self._current_candidates = [[o.pos[0] + d[0], o.pos[1] + d[1], o.pos[2] + d[2]] for d in offsets]
        grasps = [R(pose=pose(p + [1.0, 0.0, 0.0, 0.0]), width=0.065, score=0.9 - 0.1 * i,
                    approach=point([0, 0, -1]), pre_grasp_offset=0.1, part="")
                  for i, p in enumerate(self._current_candidates)]
        return R(grasps=grasps, annotated_image=R(id="img-grasp", width=64, height=48))

    def move_to_pose(self, target: list[float] = (), mode: str = "planned", **_: Any) -> R:
        if self.unreachable:
            return R(301, "no IK solution")
        t = list(target)
        self.ee = t[:3] + (t[3:] if len(t) == 7 else self.ee[3:])
        if self.held:
            o = self.objects[self.held]
            o.pos = [self.ee[0], self.ee[1], self.ee[2] - self._held_dz]
        return R(final_pose=pose(self.ee))

    def gripper(self, command: str = "open", width: float = 0.0, **_: Any) -> R:
        if command in ("open", "move"):
            if self.held:
                self._drop(self.objects[self.held])
            self.held = None
            self.width = 0.08 if command == "open" else width
            return R(width=self.width, holding=False)
        # close: nearest object within 3 cm of the TCP
        best = min(self.objects.values(), key=lambda o: math.dist(o.pos, self.ee[:3]))
        idx = next((i for i, c in enumerate(self._current_candidates) if math.dist(c, self.ee[:3]) < 1e-6), -1)
        if math.dist(best.pos, self.ee[:3]) < 0.03 and idx not in self.failing_candidates:
            self.held = next(k for k, v in self.objects.items() if v is best)
            self._held_dz = self.ee[2] - best.pos[2]
            self.width = 0.06
            return R(width=0.06, holding=True)
        self.width = 0.0
        return R(width=0.0, holding=False)

    def _drop(self, o: Obj) -> None:
        if o.fixed:
            return
        x, y = o.pos[0] + self.drop_offset[0], o.pos[1] + self.drop_offset[1]
        floor = 0.0
        for c in self.objects.values():
            if c is not o and abs(x - c.pos[0]) < c.size[0] / 2 and abs(y - c.pos[1]) < c.size[1] / 2:
                floor = max(floor, c.bottom + 0.005 if c.container else c.top)
        o.pos = [x, y, floor + o.size[2] / 2]

    def get_robot_state(self, **_: Any) -> R:
        return R(state=R(ee_pose=pose(self.ee), gripper_width=self.width, gripper_holding=self.held is not None,
                         base_pose=pose(self.base), moving=False, estopped=False))

    def capture_images(self, cameras: list[str] = (), **_: Any) -> R:
        cams = list(cameras) or ["front"]
        return R(cameras=cams, images=[R(id=f"img-{c}", width=64, height=48) for c in cams])

    def follow_cartesian_path(self, waypoints: list = (), **_: Any) -> R:
        for w in waypoints:
            self.move_to_pose(target=w)
        return R(fraction=1.0, final_pose=pose(self.ee))

    def move_base(self, target: list[float] = (), **_: Any) -> R:
        t = list(target)
        self.base = t[:3] + (t[3:] if len(t) == 7 else self.base[3:])
        return R(final_pose=pose(self.base))

    def query_semantic_map(self, label: str = "", **_: Any) -> R:
        return R(objects=[])


def tabletop() -> FakeWorld:
    """Ball and bowl on a table."""
    return FakeWorld(objects={
        "ball": Obj("tennis_ball", [0.5, 0.0, 0.033], [0.066, 0.066, 0.066]),
        "bowl": Obj("bowl", [0.45, 0.3, 0.04], [0.18, 0.18, 0.08], container=True),
    })
