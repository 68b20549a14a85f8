"""Grasp planner: antipodal pairs -> oriented grasps -> constraints -> scores -> collision check -> top-K.

Pure numpy/open3d/scipy (no ROS). All inputs and outputs are in the robot base frame (z up), metres.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from maestro_grasp import scoring
from maestro_grasp.antipodal import AntipodalParams, ContactPairs, estimate_normals, sample_antipodal_pairs
from maestro_grasp.errors import InvalidRequest, NoGrasps, ObjectTooWide
from maestro_grasp.gripper_model import (
    GripperModel,
    collision_counts,
    count_in_boxes_local,
    simulate_closing,
    to_tcp_frame,
)

MIN_OBJECT_POINTS = 10


class ApproachMode(enum.IntEnum):
    """Approach constraint (values match PlanGrasps.srv)."""

    ANY = 0
    TOP_DOWN = 1
    ALONG_AXIS = 2


@dataclass
class GraspRequest:
    """What to grasp and under which constraints (see PlanGrasps.srv for the field meanings)."""

    max_candidates: int = 5
    approach_mode: ApproachMode = ApproachMode.ANY
    approach_axis: np.ndarray | None = None  # unit vector, used with ALONG_AXIS
    max_approach_angle: float = 0.5  # radians
    part: str = ""
    part_keypoints: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    part_radius: float = 0.04
    check_collisions: bool = True
    # Soft preference for APPROACH_ANY (tabletop arms reach best from above); None = no preference.
    preferred_approach: np.ndarray | None = field(default_factory=lambda: scoring.TOP_DOWN.copy())


@dataclass(frozen=True)
class PlannerParams:
    """Tuning of the planner (metres, radians)."""

    antipodal: AntipodalParams = field(default_factory=AntipodalParams)
    weights: scoring.ScoreWeights = field(default_factory=scoring.ScoreWeights)
    approach_samples: int = 8  # approach directions per pair, evenly around the closing axis
    grasp_depths: tuple[float, ...] = (0.005, 0.015)  # contact line this far behind the fingertips
    finger_clearance: float = 0.01  # opening beyond the contact width, per side
    clearance_margin: float = 0.01  # boxes grown by this for the clearance score
    collision_batch: int = 200  # grasps collision-checked per batch, best pre-score first
    min_points_between: int = 3  # object points required between the fingers
    min_stroke_margin: float = 0.002  # the needed opening must be this much below the stroke
    max_collision_points: int = 0  # scene points tolerated inside the gripper boxes (sensor noise)
    nms_distance: float = 0.01  # two grasps closer than this ...
    nms_angle: float = 0.35  # ... and with approaches closer than this are duplicates
    max_object_points: int = 2500  # object clouds are subsampled to this size
    max_check_points: int = 800  # object points used by the closing simulation and object collision check
    scene_crop: float = 0.05  # scene points farther than gripper radius + this from the object are ignored
    scene_voxel: float = 0.004  # scene cloud voxel size for the collision check (0 = keep every point)
    object_separation: float = 0.004  # scene points this close to an object point belong to the object
    seed: int = 0


@dataclass
class Grasp:
    """One grasp in the base frame."""

    position: np.ndarray  # (3,) TCP
    rotation: np.ndarray  # (3, 3) columns = TCP x, y (closing), z (approach)
    width: float  # extent of the object between the fingers along the closing axis (opening needed), metres
    opening: float  # finger gap assumed by the collision check (width + clearance, capped at the stroke), metres
    score: float
    contacts: np.ndarray  # (2, 3) where the -y and +y fingers touch (on the pad line)
    terms: dict[str, float]
    part: str = ""
    pre_grasp_offset: float = 0.08

    @property
    def approach(self) -> np.ndarray:
        """Unit approach direction (TCP +z)."""
        return self.rotation[:, 2]

    @property
    def closing_axis(self) -> np.ndarray:
        """Unit finger closing direction (TCP +y)."""
        return self.rotation[:, 1]

    @property
    def centre(self) -> np.ndarray:
        """Midpoint between the two contacts (on the pad line)."""
        return self.contacts.mean(axis=0)

    @property
    def quaternion_xyzw(self) -> np.ndarray:
        """Orientation as a unit quaternion (x, y, z, w)."""
        return Rotation.from_matrix(self.rotation).as_quat()


@dataclass
class PlanResult:
    """Planner output: grasps best first, per-stage counts and the planning time."""

    grasps: list[Grasp]
    stats: dict[str, int]
    planning_time: float


class GraspPlanner:
    """Antipodal grasp planner for one gripper model."""

    def __init__(self, gripper: GripperModel, params: PlannerParams | None = None) -> None:
        """Create a planner for ``gripper`` with tuning ``params``."""
        self.gripper = gripper
        self.params = params or PlannerParams()

    def plan(
        self,
        object_points: np.ndarray,
        scene_points: np.ndarray | None = None,
        request: GraspRequest | None = None,
        viewpoint: np.ndarray | None = None,
    ) -> PlanResult:
        """Plan grasps on ``object_points`` ``(N, 3)``, checked against ``scene_points`` ``(M, 3)``.

        Non-finite points are dropped. The object's own points are always obstacles for the fingers and palm; the
        scene cloud is used only when ``request.check_collisions``.

        Raises:
            InvalidRequest: bad request values or too few finite object points.
            ObjectTooWide: every antipodal pair (or the object's smallest extent) exceeds the stroke.
            NoGrasps: nothing survives the constraints and the collision check.
        """
        t0 = time.perf_counter()
        request = request or GraspRequest()
        p = self.params
        gripper = self.gripper
        rng = np.random.default_rng(p.seed)
        _validate(request, gripper)
        obj = _finite_points(object_points, "object cloud")
        if obj.shape[0] < MIN_OBJECT_POINTS:
            raise InvalidRequest(
                f"object cloud has {obj.shape[0]} finite points, need at least {MIN_OBJECT_POINTS}; "
                "check the label/segmentation or move the camera closer"
            )
        if obj.shape[0] > p.max_object_points:
            obj = obj[rng.choice(obj.shape[0], size=p.max_object_points, replace=False)]
        keypoints = np.asarray(request.part_keypoints, dtype=np.float64).reshape(-1, 3)
        stats: dict[str, int] = {"object_points": int(obj.shape[0])}

        # Where the grasp may be: near the part keypoints, or anywhere on the object.
        anchor_mask = None
        if keypoints.shape[0]:
            d = np.linalg.norm(obj[:, None, :] - keypoints[None, :, :], axis=2).min(axis=1)
            # First contacts on the part itself; for keypoints inside the object (a centre), anywhere a contact of
            # a grasp centred within part_radius can be.
            near = d <= request.part_radius
            if not near.any():
                near = d <= request.part_radius + gripper.max_width / 2.0
            if not near.any():
                raise NoGrasps(
                    f"no object point lies within {request.part_radius + gripper.max_width / 2.0:.3f} m of the "
                    f"{request.part or 'part'} keypoints; check that the keypoints are in the base frame "
                    "or increase part_radius"
                )
            anchor_mask = near

        normals = estimate_normals(obj, p.antipodal.normal_radius, p.antipodal.normal_max_nn, viewpoint)
        pairs = sample_antipodal_pairs(obj, normals, gripper.max_width, p.antipodal, rng, anchor_mask)
        stats["antipodal_pairs"] = len(pairs)
        stats["too_wide_pairs"] = pairs.too_wide
        if len(pairs) == 0:
            if pairs.too_wide > 0:
                raise ObjectTooWide(
                    f"all {pairs.too_wide} antipodal contact pairs are wider than the gripper stroke "
                    f"{gripper.max_width:.3f} m; grasp a narrower part or use a larger gripper"
                )
            raise NoGrasps(
                "no antipodal contact pair found on the object cloud (too sparse or too flat?); "
                "try another camera view or a denser cloud"
            )

        cand = _expand(pairs, gripper, p, request)
        stats["candidates"] = int(cand["t"].shape[0])
        keep = _constraint_mask(cand, request)
        stats["after_constraints"] = int(keep.sum())
        cand = {k: v[keep] for k, v in cand.items()}
        if cand["t"].shape[0] == 0:
            raise NoGrasps(
                f"{len(pairs)} antipodal pairs but none satisfies the approach/part constraints "
                f"(mode {ApproachMode(request.approach_mode).name}, max angle {request.max_approach_angle:.2f} rad, "
                f"part radius {request.part_radius:.3f} m); relax max_approach_angle or try APPROACH_ANY"
            )

        # Pre-score (cheap terms), then collision-check in batches, best first.
        if keypoints.shape[0]:
            target, scale = keypoints.mean(axis=0), max(request.part_radius, 0.01)
        else:
            lo, hi = obj.min(axis=0), obj.max(axis=0)
            target, scale = (lo + hi) / 2.0, max(float(np.linalg.norm(hi - lo)) / 2.0, 0.01)
        preferred = _preferred_axis(request)
        terms = {
            "antipodality": cand["quality"],
            "approach": scoring.approach_score(cand["R"][:, :, 2], preferred),
            "centring": scoring.centring_score(cand["c"], target, scale),
            "width_margin": scoring.width_margin_score(cand["width"], gripper.max_width),
        }
        pre = scoring.combine(terms, p.weights)
        order = _round_robin_order(pre, cand["pair"])

        scene = np.zeros((0, 3))
        object_tree = cKDTree(obj)
        if request.check_collisions and scene_points is not None and len(scene_points):
            scene = _scene_obstacles(_finite_points(scene_points, "scene cloud"), obj, object_tree, gripper, p)
        stats["scene_points"] = int(scene.shape[0])
        scene_tree = cKDTree(scene) if scene.shape[0] else None

        # Refine + check in batches, best pre-score first, until enough grasps survive. The dense checks run on a
        # subsample of the object cloud; a pair whose contacts turn out too wide is dropped with all its candidates.
        chk = np.arange(obj.shape[0])
        if chk.size > p.max_check_points:
            chk = np.sort(rng.choice(chk.size, size=p.max_check_points, replace=False))
        obj_chk, normals_chk = obj[chk], normals[chk]
        kept: list[dict[str, np.ndarray]] = []
        wanted = max(4 * request.max_candidates, 20)
        checked = n_kept = n_too_wide = 0
        done = np.zeros(order.size, dtype=bool)  # by position in `order`
        dead_pair = np.zeros(len(pairs), dtype=bool)
        while True:
            pending = np.flatnonzero(~done & ~dead_pair[cand["pair"][order]])[: p.collision_batch]
            if pending.size == 0:
                break
            done[pending] = True
            b = order[pending]
            checked += b.size
            res = self._check(cand, b, obj_chk, normals_chk, scene_tree, scene, keypoints, request.part_radius)
            ok = res.pop("ok")
            too_wide = res.pop("too_wide")
            n_too_wide += int(too_wide.sum())
            dead_pair[cand["pair"][b[too_wide]]] = True
            kept.append({"idx": b[ok], **{k: v[ok] for k, v in res.items()}})
            n_kept += int(ok.sum())
            if n_kept >= wanted:
                break
        good = {k: np.concatenate([x[k] for x in kept]) for k in kept[0] if k != "too_wide"}
        free = good["idx"]
        stats["collision_checked"] = int(checked)
        stats["collision_free"] = int(free.size)
        stats["too_wide_at_contact"] = n_too_wide
        if free.size == 0 and pairs.too_wide > 0 and n_too_wide >= checked // 2:
            raise ObjectTooWide(
                f"{n_too_wide} of {checked} checked grasps need a wider opening than the stroke "
                f"{gripper.max_width:.3f} m where the fingers touch; grasp a narrower part or use a larger gripper"
            )
        if free.size == 0:
            raise NoGrasps(
                f"all {checked} checked grasps collide with the scene, are wider than the stroke where the fingers "
                f"touch, or touch at non-antipodal points ({len(pairs)} antipodal pairs); try another "
                "approach_mode, or check_collisions=false if the scene cloud is noisy"
            )
        final_terms = {k: v[free] for k, v in terms.items()}
        final_terms["antipodality"] = good["quality"]
        final_terms["width_margin"] = scoring.width_margin_score(good["width"], gripper.max_width)
        final_terms["clearance"] = scoring.clearance_score(good["near"])
        score = scoring.combine(final_terms, p.weights)
        chosen = _nms(cand["c"][free], cand["R"][free][:, :, 2], score, request.max_candidates, p)
        grasps = []
        for j in chosen:
            i = free[j]
            grasps.append(
                Grasp(
                    position=good["t"][j].copy(),
                    rotation=cand["R"][i].copy(),
                    width=float(good["width"][j]),
                    opening=float(good["opening"][j]),
                    score=float(score[j]),
                    contacts=good["contacts"][j].copy(),
                    terms={k: float(v[j]) for k, v in final_terms.items()},
                    part=request.part,
                    pre_grasp_offset=gripper.pre_grasp_offset,
                )
            )
        stats["returned"] = len(grasps)
        return PlanResult(grasps=grasps, stats=stats, planning_time=time.perf_counter() - t0)

    def _check(
        self,
        cand: dict[str, np.ndarray],
        idx: np.ndarray,
        obj: np.ndarray,
        normals: np.ndarray,
        scene_tree: cKDTree | None,
        scene: np.ndarray,
        keypoints: np.ndarray,
        part_radius: float,
    ) -> dict[str, np.ndarray]:
        """Refine and check candidates ``idx``.

        1. Close the fingers from the full stroke (:func:`simulate_closing`): the outermost object points between
           them are the real contacts. Keep the grasp only when enough points are enclosed, their extent fits the
           stroke, and the normals at both contacts lie within the friction cone of the closing axis.
        2. Centre the TCP between the contacts and open the fingers to the needed width plus ``finger_clearance``
           per side (capped at the stroke).
        3. Reject when any object or scene point lies inside a finger or the palm; count scene points just outside
           (boxes grown by ``clearance_margin``) for the clearance score.

        Returns:
            Arrays over ``idx``: ``ok`` (bool), ``t`` (refined TCP), ``width``, ``opening``, ``quality``
            (antipodality in [0, 1]), ``near`` (clearance counts), ``contacts`` (``(G, 2, 3)``).
        """
        p, g = self.params, self.gripper
        R, t = cand["R"][idx], cand["t"][idx]
        local = to_tcp_frame(R, t, obj)
        closing = simulate_closing(g, local, np.matmul(normals[None, :, :], R))
        cos_cone = float(np.cos(np.arctan(p.antipodal.friction_coef)))
        width = np.where(closing.count > 0, closing.width, np.inf)
        align = np.minimum(closing.align_min, closing.align_max)
        fits = width <= g.max_width - p.min_stroke_margin
        ok = (closing.count >= p.min_points_between) & fits & (align >= cos_cone)
        width = np.where(ok, width, 0.0)
        shift = np.where(ok, (closing.y_min + closing.y_max) / 2.0, 0.0)
        y_axis, z_axis = R[:, :, 1], R[:, :, 2]
        t = t + y_axis * shift[:, None]
        opening = np.minimum(width + 2.0 * p.finger_clearance, g.max_width)
        # Object collisions at the centred pose: shift the TCP-frame coordinates instead of recomputing them.
        sel = np.flatnonzero(ok)
        local_sel = local[sel] - np.stack([np.zeros(sel.size), shift[sel], np.zeros(sel.size)], axis=1)[:, None, :]
        bc, bh = g.boxes(opening[sel])
        hits = np.zeros(idx.size, dtype=np.int64)
        hits[sel] = count_in_boxes_local(local_sel, bc, bh).sum(axis=1)
        ok &= hits <= p.max_collision_points
        near = np.zeros(idx.size, dtype=np.int64)
        sel = np.flatnonzero(ok)
        if scene_tree is not None and sel.size:
            scene_counts, scene_grown = collision_counts(g, R[sel], t[sel], opening[sel], scene_tree, scene,
                                                         margin=p.clearance_margin)
            hits[sel] += scene_counts.sum(axis=1)
            near[sel] = (scene_grown - scene_counts).sum(axis=1)
        ok &= hits <= p.max_collision_points
        pad = t - z_axis * cand["depth"][idx][:, None]
        contacts = np.stack([pad - y_axis * (width / 2.0)[:, None], pad + y_axis * (width / 2.0)[:, None]], axis=1)
        if keypoints.shape[0]:
            # Centring moved the grasp along its closing axis: check the part constraint again.
            ok &= scoring.part_mask(pad, keypoints, part_radius)
        quality = np.clip((align - cos_cone) / max(1.0 - cos_cone, 1e-9), 0.0, 1.0)
        return {"ok": ok, "t": t, "width": width, "opening": opening, "quality": quality, "near": near,
                "contacts": contacts, "too_wide": (closing.count >= p.min_points_between) & ~fits}


def _validate(request: GraspRequest, gripper: GripperModel) -> None:
    """Raise InvalidRequest for NaN or out-of-range request fields."""
    if not np.isfinite(gripper.max_width) or gripper.max_width <= 0.0:
        raise InvalidRequest(f"max_width must be a positive number of metres, got {gripper.max_width}")
    if request.max_candidates < 1:
        raise InvalidRequest(f"max_candidates must be >= 1, got {request.max_candidates}")
    if not np.isfinite(request.max_approach_angle) or not 0.0 < request.max_approach_angle <= np.pi:
        raise InvalidRequest(f"max_approach_angle must be in (0, pi] radians, got {request.max_approach_angle}")
    if not np.isfinite(request.part_radius) or request.part_radius <= 0.0:
        raise InvalidRequest(f"part_radius must be a positive number of metres, got {request.part_radius}")
    try:
        mode = ApproachMode(request.approach_mode)
    except ValueError as exc:
        raise InvalidRequest(f"approach_mode must be 0 (ANY), 1 (TOP_DOWN) or 2 (ALONG_AXIS), got "
                             f"{request.approach_mode}") from exc
    if mode == ApproachMode.ALONG_AXIS:
        axis = np.asarray(request.approach_axis if request.approach_axis is not None else np.zeros(3), dtype=float)
        if axis.shape != (3,) or not np.all(np.isfinite(axis)) or np.linalg.norm(axis) < 1e-6:
            raise InvalidRequest("APPROACH_ALONG_AXIS needs a finite, non-zero approach_axis (base frame)")
    kp = np.asarray(request.part_keypoints, dtype=np.float64)
    if kp.size and not np.all(np.isfinite(kp)):
        raise InvalidRequest("part_keypoints contain NaN/inf; give 3D keypoints that have positions")


def _finite_points(points: np.ndarray, what: str) -> np.ndarray:
    """``(N, 3)`` float64 array of the finite rows of ``points``."""
    arr = np.asarray(points, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, 3))
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise InvalidRequest(f"{what} must be an (N, 3) array of x, y, z, got shape {arr.shape}")
    return arr[np.all(np.isfinite(arr), axis=1)]


def _preferred_axis(request: GraspRequest) -> np.ndarray | None:
    mode = ApproachMode(request.approach_mode)
    if mode == ApproachMode.TOP_DOWN:
        return scoring.TOP_DOWN
    if mode == ApproachMode.ALONG_AXIS:
        return scoring.unit(np.asarray(request.approach_axis, dtype=np.float64))
    return request.preferred_approach


def _expand(pairs: ContactPairs, gripper: GripperModel, p: PlannerParams, request: GraspRequest) -> dict:
    """Oriented grasp candidates from contact pairs: several approaches around each closing axis, several depths."""
    y = pairs.axis  # (K, 3)
    k = y.shape[0]
    # Orthonormal basis (u, v) of the plane perpendicular to y.
    helper = np.where(np.abs(y[:, [0]]) < 0.9, np.array([[1.0, 0.0, 0.0]]), np.array([[0.0, 1.0, 0.0]]))
    u = scoring.unit(np.cross(y, helper))
    v = np.cross(y, u)
    angles = np.linspace(0.0, 2.0 * np.pi, p.approach_samples, endpoint=False)
    z = np.cos(angles)[None, :, None] * u[:, None, :] + np.sin(angles)[None, :, None] * v[:, None, :]  # (K, A, 3)
    preferred = _preferred_axis(request)
    if preferred is not None:
        # The approach closest to the preferred axis within the plane perpendicular to y (if defined).
        proj = preferred[None, :] - (y @ preferred)[:, None] * y
        ok = np.linalg.norm(proj, axis=1) > 1e-3
        zp = np.where(ok[:, None], scoring.unit(proj), u)
        z = np.concatenate([z, zp[:, None, :]], axis=1)
    a = z.shape[1]
    depths = np.asarray(p.grasp_depths, dtype=np.float64)
    d = depths.size
    # Broadcast to (K, A, D).
    zz = np.broadcast_to(z[:, :, None, :], (k, a, d, 3)).reshape(-1, 3)
    yy = np.broadcast_to(y[:, None, None, :], (k, a, d, 3)).reshape(-1, 3)
    xx = np.cross(yy, zz)
    pair_idx = np.broadcast_to(np.arange(k)[:, None, None], (k, a, d)).reshape(-1)
    dep = np.broadcast_to(depths[None, None, :], (k, a, d)).reshape(-1)
    c = pairs.centres[pair_idx]
    width = pairs.width[pair_idx]
    return {
        "R": np.stack([xx, yy, zz], axis=2),
        "t": c + zz * dep[:, None],
        "c": c,
        "width": width,
        "depth": dep.copy(),
        "pair": pair_idx.copy(),
        "quality": pairs.quality[pair_idx],
        "p1": pairs.p1[pair_idx],
        "p2": pairs.p2[pair_idx],
    }


def _constraint_mask(cand: dict, request: GraspRequest) -> np.ndarray:
    mode = ApproachMode(request.approach_mode)
    keep = np.ones(cand["t"].shape[0], dtype=bool)
    if mode == ApproachMode.TOP_DOWN:
        keep &= scoring.approach_mask(cand["R"][:, :, 2], scoring.TOP_DOWN, request.max_approach_angle)
    elif mode == ApproachMode.ALONG_AXIS:
        axis = np.asarray(request.approach_axis, dtype=np.float64)
        keep &= scoring.approach_mask(cand["R"][:, :, 2], axis, request.max_approach_angle)
    kp = np.asarray(request.part_keypoints, dtype=np.float64).reshape(-1, 3)
    if kp.shape[0]:
        keep &= scoring.part_mask(cand["c"], kp, request.part_radius)
    return keep


def _scene_obstacles(
    scene: np.ndarray, obj: np.ndarray, object_tree: cKDTree, gripper: GripperModel, p: PlannerParams
) -> np.ndarray:
    """Scene points that can touch a gripper grasping the object, minus the object's own points.

    Keeps points within the gripper's reach of the object's bounding box, voxel-downsamples them to
    ``scene_voxel`` and drops those within ``object_separation`` of an object point (the scene cloud usually
    contains the object too; the object is handled separately).
    """
    reach = gripper.bounding_radius(gripper.max_width) + p.scene_crop
    lo, hi = obj.min(axis=0) - reach, obj.max(axis=0) + reach
    scene = scene[np.all((scene >= lo) & (scene <= hi), axis=1)]
    if scene.shape[0] == 0:
        return scene
    if p.scene_voxel > 0.0:
        keys = np.floor(scene / p.scene_voxel).astype(np.int64)
        _, first = np.unique(keys, axis=0, return_index=True)
        scene = scene[np.sort(first)]
    dist, _ = object_tree.query(scene, k=1, distance_upper_bound=p.object_separation)
    return scene[~np.isfinite(dist)]


def _round_robin_order(score: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Indices sorted so that every group's best candidate comes first (by score), then every second best, ...

    Candidates of one contact pair tend to pass or fail together, so interleaving pairs finds feasible grasps in
    the first collision batches even when the best-looking pairs are all infeasible.
    """
    by_score = np.argsort(-score, kind="stable")
    g = group[by_score]
    # Rank of each candidate within its group (0 = best).
    order_g = np.argsort(g, kind="stable")
    sorted_g = g[order_g]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_g)) + 1]
    counts = np.diff(np.r_[starts, sorted_g.size])
    rank_sorted = np.arange(sorted_g.size) - np.repeat(starts, counts)
    rank = np.empty_like(rank_sorted)
    rank[order_g] = rank_sorted
    return by_score[np.argsort(rank, kind="stable")]


def _nms(positions: np.ndarray, approaches: np.ndarray, score: np.ndarray, k: int, p: PlannerParams) -> list[int]:
    """Greedy non-maximum suppression: indices of up to ``k`` distinct grasps, best first."""
    chosen: list[int] = []
    cos_limit = np.cos(p.nms_angle)
    for i in np.argsort(-score, kind="stable"):
        dup = False
        for j in chosen:
            if (
                np.linalg.norm(positions[i] - positions[j]) < p.nms_distance
                and float(approaches[i] @ approaches[j]) > cos_limit
            ):
                dup = True
                break
        if not dup:
            chosen.append(int(i))
            if len(chosen) >= k:
                break
    return chosen
