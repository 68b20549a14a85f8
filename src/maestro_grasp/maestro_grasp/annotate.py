"""Draw grasp candidates on a camera image as projected gripper outlines (numpy + Pillow, no ROS).

Each grasp is drawn as the "U" of the gripper seen through the camera (two fingers + palm, in the TCP's y-z plane),
an approach line from the pre-grasp point to the TCP, and its rank. The best grasp is green, the others shade towards
red with their rank.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from maestro_grasp.gripper_model import GripperModel
from maestro_grasp.planner import Grasp


def project(points_cam: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels ``(N, 2)`` of camera-frame points and a mask of those in front of the camera."""
    z = points_cam[:, 2]
    front = z > 1e-3
    zs = np.where(front, z, 1.0)
    u = k[0, 0] * points_cam[:, 0] / zs + k[0, 2]
    v = k[1, 1] * points_cam[:, 1] / zs + k[1, 2]
    return np.stack([u, v], axis=1), front


def rank_colour(rank: int, n: int) -> tuple[int, int, int]:
    """Green for the best grasp, through yellow, to red for the last."""
    t = 0.0 if n <= 1 else rank / (n - 1)
    return (int(255 * min(1.0, 2.0 * t)), int(255 * min(1.0, 2.0 * (1.0 - t))), 0)


def draw_grasps(
    rgb: np.ndarray,
    grasps: Sequence[Grasp],
    k: np.ndarray,
    cam_from_base: np.ndarray,
    gripper: GripperModel,
    object_points: np.ndarray | None = None,
) -> np.ndarray:
    """Return a copy of ``rgb`` ``(H, W, 3)`` uint8 with the grasps drawn (best last, so it is on top).

    Args:
        rgb: camera image.
        grasps: grasps in the base frame, best first.
        k: 3x3 camera matrix of the image.
        cam_from_base: 4x4 transform mapping base-frame points into the camera optical frame.
        gripper: gripper model (finger length, thickness) for the outline.
        object_points: optional ``(N, 3)`` object cloud (base frame), drawn as faint dots.
    """
    img = Image.fromarray(np.ascontiguousarray(rgb[..., :3]).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    rot, trans = cam_from_base[:3, :3], cam_from_base[:3, 3]

    def to_px(points_base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return project(points_base @ rot.T + trans, k)

    if object_points is not None and len(object_points):
        step = max(1, len(object_points) // 800)
        px, ok = to_px(np.asarray(object_points)[::step])
        for u, v in px[ok]:
            draw.point((float(u), float(v)), fill=(0, 200, 255))
    n = len(grasps)
    for rank in range(n - 1, -1, -1):
        g = grasps[rank]
        colour = rank_colour(rank, n)
        local = gripper.outline(g.opening)
        outline = local @ g.rotation.T + g.position
        pre = g.position - g.approach * g.pre_grasp_offset
        px, ok = to_px(np.vstack([outline, pre[None], g.position[None]]))
        if not ok.all():
            continue
        pts = [tuple(map(float, p)) for p in px]
        width = 3 if rank == 0 else 2
        draw.line(pts[:6], fill=colour, width=width)
        draw.line([pts[6], pts[7]], fill=colour, width=1)
        draw.ellipse([pts[7][0] - 3, pts[7][1] - 3, pts[7][0] + 3, pts[7][1] + 3], outline=colour)
        draw.text((pts[0][0] + 4, pts[0][1] + 2), str(rank + 1), fill=colour)
    return np.asarray(img)
