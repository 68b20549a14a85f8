"""The control node: arm, gripper and base motion as ROS 2 actions, plus robot state, stop and e-stop services.

Lifecycle: ``on_configure`` reads the embodiment profile (URDF, joints, limits, controllers), builds the kinematic and
collision models and creates the ROS interfaces; goals are served only while active (else UNAVAILABLE). With the
``autostart`` parameter (default true) ``main()`` configures and activates the node itself.

Motion groups ``arm``, ``gripper`` and ``base`` each run one goal at a time: a new goal pre-empts the running one of
its group explicitly under a lock (the old one ends with PREEMPTED). Cancel stops the arm at once (the FJT goal is
cancelled and the arm holds); the latched e-stop (/estop true) decelerates, holds and refuses goals with ESTOPPED
until /control/reset_estop.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from geometry_msgs.msg import Pose, Twist
from nav_msgs.msg import Odometry
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from scipy.spatial.transform import Rotation
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Bool

from maestro_common.clouds import depth_to_points
from maestro_common.errors import (
    CANCELLED,
    ESTOPPED,
    EStopped,
    InvalidArgument,
    NotFound,
    Timeout,
    ToolFailure,
    Unavailable,
    fill_error,
    require_finite,
)
from maestro_common.geometry import matrix_to_pose
from maestro_common.node_runner import spin_node
from maestro_common.params import declare
from maestro_control.base_planner import OccupancyGrid, PurePursuit, plan_base_path, wrap_angle
from maestro_control.cartesian import CartesianPath, follow_waypoints
from maestro_control.embodiment import ArmModel, arm_model_from_profile
from maestro_control.planning import JointPlanner, PlanningError
from maestro_control.ros_io import GripperClient, Interrupted, JointStateCache, TrajectoryClient
from maestro_control.timing import SampledTrajectory, ruckig_point_to_point, scale_limits, time_parameterize
from maestro_interfaces.action import FollowCartesianPath, Gripper, MoveBase, MoveJoints, MoveToPose
from maestro_interfaces.srv import GetRobotState, ResetEStop, Stop

R = MoveToPose.Result  # the control codes are the same constants in every arm action
NO_IK_SOLUTION, PLANNING_FAILED = R.NO_IK_SOLUTION, R.PLANNING_FAILED
START_IN_COLLISION, GOAL_IN_COLLISION = R.START_IN_COLLISION, R.GOAL_IN_COLLISION
CONTROLLER_FAILED, PREEMPTED, CARTESIAN_INCOMPLETE = R.CONTROLLER_FAILED, R.PREEMPTED, R.CARTESIAN_INCOMPLETE
NO_BASE, BLOCKED = MoveBase.Result.NO_BASE, MoveBase.Result.BLOCKED
SCENE_FRESH_WAIT = 3.0  # s to wait for a depth image taken after the last motion before planning against it


def _seconds(stamp: Any) -> float:
    """builtin_interfaces/Time -> seconds."""
    return float(stamp.sec) + 1e-9 * float(stamp.nanosec)


class MotionInterrupted(Exception):
    """The running motion was cancelled, pre-empted, stopped or e-stopped."""


@dataclass
class Motion:
    """One running goal of a motion group."""

    group: str
    goal_handle: Any
    interrupt: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    reason: str = ""  # "cancelled" | "preempted" | "stopped" | "estop"

    def stop(self, reason: str) -> None:
        """Ask the motion to end for ``reason`` (the first reason wins)."""
        if not self.reason:
            self.reason = reason
        self.interrupt.set()


def _quat_matrix(o: Any, allow_zero: bool) -> np.ndarray:
    q = np.array([o.x, o.y, o.z, o.w], float)
    require_finite("orientation", q)
    n = float(np.linalg.norm(q))
    if n < 1e-9 and allow_zero:
        return np.eye(3)
    if abs(n - 1.0) > 1e-2:
        raise InvalidArgument(f"orientation must be a unit quaternion (norm {n:.3f}); e.g. x=1, y=0, z=0, w=0 points "
                              f"the gripper down in the base frame of a table-top arm")
    return Rotation.from_quat(q / n).as_matrix()


def _pose_matrix(p: Pose, allow_zero_quat: bool = False) -> np.ndarray:
    require_finite("position", [p.position.x, p.position.y, p.position.z])
    t = np.eye(4)
    t[:3, :3] = _quat_matrix(p.orientation, allow_zero_quat)
    t[:3, 3] = [p.position.x, p.position.y, p.position.z]
    return t


def _rot_err(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(Rotation.from_matrix(a[:3, :3].T @ b[:3, :3]).as_rotvec()))


class ControlNode(LifecycleNode):
    """Arm/gripper/base motion tools of one embodiment."""

    def __init__(self, node_name: str = "control", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self.cbg = ReentrantCallbackGroup()
        self.p_profile = declare(self, "profile", "franka", "embodiment profile name or YAML path")
        self.p_planner = declare(self, "planner", "ompl", "planner backend: ompl (built in) or moveit (moveit_py)",
                                 choices=["ompl", "moveit"])
        self.p_planning_time = declare(self, "planning_time", 2.0, "seconds RRTConnect may search per request",
                                       min_value=0.05, max_value=30.0)
        self.p_margin = declare(self, "collision_margin", 0.01, "clearance to the scene cloud, metres",
                                min_value=0.0, max_value=0.1)
        self.p_voxel = declare(self, "voxel_size", 0.01, "scene cloud voxel edge, metres", min_value=0.002,
                               max_value=0.1)
        self.p_scene_camera = declare(self, "scene_camera", "", "depth camera for the scene cloud; '' = profile main")
        self.p_cloud_stride = declare(self, "cloud_stride", 4, "pixel stride when back-projecting depth",
                                      min_value=1, max_value=16)
        self.p_tf_timeout = declare(self, "tf_timeout", 0.5, "seconds to wait for a transform", min_value=0.0,
                                    max_value=10.0)
        self.p_state_wait = declare(self, "joint_state_wait", 2.0, "seconds to wait for /joint_states",
                                    min_value=0.0, max_value=30.0)
        self.p_base_rate = declare(self, "base_rate", 20.0, "base follower rate, Hz", min_value=1.0, max_value=100.0)
        self.p_cartesian_check = declare(
            self, "cartesian_collision_check", True, "check Cartesian paths (FollowCartesianPath; MoveToPose "
            "CARTESIAN with avoid_collisions) against the scene cloud and stop before the first colliding step")
        self.model: ArmModel | None = None
        self._active = False
        self._estopped = False
        self._lock = threading.Lock()
        self._motions: dict[str, Motion] = {}
        self._holding = False
        self._gripper_width = float("nan")
        self._odom: Odometry | None = None
        self._depth: tuple[Image, CameraInfo] | None = None
        self._moved_stamp = 0.0  # joint-state clock (s) when the last arm/gripper/base motion ended
        self._caminfo: CameraInfo | None = None
        self._entities: list[Any] = []
        self.tf: Any = None
        self.js: JointStateCache | None = None
        self.traj: TrajectoryClient | None = None
        self.gripper: GripperClient | None = None
        self.cmd_vel: Any = None
        self.moveit_available = False

    # ================================================================ lifecycle
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Load the profile and models; create subscriptions, clients, action servers and services."""
        try:
            from maestro_common.profiles import load_profile
            from maestro_common.tf import TfBuffer

            profile = load_profile(self.p_profile)
            self.model = arm_model_from_profile(profile, margin=self.p_margin, voxel=self.p_voxel)
            self.model.kin.nearest_seeds(np.eye(4), 1)  # build the IK seed library now, not in the first goal
            if self.p_planner == "moveit":
                try:
                    import moveit.planning  # type: ignore[import-not-found]  # noqa: F401

                    self.moveit_available = True
                except ImportError:
                    self.get_logger().warning("planner 'moveit' selected but moveit_py is not installed: PLANNED "
                                              "motions will answer UNAVAILABLE; use planner:=ompl")
            self.tf = TfBuffer(self)
            self.js = JointStateCache(self, callback_group=self.cbg)
            self.traj = TrajectoryClient(self, self.model.arm_controller, self.cbg)
            self.gripper = GripperClient(self, self.model.gripper_controller, self.cbg)
            latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                                 reliability=ReliabilityPolicy.RELIABLE)
            self._entities.append(self.create_subscription(Bool, "/estop", self._on_estop, latched,
                                                           callback_group=self.cbg))
            cam = self.p_scene_camera or profile.get("main_camera", "")
            if cam:
                self._entities.append(self.create_subscription(Image, f"/{cam}/depth", self._on_depth, 2,
                                                               callback_group=self.cbg))
                self._entities.append(self.create_subscription(CameraInfo, f"/{cam}/camera_info", self._on_info, 2,
                                                               callback_group=self.cbg))
            if self.model.base:
                self._entities.append(self.create_subscription(
                    Odometry, self.model.base.get("odom_topic", "/odom"), self._on_odom, 10, callback_group=self.cbg))
                self.cmd_vel = self.create_publisher(Twist, self.model.base.get("cmd_vel", "/cmd_vel"), 10)
            self._create_servers()
        except Exception as exc:
            self.get_logger().error(f"configure failed: {type(exc).__name__}: {exc}")
            return TransitionCallbackReturn.FAILURE
        self.get_logger().info(f"configured for '{self.model.embodiment}' ({len(self.model.joint_names)} joints, "
                               f"planner {self.p_planner})")
        return TransitionCallbackReturn.SUCCESS

    def _create_servers(self) -> None:
        def server(kind: Any, name: str, cb: Callable[[Any], Any]) -> None:
            self._entities.append(ActionServer(
                self, kind, name, execute_callback=cb, goal_callback=lambda g: GoalResponse.ACCEPT,
                cancel_callback=self._on_cancel, callback_group=self.cbg))

        server(MoveToPose, "/control/move_to_pose", self._exec_move_to_pose)
        server(MoveJoints, "/control/move_joints", self._exec_move_joints)
        server(FollowCartesianPath, "/control/follow_cartesian_path", self._exec_cartesian_path)
        server(Gripper, "/control/gripper", self._exec_gripper)
        server(MoveBase, "/control/move_base", self._exec_move_base)
        self._entities.append(self.create_service(GetRobotState, "/control/get_robot_state", self._srv_state,
                                                  callback_group=self.cbg))
        self._entities.append(self.create_service(Stop, "/control/stop", self._srv_stop, callback_group=self.cbg))
        self._entities.append(self.create_service(ResetEStop, "/control/reset_estop", self._srv_reset,
                                                  callback_group=self.cbg))

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Start serving goals."""
        self._active = True
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Stop every motion and refuse goals."""
        self._active = False
        self._stop_all("stopped")
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Destroy the ROS interfaces and free the models."""
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Stop and free everything."""
        self._active = False
        self._stop_all("stopped")
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def _release(self) -> None:
        for e in self._entities:
            try:
                e.destroy()
            except Exception:
                pass
        self._entities = []
        self.model = None

    # ================================================================ subscriptions
    def _on_estop(self, msg: Bool) -> None:
        if msg.data and not self._estopped:
            self._estopped = True
            self.get_logger().warning("E-STOP latched: decelerating and holding until /control/reset_estop")
            self._stop_all("estop")

    def _on_depth(self, msg: Image) -> None:
        if self._caminfo is not None:
            self._depth = (msg, self._caminfo)

    def _on_info(self, msg: CameraInfo) -> None:
        self._caminfo = msg

    def _on_odom(self, msg: Odometry) -> None:
        self._odom = msg

    # ================================================================ motion arbitration
    def _begin(self, group: str, goal_handle: Any) -> Motion:
        if not self._active or self.model is None:
            raise Unavailable("the control node is not active; activate it (lifecycle) or check its configuration")
        if self._estopped:
            raise EStopped("the e-stop is latched; call /control/reset_estop when it is safe")
        motion = Motion(group, goal_handle)
        with self._lock:
            prev = self._motions.get(group)
            self._motions[group] = motion
        if prev is not None:
            prev.stop("preempted")
            prev.done.wait(timeout=3.0)
        return motion

    def _end(self, motion: Motion | None) -> None:
        if motion is None:
            return
        with self._lock:
            if self._motions.get(motion.group) is motion:
                del self._motions[motion.group]
        motion.done.set()

    def _on_cancel(self, goal_handle: Any) -> CancelResponse:
        with self._lock:
            for m in self._motions.values():
                if m.goal_handle is not None and bytes(m.goal_handle.goal_id.uuid) == bytes(goal_handle.goal_id.uuid):
                    m.stop("cancelled")
                    if m.group == "arm" and self.traj is not None:
                        self.traj.cancel_active()  # stop now; the execute loop then sends the hold
        return CancelResponse.ACCEPT

    def _stop_all(self, reason: str) -> None:
        with self._lock:
            motions = list(self._motions.values())
        for m in motions:
            m.stop(reason)
        if reason == "estop":
            self._hold_arm(decelerate=True)  # category-1 stop: decelerate along the current motion, then hold
        elif self.traj is not None:
            self.traj.cancel_active()
        if self.cmd_vel is not None:
            self.cmd_vel.publish(Twist())

    def _hold_arm(self, decelerate: bool) -> None:
        if self.model is None or self.traj is None or self.js is None or not self.js.has(self.model.joint_names):
            return
        names = self.model.joint_names
        q = self.js.positions(names)
        qd = self.js.velocities(names) if decelerate else None
        self.traj.hold(names, q, qd, self.model.amax)

    def _run(self, goal_handle: Any, result: Any, group: str, body: Callable[[Motion], None]) -> Any:
        """Run ``body`` as the goal of ``group``; turn failures and interruptions into codes in one place."""
        motion: Motion | None = None
        try:
            motion = self._begin(group, goal_handle)
            body(motion)
            if motion.interrupt.is_set():
                raise MotionInterrupted()
            fill_error(result, None)
            goal_handle.succeed()
        except (MotionInterrupted, Interrupted):
            reason = motion.reason if motion else "cancelled"
            if group == "arm" and reason in ("cancelled", "stopped") and self.traj is not None:
                self.traj.cancel_active()  # a cancelled FJT goal holds the current position (ros2_control, sim)
            if group == "base" and self.cmd_vel is not None:
                self.cmd_vel.publish(Twist())
            codes = {"cancelled": (CANCELLED, "cancelled by the caller"),
                     "preempted": (PREEMPTED, "a newer goal replaced this one"),
                     "stopped": (CANCELLED, "stopped by /control/stop"),
                     "estop": (ESTOPPED, "the e-stop was triggered; call /control/reset_estop when it is safe")}
            result.error_code, result.error_msg = codes.get(reason, (CANCELLED, reason))
            if reason == "cancelled" and goal_handle.is_cancel_requested:
                goal_handle.canceled()
            else:
                goal_handle.abort()
        except Exception as exc:  # every failure becomes error_code + error_msg; the node keeps serving
            fill_error(result, exc, self.get_logger())
            goal_handle.abort()
        finally:
            self._end(motion)
            if self.js is not None and self.js.header_stamp is not None:
                self._moved_stamp = _seconds(self.js.header_stamp)
        return result

    # ================================================================ helpers
    def _q(self) -> np.ndarray:
        assert self.model is not None and self.js is not None
        return self.js.positions(self.model.joint_names, wait=self.p_state_wait)

    def _lookup(self, target: str, source: str) -> np.ndarray:
        if not source or source == target:
            return np.eye(4)
        return self.tf.lookup(target, source, timeout=self.p_tf_timeout)

    def _arm_from_frame(self, frame_id: str) -> np.ndarray:
        """Transform from ``frame_id`` ('' = base frame) into the arm base frame."""
        m = self.model
        assert m is not None
        base_in_arm = self._lookup(m.arm_base_frame, m.base_frame)
        frame = frame_id.strip().lstrip("/") or m.base_frame
        return base_in_arm @ self._lookup(m.base_frame, frame)

    def _tcp_in_base(self, q: np.ndarray) -> np.ndarray:
        m = self.model
        assert m is not None
        arm_in_base = self._lookup(m.base_frame, m.arm_base_frame)
        return arm_in_base @ m.kin.fk(q)

    def _update_scene(self, q: np.ndarray) -> int:
        """Rebuild the collision scene from the latest depth image of the scene camera; returns the point count."""
        m = self.model
        assert m is not None
        if self._depth is None:
            self.get_logger().warning("no depth image for the scene cloud: planning without obstacles")
            m.checker.clear_scene()
            return 0
        # A depth image taken before the last motion ended shows the robot where it was: its "ghost" survives the
        # self-filter (done at the current q) and blocks every IK solution. Wait (bounded) for a newer frame.
        now = _seconds(self.js.header_stamp) if self.js is not None and self.js.header_stamp is not None else None
        if now is not None and now + 1.0 < self._moved_stamp:
            self._moved_stamp = 0.0  # the robot's clock went back (a simulator reset)

        def stale() -> bool:  # older than the last motion, or from before a clock reset (stamped in the future)
            stamp = _seconds(self._depth[0].header.stamp)
            return stamp + 1e-3 < self._moved_stamp or (now is not None and stamp > now + 1.0)

        deadline = time.monotonic() + SCENE_FRESH_WAIT
        while stale() and time.monotonic() < deadline:
            time.sleep(0.02)
        if stale():
            self.get_logger().warning(f"the scene depth image (stamp {_seconds(self._depth[0].header.stamp):.2f} s) "
                                      f"is older than the last motion ({self._moved_stamp:.2f} s) or than a clock "
                                      f"reset; planning against it anyway")
        return m.checker.set_scene(self._depth_cloud(m.arm_base_frame, int(self.p_cloud_stride), 3.0), q)

    def _depth_cloud(self, frame: str, stride: int, max_range: float) -> np.ndarray:
        """The latest scene depth image back-projected (maestro_common.clouds) and expressed in ``frame``."""
        from maestro_common.images import image_to_numpy

        assert self._depth is not None
        img, info = self._depth
        depth = image_to_numpy(img).astype(float)
        if depth.ndim == 3:
            depth = depth[..., 0]
        if img.encoding in ("16UC1", "mono16"):
            depth = depth / 1000.0
        pts = depth_to_points(depth, np.asarray(info.k, float).reshape(3, 3), stride=stride, max_depth=max_range)
        cam = self._lookup(frame, img.header.frame_id or info.header.frame_id)
        return pts @ cam[:3, :3].T + cam[:3, 3]

    def _plan_checker(self, avoid: bool) -> Callable[[np.ndarray], bool]:
        m = self.model
        assert m is not None
        if avoid:
            return m.checker.is_valid
        return lambda q: m.kin.within_limits(q) and not m.checker.self_collisions(q)

    def _cartesian(self, q0: np.ndarray, waypoints: list[np.ndarray], step: float, check: bool) -> CartesianPath:
        """IK along the interpolated TCP path; with ``check``, against the fresh scene cloud (stops before a hit)."""
        m = self.model
        assert m is not None
        valid = None
        if check and self.p_cartesian_check:
            self._update_scene(q0)
            valid = self._plan_checker(True)
        return follow_waypoints(m.kin, q0, waypoints, max_step=step, is_valid=valid)

    def _cartesian_failure(self, cart: CartesianPath, hint: str) -> ToolFailure:
        """CARTESIAN_INCOMPLETE naming the first colliding step (links, TCP position) or the IK failure."""
        m = self.model
        assert m is not None
        if cart.collision_q is None or cart.collision_pose is None:
            return ToolFailure(f"only {cart.fraction:.0%} of the path is feasible ({cart.stop_reason}); {hint}",
                               CARTESIAN_INCOMPLETE)
        q = cart.collision_q
        links = m.checker.scene_collisions(q) or [f"{a}-{b}" for a, b in m.checker.self_collisions(q)] or \
            ["joint limits"]
        p = cart.collision_pose[:3, 3]
        return ToolFailure(f"the path runs into an obstacle of the scene cloud at step {cart.collision_step}/"
                           f"{cart.steps} (waypoint {cart.collision_waypoint}, TCP at ({p[0]:.3f}, {p[1]:.3f}, "
                           f"{p[2]:.3f}) in {m.arm_base_frame}; {', '.join(links)}) after {cart.fraction:.0%} of it; "
                           f"{hint}", CARTESIAN_INCOMPLETE)

    def _solve_ik(self, target: np.ndarray, q0: np.ndarray, pos_tol: float, rot_tol: float, position_only: bool,
                  accept: Callable[[np.ndarray], bool]) -> np.ndarray:
        m = self.model
        assert m is not None
        res = m.kin.ik(target, q0, pos_tol=min(pos_tol * 0.5, 1e-3), rot_tol=min(rot_tol * 0.5, 1e-2),
                       position_only=position_only, accept=accept, num_solutions=3, num_seeds=40)
        if res.success:
            return res.q
        free = m.kin.ik(target, q0, pos_tol=min(pos_tol * 0.5, 1e-3), rot_tol=min(rot_tol * 0.5, 1e-2),
                        position_only=position_only, num_seeds=20)
        if free.success:
            links = m.checker.scene_collisions(free.q) or [f"{a}-{b}" for a, b in m.checker.self_collisions(free.q)]
            raise ToolFailure(f"every IK solution for the target collides (e.g. {links}); choose a pose farther "
                              f"from obstacles or set avoid_collisions=false", GOAL_IN_COLLISION)
        p = target[:3, 3]
        raise ToolFailure(f"no joint configuration reaches the pose at ({p[0]:.3f}, {p[1]:.3f}, {p[2]:.3f}) in "
                          f"{m.arm_base_frame} within limits (best residual {res.position_error:.3f} m, "
                          f"{res.orientation_error:.2f} rad); move the target closer or allow another orientation",
                          NO_IK_SOLUTION)

    def _plan_path(self, q0: np.ndarray, q1: np.ndarray, avoid: bool, motion: Motion, timeout: float) -> np.ndarray:
        m = self.model
        assert m is not None
        if self.p_planner == "moveit":
            raise Unavailable("planner 'moveit' needs moveit_py, which is not installed here (pip install path); "
                              "set the control node's parameter planner:=ompl" if not self.moveit_available else
                              "the moveit_py backend needs a MoveIt configuration package, which this install does "
                              "not provide; set planner:=ompl")
        planner = JointPlanner(m.lower, m.upper, self._plan_checker(avoid))
        try:
            return planner.plan(q0, q1, timeout=min(self.p_planning_time, max(0.05, timeout)),
                                cancel=motion.interrupt).path
        except PlanningError as exc:
            if exc.reason == "cancelled":
                raise MotionInterrupted() from exc
            if exc.reason == "start_invalid":
                links = m.checker.scene_collisions(q0) or m.checker.self_collisions(q0)
                raise ToolFailure(f"the current configuration is in collision ({links}); move away with "
                                  f"avoid_collisions=false or a CARTESIAN motion", START_IN_COLLISION) from exc
            if exc.reason == "goal_invalid":
                raise ToolFailure("the goal configuration collides with the robot or the scene cloud; choose another "
                                  "goal", GOAL_IN_COLLISION) from exc
            raise ToolFailure(f"{exc}; try another pose, remove obstacles or raise planning_time",
                              PLANNING_FAILED) from exc

    def _execute(self, traj: SampledTrajectory, motion: Motion, on_progress: Callable[[float], None],
                 deadline: float) -> None:
        m = self.model
        assert m is not None and self.traj is not None
        gh = motion.goal_handle

        def progress(p: float) -> None:
            if gh is not None and gh.is_cancel_requested:
                motion.stop("cancelled")
            if time.monotonic() > deadline:
                motion.stop("timeout")
            on_progress(p)

        msg = traj.to_msg(m.joint_names)
        if len(msg.points) > 1:  # no point at t = 0: the controller starts from its actual state (as JTC does)
            msg.points = msg.points[1:]
        out = self.traj.execute(msg, traj.duration, motion.interrupt, progress)
        if out.interrupted:
            if motion.reason == "timeout":
                self._hold_arm(decelerate=False)
                raise Timeout("the motion did not finish within the timeout; raise timeout or velocity_scaling")
            raise MotionInterrupted()

    def _settle(self, q_goal: np.ndarray, wait: float = 0.5) -> np.ndarray:
        """Wait (briefly) for the measured joints to reach ``q_goal``; return the measured joints."""
        deadline = time.monotonic() + wait
        q = self._q()
        while time.monotonic() < deadline and np.max(np.abs(q - q_goal)) > 2e-3:
            time.sleep(0.01)
            q = self._q()
        return q

    def _timed(self, path: np.ndarray, scaling: float, valid: Callable[[np.ndarray], bool] | None = None
               ) -> SampledTrajectory:
        """Time-parameterise ``path``; with ``valid``, re-check the smoothed samples (tighter spline if needed)."""
        m = self.model
        assert m is not None
        v, a = scale_limits(m.vmax, m.amax, scaling)
        if len(path) == 2:
            return ruckig_point_to_point(path[0], path[1], v, a)
        for densify in (0.02, 0.005):
            traj = time_parameterize(path, v, a, densify=densify)
            if valid is None or all(valid(q) for q in traj.q[::2]):
                return traj
        raise ToolFailure("the smoothed trajectory grazes an obstacle; try again or move the target away from "
                          "obstacles", PLANNING_FAILED)

    @staticmethod
    def _check_scaling(value: float, default: float) -> float:
        require_finite("velocity_scaling", value)
        if value == 0:
            return default
        if not 0 < value <= 1:
            raise InvalidArgument(f"velocity_scaling must be in (0, 1], got {value}")
        return float(value)

    @staticmethod
    def _check_timeout(value: float, default: float) -> float:
        require_finite("timeout", value)
        if value < 0:
            raise InvalidArgument(f"timeout must be >= 0 seconds, got {value}")
        return float(value) if value > 0 else default

    # ================================================================ actions
    def _exec_move_to_pose(self, gh: Any) -> MoveToPose.Result:
        req = gh.request
        result = MoveToPose.Result()
        fb = MoveToPose.Feedback()

        def body(motion: Motion) -> None:
            m = self.model
            assert m is not None
            timeout = self._check_timeout(req.timeout, 30.0)
            deadline = time.monotonic() + timeout
            scaling = self._check_scaling(req.velocity_scaling, 0.5)
            pos_tol = float(req.position_tolerance) or 0.005
            rot_tol = float(req.orientation_tolerance) or 0.05
            require_finite("tolerances", [pos_tol, rot_tol])
            if pos_tol < 0 or rot_tol < 0:
                raise InvalidArgument("tolerances must be >= 0")
            if req.mode not in (MoveToPose.Goal.PLANNED, MoveToPose.Goal.CARTESIAN):
                raise InvalidArgument(f"mode must be PLANNED (0) or CARTESIAN (1), got {req.mode}")
            target = self._arm_from_frame(req.target.header.frame_id) @ _pose_matrix(
                req.target.pose, allow_zero_quat=req.ignore_orientation)
            q0 = self._q()
            t_plan = time.monotonic()
            fb.phase = "ik"
            fb.current_pose = self._pose_msg(q0)
            gh.publish_feedback(fb)
            if req.mode == MoveToPose.Goal.CARTESIAN:
                if req.ignore_orientation:
                    target[:3, :3] = m.kin.fk(q0)[:3, :3]
                cart = self._cartesian(q0, [target], 0.01, req.avoid_collisions)
                if cart.fraction < 0.999:
                    raise self._cartesian_failure(cart, "use PLANNED mode (it goes around obstacles) or a closer "
                                                  "target")
                path = cart.q
            else:
                stamps = [time.monotonic()]
                n_pts = self._update_scene(q0) if req.avoid_collisions else 0
                stamps.append(time.monotonic())
                q_goal = self._solve_ik(target, q0, pos_tol, rot_tol, req.ignore_orientation,
                                        self._plan_checker(req.avoid_collisions))
                stamps.append(time.monotonic())
                fb.phase = "planning"
                gh.publish_feedback(fb)
                path = self._plan_path(q0, q_goal, req.avoid_collisions, motion, deadline - time.monotonic())
                stamps.append(time.monotonic())
            checked = req.mode == MoveToPose.Goal.PLANNED or (req.avoid_collisions and self.p_cartesian_check)
            traj = self._timed(path, scaling, self._plan_checker(req.avoid_collisions) if checked else None)
            result.planning_time = float(time.monotonic() - t_plan)
            if req.mode == MoveToPose.Goal.PLANNED:
                d = np.diff(stamps + [time.monotonic()])
                self.get_logger().info(f"planned in {result.planning_time:.2f} s: scene {d[0]:.2f} s ({n_pts} "
                                       f"voxels), IK {d[1]:.2f} s, RRTConnect {d[2]:.2f} s ({len(path)} waypoints), "
                                       f"time parameterisation {d[3]:.2f} s")
            fb.phase = "executing"

            def progress(p: float) -> None:
                fb.progress = float(p)
                gh.publish_feedback(fb)

            self._execute(traj, motion, progress, deadline)
            q = self._settle(path[-1])
            reached = m.kin.fk(q)
            result.final_pose = self._pose_msg(q)
            result.position_error = float(np.linalg.norm(reached[:3, 3] - target[:3, 3]))
            result.orientation_error = 0.0 if req.ignore_orientation else _rot_err(reached, target)
            if result.position_error > pos_tol * 2 + 0.005:
                raise ToolFailure(f"the arm stopped {result.position_error:.3f} m from the target (controller "
                                  f"tracking); check for contacts", CONTROLLER_FAILED)

        return self._run(gh, result, "arm", body)

    def _pose_msg(self, q: np.ndarray) -> Pose:
        try:
            return matrix_to_pose(self._tcp_in_base(q))
        except ToolFailure:
            return matrix_to_pose(self.model.kin.fk(q)) if self.model else Pose()

    def _exec_move_joints(self, gh: Any) -> MoveJoints.Result:
        req = gh.request
        result = MoveJoints.Result()
        fb = MoveJoints.Feedback()

        def body(motion: Motion) -> None:
            m = self.model
            assert m is not None
            timeout = self._check_timeout(req.timeout, 30.0)
            deadline = time.monotonic() + timeout
            scaling = self._check_scaling(req.velocity_scaling, 0.5)
            names = list(req.joint_names) or m.joint_names
            positions = np.asarray(req.positions, float)
            if len(positions) != len(names):
                raise InvalidArgument(f"{len(positions)} positions for {len(names)} joints {names}")
            require_finite("positions", positions)
            unknown = [n for n in names if n not in m.joint_names]
            if unknown:
                raise NotFound(f"unknown joints {unknown}; the arm's joints are {m.joint_names}")
            q0 = self._q()
            goal = q0.copy()
            for n, v in zip(names, positions, strict=True):
                goal[m.joint_names.index(n)] = v
            if not m.kin.within_limits(goal):
                bad = [f"{n}={v:.3f} not in [{lo:.3f}, {hi:.3f}]" for n, v, lo, hi in
                       zip(m.joint_names, goal, m.lower, m.upper, strict=True) if v < lo - 1e-6 or v > hi + 1e-6]
                raise InvalidArgument(f"positions outside the joint limits: {bad}")
            fb.phase = "planning"
            gh.publish_feedback(fb)
            if req.plan:
                self._update_scene(q0)
                path = self._plan_path(q0, goal, True, motion, deadline - time.monotonic())
            else:
                path = np.array([q0, goal])
            traj = self._timed(path, scaling, self._plan_checker(True) if req.plan else None)
            fb.phase = "executing"

            def progress(p: float) -> None:
                fb.progress = float(p)
                gh.publish_feedback(fb)

            self._execute(traj, motion, progress, deadline)
            q = self._settle(goal)
            result.final_positions = [float(v) for v in q]
            result.max_joint_error = float(np.max(np.abs(q - goal)))

        return self._run(gh, result, "arm", body)

    def _exec_cartesian_path(self, gh: Any) -> FollowCartesianPath.Result:
        req = gh.request
        result = FollowCartesianPath.Result()
        fb = FollowCartesianPath.Feedback()

        def body(motion: Motion) -> None:
            m = self.model
            assert m is not None
            timeout = self._check_timeout(req.timeout, 60.0)
            deadline = time.monotonic() + timeout
            scaling = self._check_scaling(req.velocity_scaling, 0.3)
            step = float(req.max_step) or 0.01
            min_fraction = float(req.min_fraction) or 1.0
            require_finite("max_step/min_fraction", [step, min_fraction])
            if not 0 < step <= 0.2 or not 0 < min_fraction <= 1:
                raise InvalidArgument("max_step must be in (0, 0.2] m and min_fraction in (0, 1]")
            if not req.waypoints:
                raise InvalidArgument("waypoints is empty; give at least one TCP pose")
            to_arm = self._arm_from_frame(req.frame_id)
            wps = [to_arm @ _pose_matrix(p) for p in req.waypoints]
            q0 = self._q()
            cart = self._cartesian(q0, wps, step, True)
            result.fraction = float(cart.fraction)
            if cart.fraction + 1e-6 < min_fraction:
                result.final_pose = self._pose_msg(q0)
                raise self._cartesian_failure(cart, "lower min_fraction to execute the feasible part, or change the "
                                                    "waypoints")
            if len(cart.q) < 2:
                result.final_pose = self._pose_msg(q0)
                return
            traj = self._timed(cart.q, scaling, self._plan_checker(True) if self.p_cartesian_check else None)

            def progress(p: float) -> None:
                fb.progress = float(p) * cart.fraction
                k = min(len(cart.waypoint_index) - 1, int(p * (len(cart.waypoint_index) - 1)))
                fb.waypoint_index = int(cart.waypoint_index[k])
                gh.publish_feedback(fb)

            self._execute(traj, motion, progress, deadline)
            q = self._settle(cart.q[-1])
            result.final_pose = self._pose_msg(q)

        return self._run(gh, result, "arm", body)

    def _exec_gripper(self, gh: Any) -> Gripper.Result:
        req = gh.request
        result = Gripper.Result()

        def body(motion: Motion) -> None:
            m = self.model
            assert m is not None and self.gripper is not None
            timeout = self._check_timeout(req.timeout, 5.0)
            require_finite("width/force", [req.width, req.force])
            force = float(req.force) or m.max_force
            if force < 0:
                raise InvalidArgument("force must be >= 0 N")
            if req.command == Gripper.Goal.OPEN:
                width = m.max_width
            elif req.command == Gripper.Goal.CLOSE:
                width = 0.0
            elif req.command == Gripper.Goal.MOVE:
                width = float(req.width)
                if not 0.0 <= width <= m.max_width + 1e-9:
                    raise InvalidArgument(f"width {width} m is outside the gripper stroke [0, {m.max_width}] m")
            else:
                raise InvalidArgument(f"command must be OPEN (0), CLOSE (1) or MOVE (2), got {req.command}")
            interrupt = motion.interrupt
            watcher = threading.Thread(target=self._watch_cancel, args=(motion,), daemon=True)
            watcher.start()
            res = self.gripper.command(width, force, timeout, interrupt)
            result.width = float(res.position)
            self._gripper_width = result.width
            holding = bool(res.stalled) or (req.command == Gripper.Goal.CLOSE and result.width > 0.004)
            result.holding = holding
            self._holding = holding
            q = self._q()
            if holding:
                m.checker.attach_sphere(np.zeros(3), max(result.width / 2, 0.01), q)
            elif req.command == Gripper.Goal.OPEN:
                m.checker.detach()

        return self._run(gh, result, "gripper", body)

    @staticmethod
    def _watch_cancel(motion: Motion) -> None:
        while not motion.done.is_set() and not motion.interrupt.is_set():
            if motion.goal_handle is not None and motion.goal_handle.is_cancel_requested:
                motion.stop("cancelled")
            time.sleep(0.01)

    def _base_pose(self, wait: float = 1.0) -> tuple[float, float, float]:
        deadline = time.monotonic() + wait
        while self._odom is None:
            if time.monotonic() > deadline:
                raise Unavailable("no /odom received; is the mobile base (or the sim) running?")
            time.sleep(0.01)
        p = self._odom.pose.pose
        yaw = Rotation.from_quat([p.orientation.x, p.orientation.y, p.orientation.z, p.orientation.w]).as_euler(
            "xyz")[2]
        return float(p.position.x), float(p.position.y), float(yaw)

    def _odom_frame(self) -> str:
        """Frame of /odom poses (the odom message's header; 'odom' on a real robot, the sim's root in sim)."""
        return (self._odom.header.frame_id.strip().lstrip("/") if self._odom is not None else "") or "odom"

    def _base_grid(self, centre: np.ndarray) -> OccupancyGrid:
        grid = OccupancyGrid.empty(centre, 10.0, 0.05)
        if self._depth is None:
            self.get_logger().warning("no depth image: planning the base path without obstacles")
            return grid
        grid.mark_points(self._depth_cloud(self._odom_frame(), 4, 5.0))
        return grid

    def _exec_move_base(self, gh: Any) -> MoveBase.Result:
        req = gh.request
        result = MoveBase.Result()
        fb = MoveBase.Feedback()

        def body(motion: Motion) -> None:
            m = self.model
            assert m is not None
            if not m.base:
                raise ToolFailure(f"embodiment '{m.embodiment}' has no mobile base", NO_BASE)
            timeout = self._check_timeout(req.timeout, 60.0)
            deadline = time.monotonic() + timeout
            pos_tol = float(req.position_tolerance) or 0.05
            yaw_tol = float(req.yaw_tolerance) or 0.087
            require_finite("tolerances/max_speed", [pos_tol, yaw_tol, req.max_speed])
            max_v = float(req.max_speed) or float(m.base.get("max_linear", 0.5))
            if max_v <= 0 or pos_tol <= 0 or yaw_tol <= 0:
                raise InvalidArgument("tolerances and max_speed must be positive")
            frame = req.target.header.frame_id.strip().lstrip("/")
            x, y, yaw = self._base_pose()
            odom_frame = self._odom_frame()
            to_odom = np.eye(4) if frame in ("", "odom", odom_frame) else self._lookup(odom_frame, frame)
            goal = to_odom @ _pose_matrix(req.target.pose, allow_zero_quat=True)
            goal_xy = goal[:2, 3]
            goal_yaw = math.atan2(goal[1, 0], goal[0, 0])
            x, y, yaw = self._base_pose()
            if req.avoid_obstacles:
                grid = self._base_grid(np.array([x, y]))
                path = plan_base_path(grid, np.array([x, y]), goal_xy, float(m.base.get("footprint_radius", 0.4)))
                if path is None:
                    raise ToolFailure("no obstacle-free path to the target was found in the head camera's view; "
                                      "choose another target or clear the way", BLOCKED)
            else:
                path = [np.array([x, y]), goal_xy]
            pp = PurePursuit(path, goal_yaw, max_v=min(max_v, float(m.base.get("max_linear", max_v))),
                             max_w=float(m.base.get("max_angular", 1.0)), pos_tol=pos_tol, yaw_tol=yaw_tol)
            period = 1.0 / float(self.p_base_rate)
            while True:
                if gh.is_cancel_requested:
                    motion.stop("cancelled")
                if motion.interrupt.is_set():
                    raise MotionInterrupted()
                if time.monotonic() > deadline:
                    self.cmd_vel.publish(Twist())
                    raise Timeout(f"the base did not reach the target within {timeout:.0f} s")
                x, y, yaw = self._base_pose()
                v, w, done = pp.step((x, y, yaw))
                cmd = Twist()
                cmd.linear.x, cmd.angular.z = v, w
                self.cmd_vel.publish(cmd)
                fb.distance_remaining = pp.distance_remaining(np.array([x, y]))
                fb.current_pose = self._odom.pose.pose
                gh.publish_feedback(fb)
                if done:
                    break
                time.sleep(period)
            self.cmd_vel.publish(Twist())
            x, y, yaw = self._base_pose()
            result.final_pose = self._odom.pose.pose
            result.position_error = float(math.hypot(goal_xy[0] - x, goal_xy[1] - y))
            result.yaw_error = float(abs(wrap_angle(goal_yaw - yaw)))

        return self._run(gh, result, "base", body)

    # ================================================================ services
    def _srv_state(self, req: Any, resp: Any) -> Any:
        try:
            if not self._active or self.model is None:
                raise Unavailable("the control node is not active")
            m = self.model
            st = resp.state
            st.embodiment = m.embodiment
            q = self.js.positions(m.joint_names, wait=min(1.0, self.p_state_wait))
            st.joints.name = list(m.joint_names)
            if self.js.header_stamp is not None:  # the clock of the state: lets callers wait for newer camera frames
                st.joints.header.stamp = self.js.header_stamp
            st.joints.position = [float(v) for v in q]
            st.joints.velocity = [float(v) for v in self.js.velocities(m.joint_names)]
            st.ee_pose = self._pose_msg(q)
            if m.finger_joints and self.js.has(m.finger_joints):
                st.gripper_width = float(np.sum(self.js.positions(m.finger_joints)))
            elif math.isfinite(self._gripper_width):
                st.gripper_width = self._gripper_width
            st.gripper_holding = self._holding
            if self._odom is not None:
                st.base_pose = self._odom.pose.pose
                st.base_velocity = self._odom.twist.twist
            else:
                st.base_pose.orientation.w = 1.0
            with self._lock:
                st.moving = bool(self._motions)
            st.estopped = self._estopped
            fill_error(resp, None)
        except Exception as exc:
            fill_error(resp, exc, self.get_logger())
        return resp

    def _srv_stop(self, req: Any, resp: Any) -> Any:
        try:
            if self.model is None:
                raise Unavailable("the control node is not configured")
            self._stop_all("stopped")
            fill_error(resp, None)
        except Exception as exc:
            fill_error(resp, exc, self.get_logger())
        return resp

    def _srv_reset(self, req: Any, resp: Any) -> Any:
        was = self._estopped
        self._estopped = False
        if was:
            self.get_logger().info("e-stop reset: goals are accepted again")
        return fill_error(resp, None)


def main(args: list[str] | None = None) -> None:
    """Run the control node (configured and activated at start unless autostart is false)."""
    import rclpy

    with rclpy.init(args=args):
        node = ControlNode("control")
        autostart = declare(node, "autostart", True, "configure and activate at start")
        spin_node(node, threads=6, autostart=bool(autostart))


if __name__ == "__main__":
    main()
