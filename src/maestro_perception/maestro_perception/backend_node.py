"""The lifecycle node every perception backend derives from: it serves the /perception services.

A backend implements only "find things in this image": :meth:`PerceptionBackend.detect` (and optionally
:meth:`segment` and :meth:`point`). This base class turns that into DetectObjects, Segment, PointTo, GetObjectCloud,
GetObjectGeometry, CaptureImages and QuerySemanticMap: camera snapshots, depth -> 3-D in the robot base frame, clouds,
geometry, annotated images, markers, the semantic map and the error codes.

Lifecycle: ``on_configure`` reads the embodiment profile, subscribes the cameras and loads the model
(:meth:`configure_backend`); ``on_activate`` creates the services; ``on_deactivate`` waits for calls in flight (up to
``drain_timeout`` s) and destroys the services, so exactly one backend serves /perception at a time.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from builtin_interfaces.msg import Duration as DurationMsg
from geometry_msgs.msg import Point, Vector3
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.time import Time
from scipy import ndimage
from sensor_msgs.msg import Image
from std_msgs.msg import String
from visualization_msgs.msg import Marker, MarkerArray

from maestro_common.geometry import matrix_to_pose
from maestro_common.images import numpy_to_image
from maestro_common.params import declare
from maestro_common.tf import TfBuffer
from maestro_interfaces.msg import Detection, Keypoint, ObjectGeometry, SemanticObject
from maestro_interfaces.srv import (
    CaptureImages,
    DetectObjects,
    GetObjectCloud,
    GetObjectGeometry,
    PointTo,
    QuerySemanticMap,
    Segment,
    TrackKeypoints,
)
from maestro_perception import cloud as cl
from maestro_perception import geometry as geo
from maestro_perception.annotate import Annotator, annotate_detections, color_for
from maestro_perception.camera_cache import CameraCache, Frame
from maestro_perception.errors import (
    InvalidArgument,
    NoDepth,
    NoDetections,
    NoImage,
    NotFound,
    NotUnderstood,
    SizeMismatch,
    ToolFailure,
    fill_error,
    require_nonempty,
)
from maestro_perception.map_sharing import LATCHED, MAP_MARKERS_TOPIC, MAP_STATE_TOPIC, MapState, map_markers, state_message_text
from maestro_perception.results import Detection2D, Keypoint2D, label_matches
from maestro_perception.semantic_map import SemanticMap
from maestro_perception.tracking_service import KeypointTracks

SERVICES = {
    "detect_objects": DetectObjects,
    "segment": Segment,
    "point_to": PointTo,
    "get_object_cloud": GetObjectCloud,
    "get_object_geometry": GetObjectGeometry,
    "capture_images": CaptureImages,
    "query_semantic_map": QuerySemanticMap,
    "track_keypoints": TrackKeypoints,
}


class PerceptionBackend(LifecycleNode):
    """Base lifecycle node of the perception backends; subclasses implement :meth:`detect`."""

    backend_name = "base"
    uses_segmentation = False

    def __init__(self, node_name: str, **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self.cbg = ReentrantCallbackGroup()
        self.p_profile = declare(self, "profile", "franka", "embodiment profile name or YAML path (cameras, frames)")
        self.p_cameras = declare(self, "cameras", "", "comma-separated camera names; empty = the profile's cameras")
        self.p_main_camera = declare(self, "main_camera", "", "camera used when a request names none; empty = profile")
        self.p_base_frame = declare(self, "base_frame", "", "frame of 3-D outputs; empty = the profile's base frame")
        self.p_map_frame = declare(self, "map_frame", "", "frame of the semantic map; empty = odom, else world")
        self.p_tf_timeout = declare(self, "tf_timeout", 0.5, "seconds to wait for a transform", min_value=0.0,
                                    max_value=10.0)
        self.p_image_wait = declare(self, "image_wait", 1.0, "seconds to wait for a first image before NO_IMAGE",
                                    min_value=0.0, max_value=10.0)
        self.p_drain_timeout = declare(self, "drain_timeout", 5.0, "seconds on_deactivate waits for calls in flight",
                                       min_value=0.0, max_value=60.0)
        self.p_publish_markers = declare(self, "publish_markers", True, "publish /perception/markers")
        self.p_unseen_decay = declare(self, "unseen_decay", 1.0, "semantic map: seconds of confidence decay per look "
                                      "that misses an object expected in view", min_value=0.0, max_value=100.0)
        self.p_camera_qos = declare(self, "camera_qos", "reliable", "camera subscription reliability",
                                    choices=["reliable", "best_effort"])
        self.cameras: CameraCache | None = None
        self.camera_names: list[str] = []
        self.main_camera = ""
        self.base_frame = ""
        self.map_frame = ""
        self.tf: TfBuffer | None = None
        self.semantic_map = SemanticMap()
        self.tracks = KeypointTracks()
        self._perception_services: list[Any] = []
        self._markers_pub: Any = None
        self._map_pubs: tuple[Any, Any] | None = None  # (markers, state)
        self._map_state_sub: Any = None
        self._map_state = MapState(self.get_fully_qualified_name())
        self._inflight = 0
        self._inflight_cv = threading.Condition()
        self._serving = False

    # ---------------------------------------------------------------- hooks for the backends
    def configure_backend(self) -> None:
        """Load models / create clients (raise to fail the configure transition)."""

    def cleanup_backend(self) -> None:
        """Free what :meth:`configure_backend` loaded."""

    def detect(self, frame: Frame, labels: list[str], min_score: float) -> list[Detection2D]:
        """Object instances in ``frame`` (with masks when the backend can), any order; may ignore ``labels``."""
        raise NotImplementedError

    def segment(self, frame: Frame, label: str, instance_id: int) -> Detection2D:
        """The best instance matching ``label`` (or exactly ``instance_id`` when >= 0), with its mask."""
        dets = [d for d in self.detect(frame, [label], 0.0) if label_matches(d.label, [label])]
        if instance_id >= 0:
            dets = [d for d in dets if d.instance_id == instance_id]
        if not dets:
            visible = sorted({d.label for d in self.detect(frame, [], 0.0)})
            raise NotFound(f"no '{label}'{f' with instance_id {instance_id}' if instance_id >= 0 else ''} visible "
                           f"in camera '{frame.camera}'; visible objects: {visible}. Check the label or look from "
                           f"another camera.")
        return max(dets, key=lambda d: d.score)

    def point(self, frame: Frame, query: str, max_points: int) -> list[Keypoint2D]:
        """Points for a described part; default: a named keypoint of a matching object, else the mask centre."""
        q = query.lower().replace("_", " ")
        dets = self.detect(frame, [], 0.0)
        hits: list[Keypoint2D] = []
        for det in sorted(dets, key=lambda d: -d.score):
            if not label_matches(det.label, [w for w in [q] if w]) and det.label.replace("_", " ") not in q:
                continue
            named = [k for k in det.keypoints if k.name.replace("_", " ") in q]
            if named:
                hits += [Keypoint2D(f"{det.label}/{k.name}", k.u, k.v, det.score * k.score) for k in named]
            elif det.mask is not None and det.mask.any():
                u, v = mask_center(det.mask)
                hits.append(Keypoint2D(det.label, u, v, det.score))
            else:
                x0, y0, x1, y1 = det.box
                hits.append(Keypoint2D(det.label, (x0 + x1) / 2.0, (y0 + y1) / 2.0, det.score))
        if not hits:
            raise NotUnderstood(f"backend '{self.backend_name}' found nothing for '{query}' in camera "
                                f"'{frame.camera}'; visible objects: {sorted({d.label for d in dets})}. Name one of "
                                f"them (optionally with a part, e.g. 'mug handle').")
        return sorted(hits, key=lambda k: -k.score)[:max_points]

    # ---------------------------------------------------------------- lifecycle
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Read the profile, subscribe the cameras, load the backend."""
        try:
            self._read_profile()
            if self.tf is None:
                self.tf = TfBuffer(self)
            self.cameras = CameraCache(self, self.camera_names, self.uses_segmentation, self.cbg,
                                       reliable=self.p_camera_qos == "reliable")
            self._markers_pub = self.create_publisher(MarkerArray, "/perception/markers", 10)
            self._map_pubs = (self.create_publisher(MarkerArray, MAP_MARKERS_TOPIC, LATCHED),
                              self.create_publisher(String, MAP_STATE_TOPIC, LATCHED))
            self._map_state_sub = self.create_subscription(String, MAP_STATE_TOPIC, self._on_map_state, LATCHED,
                                                           callback_group=self.cbg)
            self.configure_backend()
        except Exception as exc:  # any failure fails the transition with a clear log line
            self.get_logger().error(f"configure failed: {type(exc).__name__}: {exc}")
            self._release()
            return TransitionCallbackReturn.FAILURE
        self.get_logger().info(f"configured backend '{self.backend_name}' (cameras {self.camera_names}, "
                               f"base frame '{self.base_frame}')")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Create the /perception services."""
        for name, srv in SERVICES.items():
            handler: Callable[[Any, Any], None] = getattr(self, f"_handle_{name}")
            self._perception_services.append(self.create_service(srv, f"/perception/{name}", self._wrap(handler),
                                                      callback_group=self.cbg))
        self._serving = True
        self.get_logger().info(f"backend '{self.backend_name}' is serving /perception")
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Let calls in flight finish, then destroy the services."""
        self._serving = False
        self.tracks.clear()
        deadline = time.monotonic() + self.p_drain_timeout
        with self._inflight_cv:
            while self._inflight > 0 and time.monotonic() < deadline:
                self._inflight_cv.wait(0.05)
        for s in self._perception_services:
            self.destroy_service(s)
        self._perception_services = []
        self.get_logger().info(f"backend '{self.backend_name}' stopped serving")
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Free the model and the subscriptions."""
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Stop serving and free everything."""
        for s in self._perception_services:
            self.destroy_service(s)
        self._perception_services = []
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def _release(self) -> None:
        try:
            self.cleanup_backend()
        except Exception as exc:  # cleanup must not raise into the lifecycle machinery
            self.get_logger().warning(f"cleanup of backend failed: {exc}")
        if self.cameras is not None:
            self.cameras.destroy()
            self.cameras = None
        if self._markers_pub is not None:
            self.destroy_publisher(self._markers_pub)
            self._markers_pub = None
        if self._map_pubs is not None:
            for pub in self._map_pubs:
                self.destroy_publisher(pub)
            self._map_pubs = None
        if self._map_state_sub is not None:
            self.destroy_subscription(self._map_state_sub)
            self._map_state_sub = None

    def _read_profile(self) -> None:
        profile: dict[str, Any] = {}
        if self.p_profile:
            try:
                from maestro_common.profiles import load_profile

                profile = load_profile(self.p_profile)
            except Exception as exc:  # a missing profile is fine when parameters give everything
                self.get_logger().warning(f"profile '{self.p_profile}' not loaded ({exc}); using parameters")
        frames = profile.get("frames", {})
        cams = [c.strip() for c in self.p_cameras.split(",") if c.strip()] or list(profile.get("cameras", {}))
        if not cams:
            raise ValueError("no cameras: set the 'cameras' parameter or a 'profile' with cameras")
        self.camera_names = cams
        self.main_camera = self.p_main_camera or profile.get("main_camera") or cams[0]
        self.base_frame = self.p_base_frame or frames.get("base", "base_link")
        self.map_frame = self.p_map_frame or frames.get("odom") or frames.get("world", "world")

    # ---------------------------------------------------------------- request plumbing
    def _wrap(self, handler: Callable[[Any, Any], None]) -> Callable[[Any, Any], Any]:
        def callback(request: Any, response: Any) -> Any:
            with self._inflight_cv:
                self._inflight += 1
            try:
                if hasattr(response, "backend"):
                    response.backend = self.backend_name
                handler(request, response)
                fill_error(response, None)
            except ToolFailure as exc:
                fill_error(response, exc)
            except Exception as exc:  # never crash on a request: UNKNOWN with the details
                fill_error(response, exc, self.get_logger())
            finally:
                with self._inflight_cv:
                    self._inflight -= 1
                    self._inflight_cv.notify_all()
            return response
        return callback

    def frame(self, camera: str) -> Frame:
        """Latest frame of ``camera`` ("" = main camera); NOT_FOUND for unknown cameras, NO_IMAGE before images."""
        cam = camera.strip() or self.main_camera
        if cam not in self.camera_names:
            raise NotFound(f"unknown camera '{camera}'; available cameras: {self.camera_names}")
        assert self.cameras is not None
        deadline = time.monotonic() + self.p_image_wait
        streams = ["image_raw", "depth", "camera_info"] + (["segmentation"] if self.uses_segmentation else [])
        while not all(self.cameras.raw(cam, s) is not None for s in streams) and time.monotonic() < deadline:
            time.sleep(0.02)  # a first request right after start-up: give every stream a moment to arrive
        snap = self.cameras.snapshot(cam)
        if snap is None:
            raise NoImage(f"no image from camera '{cam}' yet (topic /{cam}/image_raw); check that the camera or the "
                          f"simulator is running, then retry")
        return snap

    def camera_pose(self, frame: Frame, target: str = "") -> np.ndarray:
        """4x4 transform from the camera's optical frame to ``target`` (default: the base frame)."""
        assert self.tf is not None
        if not frame.frame_id:
            raise NoImage(f"image of camera '{frame.camera}' has no frame_id; cannot place it in 3-D")
        return self.tf.lookup(target or self.base_frame, frame.frame_id, timeout=self.p_tf_timeout)

    def _depth_and_intrinsics(self, frame: Frame) -> tuple[np.ndarray, cl.Intrinsics]:
        if frame.depth is None:
            raise NoImage(f"no depth image from camera '{frame.camera}' yet (topic /{frame.camera}/depth)")
        intr = frame.intrinsics()
        if intr is None:
            raise NoImage(f"no valid camera_info from camera '{frame.camera}' yet")
        if frame.depth.shape != (intr.height, intr.width):
            raise SizeMismatch(f"depth image is {frame.depth.shape[1]}x{frame.depth.shape[0]} but camera_info says "
                               f"{intr.width}x{intr.height}; the depth must be registered to the colour camera")
        return frame.depth, intr

    def object_points(self, frame: Frame, mask: np.ndarray, target: str = "") -> np.ndarray:
        """Points of a mask in ``target`` (default base frame); SIZE_MISMATCH / NO_DEPTH on bad data."""
        depth, intr = self._depth_and_intrinsics(frame)
        if mask.shape != depth.shape:
            raise SizeMismatch(f"mask is {mask.shape[1]}x{mask.shape[0]} but depth is {depth.shape[1]}x"
                               f"{depth.shape[0]}; use a mask of the depth image's size")
        pts = cl.depth_to_points(depth, intr, mask)
        if len(pts) == 0:
            raise NoDepth(f"the mask ({int(mask.sum())} pixels) has no valid depth in camera '{frame.camera}'; "
                          f"the object may be too close, too far or transparent; try another camera")
        return cl.transform_points(self.camera_pose(frame, target), pts)

    def point_3d(self, frame: Frame, u: float, v: float) -> np.ndarray | None:
        """Base-frame point at pixel (u, v) from depth, None when depth is missing there."""
        try:
            depth, intr = self._depth_and_intrinsics(frame)
        except ToolFailure:
            return None
        p = cl.pixel_to_point(depth, intr, u, v)
        return None if p is None else cl.transform_points(self.camera_pose(frame), p)[0]

    def _with_centers(self, frame: Frame, dets: list[Detection2D]) -> None:
        for det in dets:
            mask = det.mask if det.mask is not None else box_mask(det.box, frame.rgb.shape[:2])
            try:
                det.center_3d = self.object_points(frame, mask).mean(axis=0)
            except (NoDepth, NoImage, SizeMismatch):
                det.center_3d = None
            for kp in det.keypoints:
                if kp.position is None:
                    kp.position = self.point_3d(frame, kp.u, kp.v)

    def _image_msg(self, rgb: np.ndarray, frame: Frame) -> Image:
        return numpy_to_image(np.ascontiguousarray(rgb, dtype=np.uint8), "rgb8", frame.frame_id, frame.stamp)

    def _header(self, frame: Frame, frame_id: str = "") -> Any:
        from std_msgs.msg import Header

        return Header(stamp=frame.stamp, frame_id=frame_id or self.base_frame)

    # ---------------------------------------------------------------- services
    def _handle_detect_objects(self, req: DetectObjects.Request, res: DetectObjects.Response) -> None:
        labels = [lb.strip() for lb in req.labels if lb.strip()]
        if not np.isfinite(req.min_score) or not 0.0 <= req.min_score <= 1.0:
            raise InvalidArgument(f"min_score must be in [0, 1], got {req.min_score}")
        frame = self.frame(req.camera)
        res.header = self._header(frame)
        dets = [d for d in self.detect(frame, labels, float(req.min_score))
                if d.score >= req.min_score and label_matches(d.label, labels)]
        dets.sort(key=lambda d: -d.score)
        self._with_centers(frame, dets)
        if req.annotate:
            title = f"{self.backend_name}: detect {', '.join(labels) or 'all'} ({len(dets)} found)"
            res.annotated_image = self._image_msg(annotate_detections(frame.rgb, dets, title=title), frame)
        res.detections = [self._detection_msg(d, frame, req.with_masks) for d in dets]
        self._remember(frame, dets, labels)
        self._publish_markers(dets, [], None)
        if not dets:
            raise NoDetections(f"no {' / '.join(labels) or 'objects'} found in camera '{frame.camera}' by "
                               f"'{self.backend_name}'; try other labels, a lower min_score or another camera")

    def _handle_segment(self, req: Segment.Request, res: Segment.Response) -> None:
        label = require_nonempty("label", req.label)
        frame = self.frame(req.camera)
        res.header = self._header(frame)
        det = self.segment(frame, label, int(req.instance_id))
        self._with_centers(frame, [det])
        res.detection = self._detection_msg(det, frame, True)
        res.annotated_image = self._image_msg(
            annotate_detections(frame.rgb, [det], title=f"{self.backend_name}: segment '{label}'"), frame)

    def _handle_point_to(self, req: PointTo.Request, res: PointTo.Response) -> None:
        query = require_nonempty("query", req.query)
        if req.max_points < 0:
            raise InvalidArgument(f"max_points must be >= 0 (0 = 1), got {req.max_points}")
        frame = self.frame(req.camera)
        res.header = self._header(frame)
        pts = self.point(frame, query, max(1, int(req.max_points)))
        for p in pts:
            if p.position is None:
                p.position = self.point_3d(frame, p.u, p.v)
        res.points = [keypoint_msg(p) for p in pts]
        res.annotated_image = self._image_msg(
            annotate_detections(frame.rgb, [], points=pts, title=f"{self.backend_name}: point to '{query}'"), frame)
        self._publish_markers([], pts, None)

    def _object_cloud(self, frame: Frame, label: str, instance_id: int, target: str = ""
                      ) -> tuple[Detection2D, np.ndarray]:
        det = self.segment(frame, label, instance_id)
        mask = det.mask if det.mask is not None else box_mask(det.box, frame.rgb.shape[:2])
        return det, self.object_points(frame, mask, target)

    def _handle_get_object_cloud(self, req: GetObjectCloud.Request, res: GetObjectCloud.Response) -> None:
        label = require_nonempty("label", req.label)
        if not np.isfinite(req.voxel_size) or req.voxel_size < 0 or req.voxel_size > 0.5:
            raise InvalidArgument(f"voxel_size must be in [0, 0.5] m (0 = 0.005), got {req.voxel_size}")
        frame = self.frame(req.camera)
        target = req.target_frame.strip() or self.base_frame
        det, pts = self._object_cloud(frame, label, int(req.instance_id), target)
        pts = cl.filter_cloud(pts, float(req.voxel_size) or 0.005, bool(req.remove_outliers))
        res.header = self._header(frame, target)
        res.cloud = cl.points_to_pointcloud2(pts, target, frame.stamp)
        res.num_points = len(pts)
        c = pts.mean(axis=0)
        res.centroid = Point(x=float(c[0]), y=float(c[1]), z=float(c[2]))
        det.center_3d = c
        res.annotated_image = self._image_msg(annotate_detections(
            frame.rgb, [det], title=f"{self.backend_name}: cloud of '{label}' ({len(pts)} points)"), frame)
        if target == self.base_frame:
            self._publish_markers([det], [], pts)

    def _handle_get_object_geometry(self, req: GetObjectGeometry.Request, res: GetObjectGeometry.Response) -> None:
        label = require_nonempty("label", req.label)
        frame = self.frame(req.camera)
        det, pts = self._object_cloud(frame, label, int(req.instance_id))
        mask = det.mask if det.mask is not None else box_mask(det.box, frame.rgb.shape[:2])
        ring = ndimage.binary_dilation(mask, iterations=max(8, int(0.04 * max(mask.shape)))) & ~ndimage.binary_dilation(
            mask, iterations=3)
        try:
            around = cl.voxel_downsample(self.object_points(frame, ring), 0.005)
        except (NoDepth, SizeMismatch):
            around = None
        pts = cl.filter_cloud(pts, 0.004, True)
        shape = geo.describe_object(pts, around)
        res.header = self._header(frame)
        g = ObjectGeometry(label=det.label, instance_id=det.instance_id, num_points=shape.num_points)
        g.centroid = Point(x=float(shape.centroid[0]), y=float(shape.centroid[1]), z=float(shape.centroid[2]))
        box_t = np.eye(4)
        box_t[:3, :3], box_t[:3, 3] = shape.box.rotation, shape.box.center
        g.obb_pose = matrix_to_pose(box_t)
        g.obb_extent = Vector3(x=float(shape.box.extent[0]), y=float(shape.box.extent[1]),
                               z=float(shape.box.extent[2]))
        g.principal_axes = [Vector3(x=float(a[0]), y=float(a[1]), z=float(a[2])) for a in shape.axes]
        g.top_height, g.bottom_height = float(shape.top_height), float(shape.bottom_height)
        g.support_plane = [float(v) for v in shape.plane.coefficients]
        res.geometry = g
        self._with_centers(frame, [det])
        det.keypoints += self._hinge_axis_keypoints(frame, det, pts)
        res.keypoints = [keypoint_msg(k) for k in det.keypoints]
        ann = Annotator(annotate_detections(frame.rgb, [det], title=f"{self.backend_name}: geometry of '{label}'"))
        intr = frame.intrinsics()
        if intr is not None:
            t_cam = np.linalg.inv(self.camera_pose(frame))
            ann.box_3d(shape.box.corners(), intr, t_cam, color_for(det.instance_id))
            ann.axes(shape.centroid, shape.axes.T, 0.6 * float(shape.box.extent.max()), intr, t_cam,
                     names=("1", "2", "3"))
        res.annotated_image = self._image_msg(ann.image(), frame)
        det.center_3d = shape.centroid
        self._publish_markers([det], [], pts)

    def _handle_track_keypoints(self, req: Any, res: Any) -> None:
        """TrackKeypoints: start or advance the camera's keypoint track (see maestro_perception.tracking_service)."""
        frame = self.frame(req.camera)
        res.header = self._header(frame)
        queries = [q.strip() for q in req.queries if q.strip()]
        results = self.tracks.step(frame.camera, frame.rgb, queries, bool(req.reset),
                                   lambda q: self.point(frame, q, 1), int(req.redetect_every))
        pts = []
        for r in results:
            k = Keypoint2D(r.name, r.u, r.v, r.score if r.ok else 0.0)
            if r.ok:
                k.position = self.point_3d(frame, r.u, r.v)
            pts.append(k)
        res.points = [keypoint_msg(k) for k in pts]
        res.redetected = [bool(r.redetected) for r in results]
        lost = [r.name for r in results if not r.ok]
        title = f"{self.backend_name}: track {len(results) - len(lost)}/{len(results)}" + (
            f" (lost: {', '.join(lost)})" if lost else "")
        res.annotated_image = self._image_msg(annotate_detections(frame.rgb, [], points=[k for k in pts if k.score > 0],
                                                                  title=title), frame)
        self._publish_markers([], [k for k in pts if k.score > 0], None)

    def _hinge_axis_keypoints(self, frame: Frame, door: Detection2D, door_points: np.ndarray) -> list[Keypoint2D]:
        """``hinge_axis_bottom``/``hinge_axis_top`` of a door that has a ``hinge`` keypoint and a visible handle/knob.

        The axis comes from :func:`geometry.hinge_axis_from_door` (door cloud + hinge + nearest handle keypoint or
        centre); its ends span the door points along it. Empty when there is no hinge keypoint or no handle.
        """
        hinge = next((k for k in door.keypoints if k.name == "hinge" and k.position is not None), None)
        if hinge is None or len(door_points) < 10:
            return []
        handles = [d for d in self.detect(frame, ["handle", "knob"], 0.0)
                   if label_matches(d.label, ["handle", "knob"]) and d.instance_id != door.instance_id]
        self._with_centers(frame, handles)
        spots = [next((k.position for k in d.keypoints if k.name == "grasp" and k.position is not None), d.center_3d)
                 for d in handles]
        spots = [np.asarray(p) for p in spots if p is not None]
        if not spots:
            return []
        handle = min(spots, key=lambda p: float(np.linalg.norm(p - hinge.position)))
        try:
            point, axis, _ = geo.hinge_axis_from_door(door_points, hinge.position, handle)
        except ValueError:
            return []
        along = (door_points - point) @ axis
        ends = [point + float(along.min()) * axis, point + float(along.max()) * axis]
        intr = frame.intrinsics()
        uv = [(float("nan"), float("nan"))] * 2
        if intr is not None:
            cam = cl.transform_points(np.linalg.inv(self.camera_pose(frame)), np.array(ends))
            uv = [(float(u), float(v)) for u, v in cl.project_points(cam, intr)[0]]
        return [Keypoint2D(name, u, v, hinge.score, end)
                for name, (u, v), end in zip(("hinge_axis_bottom", "hinge_axis_top"), uv, ends, strict=True)]

    def _handle_capture_images(self, req: CaptureImages.Request, res: CaptureImages.Response) -> None:
        names = [c.strip() for c in req.cameras if c.strip()] or list(self.camera_names)
        unknown = [c for c in names if c not in self.camera_names]
        if unknown:
            raise NotFound(f"unknown camera(s) {unknown}; available cameras: {self.camera_names}")
        for cam in names:
            frame = self.frame(cam)
            res.cameras.append(cam)
            res.images.append(self._image_msg(frame.rgb, frame))
            if req.with_depth:
                if frame.depth_msg is None:
                    raise NoImage(f"no depth image from camera '{cam}' yet")
                res.depths.append(frame.depth_msg)
            if frame.info is not None:
                res.infos.append(frame.info)

    def _handle_query_semantic_map(self, req: QuerySemanticMap.Request, res: QuerySemanticMap.Response) -> None:
        if not np.isfinite(req.min_confidence):
            raise InvalidArgument("min_confidence must be a finite number")
        now = self.get_clock().now()
        for e in self.semantic_map.query(req.label.strip(), float(req.min_confidence), now.nanoseconds * 1e-9):
            o = SemanticObject(label=e.label, instance_id=e.instance_id, confidence=float(e.confidence),
                               times_seen=e.times_seen)
            o.pose.header.frame_id = self.map_frame
            o.pose.header.stamp = Time(nanoseconds=int(e.last_seen * 1e9)).to_msg()
            o.pose.pose.position = Point(x=float(e.position[0]), y=float(e.position[1]), z=float(e.position[2]))
            o.pose.pose.orientation.w = 1.0
            o.first_seen = Time(nanoseconds=int(e.first_seen * 1e9)).to_msg()
            o.last_seen = Time(nanoseconds=int(e.last_seen * 1e9)).to_msg()
            res.objects.append(o)

    # ---------------------------------------------------------------- outputs
    def _detection_msg(self, det: Detection2D, frame: Frame, with_mask: bool) -> Detection:
        msg = Detection(label=det.label, score=float(det.score), instance_id=int(det.instance_id), camera=frame.camera)
        msg.box.x_min, msg.box.y_min, msg.box.x_max, msg.box.y_max = (int(v) for v in det.box)
        if with_mask and det.mask is not None:
            msg.mask = numpy_to_image(det.mask.astype(np.uint8) * 255, "mono8", frame.frame_id, frame.stamp)
        if det.center_3d is not None:
            c = det.center_3d
            msg.center_3d = Point(x=float(c[0]), y=float(c[1]), z=float(c[2]))
            msg.has_center_3d = True
        msg.keypoints = [keypoint_msg(k) for k in det.keypoints]
        return msg

    def _remember(self, frame: Frame, dets: list[Detection2D], labels: list[str]) -> None:
        """Update the semantic map (map frame) with this frame's detections when TF connects the frames.

        Remembered objects (of the requested labels) that should be in view of this camera but were not detected -
        in front of the camera, inside the image, not hidden behind nearer depth - lose confidence
        (``SemanticMap.mark_unseen`` with ``unseen_decay`` seconds per look).
        """
        assert self.tf is not None
        try:
            t_map_base = self.tf.lookup(self.map_frame, self.base_frame)
            t_cam_map = np.linalg.inv(self.camera_pose(frame, self.map_frame))
        except ToolFailure:
            return
        now = self.get_clock().now().nanoseconds * 1e-9  # the node clock, as in query_semantic_map
        seen = {self.semantic_map.observe(d.label, cl.transform_points(t_map_base, d.center_3d)[0], now, d.score,
                                          d.instance_id).key
                for d in dets if d.center_3d is not None}
        intr = frame.intrinsics()
        if intr is None:
            self._share_map()
            return

        def expected_visible(entry: Any) -> bool:
            if not label_matches(entry.label, labels):
                return False
            p = cl.transform_points(t_cam_map, entry.position)[0]
            uv, front = cl.project_points(p, intr)
            u, v = uv[0]
            if not front[0] or not (0 <= u < intr.width and 0 <= v < intr.height):
                return False
            if frame.depth is not None and frame.depth.shape == (intr.height, intr.width):
                d = frame.depth[int(v), int(u)]
                if np.isfinite(d) and d < p[2] - 0.05:
                    return False  # something nearer hides it
            return True

        self.semantic_map.mark_unseen(now, expected_visible, self.p_unseen_decay, seen)
        self._share_map()

    def _share_map(self) -> None:
        """Publish the semantic map as markers and as the state the other backends mirror."""
        if self._map_pubs is None:
            return
        markers_pub, state_pub = self._map_pubs
        markers_pub.publish(map_markers(self.semantic_map.query(), self.map_frame, self.get_clock().now().to_msg()))
        wall = time.time()
        self._map_state.published(wall)
        state_pub.publish(String(data=state_message_text(self.semantic_map, self.get_fully_qualified_name(), wall)))

    def _on_map_state(self, msg: String) -> None:
        """Mirror the map of the backend that is serving (this one is inactive), so a swap keeps the memory."""
        try:
            if self._map_state.apply(msg.data, self.semantic_map, self._serving):
                self.get_logger().debug(f"semantic map taken over: {len(self.semantic_map)} objects")
        except ValueError as exc:
            self.get_logger().warning(f"ignored a semantic map state: {exc}")

    def _publish_markers(self, dets: list[Detection2D], points: list[Keypoint2D], cloud_pts: np.ndarray | None
                         ) -> None:
        if not self.p_publish_markers or self._markers_pub is None:
            return
        arr = MarkerArray()
        clear = Marker(action=Marker.DELETEALL, ns=self.backend_name)
        arr.markers.append(clear)
        life = DurationMsg(sec=10)
        mid = 0

        def base_marker(kind: int, ns: str) -> Marker:
            nonlocal mid
            mid += 1
            m = Marker(type=kind, action=Marker.ADD, ns=f"{self.backend_name}/{ns}", id=mid, lifetime=life)
            m.header.frame_id = self.base_frame
            m.pose.orientation.w = 1.0
            return m

        for i, d in enumerate(dets):
            if d.center_3d is None:
                continue
            r, g, b = (c / 255.0 for c in color_for(d.instance_id if d.instance_id >= 0 else i))
            s = base_marker(Marker.SPHERE, "objects")
            s.pose.position = Point(x=float(d.center_3d[0]), y=float(d.center_3d[1]), z=float(d.center_3d[2]))
            s.scale = Vector3(x=0.02, y=0.02, z=0.02)
            s.color.r, s.color.g, s.color.b, s.color.a = r, g, b, 1.0
            t = base_marker(Marker.TEXT_VIEW_FACING, "labels")
            t.pose.position = Point(x=s.pose.position.x, y=s.pose.position.y, z=s.pose.position.z + 0.05)
            t.scale.z = 0.03
            t.text = f"{d.label} {d.score:.2f}"
            t.color.r = t.color.g = t.color.b = t.color.a = 1.0
            arr.markers += [s, t]
        for p in points:
            if p.position is None:
                continue
            s = base_marker(Marker.SPHERE, "points")
            s.pose.position = Point(x=float(p.position[0]), y=float(p.position[1]), z=float(p.position[2]))
            s.scale = Vector3(x=0.015, y=0.015, z=0.015)
            s.color.r, s.color.a = 1.0, 1.0
            arr.markers.append(s)
        if cloud_pts is not None and len(cloud_pts):
            m = base_marker(Marker.POINTS, "cloud")
            m.scale = Vector3(x=0.004, y=0.004, z=0.0)
            m.color.g, m.color.b, m.color.a = 1.0, 1.0, 0.8
            m.points = [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in cloud_pts[:5000]]
            arr.markers.append(m)
        self._markers_pub.publish(arr)


