"""Grasp planning node: serves ``/grasp/plan_grasps`` (maestro_interfaces/srv/PlanGrasps).

Lifecycle: ``on_configure`` reads the embodiment profile (base frame, cameras, gripper stroke), subscribes the cameras
and creates the perception client; ``on_activate`` creates the service; ``on_deactivate`` removes it. With the
``autostart`` parameter (default true) ``main()`` configures and activates the node at start.

Clouds:
- object: ``object_cloud`` from the request (any frame in the TF tree), else ``/perception/get_object_cloud`` for
  ``label`` (bounded by ``perception_timeout``).
- scene (collision check): the latest ``/<camera>/depth`` image of the same camera, back-projected with
  ``/<camera>/camera_info`` and moved into the base frame with TF. Without a depth image the check uses the object
  cloud alone (a warning is logged).

Output: top-K grasps in the base frame, an annotated image (grasps drawn on ``/<camera>/image_raw``) and markers on
``/grasp/markers``. Every failure becomes ``error_code``/``error_msg`` in one place (``_on_plan``).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import rclpy
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.lifecycle import LifecycleState, TransitionCallbackReturn
from rclpy.lifecycle import Node as LifecycleNode
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image
from visualization_msgs.msg import MarkerArray

from maestro_common.errors import InvalidArgument, NotFound, Timeout, ToolFailure, Unavailable, fill_error
from maestro_common.geometry import matrix_to_pose, transform_points
from maestro_common.images import image_to_numpy, numpy_to_image
from maestro_common.node_runner import spin_node
from maestro_common.params import declare
from maestro_common.tf import TfBuffer
from maestro_grasp.annotate import draw_grasps
from maestro_grasp.antipodal import AntipodalParams
from maestro_grasp.cloud_msgs import depth_to_points, pointcloud2_to_points
from maestro_grasp.errors import GraspPlanningError, NoCloud
from maestro_grasp.gripper_model import GripperModel, gripper_for
from maestro_grasp.markers import grasp_markers
from maestro_grasp.planner import ApproachMode, GraspPlanner, GraspRequest, PlannerParams, PlanResult
from maestro_interfaces.msg import GraspCandidate
from maestro_interfaces.srv import GetObjectCloud, PlanGrasps

DEFAULT_PART_RADIUS = 0.04
DEFAULT_MAX_ANGLE = 0.5
DEFAULT_CANDIDATES = 5


class GraspNode(LifecycleNode):
    """Lifecycle node that plans antipodal grasps on request."""

    def __init__(self, node_name: str = "grasp", **kwargs: Any) -> None:
        """Declare parameters; everything else is created in ``on_configure``."""
        super().__init__(node_name, **kwargs)
        self.cbg = ReentrantCallbackGroup()
        self.p_profile = declare(self, "profile", "franka", "embodiment profile name or YAML path")
        self.p_base_frame = declare(self, "base_frame", "", "frame of the grasp poses; empty = the profile's base")
        self.p_cameras = declare(self, "cameras", "", "comma-separated camera names; empty = the profile's cameras")
        self.p_main_camera = declare(self, "main_camera", "", "camera used when a request names none; empty = profile")
        self.p_gripper = declare(self, "gripper", "", "gripper model (franka, piper); empty = from the embodiment")
        self.p_max_width = declare(self, "max_width", 0.0, "gripper stroke in m; 0 = the profile's gripper.max_width",
                                   min_value=0.0, max_value=1.0)
        self.p_autostart = declare(self, "autostart", True, "configure and activate at start (no lifecycle manager)")
        self.p_perception_timeout = declare(self, "perception_timeout", 5.0,
                                            "seconds to wait for /perception/get_object_cloud", min_value=0.1,
                                            max_value=60.0)
        self.p_tf_timeout = declare(self, "tf_timeout", 0.5, "seconds to wait for a TF lookup", min_value=0.0,
                                    max_value=10.0)
        self.p_cloud_voxel = declare(self, "cloud_voxel", 0.003, "voxel size asked of perception for object clouds, m",
                                     min_value=0.0, max_value=0.05)
        self.p_depth_stride = declare(self, "depth_stride", 2, "use every n-th depth pixel for the scene cloud",
                                      min_value=1, max_value=16)
        self.p_max_depth = declare(self, "max_depth", 2.5, "ignore depth beyond this for the scene cloud, m",
                                   min_value=0.1, max_value=20.0)
        self.p_friction = declare(self, "friction_coef", 0.5, "friction coefficient for the antipodal test",
                                  min_value=0.05, max_value=2.0)
        self.p_anchors = declare(self, "num_anchors", 256, "first contacts sampled per request", min_value=8,
                                 max_value=4096)
        self.p_seed = declare(self, "seed", 0, "random seed of the sampler (repeatable answers)")
        self.p_camera_qos = declare(self, "camera_qos", "reliable", "camera subscription reliability (best_effort "
                                    "lost most 640x480 depth frames: a scene cloud seconds old)",
                                    choices=["reliable", "best_effort"])
        self.base_frame = ""
        self.camera_names: list[str] = []
        self.camera_frames: dict[str, str] = {}
        self.main_camera = ""
        self.gripper: GripperModel | None = None
        self.params = PlannerParams()
        self.tf: TfBuffer | None = None
        self._latest: dict[tuple[str, str], Any] = {}
        self._latest_lock = threading.Lock()
        self._subs: list[Any] = []
        self._service = None
        self._cloud_client = None
        self._markers_pub = None

    # ------------------------------------------------------------------ lifecycle
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Read the profile, build the gripper model and planner, subscribe the cameras, create the clients."""
        try:
            self._read_profile()
            self.params = PlannerParams(
                antipodal=AntipodalParams(friction_coef=float(self.p_friction), num_anchors=int(self.p_anchors)),
                seed=int(self.p_seed),
            )
            if self.tf is None:
                self.tf = TfBuffer(self)
            qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE if self.p_camera_qos == "reliable"
                             else ReliabilityPolicy.BEST_EFFORT)
            for cam in self.camera_names:
                for stream, mtype in (("image_raw", Image), ("depth", Image), ("camera_info", CameraInfo)):
                    self._subs.append(self.create_subscription(
                        mtype, f"/{cam}/{stream}", self._store(cam, stream), qos, callback_group=self.cbg))
            self._cloud_client = self.create_client(GetObjectCloud, "/perception/get_object_cloud",
                                                    callback_group=self.cbg)
            self._markers_pub = self.create_publisher(MarkerArray, "/grasp/markers", 10)
        except Exception as exc:  # a failed configure is reported, never raised into the lifecycle machinery
            self.get_logger().error(f"configure failed: {type(exc).__name__}: {exc}")
            self._release()
            return TransitionCallbackReturn.FAILURE
        assert self.gripper is not None
        self.get_logger().info(
            f"configured: gripper '{self.gripper.name}' stroke {self.gripper.max_width:.3f} m, base frame "
            f"'{self.base_frame}', cameras {self.camera_names} (main '{self.main_camera}')")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Create the /grasp/plan_grasps service."""
        self._service = self.create_service(PlanGrasps, "/grasp/plan_grasps", self._on_plan, callback_group=self.cbg)
        self.get_logger().info("serving /grasp/plan_grasps")
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Remove the service."""
        self._drop_service()
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Drop subscriptions, clients and publishers."""
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Stop serving and free everything."""
        self._drop_service()
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def _drop_service(self) -> None:
        if self._service is not None:
            self.destroy_service(self._service)
            self._service = None

    def _release(self) -> None:
        for s in self._subs:
            self.destroy_subscription(s)
        self._subs = []
        if self._cloud_client is not None:
            self.destroy_client(self._cloud_client)
            self._cloud_client = None
        if self._markers_pub is not None:
            self.destroy_publisher(self._markers_pub)
            self._markers_pub = None
        with self._latest_lock:
            self._latest.clear()

    def _read_profile(self) -> None:
        profile: dict[str, Any] = {}
        if self.p_profile:
            try:
                from maestro_common.profiles import load_profile

                profile = load_profile(self.p_profile)
            except Exception as exc:  # parameters can stand in for a missing profile
                self.get_logger().warning(f"profile '{self.p_profile}' not loaded ({exc}); using parameters")
        frames = profile.get("frames", {})
        self.base_frame = self.p_base_frame or frames.get("base", "") or "base_link"
        cams = profile.get("cameras", {}) or {}
        self.camera_names = [c.strip() for c in self.p_cameras.split(",") if c.strip()] or list(cams)
        self.camera_frames = {c: (cams.get(c) or {}).get("frame", "") for c in self.camera_names}
        self.main_camera = self.p_main_camera or profile.get("main_camera") or (self.camera_names or [""])[0]
        stroke = float(self.p_max_width) or float((profile.get("gripper") or {}).get("max_width", 0.0) or 0.0)
        name = self.p_gripper or profile.get("embodiment", "") or "franka"
        self.gripper = gripper_for(name, stroke)

    def _store(self, cam: str, stream: str) -> Any:
        def cb(msg: Any) -> None:
            with self._latest_lock:
                self._latest[(cam, stream)] = msg
        return cb

    def _latest_msg(self, cam: str, stream: str) -> Any:
        with self._latest_lock:
            return self._latest.get((cam, stream))

    # ------------------------------------------------------------------ service
    def _on_plan(self, request: PlanGrasps.Request, response: PlanGrasps.Response) -> PlanGrasps.Response:
        """Serve one request; every failure is turned into error_code/error_msg here."""
        t0 = time.perf_counter()
        try:
            self._plan(request, response)
            fill_error(response, None)
        except GraspPlanningError as exc:
            fill_error(response, ToolFailure(exc.message, exc.code))
        except Exception as exc:
            fill_error(response, exc, self.get_logger())
        response.planning_time = float(time.perf_counter() - t0)
        if response.error_code:
            self.get_logger().info(f"plan_grasps '{request.label}': error {response.error_code}: {response.error_msg}")
        return response

    def _plan(self, req: PlanGrasps.Request, resp: PlanGrasps.Response) -> None:
        if self.gripper is None:
            raise Unavailable("grasp node is not configured; configure and activate it first")
        camera = req.camera.strip() or self.main_camera
        if camera and self.camera_names and camera not in self.camera_names:
            raise NotFound(f"unknown camera '{camera}'; known cameras: {self.camera_names}")
        planning_request = self._to_planning_request(req)
        gripper = self.gripper.with_max_width(float(req.max_width))
        obj = self._object_points(req, camera)
        scene, viewpoint = (None, None)
        if req.check_collisions:
            scene, viewpoint = self._scene_points(camera)
        result = GraspPlanner(gripper, self.params).plan(obj, scene, planning_request, viewpoint)
        stamp = self.get_clock().now().to_msg()
        resp.header.frame_id = self.base_frame
        resp.header.stamp = stamp
        resp.grasps = [_candidate(g) for g in result.grasps]
        self.get_logger().info(
            f"plan_grasps '{req.label}': {len(result.grasps)} grasps in {result.planning_time * 1000:.0f} ms "
            f"(best score {result.grasps[0].score:.2f}, width {result.grasps[0].width:.3f} m); {result.stats}")
        if self._markers_pub is not None:
            self._markers_pub.publish(grasp_markers(result.grasps, gripper, self.base_frame, stamp))
        if req.annotate:
            image = self._annotate(camera, result, gripper, obj)
            if image is not None:
                resp.annotated_image = image

    def _to_planning_request(self, req: PlanGrasps.Request) -> GraspRequest:
        """Validate the numeric fields and apply the documented defaults (0 = default)."""
        for name in ("part_radius", "max_approach_angle", "max_width"):
            value = float(getattr(req, name))
            if not np.isfinite(value) or value < 0.0:
                raise InvalidArgument(f"{name} must be a finite number >= 0 (0 = default), got {value}")
        if req.max_candidates < 0:
            raise InvalidArgument(f"max_candidates must be >= 0 (0 = {DEFAULT_CANDIDATES}), got {req.max_candidates}")
        if req.approach_mode not in (m.value for m in ApproachMode):
            raise InvalidArgument(f"approach_mode must be 0 (ANY), 1 (TOP_DOWN) or 2 (ALONG_AXIS), got "
                                  f"{req.approach_mode}")
        axis = np.array([req.approach_axis.x, req.approach_axis.y, req.approach_axis.z], dtype=np.float64)
        if req.approach_mode == ApproachMode.ALONG_AXIS and (not np.all(np.isfinite(axis))
                                                             or np.linalg.norm(axis) < 1e-6):
            raise InvalidArgument("APPROACH_ALONG_AXIS needs a finite, non-zero approach_axis in the base frame")
        keypoints = []
        for kp in req.part_keypoints:
            if not kp.has_position:
                continue
            p = [kp.position.x, kp.position.y, kp.position.z]
            if not np.all(np.isfinite(p)):
                raise InvalidArgument(f"part keypoint '{kp.name}' has a NaN/inf position")
            keypoints.append(p)
        if req.part_keypoints and not keypoints:
            raise InvalidArgument("none of the part_keypoints has a 3D position (has_position=false); get them "
                                  "from perception with depth, or leave part_keypoints empty")
        return GraspRequest(
            max_candidates=int(req.max_candidates) or DEFAULT_CANDIDATES,
            approach_mode=ApproachMode(req.approach_mode),
            approach_axis=axis if req.approach_mode == ApproachMode.ALONG_AXIS else None,
            max_approach_angle=float(req.max_approach_angle) or DEFAULT_MAX_ANGLE,
            part=req.part,
            part_keypoints=np.asarray(keypoints, dtype=np.float64).reshape(-1, 3),
            part_radius=float(req.part_radius) or DEFAULT_PART_RADIUS,
            check_collisions=bool(req.check_collisions),
        )

    def _object_points(self, req: PlanGrasps.Request, camera: str) -> np.ndarray:
        """Object cloud in the base frame: from the request, else from perception."""
        cloud = req.object_cloud
        if cloud.width * cloud.height > 0:
            try:
                pts = pointcloud2_to_points(cloud)
            except ValueError as exc:
                raise InvalidArgument(f"object_cloud is malformed: {exc}") from exc
            frame = cloud.header.frame_id or self.base_frame
        else:
            if not req.label.strip():
                raise NoCloud("no object_cloud and an empty label: give the object's label (perception fetches its "
                              "cloud) or an object_cloud in the base frame")
            pts, frame = self._fetch_cloud(req, camera)
        finite = np.all(np.isfinite(pts), axis=1)
        if pts.shape[0] and not finite.any():
            raise InvalidArgument(f"the object cloud has {pts.shape[0]} points but all are NaN/inf")
        pts = pts[finite]
        if frame.lstrip("/") != self.base_frame:
            pts = transform_points(self._lookup(self.base_frame, frame), pts)
        return pts

    def _fetch_cloud(self, req: PlanGrasps.Request, camera: str) -> tuple[np.ndarray, str]:
        client = self._cloud_client
        timeout = float(self.p_perception_timeout)
        if client is None or not client.wait_for_service(timeout_sec=min(timeout, 2.0)):
            raise NoCloud("perception is not available (/perception/get_object_cloud does not answer); start a "
                          "perception backend or pass object_cloud")
        request = GetObjectCloud.Request(camera=camera, label=req.label.strip(), instance_id=int(req.instance_id),
                                         voxel_size=float(self.p_cloud_voxel), remove_outliers=True,
                                         target_frame=self.base_frame)
        future = client.call_async(request)
        done = threading.Event()
        future.add_done_callback(lambda _f: done.set())
        if not done.wait(timeout):
            client.remove_pending_request(future)
            raise Timeout(f"perception did not return the cloud of '{req.label}' within {timeout:.1f} s; try again "
                          "or raise the perception_timeout parameter")
        res = future.result()
        if res is None:
            raise NoCloud(f"perception failed to answer for '{req.label}'")
        if res.error_code:
            raise NoCloud(f"perception could not provide a cloud of '{req.label}' (error {res.error_code}: "
                          f"{res.error_msg})")
        pts = pointcloud2_to_points(res.cloud)
        if pts.shape[0] == 0:
            raise NoCloud(f"perception returned an empty cloud for '{req.label}'; look from another camera")
        return pts, res.cloud.header.frame_id or res.header.frame_id or self.base_frame

    def _scene_points(self, camera: str) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Scene cloud (base frame) from the camera's latest depth image, and the camera position."""
        depth_msg = self._latest_msg(camera, "depth")
        info = self._latest_msg(camera, "camera_info")
        if depth_msg is None or info is None:
            self.get_logger().warning(f"no depth/camera_info from '{camera}' yet: collision check uses the object "
                                      "cloud only")
            return None, None
        depth = image_to_numpy(depth_msg).astype(np.float64)
        if depth_msg.encoding == "16UC1":
            depth = depth / 1000.0
        k = np.asarray(info.k, dtype=np.float64).reshape(3, 3)
        pts = depth_to_points(depth, k, int(self.p_depth_stride), float(self.p_max_depth))
        frame = depth_msg.header.frame_id or info.header.frame_id or self.camera_frames.get(camera, "")
        base_from_cam = self._lookup(self.base_frame, frame)
        return transform_points(base_from_cam, pts), base_from_cam[:3, 3]

    def _lookup(self, target: str, source: str) -> np.ndarray:
        assert self.tf is not None
        return self.tf.lookup(target, source, timeout=float(self.p_tf_timeout))

    def _annotate(self, camera: str, result: PlanResult, gripper: GripperModel, obj: np.ndarray) -> Image | None:
        """The camera image with the grasps drawn, or None (logged) when no image/intrinsics/TF is available."""
        rgb_msg = self._latest_msg(camera, "image_raw")
        info = self._latest_msg(camera, "camera_info")
        if rgb_msg is None or info is None:
            self.get_logger().warning(f"no image/camera_info from '{camera}': no annotated image")
            return None
        try:
            rgb = image_to_numpy(rgb_msg)
            if rgb_msg.encoding in ("bgr8", "bgra8"):
                rgb = rgb[..., 2::-1]
            elif rgb.ndim == 2:
                rgb = np.repeat(rgb[..., None], 3, axis=2)
            frame = rgb_msg.header.frame_id or info.header.frame_id or self.camera_frames.get(camera, "")
            cam_from_base = self._lookup(frame, self.base_frame)
            k = np.asarray(info.k, dtype=np.float64).reshape(3, 3)
            drawn = draw_grasps(rgb[..., :3], result.grasps, k, cam_from_base, gripper, obj)
        except Exception as exc:  # annotation is best effort: the grasps are still returned
            self.get_logger().warning(f"annotation failed: {type(exc).__name__}: {exc}")
            return None
        return numpy_to_image(np.ascontiguousarray(drawn, dtype=np.uint8), "rgb8", frame, rgb_msg.header.stamp)


def _candidate(g: Any) -> GraspCandidate:
    """GraspCandidate message of a planner grasp."""
    m = np.eye(4)
    m[:3, :3] = g.rotation
    m[:3, 3] = g.position
    c = GraspCandidate()
    c.pose = matrix_to_pose(m)
    c.width = float(g.width)
    c.score = float(g.score)
    c.approach.x, c.approach.y, c.approach.z = (float(v) for v in g.approach)
    c.pre_grasp_offset = float(g.pre_grasp_offset)
    c.part = g.part
    return c


def main(args: list[str] | None = None) -> None:
    """Run the grasp node (configured and activated at start unless autostart is false)."""
    with rclpy.init(args=args):
        node = GraspNode()
        spin_node(node, threads=4, autostart=bool(node.p_autostart))


if __name__ == "__main__":
    main()
