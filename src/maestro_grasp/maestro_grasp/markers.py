"""RViz/Foxglove markers for grasp candidates (visualization_msgs/MarkerArray)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

from maestro_grasp.annotate import rank_colour
from maestro_grasp.gripper_model import GripperModel
from maestro_grasp.planner import Grasp


def _point(p: np.ndarray) -> Point:
    return Point(x=float(p[0]), y=float(p[1]), z=float(p[2]))


def grasp_markers(grasps: Sequence[Grasp], gripper: GripperModel, frame_id: str, stamp: Time) -> MarkerArray:
    """A DELETEALL, then per grasp a LINE_LIST (gripper "U" + approach line) and a rank label."""
    out = MarkerArray()
    clear = Marker()
    clear.header.frame_id = frame_id
    clear.header.stamp = stamp
    clear.action = Marker.DELETEALL
    out.markers.append(clear)
    n = len(grasps)
    for rank, g in enumerate(grasps):
        r, gr, b = rank_colour(rank, n)
        colour = ColorRGBA(r=r / 255.0, g=gr / 255.0, b=b / 255.0, a=1.0)
        lines = Marker()
        lines.header.frame_id = frame_id
        lines.header.stamp = stamp
        lines.ns = "grasps"
        lines.id = rank
        lines.type = Marker.LINE_LIST
        lines.action = Marker.ADD
        lines.pose.orientation.w = 1.0
        lines.scale.x = 0.004 if rank == 0 else 0.002
        lines.color = colour
        outline = gripper.outline(g.opening) @ g.rotation.T + g.position
        pre = g.position - g.approach * g.pre_grasp_offset
        segments = [(0, 1), (2, 3), (4, 5)]
        for a, c in segments:
            lines.points.extend([_point(outline[a]), _point(outline[c])])
        root_mid = (outline[2] + outline[3]) / 2.0
        lines.points.extend([_point(pre), _point(root_mid)])
        out.markers.append(lines)
        label = Marker()
        label.header.frame_id = frame_id
        label.header.stamp = stamp
        label.ns = "grasp_labels"
        label.id = rank
        label.type = Marker.TEXT_VIEW_FACING
        label.action = Marker.ADD
        label.pose.position = _point(pre)
        label.pose.orientation.w = 1.0
        label.scale.z = 0.015
        label.color = colour
        label.text = f"{rank + 1}: {g.score:.2f}"
        out.markers.append(label)
    return out