def keypoint_msg(k: Keypoint2D) -> Keypoint:
    """``maestro_interfaces/Keypoint`` of a :class:`Keypoint2D`."""
    msg = Keypoint(name=k.name, u=float(k.u), v=float(k.v), score=float(k.score))
    if k.position is not None:
        msg.position = Point(x=float(k.position[0]), y=float(k.position[1]), z=float(k.position[2]))
        msg.has_position = True
    return msg


def box_mask(box: tuple[int, int, int, int], shape: tuple[int, int]) -> np.ndarray:
    """Boolean mask of a pixel box."""
    m = np.zeros(shape, dtype=bool)
    x0, y0, x1, y1 = box
    m[max(0, y0): max(0, y1), max(0, x0): max(0, x1)] = True
    return m


def mask_center(mask: np.ndarray) -> tuple[float, float]:
    """The mask pixel closest to the mask's centroid (inside the mask even for rings and crescents)."""
    v, u = np.nonzero(mask)
    cu, cv = u.mean(), v.mean()
    i = int(np.argmin((u - cu) ** 2 + (v - cv) ** 2))
    return float(u[i]), float(v[i])


def run_backend(node_cls: type[PerceptionBackend], node_name: str, args: list[str] | None = None) -> None:
    """``main()`` body shared by the backend executables: spin the lifecycle node in a multithreaded executor."""
    import rclpy

    from maestro_common.node_runner import spin_node

    with rclpy.init(args=args):
        spin_node(node_cls(node_name), threads=4)
