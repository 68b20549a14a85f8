"""The simulated world: robot + environment + task objects composed with ``mujoco.MjSpec``, stepped at 500 Hz.

``World(embodiment, task_id, seed, perturbation)`` builds one scene:

1. world basics (options: timestep 0.002 s, implicitfast integrator, elliptic friction cones; floor, lights);
2. the robot adapter (:mod:`maestro_sim.robots`) adds the robot, its environment (e.g. the table) and its cameras;
3. the task (:mod:`maestro_sim.tasks`) adds its objects for the perturbation, seeded by (task, axis, seed);
4. for the ``visual`` axis the table and lights are restyled (:func:`maestro_sim.perturb.apply_visual_style`);
5. compile, put the robot at home, let objects settle for ``task.settle_time`` s; the clock then restarts at 0.

Instance ids (segmentation, ground truth): -1 background/static scenery, 0 the robot, 1..N the task's objects in
:meth:`Task.objects` order (a geom belongs to the nearest enclosing body that is a registered object).

Thread safety: the world is not locked internally; the node serialises physics, rendering snapshots and service
access with :attr:`World.lock` (an RLock). Rendering is done by :class:`maestro_sim.rendering.SceneRenderer`.
A reset builds a new ``World``.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import mujoco
import numpy as np

from maestro_sim import perturb
from maestro_sim.errors import InvalidArgument, NotFound, UnknownTask, WrongEmbodiment
from maestro_sim.robots import get_robot
from maestro_sim.robots.base import FRAME_BODY, FRAME_CAMERA, FRAME_SITE, CameraSpec, FrameSpec, RobotAdapter
from maestro_sim.scene import add_world_basics
from maestro_sim.tasks.base import Evaluation, Task
from maestro_sim.tasks.registry import get_task_class

# Rotation from a MuJoCo camera frame (-z forward, +y up) to the optical frame (+z forward, +y down).
_CAM_TO_OPTICAL = np.diag([1.0, -1.0, -1.0])


@dataclass
class ObjectState:
    """Ground truth of one object: pose in the world frame (quaternion [w, x, y, z]), size, keypoints."""

    name: str
    label: str
    instance_id: int
    position: np.ndarray
    quaternion: np.ndarray
    size: tuple[float, float, float]
    keypoints: dict[str, np.ndarray] = field(default_factory=dict)
    task_relevant: bool = True


class World:
    """One simulated scene; see the module docstring."""

    def __init__(self, embodiment: str, task_id: str, seed: int = 0, perturbation: str = "base") -> None:
        try:
            task_cls = get_task_class(task_id)
        except KeyError as exc:
            raise UnknownTask(f"{exc.args[0]}; call /sim/list_tasks for the ids") from None
        try:
            self.robot: RobotAdapter = get_robot(embodiment)
        except KeyError as exc:
            raise NotFound(str(exc.args[0])) from None
        if task_cls.embodiment != embodiment:
            raise WrongEmbodiment(f"task '{task_id}' is a {task_cls.embodiment} task but this world runs "
                                  f"'{embodiment}'; pick a task of /sim/list_tasks with embodiment '{embodiment}'")
        perturb.validate(task_cls, perturbation, seed)
        self.embodiment = embodiment
        self.task_id = task_id
        self.seed = int(seed)
        self.perturbation = perturbation
        self.lock = threading.RLock()
        self.memory: dict[str, Any] = {}
        self.eval_period = 0.05          # s of sim time between automatic rubric evaluations (latching)
        self._next_eval = 0.0
        self.last_evaluation: Evaluation | None = None
        self.pre_step_hooks: list[Callable[[World], None]] = []

        rng = perturb.make_rng(task_id, perturbation, seed)
        cams = self.robot.cameras()
        self.spec = mujoco.MjSpec()
        add_world_basics(self.spec, max(c.width for c in cams), max(c.height for c in cams))
        self.robot.build(self.spec)
        self.task: Task = task_cls()
        self.task.perturbation = perturbation
        self.task.build(self.spec, rng, perturbation)
        self.visual_style = perturb.apply_visual_style(self.spec, rng) if perturbation == "visual" else {}
        self.instruction = self.task.instruction(perturbation, rng)

        for site in self.spec.sites:  # keypoint sites are for ground truth, not for the cameras
            site.group = 4
        self.model = self.spec.compile()
        self.data = mujoco.MjData(self.model)
        self._index()
        self.robot.reset(self.model, self.data)
        mujoco.mj_forward(self.model, self.data)
        self.step(int(round(self.task.settle_time / self.model.opt.timestep)))
        self.data.time = 0.0
        self.memory.clear()
        self.initial_positions = {name: self.data.xpos[self.model.body(name).id].copy()
                                  for name in self.task.objects()}
        self.task.on_reset(self)

    # ----- construction helpers -----
    def _index(self) -> None:
        m = self.model
        self.arm_qadr = np.array([m.joint(j).qposadr[0] for j in self.robot.arm_joints], dtype=int)
        self.arm_dadr = np.array([m.joint(j).dofadr[0] for j in self.robot.arm_joints], dtype=int)
        self.finger_qadr = np.array([m.joint(j).qposadr[0] for j in self.robot.finger_joints], dtype=int)
        self.finger_dadr = np.array([m.joint(j).dofadr[0] for j in self.robot.finger_joints], dtype=int)
        self.arm_act = np.array([m.actuator(a).id for a in self.robot.arm_actuators], dtype=int)
        self.joint_names = list(self.robot.arm_joints) + list(self.robot.finger_joints)
        limits = self.robot.joint_limits()
        self.arm_lower, self.arm_upper = np.asarray(limits.lower, float), np.asarray(limits.upper, float)
        self.arm_velocity_limits = np.asarray(limits.velocity, float)
        # instance ids: robot 0, objects 1..N, the rest -1
        body_instance = np.full(m.nbody, -1, dtype=np.int32)
        for b in self.robot.robot_bodies(m):
            body_instance[b] = 0
        self.instance_ids: dict[str, int] = {}
        objects = self.task.objects()
        object_body_ids = {m.body(name).id: i + 1 for i, name in enumerate(objects)}
        for name, iid in zip(objects, range(1, len(objects) + 1), strict=True):
            self.instance_ids[name] = iid
        for b in range(m.nbody):
            a = b
            while a > 0 and a not in object_body_ids:
                a = int(m.body_parentid[a])
            if a > 0:
                body_instance[b] = object_body_ids[a]
        # a flex (the towel) is one object: all its vertex bodies take the instance of the one the task named
        self.flex_instance = np.full(m.nflex, -1, dtype=np.int32)
        for f in range(m.nflex):
            verts = m.flex_vertbodyid[m.flex_vertadr[f]:m.flex_vertadr[f] + m.flex_vertnum[f]]
            iid = int(body_instance[verts].max()) if len(verts) else -1
            if iid > 0:
                body_instance[verts] = iid
                self.flex_instance[f] = iid
        self.body_instance = body_instance
        self.geom_instance = body_instance[m.geom_bodyid].astype(np.int32)
        self.cameras: dict[str, CameraSpec] = {c.name: c for c in self.robot.cameras()}
        for cam in self.cameras.values():
            if mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_CAMERA, cam.name) < 0:
                raise NotFound(f"camera '{cam.name}' is not in the model")
        self.finger_bodies = [int(m.joint(j).bodyid[0]) for j in self.robot.finger_joints]

    # ----- physics -----
    @property
    def time(self) -> float:
        """Simulation time in seconds since the reset."""
        return float(self.data.time)

    @property
    def timestep(self) -> float:
        """Physics timestep in seconds (0.002)."""
        return float(self.model.opt.timestep)

    def step(self, n: int = 1) -> None:
        """Advance physics by ``n`` timesteps (pre-step hooks and the robot's pre_step run before each).

        The rubric is evaluated every :attr:`eval_period` s of sim time, so stages latch whoever polls.
        """
        for _ in range(max(0, int(n))):
            for hook in self.pre_step_hooks:
                hook(self)
            self.robot.pre_step(self.model, self.data)
            mujoco.mj_step(self.model, self.data)
            if self.data.time >= self._next_eval and hasattr(self, "initial_positions"):
                self._next_eval = self.data.time + self.eval_period
                self.evaluate()

    # ----- robot state and commands -----
    def arm_positions(self) -> np.ndarray:
        """Arm joint positions (rad), in ``robot.arm_joints`` order."""
        return self.data.qpos[self.arm_qadr].copy()

    def arm_velocities(self) -> np.ndarray:
        """Arm joint velocities (rad/s)."""
        return self.data.qvel[self.arm_dadr].copy()

    def joint_state(self) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """(names, positions, velocities, efforts) of the arm joints then the finger joints."""
        qadr = np.concatenate([self.arm_qadr, self.finger_qadr])
        dadr = np.concatenate([self.arm_dadr, self.finger_dadr])
        effort = self.data.qfrc_actuator[dadr]
        return list(self.joint_names), self.data.qpos[qadr].copy(), self.data.qvel[dadr].copy(), effort.copy()

    def set_arm_targets(self, q: np.ndarray) -> None:
        """Position targets of the arm's PD actuators (clipped to the joint limits). Raises InvalidArgument on NaN."""
        q = np.asarray(q, dtype=float)
        if q.shape != (len(self.arm_act),) or not np.all(np.isfinite(q)):
            raise InvalidArgument(f"arm targets need {len(self.arm_act)} finite values, got {q.tolist()}")
        self.data.ctrl[self.arm_act] = np.clip(q, self.arm_lower, self.arm_upper)

    def arm_targets(self) -> np.ndarray:
        """Current arm position targets."""
        return self.data.ctrl[self.arm_act].copy()

    def set_gripper(self, gap: float, max_force: float | None = None) -> None:
        """Command the finger gap in metres (0 = closed), squeezing with at most ``max_force`` N per finger."""
        if not np.isfinite(gap):
            raise InvalidArgument(f"gripper gap must be finite, got {gap}")
        self.robot.set_gripper(self.model, self.data, float(gap), max_force)

    def gripper_gap(self) -> float:
        """Current finger gap in metres."""
        return self.robot.gripper_gap(self.model, self.data)

    def gripper_force(self) -> float:
        """Current squeezing force per finger in newtons."""
        return self.robot.gripper_force(self.model, self.data)

    def set_base_velocity(self, vx: float, vy: float, wz: float) -> None:
        """Planar base velocity command in the base frame (mobile embodiments only)."""
        if not self.robot.mobile:
            raise InvalidArgument(f"embodiment '{self.embodiment}' has no mobile base")
        if not all(np.isfinite([vx, vy, wz])):
            raise InvalidArgument("base velocity must be finite")
        self.robot.set_base_velocity(self.model, self.data, float(vx), float(vy), float(wz))

    def tcp_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """TCP position and 3x3 rotation in the world frame."""
        site = self.model.site(self.robot.tcp_site).id
        return self.data.site_xpos[site].copy(), self.data.site_xmat[site].reshape(3, 3).copy()

    # ----- scene queries (tasks, evaluation, ground truth) -----
    def body_pos(self, name: str) -> np.ndarray:
        """World position of body ``name``."""
        return self.data.xpos[self.model.body(name).id].copy()

    def body_quat(self, name: str) -> np.ndarray:
        """World orientation of body ``name`` as a quaternion [w, x, y, z]."""
        return self.data.xquat[self.model.body(name).id].copy()

    def body_rot(self, name: str) -> np.ndarray:
        """World rotation matrix of body ``name``."""
        return self.data.xmat[self.model.body(name).id].reshape(3, 3).copy()

    def body_velocity(self, name: str) -> np.ndarray:
        """Linear velocity of body ``name`` in the world frame (m/s)."""
        out = np.zeros(6)
        mujoco.mj_objectVelocity(self.model, self.data, mujoco.mjtObj.mjOBJ_BODY, self.model.body(name).id, out, 0)
        return out[3:].copy()

    def site_pos(self, name: str) -> np.ndarray:
        """World position of site ``name``."""
        return self.data.site_xpos[self.model.site(name).id].copy()

    def joint_qpos(self, name: str) -> float:
        """Position of a 1-dof joint (rad or m)."""
        return float(self.data.qpos[self.model.joint(name).qposadr[0]])

    def _subtree(self, body_id: int) -> set[int]:
        m = self.model
        out = set()
        for b in range(m.nbody):
            a = b
            while a > 0 and a != body_id:
                a = int(m.body_parentid[a])
            if a == body_id:
                out.add(b)
        return out

    def contact_bodies(self, body: str) -> set[int]:
        """Ids of the bodies in contact with body ``body`` (or any of its descendants)."""
        ids = self._subtree(self.model.body(body).id)
        n = self.data.ncon
        b1 = self.model.geom_bodyid[self.data.contact.geom1[:n]]
        b2 = self.model.geom_bodyid[self.data.contact.geom2[:n]]
        touching: set[int] = set()
        for a, b in zip(b1.tolist(), b2.tolist(), strict=True):
            if a in ids and b not in ids:
                touching.add(b)
            elif b in ids and a not in ids:
                touching.add(a)
        return touching

    def in_contact(self, body_a: str, body_b: str) -> bool:
        """True when the two bodies (or their descendants) touch."""
        return bool(self.contact_bodies(body_a) & self._subtree(self.model.body(body_b).id))

    def is_grasped(self, body: str) -> bool:
        """True when every finger of the gripper touches ``body`` (or its descendants) and the gripper is not open."""
        touching = self.contact_bodies(body)
        return all(f in touching for f in self.finger_bodies) and self.gripper_gap() < self.robot.gripper_max_gap

    def touched_by_robot(self, body: str) -> bool:
        """True when any robot body touches ``body``."""
        return any(self.body_instance[b] == 0 for b in self.contact_bodies(body))

    def evaluate(self) -> Evaluation:
        """Score the scene with the task's rubric (stages latched in :attr:`memory`)."""
        self.last_evaluation = self.task.evaluate(self, self.memory)
        return self.last_evaluation

    def ground_truth(self) -> list[ObjectState]:
        """Pose, size and keypoints of every registered object, in instance-id order."""
        out = []
        for name, info in self.task.objects().items():
            keypoints = {part: self.site_pos(site) for part, site in info.parts.items()}
            out.append(ObjectState(name=name, label=info.label, instance_id=self.instance_ids[name],
                                   position=self.body_pos(name), quaternion=self.body_quat(name), size=info.size,
                                   keypoints=keypoints, task_relevant=info.task_relevant))
        return out

    # ----- frames and cameras -----
    def frame_pose(self, frame: FrameSpec) -> tuple[np.ndarray, np.ndarray]:
        """World position and 3x3 rotation of a robot frame (cameras in the optical convention)."""
        m, d = self.model, self.data
        if frame.kind == FRAME_BODY:
            i = m.body(frame.mj_name).id
            return d.xpos[i].copy(), d.xmat[i].reshape(3, 3).copy()
        if frame.kind == FRAME_SITE:
            i = m.site(frame.mj_name).id
            return d.site_xpos[i].copy(), d.site_xmat[i].reshape(3, 3).copy()
        if frame.kind == FRAME_CAMERA:
            return self.camera_pose(frame.mj_name)
        raise ValueError(f"unknown frame kind '{frame.kind}'")

    def camera_pose(self, camera: str) -> tuple[np.ndarray, np.ndarray]:
        """World position and rotation of the camera's optical frame (+z forward, +x right, +y down)."""
        i = self.model.camera(camera).id
        return self.data.cam_xpos[i].copy(), self.data.cam_xmat[i].reshape(3, 3) @ _CAM_TO_OPTICAL

    def camera_matrix(self, camera: str) -> np.ndarray:
        """3x3 pinhole intrinsics K of ``camera`` (square pixels; ROS convention: pixel centres at integers)."""
        cam = self.cameras.get(camera)
        if cam is None:
            raise NotFound(f"unknown camera '{camera}'; cameras: {sorted(self.cameras)}")
        fovy = float(self.model.cam_fovy[self.model.camera(camera).id])
        f = 0.5 * cam.height / np.tan(np.deg2rad(fovy) / 2.0)
        return np.array([[f, 0.0, (cam.width - 1) / 2.0], [0.0, f, (cam.height - 1) / 2.0], [0.0, 0.0, 1.0]])

    def project(self, camera: str, point: np.ndarray) -> tuple[float, float, float]:
        """Pixel (u, v) and depth (m) of a world point in ``camera`` (depth <= 0: behind the camera)."""
        pos, rot = self.camera_pose(camera)
        p = rot.T @ (np.asarray(point, float) - pos)
        k = self.camera_matrix(camera)
        if p[2] <= 1e-9:
            return float("nan"), float("nan"), float(p[2])
        return float(k[0, 0] * p[0] / p[2] + k[0, 2]), float(k[1, 1] * p[1] / p[2] + k[1, 2]), float(p[2])
