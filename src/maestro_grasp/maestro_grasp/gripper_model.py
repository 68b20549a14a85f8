"""Parallel-jaw gripper modelled as three boxes (two fingers + palm), with a vectorised collision check.

Frames follow maestro_interfaces/msg/GraspCandidate.msg: the grasp pose is the tool centre point (TCP) between the
fingertips; +z is the approach direction (into the object), +y the finger closing axis, +x = y cross z. The fingers
reach back from the TCP along -z for ``finger_length``; the palm sits behind them.

All geometry is in metres. The collision check takes many grasps at once (rotations ``(G, 3, 3)`` whose columns are the
TCP axes in the base frame, positions ``(G, 3)``) and a scene cloud indexed by a :class:`scipy.spatial.cKDTree`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

import numpy as np
from scipy.spatial import cKDTree

#: Indices of the boxes returned by :meth:`GripperModel.boxes`.
LEFT_FINGER, RIGHT_FINGER, PALM = 0, 1, 2


@dataclass(frozen=True)
class GripperModel:
    """Box model of a parallel-jaw gripper (dimensions in metres, TCP frame)."""

    name: str
    max_width: float  # stroke: largest opening between the finger pads
    finger_length: float  # along z, from the fingertip (TCP plane) back to the palm
    finger_depth: float  # along x (pad width seen from the side)
    finger_thickness: float  # along y
    palm_width: float  # along y (whole hand)
    palm_depth: float  # along x
    palm_height: float  # along z, behind the fingers
    pre_grasp_offset: float = 0.08  # recommended stand-off along -approach before moving in

    def with_max_width(self, max_width: float) -> GripperModel:
        """Return a copy whose stroke is ``max_width`` (metres); non-positive keeps the model's stroke."""
        if max_width is None or not np.isfinite(max_width) or max_width <= 0.0:
            return self
        return replace(self, max_width=float(max_width))

    def boxes(self, openings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Box centres and half extents in the TCP frame for each opening.

        Args:
            openings: ``(G,)`` finger gaps in metres.

        Returns:
            ``(centres (G, 3, 3), half_extents (G, 3, 3))``, box order LEFT_FINGER, RIGHT_FINGER, PALM.
        """
        o = np.asarray(openings, dtype=np.float64).reshape(-1)
        g = o.shape[0]
        centres = np.zeros((g, 3, 3))
        halves = np.zeros((g, 3, 3))
        fy = o / 2.0 + self.finger_thickness / 2.0
        fz = -self.finger_length / 2.0
        centres[:, LEFT_FINGER] = np.stack([np.zeros(g), -fy, np.full(g, fz)], axis=1)
        centres[:, RIGHT_FINGER] = np.stack([np.zeros(g), fy, np.full(g, fz)], axis=1)
        finger_half = [self.finger_depth / 2.0, self.finger_thickness / 2.0, self.finger_length / 2.0]
        halves[:, LEFT_FINGER] = finger_half
        halves[:, RIGHT_FINGER] = finger_half
        centres[:, PALM, 2] = -self.finger_length - self.palm_height / 2.0
        halves[:, PALM, 0] = self.palm_depth / 2.0
        halves[:, PALM, 1] = np.maximum(self.palm_width / 2.0, o / 2.0 + self.finger_thickness)
        halves[:, PALM, 2] = self.palm_height / 2.0
        return centres, halves

    def closing_region(self, openings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Centre ``(G, 3)`` and half extents ``(G, 3)`` (TCP frame) of the volume swept by closing the fingers."""
        o = np.asarray(openings, dtype=np.float64).reshape(-1)
        g = o.shape[0]
        centres = np.zeros((g, 3))
        centres[:, 2] = -self.finger_length / 2.0
        halves = np.stack(
            [np.full(g, self.finger_depth / 2.0), o / 2.0, np.full(g, self.finger_length / 2.0)], axis=1
        )
        return centres, halves

    def check_boxes(self, openings: np.ndarray, palm_segments: int = 4) -> tuple[np.ndarray, np.ndarray]:
        """Boxes used by the collision check: both fingers, then the palm cut into ``palm_segments`` along y.

        Cutting the long palm keeps each KD-tree ball query small. Returns ``(centres, halves)`` of shape
        ``(G, 2 + palm_segments, 3)``.
        """
        c, h = self.boxes(openings)
        seg_half = h[:, PALM, 1] / palm_segments  # (G,)
        offsets = (np.arange(palm_segments) + 0.5) * 2.0 - palm_segments  # in units of seg_half
        pc = np.repeat(c[:, PALM : PALM + 1], palm_segments, axis=1)
        pc[:, :, 1] = offsets[None, :] * seg_half[:, None]
        ph = np.repeat(h[:, PALM : PALM + 1], palm_segments, axis=1)
        ph[:, :, 1] = seg_half[:, None]
        return np.concatenate([c[:, :PALM], pc], axis=1), np.concatenate([h[:, :PALM], ph], axis=1)

    def bounding_radius(self, max_opening: float) -> float:
        """Radius of a sphere around the TCP that contains every box at ``max_opening``."""
        c, h = self.boxes(np.array([max_opening]))
        corners = np.abs(c[0]) + h[0]
        return float(np.max(np.linalg.norm(corners, axis=1)))

    def outline(self, opening: float) -> np.ndarray:
        """Polyline of the gripper silhouette in the TCP frame's y-z plane, ``(6, 3)``: a "U" opening towards +z.

        Order: left fingertip, left finger root, palm left, palm right, right finger root, right fingertip.
        """
        y = opening / 2.0 + self.finger_thickness / 2.0
        zr = -self.finger_length
        return np.array([[0, -y, 0], [0, -y, zr], [0, -y, zr], [0, y, zr], [0, y, zr], [0, y, 0]], dtype=np.float64)


#: Franka Emika hand: 0.08 m stroke; fingers ~0.045 m beyond the hand body (TCP is 0.1034 m from the flange, the
#: finger joints 0.0584 m); hand body ~0.20 x 0.06 x 0.06 m (franka_description collision geometry, rounded up).
FRANKA_HAND = GripperModel(
    name="franka",
    max_width=0.08,
    finger_length=0.045,
    finger_depth=0.022,
    finger_thickness=0.012,
    palm_width=0.20,
    palm_depth=0.065,
    palm_height=0.06,
    pre_grasp_offset=0.08,
)

#: AgileX PiPER gripper: 0.07 m stroke (piper-sdk), fingers ~0.05 m, compact palm (approximate, from the datasheet).
PIPER_GRIPPER = GripperModel(
    name="piper",
    max_width=0.07,
    finger_length=0.05,
    finger_depth=0.02,
    finger_thickness=0.01,
    palm_width=0.12,
    palm_depth=0.05,
    palm_height=0.05,
    pre_grasp_offset=0.07,
)

GRIPPERS: dict[str, GripperModel] = {"franka": FRANKA_HAND, "panda": FRANKA_HAND, "piper": PIPER_GRIPPER}


def gripper_for(name: str, max_width: float = 0.0) -> GripperModel:
    """Gripper model by embodiment/gripper name ("franka", "panda", "piper", or an embodiment name containing one).

    Args:
        name: gripper or embodiment name, case-insensitive (e.g. "franka_tabletop", "go2w_piper").
        max_width: stroke override in metres (the profile's value); 0 keeps the preset's stroke.

    Raises:
        KeyError: when no preset matches.
    """
    key = name.lower()
    for preset, model in GRIPPERS.items():
        if preset in key:
            return model.with_max_width(max_width)
    raise KeyError(f"unknown gripper {name!r}; known: {sorted(GRIPPERS)}")


def points_in_boxes(
    rotations: np.ndarray,
    positions: np.ndarray,
    box_centres: np.ndarray,
    box_halves: np.ndarray,
    tree: cKDTree,
    points: np.ndarray,
    margin: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Count scene points inside each box of each grasp, and inside the same boxes grown by ``margin``.

    Each box gathers candidate points with one KD-tree ball query around its centre (all grasps at once), then the
    candidates are moved into the box frame and tested against the half extents.

    Args:
        rotations: ``(G, 3, 3)`` TCP axes (columns) in the base frame.
        positions: ``(G, 3)`` TCP positions in the base frame.
        box_centres: ``(G, B, 3)`` box centres in the TCP frame (boxes are aligned with the TCP axes).
        box_halves: ``(G, B, 3)`` box half extents.
        tree: KD-tree over ``points``.
        points: ``(N, 3)`` scene points in the base frame.
        margin: growth of every box side for the second count (metres).

    Returns:
        ``(counts (G, B), grown_counts (G, B))`` integer arrays.
    """
    g, b = box_centres.shape[:2]
    counts = np.zeros((g, b), dtype=np.int64)
    grown = np.zeros((g, b), dtype=np.int64)
    if g == 0 or len(points) == 0:
        return counts, grown
    for box in range(b):
        centres = positions + np.einsum("gij,gj->gi", rotations, box_centres[:, box])
        halves = box_halves[:, box]
        radius = float(np.linalg.norm(halves + margin, axis=1).max())
        neighbours = tree.query_ball_point(centres, r=radius, return_sorted=False)
        lengths = np.fromiter((len(n) for n in neighbours), dtype=np.int64, count=g)
        total = int(lengths.sum())
        if total == 0:
            continue
        grasp_idx = np.repeat(np.arange(g), lengths)
        point_idx = np.fromiter(itertools.chain.from_iterable(neighbours), dtype=np.int64, count=total)
        # Points into the box frame: q = R^T (p - c).
        local = np.abs(np.einsum("kji,kj->ki", rotations[grasp_idx], points[point_idx] - centres[grasp_idx]))
        h = halves[grasp_idx]
        inside_grown = np.all(local <= h + margin, axis=1)
        inside = inside_grown & np.all(local <= h, axis=1) if margin > 0.0 else inside_grown
        counts[:, box] = np.bincount(grasp_idx[inside], minlength=g)
        grown[:, box] = np.bincount(grasp_idx[inside_grown], minlength=g)
    return counts, grown


def collision_counts(
    model: GripperModel,
    rotations: np.ndarray,
    positions: np.ndarray,
    openings: np.ndarray,
    tree: cKDTree,
    points: np.ndarray,
    margin: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Scene points inside the gripper (fingers + palm) and inside the gripper grown by ``margin``.

    Returns:
        ``(counts (G, 3), grown_counts (G, 3))`` per box (LEFT_FINGER, RIGHT_FINGER, PALM).
    """
    openings = np.asarray(openings, dtype=np.float64).reshape(-1)
    centres, halves = model.check_boxes(openings)
    counts, grown = points_in_boxes(rotations, positions, centres, halves, tree, points, margin)
    # Fold the palm segments back into one column.
    fold = np.concatenate([counts[:, :PALM], counts[:, PALM:].sum(axis=1, keepdims=True)], axis=1)
    fold_grown = np.concatenate([grown[:, :PALM], grown[:, PALM:].sum(axis=1, keepdims=True)], axis=1)
    return fold, fold_grown


def in_collision(
    model: GripperModel,
    rotations: np.ndarray,
    positions: np.ndarray,
    openings: np.ndarray,
    tree: cKDTree,
    points: np.ndarray,
    max_points: int = 0,
) -> np.ndarray:
    """``(G,)`` bool: True where more than ``max_points`` scene points lie inside a finger or the palm."""
    counts, _ = collision_counts(model, rotations, positions, openings, tree, points)
    return counts.sum(axis=1) > max_points


@dataclass
class ClosingResult:
    """What the fingers would touch when closing from the full stroke (per grasp, TCP frame)."""

    count: np.ndarray  # (G,) object points between the fully open fingers
    y_min: np.ndarray  # (G,) lowest y of those points (first touched by the -y finger); +inf when count == 0
    y_max: np.ndarray  # (G,) highest y (first touched by the +y finger); -inf when count == 0
    align_min: np.ndarray  # (G,) mean |n . y| of the points within ``band`` of y_min (1 = normals along the axis)
    align_max: np.ndarray  # (G,) same at y_max

    @property
    def width(self) -> np.ndarray:
        """Extent of the enclosed points along the closing axis (the opening needed), metres."""
        return self.y_max - self.y_min


def to_tcp_frame(rotations: np.ndarray, positions: np.ndarray, points: np.ndarray) -> np.ndarray:
    """All ``points`` ``(N, 3)`` in every grasp's TCP frame: ``(G, N, 3)`` (dense; meant for object-sized clouds)."""
    return np.matmul(points[None, :, :] - positions[:, None, :], rotations)


def count_in_boxes_local(local: np.ndarray, centres: np.ndarray, halves: np.ndarray) -> np.ndarray:
    """Points inside TCP-aligned boxes, from TCP-frame coordinates.

    Args:
        local: ``(G, N, 3)`` points in each grasp's TCP frame.
        centres: ``(G, B, 3)`` box centres; halves: ``(G, B, 3)`` half extents.

    Returns:
        ``(G, B)`` counts.
    """
    out = np.zeros(centres.shape[:2], dtype=np.int64)
    for b in range(centres.shape[1]):
        inside = np.all(np.abs(local - centres[:, None, b, :]) <= halves[:, None, b, :], axis=2)
        out[:, b] = inside.sum(axis=1)
    return out


def simulate_closing(
    model: GripperModel,
    local: np.ndarray,
    local_normals: np.ndarray,
    band: float = 0.002,
) -> ClosingResult:
    """Find where each finger first touches the object when closing from the full stroke.

    The swept volume is the closing region at ``model.max_width`` (|x| <= finger_depth/2, -finger_length <= z <= 0,
    |y| <= max_width/2). The extreme points along y are the contacts; the normals of the points within ``band``
    metres of each extreme tell whether the contacts are antipodal.

    Args:
        model: gripper.
        local: ``(G, N, 3)`` object points in each grasp's TCP frame (:func:`to_tcp_frame`).
        local_normals: ``(G, N, 3)`` their unit normals in the same frames (any sign).
        band: contact patch depth, metres.
    """
    g = local.shape[0]
    rc, rh = model.closing_region(np.full(g, model.max_width))
    inside = np.all(np.abs(local - rc[:, None, :]) <= rh[:, None, :], axis=2)  # (G, N)
    y = local[:, :, 1]
    count = inside.sum(axis=1)
    y_min = np.where(inside, y, np.inf).min(axis=1, initial=np.inf)
    y_max = np.where(inside, y, -np.inf).max(axis=1, initial=-np.inf)
    # Alignment = mean |cos| between the closing axis and the normals of the points within ``band`` of each extreme.
    # Per-point (not the mean normal) so that a box edge, whose two faces average to the diagonal, is rejected.
    cos_y = np.abs(local_normals[:, :, 1])
    aligns = []
    for ref in (y_min, y_max):
        sel = inside & (np.abs(y - ref[:, None]) <= band)
        n_sel = sel.sum(axis=1)
        aligns.append(np.where(n_sel > 0, (cos_y * sel).sum(axis=1) / np.maximum(n_sel, 1), 0.0))
    return ClosingResult(count, y_min, y_max, aligns[0], aligns[1])
