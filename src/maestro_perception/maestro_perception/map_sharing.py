"""The semantic map over ROS: RViz markers and a hand-over between backends, so the memory survives a backend swap.

Every backend keeps a :class:`~maestro_perception.semantic_map.SemanticMap` and, whenever the active one updates it,
publishes (both transient-local, depth 1):

* ``/perception/semantic_map`` (visualization_msgs/MarkerArray): a sphere per remembered object in the map frame
  (opacity = confidence) and a text "label conf (seen N)";
* ``/perception/semantic_map_state`` (std_msgs/String): the whole memory as JSON
  (``{"source": node, "time": wall s, "entries": [...]}``).

Inactive backends subscribe to the state and mirror the newest one published by another node, so whichever backend
the manager activates next answers QuerySemanticMap with what the previous one saw. No ROS node class inside.
"""
from __future__ import annotations

import json
from typing import Any

from builtin_interfaces.msg import Duration as DurationMsg
from geometry_msgs.msg import Point, Vector3
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from visualization_msgs.msg import Marker, MarkerArray

from maestro_perception.annotate import color_for
from maestro_perception.semantic_map import MapEntry, SemanticMap

__all__ = ["MAP_MARKERS_TOPIC", "MAP_STATE_TOPIC", "LATCHED", "MapState", "map_markers", "state_message_text"]

MAP_MARKERS_TOPIC = "/perception/semantic_map"
MAP_STATE_TOPIC = "/perception/semantic_map_state"
LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)


def map_markers(entries: list[MapEntry], frame_id: str, stamp: Any = None) -> MarkerArray:
    """Markers of the remembered objects: DELETEALL, then a sphere + a text per entry (ns ``semantic_map/...``)."""
    arr = MarkerArray()
    arr.markers.append(Marker(action=Marker.DELETEALL, ns="semantic_map"))
    forever = DurationMsg(sec=0)
    for e in entries:
        r, g, b = (c / 255.0 for c in color_for(e.label))
        pos = Point(x=float(e.position[0]), y=float(e.position[1]), z=float(e.position[2]))
        s = Marker(type=Marker.SPHERE, action=Marker.ADD, ns="semantic_map/objects", id=2 * e.key, lifetime=forever)
        t = Marker(type=Marker.TEXT_VIEW_FACING, action=Marker.ADD, ns="semantic_map/labels", id=2 * e.key + 1,
                   lifetime=forever)
        for m in (s, t):
            m.header.frame_id = frame_id
            if stamp is not None:
                m.header.stamp = stamp
            m.pose.orientation.w = 1.0
        s.pose.position = pos
        s.scale = Vector3(x=0.05, y=0.05, z=0.05)
        s.color.r, s.color.g, s.color.b = r, g, b
        s.color.a = float(max(0.15, min(1.0, e.confidence)))
        t.pose.position = Point(x=pos.x, y=pos.y, z=pos.z + 0.08)
        t.scale.z = 0.04
        t.text = f"{e.label} {e.confidence:.2f} (seen {e.times_seen})"
        t.color.r = t.color.g = t.color.b = t.color.a = 1.0
        arr.markers += [s, t]
    return arr


def state_message_text(semantic_map: SemanticMap, source: str, wall_time: float) -> str:
    """JSON text of the state message: the memory plus who sent it and when."""
    payload = json.loads(semantic_map.dumps())
    payload.update(source=source, time=float(wall_time))
    return json.dumps(payload)


class MapState:
    """Decides which received states a backend mirrors: only other nodes' states, only newer ones, only while idle."""

    def __init__(self, own_name: str) -> None:
        self.own_name = own_name
        self.newest = 0.0  # wall time of the newest state this node published or mirrored

    def published(self, wall_time: float) -> None:
        """Record a state this node published."""
        self.newest = max(self.newest, wall_time)

    def apply(self, text: str, semantic_map: SemanticMap, serving: bool) -> bool:
        """Mirror the state in ``text`` into ``semantic_map`` when it should; returns whether it did.

        Raises ValueError for a malformed message.
        """
        try:
            payload = json.loads(text)
            source, when = str(payload["source"]), float(payload["time"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"bad semantic map state: {exc}") from exc
        if serving or source == self.own_name or when <= self.newest:
            return False
        semantic_map.loads(text)
        self.newest = when
        return True
