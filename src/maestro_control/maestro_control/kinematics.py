"""Arm kinematics on a pinocchio model built from the URDF: forward kinematics and damped-least-squares IK.

No ROS in here. Joint vectors are always in the order of ``joint_names`` given to :class:`ArmKinematics` (the
profile's order); every other joint of the URDF (fingers) is locked at a reference position.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pinocchio as pin


class KinematicsError(ValueError):
    """The URDF, the joint names or a request does not fit the model."""


@dataclass
class IKResult:
    """Outcome of an IK query: ``q`` is None when no seed converged."""

    q: np.ndarray | None
    position_error: float
    orientation_error: float
    iterations: int
    seeds_tried: int

    @property
    def success(self) -> bool:
        """True when a solution within tolerance was found."""
        return self.q is not None


def _rotation_error(r_cur: np.ndarray, r_des: np.ndarray) -> np.ndarray:
    """Rotation vector (world frame) that turns ``r_cur`` into ``r_des``."""
    return pin.log3(r_des @ r_cur.T)


class ArmKinematics:
    """FK and IK of one serial arm from a URDF.

    ``tcp_frame`` is the controlled frame; poses are expressed in the URDF root link (the arm base).
    """

    def __init__(
        self,
        urdf_path: str,
        joint_names: list[str],
        tcp_frame: str,
        lower: list[float] | None = None,
        upper: list[float] | None = None,
        locked_positions: dict[str, float] | None = None,
    ) -> None:
        try:
            full = pin.buildModelFromUrdf(str(urdf_path))
        except (RuntimeError, ValueError) as exc:
            raise KinematicsError(f"cannot load URDF '{urdf_path}': {exc}") from exc
        names = [full.names[i] for i in range(1, full.njoints)]
        missing = [j for j in joint_names if j not in names]
        if missing:
            raise KinematicsError(f"joints {missing} are not in the URDF '{urdf_path}' (it has {names})")
        locked_positions = locked_positions or {}
        q_ref = pin.neutral(full)
        lock_ids = []
        for jid in range(1, full.njoints):
            name = full.names[jid]
            if name in joint_names:
                continue
            lock_ids.append(jid)
            if name in locked_positions:
                q_ref[full.joints[jid].idx_q] = locked_positions[name]
        self.model = pin.buildReducedModel(full, lock_ids, q_ref) if lock_ids else full
        self.data = self.model.createData()
        if not self.model.existFrame(tcp_frame):
            raise KinematicsError(f"frame '{tcp_frame}' is not in the URDF '{urdf_path}'")
        self.tcp_frame = tcp_frame
        self.tcp_id = self.model.getFrameId(tcp_frame)
        self.joint_names = list(joint_names)
        self.base_frame = self.model.frames[1].name if len(self.model.frames) > 1 else "universe"
        # permutation: profile order -> model q index
        self._idx = np.array([self.model.joints[self.model.getJointId(j)].idx_q for j in joint_names])
        self.n = len(joint_names)
        lo = np.array(self.model.lowerPositionLimit)[self._idx]
        hi = np.array(self.model.upperPositionLimit)[self._idx]
        self.lower = np.maximum(lo, np.asarray(lower, float)) if lower is not None else lo
        self.upper = np.minimum(hi, np.asarray(upper, float)) if upper is not None else hi
        self.velocity_limits = np.array(self.model.velocityLimit)[self._idx]
        self._identity = self.model.nq == self.n and bool(np.all(self._idx == np.arange(self.n)))
        self.library_size = 2000  # seed library: random configurations, FK'd once on the first IK query
        self.library_seeds = 4    # nearest library seeds tried after q_current, before random ones
        self._library: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    # -- conversions ---------------------------------------------------------------------------------------------
    def _to_model(self, q: np.ndarray) -> np.ndarray:
        qm = np.zeros(self.model.nq)
        qm[self._idx] = q
        return qm

    def check_q(self, q: np.ndarray | list[float]) -> np.ndarray:
        """Return ``q`` as a float array, raising :class:`KinematicsError` when its length or values are wrong."""
        arr = np.asarray(q, dtype=float).reshape(-1)
        if arr.shape[0] != self.n:
            raise KinematicsError(f"expected {self.n} joint values ({self.joint_names}), got {arr.shape[0]}")
        if not np.all(np.isfinite(arr)):
            raise KinematicsError(f"joint values contain NaN or inf: {arr.tolist()}")
        return arr

    def within_limits(self, q: np.ndarray, tol: float = 1e-6) -> bool:
        """True when ``q`` lies inside the joint limits (with ``tol`` slack)."""
        return bool(np.all(q >= self.lower - tol) and np.all(q <= self.upper + tol))

    def random_q(self, rng: np.random.Generator) -> np.ndarray:
        """A uniformly random configuration inside the limits."""
        return rng.uniform(self.lower, self.upper)

    # -- forward kinematics --------------------------------------------------------------------------------------
    def fk(self, q: np.ndarray, frame: str | None = None) -> np.ndarray:
        """4x4 pose of ``frame`` (default: the TCP) in the arm base frame."""
        qm = self._to_model(self.check_q(q))
        pin.forwardKinematics(self.model, self.data, qm)
        fid = self.tcp_id if frame is None else self.model.getFrameId(frame)
        if fid >= len(self.model.frames):
            raise KinematicsError(f"frame '{frame}' is not in the model")
        return pin.updateFramePlacement(self.model, self.data, fid).homogeneous.copy()

    def link_poses(self, q: np.ndarray, links: list[str]) -> list[np.ndarray]:
        """4x4 poses of several link frames in the arm base frame (one FK pass)."""
        qm = self._to_model(np.asarray(q, float))
        pin.framesForwardKinematics(self.model, self.data, qm)
        return [self.data.oMf[self.model.getFrameId(name)].homogeneous for name in links]

    # -- inverse kinematics --------------------------------------------------------------------------------------
    def _model_q(self, q: np.ndarray) -> np.ndarray:
        """``q`` in the model's joint order (no copy when the profile order is the model order)."""
        return q if self._identity else self._to_model(q)

    def _solve_one(
        self, target: np.ndarray, seed: np.ndarray, pos_tol: float, rot_tol: float, position_only: bool,
        max_iters: int, stall_window: int = 5,
    ) -> tuple[np.ndarray, float, float, int]:
        """Damped least squares from one seed; gives up early when the error stalls (a local minimum or a limit).

        The frame Jacobian (world-aligned, at the TCP) and the TCP placement come from one
        ``computeFrameJacobian`` call per iteration; the damping grows with the squared error (large steps far
        away, Gauss-Newton near the solution) and steps are clamped to 0.5 rad.
        """
        model, data, fid = self.model, self.data, self.tcp_id
        q = np.clip(seed, self.lower, self.upper)
        p_des, r_des = target[:3, 3], target[:3, :3]
        pe = re = np.inf
        m_rows = 3 if position_only else 6
        eye = np.eye(m_rows)
        err = np.zeros(6)
        history: list[float] = []
        for it in range(1, max_iters + 1):
            jac = pin.computeFrameJacobian(model, data, self._model_q(q), fid, pin.LOCAL_WORLD_ALIGNED)
            m = data.oMf[fid]
            err[:3] = p_des - m.translation
            pe = float(np.sqrt(err[:3] @ err[:3]))
            if position_only:
                re = 0.0
            else:
                err[3:] = _rotation_error(m.rotation, r_des)
                re = float(np.sqrt(err[3:] @ err[3:]))
            if pe <= pos_tol and re <= rot_tol:
                return q, pe, re, it
            total = pe + 0.1 * re
            history.append(total)
            if stall_window and it > 2 * stall_window and total > 0.8 * history[-1 - stall_window]:
                return q, pe, re, it  # less than 20 % progress in the last window: try another seed
            e = err[:m_rows]
            j = jac[:m_rows] if self._identity else jac[:m_rows][:, self._idx]
            dq = j.T @ np.linalg.solve(j @ j.T + (1e-4 + 0.05 * float(e @ e)) * eye, e)
            step = float(np.max(np.abs(dq)))
            if step > 0.5:
                dq *= 0.5 / step
            q = np.clip(q + dq, self.lower, self.upper)
        return q, pe, re, max_iters

    def _seed_library(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Random configurations inside the limits with their TCP positions and rotations (built once, lazily)."""
        if self._library is None:
            rng = np.random.default_rng(12345)
            qs = rng.uniform(self.lower, self.upper, (self.library_size, self.n))
            poses = np.array([self.fk(q) for q in qs])
            self._library = (qs, poses[:, :3, 3].copy(), poses[:, :3, :3].copy())
        return self._library

    def nearest_seeds(self, target: np.ndarray, k: int) -> np.ndarray:
        """The ``k`` library configurations whose TCP pose is nearest to ``target`` (metres + 0.15 m per radian)."""
        qs, pos, rot = self._seed_library()
        k = min(k, len(qs))
        if k <= 0:
            return np.zeros((0, self.n))
        dp = np.linalg.norm(pos - target[:3, 3], axis=1)
        cos = (np.einsum("nij,ij->n", rot, target[:3, :3]) - 1.0) / 2.0
        score = dp + 0.15 * np.arccos(np.clip(cos, -1.0, 1.0))
        best = np.argpartition(score, k - 1)[:k] if k < len(qs) else np.arange(len(qs))
        return qs[best[np.argsort(score[best])]]

    def ik(
        self,
        target: np.ndarray,
        q_current: np.ndarray | None = None,
        pos_tol: float = 1e-3,
        rot_tol: float = 1e-2,
        position_only: bool = False,
        num_seeds: int = 24,
        max_iters: int = 60,
        num_solutions: int = 1,
        accept: object | None = None,
        rng: np.random.Generator | None = None,
    ) -> IKResult:
        """Solve IK for a 4x4 TCP ``target`` in the arm base frame.

        Seeds: ``q_current`` first, then the library configurations whose TCP pose is nearest to the target, then
        random configurations. Converged solutions that ``accept(q)`` (e.g. a collision check) approves are
        collected until ``num_solutions`` are found; the one nearest to ``q_current`` (joint-space L2) is returned.
        """
        target = np.asarray(target, dtype=float)
        if target.shape != (4, 4) or not np.all(np.isfinite(target)):
            raise KinematicsError("IK target must be a finite 4x4 transform")
        rng = rng or np.random.default_rng()
        q0 = self.check_q(q_current) if q_current is not None else (self.lower + self.upper) / 2
        near: np.ndarray | None = None  # computed only when the q_current seed is not enough
        found: list[np.ndarray] = []
        best = (np.inf, np.inf)
        total_iters = 0
        tried = 0
        for k in range(num_seeds):
            if k == 1:
                near = self.nearest_seeds(target, min(self.library_seeds, num_seeds - 1))
            seed = q0 if k == 0 else near[k - 1] if near is not None and k <= len(near) else self.random_q(rng)
            tried += 1
            q, pe, re, its = self._solve_one(target, seed, pos_tol, rot_tol, position_only, max_iters)
            total_iters += its
            if pe <= pos_tol and re <= rot_tol:
                if accept is None or accept(q):  # type: ignore[operator]
                    found.append(q)
                    if len(found) >= num_solutions:
                        break
            elif pe + re < best[0] + best[1]:
                best = (pe, re)
        if not found:
            return IKResult(None, best[0], best[1], total_iters, tried)
        dists = [float(np.linalg.norm(q - q0)) for q in found]
        q = found[int(np.argmin(dists))]
        t = self.fk(q)
        pe = float(np.linalg.norm(t[:3, 3] - target[:3, 3]))
        re = 0.0 if position_only else float(np.linalg.norm(_rotation_error(t[:3, :3], target[:3, :3])))
        return IKResult(q, pe, re, total_iters, tried)
