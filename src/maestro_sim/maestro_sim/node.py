"""The ``maestro_sim`` node (console script ``sim_node``): the MuJoCo world on ROS 2.

Publishes ``/clock``, ``/joint_states``, ``/tf``, ``/tf_static``, per camera ``/<cam>/image_raw`` (rgb8),
``/<cam>/depth`` (32FC1 m), ``/<cam>/camera_info``, ``/<cam>/segmentation`` (32SC1 instance ids), and for a mobile
base ``/odom`` (pose of ``base_link`` in ``odom``, REP 105; twist in ``base_link``); serves
``/arm_controller/follow_joint_trajectory``, ``/gripper_controller/gripper_cmd``, ``/sim/reset_scene``,
``/sim/evaluate_task``, ``/sim/list_tasks``, ``/sim/get_scene_ground_truth``; subscribes ``/cmd_vel`` (mobile).
Physics runs in its own thread (500 Hz; paced to the wall clock when ``realtime``), rendering in another at
``camera_rate`` Hz of sim time. Message stamps are sim time (the clock published on /clock).
A camera renders only the image kinds somebody subscribes to (segmentation is a second render pass).
"""
from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import rclpy
from builtin_interfaces.msg import Time
from control_msgs.action import FollowJointTrajectory, GripperCommand
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image, JointState
from tf2_msgs.msg import TFMessage

from maestro_common.errors import fill_error
from maestro_common.images import numpy_to_image
from maestro_common.node_runner import spin_node
from maestro_common.params import declare
from maestro_interfaces.msg import Keypoint, SimObject, TaskInfo
from maestro_interfaces.srv import EvaluateTask, GetSceneGroundTruth, ListTasks, ResetScene
from maestro_sim.errors import InvalidArgument, NoTask, ToolFailure
from maestro_sim.state_msgs import FrameTable, joint_state_message, odometry_message, stamp_of, take_snapshot, tf_message
from maestro_sim.tasks.registry import list_tasks
from maestro_sim.trajectory import InvalidJoints, JointTrajectory, build_trajectory
from maestro_sim.world import World

FJT = FollowJointTrajectory.Result


__all__ = ["SimNode", "main", "stamp_of"]


