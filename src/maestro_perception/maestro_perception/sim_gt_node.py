"""``sim_gt`` backend: exact detections from the simulator's segmentation render and scene ground truth.

Masks come from ``/<camera>/segmentation`` (32SC1 instance ids); labels, instance ids and part keypoints from
``/sim/get_scene_ground_truth``. Only simulation uses this backend; on a real robot use ``yolo`` or ``vlm_pointing``.
"""
from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from maestro_common.geometry import pose_to_matrix
from maestro_common.params import declare
from maestro_interfaces.srv import GetSceneGroundTruth
from maestro_perception import cloud as cl
from maestro_perception.backend_node import PerceptionBackend, run_backend
from maestro_perception.camera_cache import Frame
from maestro_perception.errors import NoImage, SizeMismatch, Timeout, ToolFailure, Unavailable
from maestro_perception.results import Detection2D, Keypoint2D

__all__ = ["SimGtBackend", "call_service", "main"]


def call_service(client: Any, request: Any, timeout: float, what: str, discovery_timeout: float = 1.0) -> Any:
    """Call a service from inside a callback without spinning: wait on the future (needs a multithreaded executor).

    Waits at most ``discovery_timeout`` s for the server to appear (UNAVAILABLE), then ``timeout`` s for the answer
    (TIMEOUT).
    """
    if not client.service_is_ready() and not client.wait_for_service(timeout_sec=min(timeout, discovery_timeout)):
        raise Unavailable(f"service {client.srv_name} is not available; start {what} and retry")
    done = threading.Event()
    future = client.call_async(request)
    future.add_done_callback(lambda _f: done.set())
    if not done.wait(timeout):
        client.remove_pending_request(future)
        raise Timeout(f"{client.srv_name} did not answer within {timeout:.1f} s; is {what} busy?")
    result = future.result()
    if result is None:
        raise Unavailable(f"{client.srv_name} failed: {future.exception()}")
    return result


class SimGtBackend(PerceptionBackend):
    """Ground-truth perception for the simulator."""

    backend_name = "sim_gt"
    uses_segmentation = True

    def __init__(self, node_name: str = "perception_sim_gt", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self.p_gt_service = declare(self, "ground_truth_service", "/sim/get_scene_ground_truth",
                                    "GetSceneGroundTruth service of the simulator")
        self.p_gt_timeout = declare(self, "ground_truth_timeout", 5.0, "seconds to wait for the ground truth",
                                    min_value=0.1, max_value=30.0)
        self.p_gt_max_age = declare(self, "ground_truth_max_age", 0.2,
                                    "reuse a ground-truth answer younger than this (s); 0 = ask every time",
                                    min_value=0.0, max_value=10.0)
        self.p_min_pixels = declare(self, "min_pixels", 20, "fewer visible pixels than this = not detected",
                                    min_value=1, max_value=100000)
        self.p_world_frame = declare(self, "world_frame", "world", "frame of the ground-truth poses")
        self._gt_client: Any = None
        self._gt_cache: tuple[float, list[Any]] | None = None
        self._gt_lock = threading.Lock()

    def configure_backend(self) -> None:
        """Create the ground-truth client."""
        self._gt_client = self.create_client(GetSceneGroundTruth, self.p_gt_service, callback_group=self.cbg)

    def cleanup_backend(self) -> None:
        """Drop the ground-truth client."""
        if self._gt_client is not None:
            self.destroy_client(self._gt_client)
            self._gt_client = None

    def ground_truth(self) -> list[Any]:
        """SimObject list of the current scene (cached for ``ground_truth_max_age`` s)."""
        with self._gt_lock:
            now = time.monotonic()
            if self._gt_cache is not None and now - self._gt_cache[0] <= self.p_gt_max_age:
                return self._gt_cache[1]
            res = call_service(self._gt_client, GetSceneGroundTruth.Request(), self.p_gt_timeout, "the simulator")
            if res.error_code != 0:
                raise Unavailable(f"ground truth failed ({res.error_code}): {res.error_msg}")
            self._gt_cache = (time.monotonic(), list(res.objects))
            return self._gt_cache[1]

    def detect(self, frame: Frame, labels: list[str], min_score: float) -> list[Detection2D]:
        """Every ground-truth object with at least ``min_pixels`` visible pixels in the segmentation render."""
        if frame.segmentation is None:
            raise NoImage(f"no segmentation image from camera '{frame.camera}' yet "
                          f"(topic /{frame.camera}/segmentation); the sim_gt backend needs the simulator's render")
        seg = frame.segmentation
        if seg.shape != frame.rgb.shape[:2]:
            raise SizeMismatch(f"segmentation is {seg.shape[1]}x{seg.shape[0]} but the image is "
                               f"{frame.rgb.shape[1]}x{frame.rgb.shape[0]}")
        objects = self.ground_truth()
        ids = np.array([o.instance_id for o in objects], dtype=np.int64)
        counts = np.bincount(np.clip(seg.ravel(), -1, None) + 1, minlength=int(ids.max(initial=0)) + 2)
        intr = frame.intrinsics()
        try:
            t_cam_world = self.camera_pose(frame, self.p_world_frame)
            t_cam_world = np.linalg.inv(t_cam_world)
            t_base_world = self.tf.lookup(self.base_frame, self.p_world_frame, timeout=self.p_tf_timeout) \
                if self.tf else None
        except ToolFailure:
            t_cam_world = t_base_world = None
        dets = []
        for obj in objects:
            if obj.instance_id < 0 or counts[obj.instance_id + 1] < self.p_min_pixels:
                continue
            mask = seg == obj.instance_id
            det = Detection2D(obj.label or obj.name, 1.0, Detection2D.box_from_mask(mask), mask, int(obj.instance_id))
            if intr is not None and t_cam_world is not None and t_base_world is not None:
                det.keypoints = self._keypoints(obj, intr, t_cam_world, t_base_world, frame)
            dets.append(det)
        return dets

    def _keypoints(self, obj: Any, intr: cl.Intrinsics, t_cam_world: np.ndarray, t_base_world: np.ndarray,
                   frame: Frame) -> list[Keypoint2D]:
        """Ground-truth part keypoints inside the image, with exact base-frame positions.

        A keypoint hidden behind something nearer (depth more than 2 cm in front of it) keeps score 0.5.
        """
        if not obj.keypoints:
            return []
        world = np.array([[k.position.x, k.position.y, k.position.z] for k in obj.keypoints])
        cam = cl.transform_points(t_cam_world, world)
        uv, front = cl.project_points(cam, intr)
        base = cl.transform_points(t_base_world, world)
        out = []
        for k, (u, v), ok, pc, pb in zip(obj.keypoints, uv, front, cam, base, strict=True):
            if not ok or not (0 <= u < intr.width and 0 <= v < intr.height):
                continue
            score = 1.0
            if frame.depth is not None and frame.depth.shape == (intr.height, intr.width):
                d = frame.depth[int(v), int(u)]
                if np.isfinite(d) and d < pc[2] - 0.02:
                    score = 0.5
            out.append(Keypoint2D(k.name, float(u), float(v), score, pb))
        return out

    def object_pose_world(self, obj: Any) -> np.ndarray:
        """4x4 ground-truth pose of a SimObject in the world frame."""
        return pose_to_matrix(obj.pose)


def main(args: list[str] | None = None) -> None:
    """Run the sim_gt backend node."""
    run_backend(SimGtBackend, "perception_sim_gt", args)


if __name__ == "__main__":
    main()
