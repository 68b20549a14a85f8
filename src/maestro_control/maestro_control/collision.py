"""Robot-vs-scene collision checking: capsules/boxes from the URDF against a voxelised point cloud (KD-tree).

No ROS in here. The URDF's ``<cylinder>`` collision elements are read as capsules (segment along the cylinder axis,
hemispherical caps), ``<box>`` elements as boxes, ``<sphere>`` elements as zero-length capsules. All geometry is in
the arm base frame. An object held in the gripper can be attached as a sphere in the TCP frame; it then moves with
the arm and its own points are removed from the scene cloud.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

import numpy as np
import pinocchio as pin
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from maestro_control.kinematics import ArmKinematics


@dataclass
class Capsule:
    """A capsule in a link frame: segment ``p0``-``p1`` and ``radius``."""

    link: str
    p0: np.ndarray
    p1: np.ndarray
    radius: float


@dataclass
class Box:
    """A box in a link frame: pose ``tf`` (4x4) of its centre and ``half`` extents."""

    link: str
    tf: np.ndarray
    half: np.ndarray


def _origin(el: ET.Element | None) -> np.ndarray:
    t = np.eye(4)
    if el is None:
        return t
    t[:3, 3] = [float(v) for v in el.get("xyz", "0 0 0").split()]
    t[:3, :3] = Rotation.from_euler("xyz", [float(v) for v in el.get("rpy", "0 0 0").split()]).as_matrix()
    return t


def parse_collision_primitives(urdf_path: str) -> tuple[list[Capsule], list[Box]]:
    """Read the capsule (cylinder/sphere) and box collision elements of every link of a URDF."""
    root = ET.parse(urdf_path).getroot()
    caps: list[Capsule] = []
    boxes: list[Box] = []
    for link in root.findall("link"):
        name = link.get("name", "")
        for col in link.findall("collision"):
            t = _origin(col.find("origin"))
            geom = col.find("geometry")
            if geom is None:
                continue
            cyl, sph, box = geom.find("cylinder"), geom.find("sphere"), geom.find("box")
            if cyl is not None:
                half = float(cyl.get("length", "0")) / 2
                p0 = t[:3, :3] @ np.array([0, 0, -half]) + t[:3, 3]
                p1 = t[:3, :3] @ np.array([0, 0, half]) + t[:3, 3]
                caps.append(Capsule(name, p0, p1, float(cyl.get("radius", "0"))))
            elif sph is not None:
                caps.append(Capsule(name, t[:3, 3].copy(), t[:3, 3].copy(), float(sph.get("radius", "0"))))
            elif box is not None:
                size = np.array([float(v) for v in box.get("size", "0 0 0").split()])
                boxes.append(Box(name, t, size / 2))
    return caps, boxes


def segment_point_distances(a: np.ndarray, b: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Distances from points (N, 3) to the segment a-b."""
    ab = b - a
    denom = float(ab @ ab)
    if denom < 1e-12:
        return np.linalg.norm(pts - a, axis=1)
    t = np.clip((pts - a) @ ab / denom, 0.0, 1.0)
    return np.linalg.norm(pts - (a + t[:, None] * ab), axis=1)


def segment_segment_distance(p1: np.ndarray, q1: np.ndarray, p2: np.ndarray, q2: np.ndarray) -> float:
    """Shortest distance between segments p1-q1 and p2-q2 (Ericson, Real-Time Collision Detection 5.1.9)."""
    d1, d2, r = q1 - p1, q2 - p2, p1 - p2
    a, e, f = float(d1 @ d1), float(d2 @ d2), float(d2 @ r)
    eps = 1e-12
    if a <= eps and e <= eps:
        return float(np.linalg.norm(r))
    if a <= eps:
        s, t = 0.0, float(np.clip(f / e, 0, 1))
    else:
        c = float(d1 @ r)
        if e <= eps:
            t, s = 0.0, float(np.clip(-c / a, 0, 1))
        else:
            b = float(d1 @ d2)
            den = a * e - b * b
            s = float(np.clip((b * f - c * e) / den, 0, 1)) if den > eps else 0.0
            t = (b * s + f) / e
            if t < 0:
                t, s = 0.0, float(np.clip(-c / a, 0, 1))
            elif t > 1:
                t, s = 1.0, float(np.clip((b - c) / a, 0, 1))
    return float(np.linalg.norm((p1 + d1 * s) - (p2 + d2 * t)))


