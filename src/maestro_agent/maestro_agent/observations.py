"""Collect what the model sees after a substep: camera images, annotated tool images, robot state, stdout.

Camera images come from ``/perception/capture_images`` when that tool is up; annotated images are the non-empty
``annotated_image`` fields that tools returned during the substep (kept by reference in the :class:`RefStore`) plus
every image the code passed to ``observe()``; robot state from ``/control/get_robot_state``. Images are encoded as
PNG once, written to the trace, and handed to the model as (caption, PNG bytes).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from maestro_agent.dispatch import ToolDispatcher
from maestro_agent.recorder import TraceRecorder, png_bytes

LOG = logging.getLogger("maestro_agent.observations")


@dataclass
class Observation:
    """Inputs of the next react step."""

    images: list[tuple[str, bytes]] = field(default_factory=list)   # (caption, PNG)
    image_files: list[str] = field(default_factory=list)            # paths relative to the trace folder
    robot_state: dict[str, Any] = field(default_factory=dict)


def image_msg_to_png(msg: Any) -> bytes | None:
    """PNG of an rgb8/bgr8/rgba8/mono8 ``sensor_msgs/Image``; depth/other encodings give None."""
    try:
        from maestro_common.images import image_to_numpy
    except ImportError:  # pragma: no cover - maestro_common is part of the workspace
        return None
    if msg is None or msg.width == 0 or msg.height == 0:
        return None
    try:
        arr = image_to_numpy(msg)
    except ValueError as exc:
        LOG.debug("cannot convert image: %s", exc)
        return None
    if msg.encoding == "bgr8":
        arr = arr[:, :, ::-1]
    elif msg.encoding == "bgra8":
        arr = arr[:, :, [2, 1, 0, 3]]
    elif msg.encoding not in ("rgb8", "rgba8", "mono8", "8UC1", "8UC3"):
        return None
    return png_bytes(arr)


class ObservationCollector:
    """Builds an :class:`Observation` after each substep (see the module docstring)."""

    def __init__(self, dispatcher: ToolDispatcher, recorder: TraceRecorder | None = None,
                 max_images: int = 6, cameras: list[str] | None = None, fresh_wait: float = 4.0) -> None:
        self.dispatcher = dispatcher
        self.recorder = recorder
        self.max_images = max_images
        self.cameras = cameras or []
        self.fresh_wait = fresh_wait  # s to wait for camera frames taken after the robot's latest joint state
        self._observed: list[tuple[str, str]] = []

    def on_observe(self, ref_id: str, caption: str) -> None:
        """The sandbox's ``observe(ref, caption)`` notification."""
        self._observed.append((str(ref_id), str(caption)))

    def collect(self, substep: int, with_cameras: bool = True) -> Observation:
        """Gather the observation of ``substep`` (0 = before planning)."""
        obs = Observation()
        observed, self._observed = self._observed, []
        if with_cameras:
            self._add_cameras(obs, substep)
        store = self.dispatcher.store
        seen: set[str] = set()
        shown = []
        for ref_id, caption in observed:
            entry = store.get(ref_id)
            if entry is not None and ref_id not in seen:
                seen.add(ref_id)
                shown.append((entry, caption))
        # the latest observed images say most about how the substep ended (e.g. "after place_in")
        room = max(0, self.max_images - len(obs.images))
        for entry, caption in (shown[-room:] if room else []):
            self._add(obs, entry.msg, caption or f"{entry.tool}.{entry.field}", substep)
        annotated = [(k, v) for k, v in store.produced(substep) if v.field == "annotated_image" and k not in seen]
        for _ref_id, entry in annotated[-max(0, self.max_images - len(obs.images)):]:
            self._add(obs, entry.msg, f"{entry.tool} annotated result", substep)
        obs.robot_state = self.robot_state()
        if self.recorder is not None:
            self.recorder.event("observation", substep=substep, images=obs.image_files,
                                captions=[c for c, _ in obs.images], robot_state=obs.robot_state)
        return obs

    def _add_cameras(self, obs: Observation, substep: int) -> None:
        if self.dispatcher.registry.get("capture_images") is None:
            return
        t_ref = self._state_stamp()
        deadline = time.monotonic() + self.fresh_wait
        while True:
            res = self.dispatcher.call("capture_images", {"cameras": self.cameras}, 10.0, report=False)
            if res.get("error_code"):
                LOG.info("capture_images failed: %s", res.get("error_msg"))
                return
            pairs = []
            for cam, ref in zip(res.get("cameras") or [], res.get("images") or [], strict=False):
                entry = self.dispatcher.store.get(ref.get("id", "")) if isinstance(ref, dict) else None
                if entry is not None:
                    pairs.append((cam, entry))
            stamps = [_stamp(e.msg) for _, e in pairs]
            # camera pipelines lag the joint states: wait for frames taken after the robot's current state
            if t_ref <= 0.0 or not stamps or min(stamps) + 1e-3 >= t_ref or time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        for cam, entry in pairs:
            self._add(obs, entry.msg, f"camera {cam}", substep)

    def _state_stamp(self) -> float:
        """Clock (s) of the robot's current joint state; 0 when unknown."""
        if self.dispatcher.registry.get("get_robot_state") is None:
            return 0.0
        res = self.dispatcher.call("get_robot_state", {}, 5.0, report=False)
        try:
            return float(((res.get("state") or {}).get("joints") or {}).get("header", {}).get("stamp") or 0.0)
        except (AttributeError, TypeError, ValueError):
            return 0.0

    def _add(self, obs: Observation, msg: Any, caption: str, substep: int) -> None:
        if len(obs.images) >= self.max_images:
            return
        png = image_msg_to_png(msg)
        if png is None:
            return
        obs.images.append((caption, png))
        if self.recorder is not None:
            obs.image_files.append(self.recorder.image(png, f"s{substep}-{caption}"))

    def robot_state(self) -> dict[str, Any]:
        """The robot state as a plain dict ({} when the tool is not up)."""
        if self.dispatcher.registry.get("get_robot_state") is None:
            return {}
        res = self.dispatcher.call("get_robot_state", {}, 5.0, report=False)
        if res.get("error_code"):
            return {"error": res.get("error_msg", "")}
        state = res.get("state") or {}
        joints = state.get("joints") or {}
        if isinstance(joints, dict):
            state["joints"] = {"name": joints.get("name", []), "position": joints.get("position", [])}
        return state


def _stamp(msg: Any) -> float:
    """Header stamp of a message in seconds (0 when it has none)."""
    try:
        return float(msg.header.stamp.sec) + 1e-9 * float(msg.header.stamp.nanosec)
    except AttributeError:
        return 0.0


__all__ = ["Observation", "ObservationCollector", "image_msg_to_png"]
