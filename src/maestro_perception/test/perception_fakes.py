"""Fakes for the perception node tests: a ray-cast camera over a small analytic scene, TF, and a ground-truth service."""
from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
from geometry_msgs.msg import TransformStamped
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo
from tf2_msgs.msg import TFMessage

from maestro_common.geometry import matrix_to_transform
from maestro_common.images import numpy_to_image
from maestro_interfaces.msg import Keypoint, SimObject
from maestro_interfaces.srv import GetSceneGroundTruth

W, H, F = 160, 120, 100.0
CX, CY = (W - 1) / 2.0, (H - 1) / 2.0
BASE_IN_WORLD = np.array([0.1, 0.0, 0.0])  # base frame origin in the world (pure translation)
CAM_POS = np.array([0.5, 0.05, 0.8])
# optical z = world -z, optical x = world -y, optical y = world -x
CAM_ROT = np.array([[0.0, -1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])
BALL_C, BALL_R = np.array([0.5, 0.0, 0.03]), 0.03
BOX_LO, BOX_HI = np.array([0.45, 0.12, 0.0]), np.array([0.55, 0.2, 0.06])


def render(with_ball: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """rgb (H, W, 3), depth (H, W) metres along optical z, segmentation (H, W) of the scene (-1 = table)."""
    v, u = np.mgrid[0:H, 0:W].astype(float)
    dc = np.stack([(u - CX) / F, (v - CY) / F, np.ones_like(u)], -1)
    dw = dc @ CAM_ROT.T
    o = CAM_POS
    t_table = -o[2] / dw[..., 2]
    best = t_table.copy()
    seg = np.full((H, W), -1, np.int32)
    # sphere
    oc = o - BALL_C
    b = dw @ oc
    a = (dw * dw).sum(-1)
    disc = b * b - a * (oc @ oc - BALL_R ** 2)
    t_s = np.where(disc > 0, (-b - np.sqrt(np.maximum(disc, 0))) / a, np.inf)
    hit = (t_s < best) & with_ball
    best[hit], seg[hit] = t_s[hit], 1
    # axis-aligned box (slab method)
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (BOX_LO - o) / dw
        t2 = (BOX_HI - o) / dw
    tmin = np.nanmax(np.minimum(t1, t2), axis=-1)
    tmax = np.nanmin(np.maximum(t1, t2), axis=-1)
    t_b = np.where((tmax >= tmin) & (tmin > 0), tmin, np.inf)
    hit = t_b < best
    best[hit], seg[hit] = t_b[hit], 2
    depth = best.astype(np.float32)  # dc has z = 1, so the ray parameter is the optical depth
    rgb = np.full((H, W, 3), 180, np.uint8)
    rgb[seg == 1] = (200, 230, 40)
    rgb[seg == 2] = (40, 90, 220)
    return rgb, depth, seg


def world_to_base(p: np.ndarray) -> np.ndarray:
    """A world point in the base frame."""
    return np.asarray(p) - BASE_IN_WORLD


class FakeSim(Node):
    """Publishes the camera streams of the scene (cameras 'front', 'bad' (depth size wrong) and 'nodepth'), TF,
    and serves /sim/get_scene_ground_truth."""

    def __init__(self, name: str, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.rgb, self.depth, self.seg = render()
        self.gt_calls = 0
        qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
        self.pubs: dict[str, Any] = {}
        from sensor_msgs.msg import Image

        for cam in ("front", "bad", "nodepth"):
            for stream, mtype in (("image_raw", Image), ("depth", Image), ("camera_info", CameraInfo),
                                  ("segmentation", Image)):
                self.pubs[f"{cam}/{stream}"] = self.create_publisher(mtype, f"/{cam}/{stream}", qos)
        static_qos = QoSProfile(depth=10, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                                reliability=ReliabilityPolicy.RELIABLE)
        self.tf_pub = self.create_publisher(TFMessage, "/tf_static", static_qos)
        self.tf_pub.publish(TFMessage(transforms=self._transforms()))
        self.create_service(GetSceneGroundTruth, "/sim/get_scene_ground_truth", self._gt)
        self.timer = self.create_timer(0.05, self._publish)

    def remove_ball(self) -> None:
        """Take the ball out of the scene (it stays in the ground truth, like an object that fell out of view)."""
        self.rgb, self.depth, self.seg = render(with_ball=False)
        time.sleep(0.3)

    def _transforms(self) -> list[TransformStamped]:
        out = []
        base = np.eye(4)
        base[:3, 3] = BASE_IN_WORLD
        cam = np.eye(4)
        cam[:3, :3], cam[:3, 3] = CAM_ROT, CAM_POS
        for child, m in (("panda_link0", base), ("front_camera_optical", cam), ("bad_optical", cam),
                         ("nodepth_optical", cam)):
            t = TransformStamped()
            t.header.frame_id, t.child_frame_id = "world", child
            t.transform = matrix_to_transform(m)
            out.append(t)
        return out

    def _publish(self) -> None:
        stamp = self.get_clock().now().to_msg()
        for cam in ("front", "bad", "nodepth"):
            fid = "front_camera_optical" if cam == "front" else f"{cam}_optical"
            depth = self.depth
            if cam == "bad":
                depth = np.ascontiguousarray(depth[: H // 2, : W // 2])
            if cam == "nodepth":
                depth = np.where(self.seg == 1, np.nan, depth).astype(np.float32)
            self.pubs[f"{cam}/image_raw"].publish(numpy_to_image(self.rgb, "rgb8", fid, stamp))
            self.pubs[f"{cam}/depth"].publish(numpy_to_image(depth, "32FC1", fid, stamp))
            self.pubs[f"{cam}/segmentation"].publish(numpy_to_image(self.seg, "32SC1", fid, stamp))
            info = CameraInfo(width=W, height=H, k=[F, 0.0, CX, 0.0, F, CY, 0.0, 0.0, 1.0])
            info.header.frame_id, info.header.stamp = fid, stamp
            self.pubs[f"{cam}/camera_info"].publish(info)

    def _gt(self, req: Any, res: Any) -> Any:
        self.gt_calls += 1
        ball = SimObject(name="ball", label="tennis_ball", instance_id=1)
        ball.pose.position.x, ball.pose.position.y, ball.pose.position.z = (float(v) for v in BALL_C)
        ball.pose.orientation.w = 1.0
        box = SimObject(name="bowl", label="bowl", instance_id=2)
        c = (BOX_LO + BOX_HI) / 2
        box.pose.position.x, box.pose.position.y, box.pose.position.z = (float(v) for v in c)
        box.pose.orientation.w = 1.0
        rim = Keypoint(name="rim")
        rim.position.x, rim.position.y, rim.position.z = float(c[0]), float(BOX_HI[1]), float(BOX_HI[2])
        box.keypoints = [rim]
        robot = SimObject(name="panda", label="robot", instance_id=7)  # never visible: must not be reported
        res.task, res.objects = "put_ball_in_bowl", [ball, box, robot]
        return res


def call(node: Node, srv_type: Any, name: str, request: Any, timeout: float = 10.0) -> Any:
    """Blocking service call from the test thread (the node spins in the test's executor)."""
    client = node.create_client(srv_type, name)
    try:
        assert client.wait_for_service(timeout_sec=timeout), f"{name} not available"
        done = threading.Event()
        fut = client.call_async(request)
        fut.add_done_callback(lambda _f: done.set())
        assert done.wait(timeout), f"{name} did not answer"
        return fut.result()
    finally:
        node.destroy_client(client)


def activate(node: Any) -> None:
    """configure + activate a lifecycle node directly (no manager)."""
    from lifecycle_msgs.msg import State

    node.trigger_configure()
    assert node._state_machine.current_state[0] == State.PRIMARY_STATE_INACTIVE, "configure failed"
    node.trigger_activate()