def voxel_downsample(points: np.ndarray, voxel: float) -> np.ndarray:
    """One point (the centroid) per occupied voxel of edge ``voxel`` metres; drops NaN/inf points."""
    pts = np.asarray(points, dtype=float).reshape(-1, 3)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    if len(pts) == 0 or voxel <= 0:
        return pts
    keys = np.floor(pts / voxel).astype(np.int64)
    keys -= keys.min(axis=0)
    dims = keys.max(axis=0) + 1
    lin = (keys[:, 0] * dims[1] + keys[:, 1]) * dims[2] + keys[:, 2]  # one int per voxel: a 1-D unique is fast
    _, inverse, counts = np.unique(lin, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    sums = np.stack([np.bincount(inverse, weights=pts[:, a], minlength=len(counts)) for a in range(3)], axis=1)
    return sums / counts[:, None]


def primitives_to_spheres(caps: list[Capsule], boxes: list[Box]) -> list[tuple[str, np.ndarray, float]]:
    """Approximate capsules and boxes by spheres (link, centre in the link frame, radius).

    Capsules: spheres of the capsule radius every radius/2 along the segment (surface error < 4% of the radius).
    Boxes: spheres of radius = the smallest half extent on a grid over the two larger axes (they cover the box).
    """
    out: list[tuple[str, np.ndarray, float]] = []
    for c in caps:
        length = float(np.linalg.norm(c.p1 - c.p0))
        n = max(1, int(np.ceil(length / max(c.radius / 2, 1e-3))))
        for a in np.linspace(0.0, 1.0, n + 1):
            out.append((c.link, c.p0 + a * (c.p1 - c.p0), c.radius))
    for b in boxes:
        order = np.argsort(b.half)
        r = float(b.half[order[0]])
        axes = []
        for ax in order[1:]:
            n = max(1, int(np.ceil((b.half[ax] - r) / max(r, 1e-3))))
            axes.append((ax, np.linspace(-(b.half[ax] - r), b.half[ax] - r, n + 1)))
        for u in axes[0][1]:
            for v in axes[1][1]:
                local = np.zeros(3)
                local[axes[0][0]] = u
                local[axes[1][0]] = v
                rad = float(np.sqrt(r * r + (axes[0][1][1] - axes[0][1][0] if len(axes[0][1]) > 1 else 0) ** 2 / 4
                                    + (axes[1][1][1] - axes[1][1][0] if len(axes[1][1]) > 1 else 0) ** 2 / 4))
                out.append((b.link, b.tf[:3, :3] @ local + b.tf[:3, 3], min(rad, float(np.linalg.norm(b.half)))))
    return out


class CollisionChecker:
    """Checks arm configurations against a scene cloud, self-collision and an attached object.

    Every collision primitive is approximated by spheres (:func:`primitives_to_spheres`), so that one vectorised
    KD-tree query answers the scene check and one distance matrix the self check.
    """

    def __init__(
        self,
        kin: ArmKinematics,
        urdf_path: str,
        voxel: float = 0.01,
        margin: float = 0.01,
        ignore_links: tuple[str, ...] = (),
        self_collision_min_gap: int = 3,
    ) -> None:
        self.kin = kin
        caps, boxes = parse_collision_primitives(urdf_path)
        frames = {kin.model.frames[i].name for i in range(len(kin.model.frames))}
        self.capsules = [c for c in caps if c.link in frames]
        self.boxes = [b for b in boxes if b.link in frames]
        self.links = sorted({c.link for c in self.capsules} | {b.link for b in self.boxes})
        self.voxel = voxel
        self.margin = margin
        self.ignore_links = set(ignore_links)
        spheres = primitives_to_spheres(self.capsules, self.boxes)
        link_idx = {name: i for i, name in enumerate(self.links)}
        self._s_link = np.array([link_idx[s[0]] for s in spheres], dtype=int)
        self._s_centre = np.array([s[1] for s in spheres])
        self._s_radius = np.array([s[2] for s in spheres])
        self._s_scene = np.array([s[0] not in self.ignore_links for s in spheres])
        depth = {kin.model.frames[i].name: int(kin.model.frames[i].parentJoint) for i in range(len(kin.model.frames))}
        d = np.array([depth[s[0]] for s in spheres])
        ii, jj = np.nonzero(np.triu(np.abs(d[:, None] - d[None, :]) >= self_collision_min_gap, k=1))
        self._pair_i, self._pair_j = ii, jj
        self._pair_rsum2 = (self._s_radius[ii] + self._s_radius[jj]) ** 2
        self._build_broad_phase()
        self.reach = self._reach_bound()
        self._frame_ids = [kin.model.getFrameId(name) for name in self.links]
        self._grid: tuple[np.ndarray, np.ndarray, float, np.ndarray] | None = None  # see _distance_field
        self.points = np.zeros((0, 3))
        self.tree: cKDTree | None = None
        self.attached: tuple[np.ndarray, float] | None = None  # (centre in TCP frame, radius)

    def _build_broad_phase(self) -> None:
        """Per-link bounding spheres and, per checked link pair, the indices of its sphere pairs.

        The self-collision check first compares the ~30 link pairs' bounding spheres and only then the sphere pairs
        of the link pairs that overlap (usually none), instead of all ~1,800 sphere pairs every time.
        """
        n_links = len(self.links)
        self._l_centre = np.zeros((n_links, 3))
        self._l_radius = np.zeros(n_links)
        for k in range(n_links):
            sel = self._s_link == k
            if not np.any(sel):
                continue
            c = self._s_centre[sel].mean(axis=0)
            self._l_centre[k] = c
            self._l_radius[k] = float(np.max(np.linalg.norm(self._s_centre[sel] - c, axis=1) + self._s_radius[sel]))
        la, lb = self._s_link[self._pair_i], self._s_link[self._pair_j]
        keys = np.minimum(la, lb) * n_links + np.maximum(la, lb)
        uniq, inverse = np.unique(keys, return_inverse=True)
        self._lp_a, self._lp_b = uniq // n_links, uniq % n_links
        self._lp_rsum2 = (self._l_radius[self._lp_a] + self._l_radius[self._lp_b]) ** 2
        self._lp_pairs = [np.flatnonzero(inverse.reshape(-1) == k) for k in range(len(uniq))]

    def _reach_bound(self) -> float:
        """An upper bound on how far (from the arm base origin) any robot sphere can ever reach, in metres.

        Sum of the joint offsets along the chain to each sphere's link, plus the link frame's offset, the sphere's
        centre in the link frame and its radius; scene points beyond it (plus margin and a held object) never matter.
        """
        model = self.kin.model
        best = 0.0
        for k, name in enumerate(self.links):
            frame = model.frames[model.getFrameId(name)]
            chain, j = 0.0, int(frame.parentJoint)
            while j > 0:
                chain += float(np.linalg.norm(model.jointPlacements[j].translation))
                j = int(model.parents[j])
            sel = self._s_link == k
            if np.any(sel):
                reach = chain + float(np.linalg.norm(frame.placement.translation)) + float(
                    np.max(np.linalg.norm(self._s_centre[sel], axis=1) + self._s_radius[sel]))
                best = max(best, reach)
        return best

    def _self_hits(self, rot: np.ndarray, trans: np.ndarray, centres: np.ndarray) -> np.ndarray:
        """Indices (into the sphere-pair arrays) of overlapping robot sphere pairs; broad phase on link spheres."""
        lc = np.einsum("kij,kj->ki", rot, self._l_centre) + trans
        diff = lc[self._lp_a] - lc[self._lp_b]
        near = np.flatnonzero(np.einsum("ij,ij->i", diff, diff) < self._lp_rsum2)
        if len(near) == 0:
            return near
        k = np.concatenate([self._lp_pairs[i] for i in near])
        d = centres[self._pair_i[k]] - centres[self._pair_j[k]]
        return k[np.einsum("ij,ij->i", d, d) < self._pair_rsum2[k]]

    @property
    def num_spheres(self) -> int:
        """Number of spheres that approximate the robot."""
        return len(self._s_radius)

    # -- scene ----------------------------------------------------------------------------------------------------
    def set_scene(self, points: np.ndarray, q_robot: np.ndarray | None = None, self_filter_pad: float = 0.03) -> int:
        """Replace the scene cloud (arm base frame); points on the robot at ``q_robot`` are removed. Returns N.

        Points beyond the arm's reach (:attr:`reach` plus margin, voxel and 0.15 m for a held object) are dropped
        first: a depth camera also sees the floor and walls metres away, which only slow the queries down.
        """
        pts = np.asarray(points, dtype=float).reshape(-1, 3)
        limit = self.reach + self.margin + self.voxel + 0.15
        pts = pts[np.einsum("ij,ij->i", pts, pts) <= limit * limit]
        pts = voxel_downsample(pts, self.voxel)
        if q_robot is not None and len(pts):
            pts = pts[self._clearance_mask(np.asarray(q_robot, float), pts, pad=self_filter_pad)]
        self.points = pts
        self.tree = cKDTree(pts) if len(pts) else None
        self._grid = self._distance_field(pts) if len(pts) else None
        return len(pts)

    def _distance_field(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, np.ndarray] | None:
        """Euclidean distance transform of the occupied voxels (a fast, conservative pre-filter for queries).

        Returns (flattened field in metres, grid origin, cell size, the grid's shape). The grid extends ``pad`` beyond
        the cloud, so a sphere centre outside it, clamped to the border cell, still reads a distance larger than any
        sphere radius plus margin: it is free, as it should be.
        """
        from scipy.ndimage import distance_transform_edt

        v = max(2 * self.voxel, 0.02)  # coarse: the exact KD-tree query decides near the surface
        pad = max(0.1, float(self._s_radius.max())) + self.margin + 0.05 + 3 * v  # > any radius + margin + band
        lo = pts.min(axis=0) - pad
        shape = np.ceil((pts.max(axis=0) + pad - lo) / v).astype(int) + 1
        if np.prod(shape) > 30_000_000:  # too large a scene for a dense grid: use the KD-tree alone
            return None
        occ = np.ones(shape, dtype=bool)
        idx = np.floor((pts - lo) / v).astype(int)
        occ[idx[:, 0], idx[:, 1], idx[:, 2]] = False
        field = distance_transform_edt(occ).astype(np.float32) * v
        return field.reshape(-1), lo, v, np.asarray(shape)

    def clear_scene(self) -> None:
        """Forget the scene cloud."""
        self.points = np.zeros((0, 3))
        self.tree = None
        self._grid = None

    def attach_sphere(self, centre_in_tcp: np.ndarray, radius: float, q_robot: np.ndarray) -> None:
        """Attach a held object (sphere in the TCP frame) and remove its points from the scene cloud."""
        self.attached = (np.asarray(centre_in_tcp, float), float(radius))
        if len(self.points):
            self.set_scene(self.points, q_robot, self_filter_pad=0.01)

    def detach(self) -> None:
        """Drop the attached object."""
        self.attached = None

    # -- geometry at a configuration -----------------------------------------------------------------------------
    def _link_poses(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Rotations (L, 3, 3) and translations (L, 3) of the collision links, and the TCP pose when attached."""
        kin = self.kin
        qm = kin._to_model(np.asarray(q, float))
        pin.forwardKinematics(kin.model, kin.data, qm)
        rot = np.empty((len(self.links), 3, 3))
        trans = np.empty((len(self.links), 3))
        for k, fid in enumerate(self._frame_ids):
            m = pin.updateFramePlacement(kin.model, kin.data, fid)
            rot[k] = m.rotation
            trans[k] = m.translation
        tcp = pin.updateFramePlacement(kin.model, kin.data, kin.tcp_id).homogeneous if self.attached else None
        return rot, trans, tcp

    def _centres(self, rot: np.ndarray, trans: np.ndarray, tcp: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        centres = np.einsum("sij,sj->si", rot[self._s_link], self._s_centre) + trans[self._s_link]
        radii = self._s_radius
        if self.attached is not None and tcp is not None:
            c = tcp[:3, :3] @ self.attached[0] + tcp[:3, 3]
            centres = np.vstack([centres, c])
            radii = np.append(radii, self.attached[1])
        return centres, radii

    def sphere_centres(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Centres (S, 3) and radii (S,) of the robot spheres (plus the attached object last) at ``q``."""
        return self._centres(*self._link_poses(q))

    def _clearance_mask(self, q: np.ndarray, pts: np.ndarray, pad: float) -> np.ndarray:
        """Boolean mask of points farther than ``pad`` from every robot primitive (and attached object) at ``q``."""
        keep = np.ones(len(pts), dtype=bool)
        poses = dict(zip(self.links, self.kin.link_poses(q, self.links), strict=True))
        for c in self.capsules:
            t = poses[c.link]
            a, b = t[:3, :3] @ c.p0 + t[:3, 3], t[:3, :3] @ c.p1 + t[:3, 3]
            keep &= segment_point_distances(a, b, pts) > c.radius + pad
        for bx in self.boxes:
            tf = poses[bx.link] @ bx.tf
            local = (pts - tf[:3, 3]) @ tf[:3, :3]
            keep &= np.linalg.norm(np.maximum(np.abs(local) - bx.half, 0.0), axis=1) > pad
        if self.attached is not None:
            tcp = self.kin.fk(q)
            c = tcp[:3, :3] @ self.attached[0] + tcp[:3, 3]
            keep &= np.linalg.norm(pts - c, axis=1) > self.attached[1] + pad
        return keep

    # -- queries -------------------------------------------------------------------------------------------------
    def scene_collisions(self, q: np.ndarray, margin: float | None = None) -> list[str]:
        """Names of the links (``__attached__`` for the held object) that touch the scene cloud at ``q``."""
        if self.tree is None:
            return []
        centres, radii = self.sphere_centres(q)
        hit = self._scene_hits(centres, radii, self.margin if margin is None else margin)
        names = [self.links[i] for i in self._s_link] + (["__attached__"] if self.attached is not None else [])
        return sorted({names[i] for i in np.flatnonzero(hit)})

    def self_collisions(self, q: np.ndarray) -> list[tuple[str, str]]:
        """Pairs of links, at least ``self_collision_min_gap`` joints apart, whose spheres overlap at ``q``."""
        rot, trans, tcp = self._link_poses(q)
        centres, _ = self._centres(rot, trans, tcp)
        k = self._self_hits(rot, trans, centres)
        return sorted({(self.links[self._s_link[self._pair_i[i]]], self.links[self._s_link[self._pair_j[i]]])
                       for i in k})

    def is_valid(self, q: np.ndarray) -> bool:
        """True when ``q`` is inside the limits and free of scene and self collisions (the planner's callable)."""
        q = np.asarray(q, float)
        if not self.kin.within_limits(q):
            return False
        rot, trans, tcp = self._link_poses(q)
        centres, radii = self._centres(rot, trans, tcp)
        if len(self._self_hits(rot, trans, centres)):
            return False
        return not self._scene_hits(centres, radii, self.margin).any()

    def _scene_hits(self, centres: np.ndarray, radii: np.ndarray, m: float) -> np.ndarray:
        """Boolean per sphere: touches the scene cloud (ignored links never do)."""
        hits = np.zeros(len(centres), dtype=bool)
        if self.tree is None:
            return hits
        check = np.append(self._s_scene, True) if len(centres) > len(self._s_scene) else self._s_scene.copy()
        if self._grid is not None:  # pre-filter: spheres far from every occupied voxel are free
            field, lo, v, shape = self._grid
            idx = ((centres - lo) / v).astype(np.int64)
            np.clip(idx, 0, shape - 1, out=idx)
            lin = (idx[:, 0] * shape[1] + idx[:, 1]) * shape[2] + idx[:, 2]
            check &= field[lin] <= radii + m + 1.8 * v
            if not np.any(check):
                return hits
        dist, _ = self.tree.query(centres[check], k=1, distance_upper_bound=float(radii.max()) + m)
        hits[check] = dist <= radii[check] + m
        return hits