class _WorldLock:
    """Re-entrant lock of the world that the physics thread yields when another thread waits for it.

    Python locks are not fair: a physics loop that releases and re-takes the lock at once starves the service,
    action and render threads. Other threads enter with ``with lock:`` (counted as waiting until they hold it); the
    physics thread uses :meth:`physics` and pauses only while :attr:`waiting` is non-zero, so it never sleeps for
    nothing when nobody else needs the world.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._count_lock = threading.Lock()
        self.waiting = 0

    def __enter__(self) -> _WorldLock:
        with self._count_lock:
            self.waiting += 1
        try:
            self._lock.acquire()
        finally:
            with self._count_lock:
                self.waiting -= 1
        return self

    def __exit__(self, *_exc: object) -> None:
        self._lock.release()

    def physics(self) -> threading.RLock:
        """The raw lock, for the physics thread (does not count as waiting)."""
        return self._lock


class _ActiveTrajectory:
    """The trajectory being executed: sampled by the physics thread, watched by the action thread."""

    def __init__(self, traj: JointTrajectory, start_time: float) -> None:
        self.traj = traj
        self.start_time = start_time
        self.stopped = threading.Event()   # cancel / pre-empt / reset: hold position
        self.desired = traj.sample(0.0)


class SimNode(Node):
    """The simulated robot and world (see the module docstring).

    A plain ``rclpy`` node on purpose, not a lifecycle node: the lifecycle rule of docs/STYLE.md is for *tools*
    (perception, grasping, control) that a supervisor configures, activates and deactivates around the world. The
    simulator *is* the world (the stand-in for the robot hardware and its drivers): it owns /clock, and every other
    node, including lifecycle transitions that wait on sim time, depends on it running from the first moment.
    An "inactive" world would stop the clock and freeze every tool. Its reconfiguration is the /sim/reset_scene
    service (a new World without restarting the process), and it shuts down in order: stop the threads, join them,
    free the GL context in the render thread, then destroy the node (:meth:`destroy_node`).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("maestro_sim", **kwargs)
        self.embodiment = declare(self, "embodiment", "franka", "embodiment to simulate (franka, go2w_piper)")
        task = declare(self, "task", "put_ball_in_bowl", "task id loaded at start-up (see /sim/list_tasks)")
        seed = declare(self, "seed", 0, "scene seed (>= 0)", min_value=0, max_value=2**31 - 1)
        perturbation = declare(self, "perturbation", "base", "STAR-Gen axis: base, visual, pose, verb or new_object")
        self.camera_rate = declare(self, "camera_rate", 5.0, "camera images per second of sim time",
                                   min_value=0.0, max_value=60.0)
        self.state_rate = declare(self, "state_rate", 50.0, "joint_states / tf / clock rate in Hz of sim time",
                                  min_value=1.0, max_value=500.0)
        self.realtime = declare(self, "realtime", True, "pace physics to the wall clock (false: as fast as possible)")
        self.render_enabled = declare(self, "render", True, "render and publish camera images")
        self.world = World(self.embodiment, task, seed, perturbation)  # bad parameters fail loudly at start-up
        self._world_lock = _WorldLock()   # guards self.world (the object) and its data
        self._traj: _ActiveTrajectory | None = None
        self._goal_lock = threading.Lock()
        self._base_cmd = np.zeros(3)
        self._base_cmd_time = -1.0
        self._running = True
        self._render_request = threading.Event()
        self._frame_table = FrameTable(self.world)
        self._tables_of: Any = self.world   # the world self._frame_table belongs to

        group = ReentrantCallbackGroup()
        latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                             reliability=ReliabilityPolicy.RELIABLE)
        self.clock_pub = self.create_publisher(Clock, "/clock", 10)
        self.joint_pub = self.create_publisher(JointState, "/joint_states", 10)
        self.tf_pub = self.create_publisher(TFMessage, "/tf", 10)
        self.tf_static_pub = self.create_publisher(TFMessage, "/tf_static", latched)
        self.cam_pubs: dict[str, dict[str, Any]] = {}
        for cam in self.world.cameras:
            self.cam_pubs[cam] = {
                "rgb": self.create_publisher(Image, f"/{cam}/image_raw", 2),
                "depth": self.create_publisher(Image, f"/{cam}/depth", 2),
                "seg": self.create_publisher(Image, f"/{cam}/segmentation", 2),
                "info": self.create_publisher(CameraInfo, f"/{cam}/camera_info", 2),
            }
        self.odom_pub = self.create_publisher(Odometry, "/odom", 10) if self.world.robot.mobile else None
        if self.world.robot.mobile:
            self.create_subscription(Twist, "/cmd_vel", self._on_cmd_vel, 10, callback_group=group)

        self.create_service(ResetScene, "/sim/reset_scene", self._on_reset, callback_group=group)
        self.create_service(EvaluateTask, "/sim/evaluate_task", self._on_evaluate, callback_group=group)
        self.create_service(ListTasks, "/sim/list_tasks", self._on_list, callback_group=group)
        self.create_service(GetSceneGroundTruth, "/sim/get_scene_ground_truth", self._on_ground_truth,
                            callback_group=group)
        self.fjt_server = ActionServer(self, FollowJointTrajectory, "/arm_controller/follow_joint_trajectory",
                                       execute_callback=self._execute_fjt, goal_callback=self._accept_goal,
                                       handle_accepted_callback=self._fjt_accepted,
                                       cancel_callback=self._cancel_fjt, callback_group=group)
        self.gripper_server = ActionServer(self, GripperCommand, "/gripper_controller/gripper_cmd",
                                           execute_callback=self._execute_gripper, goal_callback=self._accept_goal,
                                           cancel_callback=lambda _g: CancelResponse.ACCEPT, callback_group=group)
        self._publish_static()
        self._physics_thread = threading.Thread(target=self._physics_loop, name="physics", daemon=True)
        self._render_thread = threading.Thread(target=self._render_loop, name="render", daemon=True)
        self._physics_thread.start()
        if self.render_enabled and self.camera_rate > 0:
            self._render_thread.start()
        self.get_logger().info(f"sim ready: {self.embodiment} / {task} seed {seed} {perturbation}; "
                               f"realtime={self.realtime}, cameras {list(self.world.cameras)} at {self.camera_rate} Hz")

    # ------------------------------------------------------------------ threads
    def _physics_loop(self) -> None:
        state_period = 1.0 / self.state_rate
        cam_period = 1.0 / self.camera_rate if self.camera_rate > 0 else float("inf")
        next_state, next_cam = 0.0, 0.0
        wall0, sim0 = time.monotonic(), 0.0
        chunk = 5  # physics steps per lock hold (10 ms)
        last_world = self.world
        lock = self._world_lock.physics()
        while self._running:
            snapshot = None
            with lock:
                world = self.world
                if world is not last_world:  # reset happened
                    last_world = world
                    wall0, sim0, next_state, next_cam = time.monotonic(), world.time, 0.0, 0.0
                for _ in range(chunk):
                    self._apply_commands(world)
                    world.step()
                t = world.time
                if t >= next_state:
                    next_state = t + state_period
                    snapshot = take_snapshot(world, self._frames_of(world))
                if t >= next_cam:
                    next_cam = t + cam_period
                    self._render_request.set()
            if snapshot is not None and not self._publish_state(snapshot):
                break  # the ROS context is shut down
            if self.realtime:
                ahead = (t - sim0) - (time.monotonic() - wall0)
                if ahead > 0:
                    time.sleep(ahead)
                else:
                    if ahead < -0.5:  # cannot keep up: do not try to catch up forever
                        wall0, sim0 = time.monotonic(), t
                    # behind the wall clock on a loaded CPU: still pause a little per chunk, so the executor threads
                    # (action cancels, services) get the GIL within a few ms of wall time (= of sim time here)
                    time.sleep(0.0005)
            # as fast as possible (realtime false): no unconditional pause, a sleep costs a scheduler round trip on a
            # loaded machine (~3 ms at load 40); the other threads get the GIL from the interpreter's switch interval
            # and while mj_step runs, and the world lock here:
            while self._world_lock.waiting and self._running:
                time.sleep(0.0002)

    def _frames_of(self, world: World) -> FrameTable:
        """The TF frame table of ``world`` (rebuilt after a reset)."""
        if self._tables_of is not world:
            self._frame_table, self._tables_of = FrameTable(world), world
        return self._frame_table

    def _ros_ok(self) -> bool:
        """False once the ROS context is shut down (e.g. by SIGINT/SIGTERM before :meth:`destroy_node`)."""
        return self._running and self.context.ok()

    def _apply_commands(self, world: World) -> None:
        active = self._traj
        if active is not None and not active.stopped.is_set():
            active.desired = active.traj.sample(world.time - active.start_time)
            world.set_arm_targets(active.desired)
        if world.robot.mobile:
            if world.time - self._base_cmd_time > 0.5:  # cmd_vel watchdog
                self._base_cmd[:] = 0.0
            world.set_base_velocity(*self._base_cmd)

    def _render_loop(self) -> None:
        from maestro_sim.rendering import SceneRenderer

        renderer, rendered_world = None, None
        infos: dict[str, CameraInfo] = {}
        try:
            while self._running:
                if not self._render_request.wait(timeout=0.2):
                    continue
                self._render_request.clear()
                if not self._ros_ok():
                    break
                with self._world_lock:
                    world = self.world
                    if renderer is None or rendered_world is not world:
                        if renderer is not None:
                            renderer.close()
                        renderer, rendered_world = SceneRenderer(world), world
                        infos = {cam: self._camera_info(world, cam, stamp_of(0.0)) for cam in world.cameras}
                        self.get_logger().info(f"GL_RENDERER: {renderer.gl_renderer}")
                    wanted = {cam: self._wanted(cam) for cam in renderer.cameras}
                    renderer.update(world.data, [cam for cam, kinds in wanted.items() if kinds])
                    stamp = stamp_of(world.time)
                for cam, kinds in wanted.items():
                    if kinds and not self._publish_camera(renderer, cam, kinds, infos[cam], stamp):
                        return  # the ROS context is shut down
        except Exception as exc:  # rendering problems must not take the physics down
            if self._ros_ok():
                self.get_logger().error(f"rendering stopped: {type(exc).__name__}: {exc}")
        finally:
            if renderer is not None:
                renderer.close()

    def _wanted(self, cam: str) -> set[str]:
        """Image kinds of ``cam`` that somebody subscribes to (rendering nobody's images is the largest waste)."""
        return {kind for kind in ("rgb", "depth", "seg", "info")
                if self.cam_pubs[cam][kind].get_subscription_count() > 0}

    def _publish_camera(self, renderer: Any, cam: str, kinds: set[str], info: CameraInfo, stamp: Time) -> bool:
        """Render the snapshot of ``cam`` and publish the wanted images; False once ROS is shut down."""
        pubs = self.cam_pubs[cam]
        frame = renderer.render(cam, depth="depth" in kinds, segmentation="seg" in kinds) \
            if kinds & {"rgb", "depth", "seg"} else None
        info.header.stamp = stamp
        frame_id = info.header.frame_id
        out = [("info", info)]
        if frame is not None:
            out += [(kind, numpy_to_image(array, encoding, frame_id, stamp))
                    for kind, array, encoding in (("rgb", frame.rgb, "rgb8"), ("depth", frame.depth, "32FC1"),
                                                  ("seg", frame.seg, "32SC1")) if kind in kinds]
        return all(self._publish(pubs[kind], msg) for kind, msg in out if kind in kinds)

    def _publish(self, publisher: Any, msg: Any) -> bool:
        """Publish unless ROS is shut down; False when it is (publishing then would raise from a dead context)."""
        if not self._ros_ok():
            return False
        try:
            publisher.publish(msg)
        except Exception:
            if self._ros_ok():
                raise
            return False  # the context was shut down between the check and the call
        return True

    # ------------------------------------------------------------------ publishing
    def _camera_info(self, world: World, cam: str, stamp: Time) -> CameraInfo:
        spec = world.cameras[cam]
        k = world.camera_matrix(cam)
        info = CameraInfo()
        info.header.stamp = stamp
        info.header.frame_id = spec.optical_frame
        info.width, info.height = spec.width, spec.height
        info.distortion_model = "plumb_bob"
        info.d = [0.0] * 5
        info.k = k.reshape(9).tolist()
        info.r = np.eye(3).reshape(9).tolist()
        info.p = np.hstack([k, np.zeros((3, 1))]).reshape(12).tolist()
        return info

    def _publish_static(self) -> None:
        with self._world_lock:
            entries = self._frames_of(self.world).transforms(self.world.data, static=True)
        self._publish(self.tf_static_pub, tf_message(entries, stamp_of(0.0)))

    def _publish_state(self, snap: Any) -> bool:
        """Publish /clock, /joint_states, /tf (and /odom) of a snapshot; False once ROS is shut down."""
        stamp = stamp_of(snap.time)
        msgs: list[tuple[Any, Any]] = [(self.clock_pub, Clock(clock=stamp)),
                                       (self.joint_pub, joint_state_message(snap, stamp)),
                                       (self.tf_pub, tf_message(snap.frames, stamp))]
        odom = odometry_message(snap, stamp)
        if self.odom_pub is not None and odom is not None:
            msgs.append((self.odom_pub, odom))
        return all(self._publish(pub, msg) for pub, msg in msgs)

    # ------------------------------------------------------------------ services
    def _on_reset(self, req: ResetScene.Request, res: ResetScene.Response) -> ResetScene.Response:
        try:
            task = req.task or self.world.task_id
            world = World(self.embodiment, task, int(req.seed), req.perturbation or "base")
            self._stop_trajectory()
            with self._world_lock:
                self.world = world
                self._base_cmd[:] = 0.0
            self._publish_static()
            res.task, res.instruction, res.embodiment = world.task_id, world.instruction, world.embodiment
            res.objects = [info.label for info in world.task.objects().values() if info.task_relevant]
            self.get_logger().info(f"reset to {task} seed {req.seed} {req.perturbation or 'base'}: "
                                   f"{world.instruction}")
            return fill_error(res, None)
        except Exception as exc:
            return fill_error(res, exc, self.get_logger())

    def _on_evaluate(self, req: EvaluateTask.Request, res: EvaluateTask.Response) -> EvaluateTask.Response:
        try:
            with self._world_lock:
                world = self.world
                if world is None:
                    raise NoTask("no task is loaded; call /sim/reset_scene first")
                if req.task and req.task != world.task_id:
                    raise InvalidArgument(f"task '{req.task}' is not loaded (the scene runs '{world.task_id}'); "
                                          "reset the scene to it first or pass an empty task")
                ev = world.evaluate()
            res.task, res.progress, res.success = world.task_id, float(ev.progress), bool(ev.success)
            from maestro_interfaces.msg import ProgressCriterion

            res.criteria = [ProgressCriterion(name=c.name, points=float(c.points), reached=bool(c.reached),
                                              value=float(c.value)) for c in ev.criteria]
            return fill_error(res, None)
        except Exception as exc:
            return fill_error(res, exc, self.get_logger())

    def _on_list(self, req: ListTasks.Request, res: ListTasks.Response) -> ListTasks.Response:
        try:
            res.tasks = [TaskInfo(id=cls.id, embodiment=cls.embodiment, instruction=cls.base_instruction,
                                  stages=[s.label() for s in cls.stages], perturbations=list(cls.axes))
                         for cls in list_tasks(req.embodiment)]
            return fill_error(res, None)
        except Exception as exc:
            return fill_error(res, exc, self.get_logger())

    def _on_ground_truth(self, req: GetSceneGroundTruth.Request,
                         res: GetSceneGroundTruth.Response) -> GetSceneGroundTruth.Response:
        try:
            with self._world_lock:
                world = self.world
                states = world.ground_truth()
                objects = world.task.objects()
            res.task = world.task_id
            for s in states:
                obj = SimObject(name=s.name, label=s.label, instance_id=s.instance_id)
                p = obj.pose.position
                p.x, p.y, p.z = map(float, s.position)
                o = obj.pose.orientation
                o.w, o.x, o.y, o.z = map(float, s.quaternion)
                obj.size.x, obj.size.y, obj.size.z = map(float, s.size)
                for name, kp in s.keypoints.items():
                    k = Keypoint(name=name, has_position=True, score=1.0)
                    k.position.x, k.position.y, k.position.z = map(float, kp)
                    obj.keypoints.append(k)
                obj.parts = list(objects[s.name].parts)
                res.objects.append(obj)
            return fill_error(res, None)
        except Exception as exc:
            return fill_error(res, exc, self.get_logger())

    def _on_cmd_vel(self, msg: Twist) -> None:
        cmd = np.array([msg.linear.x, msg.linear.y, msg.angular.z], float)
        if np.all(np.isfinite(cmd)):
            self._base_cmd[:] = cmd
            self._base_cmd_time = self.world.time
        else:
            self.get_logger().warning("ignoring /cmd_vel with NaN or infinite values")

    # ------------------------------------------------------------------ actions
    def _accept_goal(self, _goal: Any) -> GoalResponse:
        return GoalResponse.ACCEPT  # every goal is validated in its execute callback, which reports the error

    def _fjt_accepted(self, goal_handle: Any) -> None:
        goal_handle.execute()

    def _cancel_fjt(self, _goal_handle: Any) -> CancelResponse:
        self._stop_trajectory()  # hold position at the next physics step
        return CancelResponse.ACCEPT

    def _stop_trajectory(self) -> None:
        with self._goal_lock:
            active = self._traj
        if active is not None:
            with self._world_lock:  # lock order: world lock, then goal lock (as in _execute_fjt)
                active.stopped.set()
                self.world.set_arm_targets(self.world.arm_positions())

    def _execute_fjt(self, goal_handle: Any) -> FollowJointTrajectory.Result:
        result = FJT()
        goal = goal_handle.request
        try:
            with self._world_lock:
                world = self.world
                start = world.arm_positions()
                traj = build_trajectory(
                    world.robot.arm_joints, goal.trajectory.joint_names,
                    [p.time_from_start.sec + p.time_from_start.nanosec * 1e-9 for p in goal.trajectory.points],
                    [list(p.positions) for p in goal.trajectory.points],
                    [list(p.velocities) for p in goal.trajectory.points],
                    start, world.arm_lower, world.arm_upper, world.arm_velocity_limits)
                with self._goal_lock:  # pre-empt the running goal
                    if self._traj is not None:
                        self._traj.stopped.set()
                    active = _ActiveTrajectory(traj, world.time)
                    self._traj = active
        except ToolFailure as exc:
            result.error_code = FJT.INVALID_JOINTS if isinstance(exc, InvalidJoints) else FJT.INVALID_GOAL
            result.error_string = exc.message
            goal_handle.abort()
            return result
        goal_tol = {t.name: t.position for t in goal.goal_tolerance if t.position > 0}
        tol = np.array([goal_tol.get(j, 0.02) for j in world.robot.arm_joints])
        extra = goal.goal_time_tolerance.sec + goal.goal_time_tolerance.nanosec * 1e-9
        extra = extra if extra > 0 else 1.0
        feedback = FollowJointTrajectory.Feedback()
        feedback.joint_names = list(world.robot.arm_joints)
        while True:
            time.sleep(0.005)
            if world is not self.world:
                result.error_code, result.error_string = FJT.INVALID_GOAL, "the scene was reset during execution"
                goal_handle.abort()
                return result
            if goal_handle.is_cancel_requested:
                self._stop_trajectory()
                result.error_string = "cancelled; the arm holds its current position"
                goal_handle.canceled()
                return result
            if active.stopped.is_set():
                result.error_code, result.error_string = FJT.INVALID_GOAL, "pre-empted by a newer trajectory"
                goal_handle.abort()
                return result
            with self._world_lock:
                t = world.time - active.start_time
                actual = world.arm_positions()
                velocity = world.arm_velocities()
            desired = active.desired
            feedback.header.stamp = stamp_of(world.time)
            feedback.desired.positions = desired.tolist()
            feedback.actual.positions, feedback.actual.velocities = actual.tolist(), velocity.tolist()
            feedback.error.positions = (desired - actual).tolist()
            goal_handle.publish_feedback(feedback)
            final_error = np.abs(actual - traj.positions[-1])
            if t >= traj.duration and np.all(final_error <= tol):
                result.error_code = FJT.SUCCESSFUL
                goal_handle.succeed()
                return result
            if t > traj.duration + extra:
                worst = int(np.argmax(final_error - tol))
                result.error_code = FJT.GOAL_TOLERANCE_VIOLATED
                result.error_string = (f"{world.robot.arm_joints[worst]} is {final_error[worst]:.4f} rad from its "
                                       f"goal after the goal time tolerance (allowed {tol[worst]:.4f}); "
                                       "the arm may be blocked by a collision")
                goal_handle.abort()
                return result

    def _execute_gripper(self, goal_handle: Any) -> GripperCommand.Result:
        cmd = goal_handle.request.command
        result = GripperCommand.Result()
        with self._world_lock:
            world = self.world
            max_gap = world.robot.gripper_max_gap
        if not np.isfinite(cmd.position) or not np.isfinite(cmd.max_effort) or cmd.position < 0:
            self.get_logger().warning(f"rejecting gripper command position={cmd.position} "
                                      f"max_effort={cmd.max_effort}: need a finite gap in [0, {max_gap}] m")
            result.position = world.gripper_gap()
            goal_handle.abort()
            return result
        target = min(float(cmd.position), max_gap)
        with self._world_lock:
            world.set_gripper(target, float(cmd.max_effort) if cmd.max_effort > 0 else None)
            t0 = world.time
        feedback = GripperCommand.Feedback()
        last_gap, still_since = None, None
        while True:
            time.sleep(0.01)
            if world is not self.world:
                goal_handle.abort()
                return result
            with self._world_lock:
                gap, force, now = world.gripper_gap(), world.gripper_force(), world.time
                limit = float(world.model.actuator_forcerange[world.model.actuator(
                    world.robot.gripper_actuator).id][1]) / 2.0
            reached = abs(gap - target) < 0.002
            moving = last_gap is None or abs(gap - last_gap) > 1e-4
            still_since = None if moving else (still_since if still_since is not None else now)
            stalled = still_since is not None and now - still_since > 0.15 and force > 0.5 * limit
            feedback.position, feedback.effort, feedback.stalled, feedback.reached_goal = gap, force, stalled, reached
            goal_handle.publish_feedback(feedback)
            last_gap = gap
            result.position, result.effort, result.stalled, result.reached_goal = gap, force, stalled, reached
            if goal_handle.is_cancel_requested:
                goal_handle.canceled()
                return result
            if reached or stalled:
                goal_handle.succeed()
                return result
            if now - t0 > 3.0:
                goal_handle.abort()
                return result

    def destroy_node(self) -> None:
        """Stop the physics and render threads, then destroy the node."""
        self._running = False
        self._render_request.set()
        for thread in (self._physics_thread, self._render_thread):
            if thread.is_alive():
                thread.join(timeout=5.0)
        super().destroy_node()


def main(args: list[str] | None = None) -> None:
    """Run the sim node until shut down (exit code 1 when the start-up parameters are invalid)."""
    try:
        with rclpy.init(args=args):
            try:
                node = SimNode()
            except (ToolFailure, ValueError) as exc:
                rclpy.logging.get_logger("maestro_sim").fatal(f"cannot start the simulation: {exc}")
                raise SystemExit(1) from None
            spin_node(node, threads=4)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass


if __name__ == "__main__":
    main()
