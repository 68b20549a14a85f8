"""grasp_node over ROS, in-process, with a fake perception server and a fake top-down RGB-D camera.

Fake world: a table at z = 0 in ``panda_link0`` with a 3.3 cm ball resting on it at (0.5, 0, 0.033); camera 'front' at
(0.5, 0, 0.6) looking straight down. Perception answers 'ball' with the camera-visible half of the ball, 'slow' after
3 s (longer than the node's perception_timeout), anything else with NOT_FOUND.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from geometry_msgs.msg import TransformStamped
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image
from tf2_msgs.msg import TFMessage
from visualization_msgs.msg import MarkerArray

from maestro_common.errors import NOT_FOUND
from maestro_common.images import image_to_numpy, numpy_to_image
from maestro_common.ros_testing import SpinningExecutor, unique_name, wait_for
from maestro_grasp import errors, synthetic
from maestro_grasp.cloud_msgs import points_to_pointcloud2
from maestro_grasp.grasp_node import GraspNode
from maestro_grasp.gripper_model import FRANKA_HAND
from maestro_interfaces.msg import Keypoint, ToolError
from maestro_interfaces.srv import GetObjectCloud, PlanGrasps

BASE = "panda_link0"
CAM_FRAME = "front_camera_optical"
BALL_C = np.array([0.5, 0.0, 0.033])
BALL_R = 0.033
CAM_POS = np.array([0.5, 0.0, 0.6])
R_BASE_CAM = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]])  # optical z = -Z (down)
W, H, F = 160, 120, 100.0
K = np.array([[F, 0.0, (W - 1) / 2.0], [0.0, F, (H - 1) / 2.0], [0.0, 0.0, 1.0]])


def render_depth() -> np.ndarray:
    """Depth image of the table plane and the ball seen by the fake camera."""
    v, u = np.mgrid[0:H, 0:W]
    d = np.stack([(u - K[0, 2]) / F, (v - K[1, 2]) / F, np.ones_like(u, dtype=float)], axis=-1)  # optical, z = 1
    rays = d @ R_BASE_CAM.T  # base frame, one unit of depth per unit of optical z
    depth = np.full((H, W), CAM_POS[2])  # the table at z = 0
    oc = CAM_POS - BALL_C
    a = np.einsum("hwk,hwk->hw", rays, rays)
    b = 2.0 * rays @ oc
    c = oc @ oc - BALL_R**2
    disc = b * b - 4 * a * c
    hit = disc > 0
    s = (-b - np.sqrt(np.where(hit, disc, 0.0))) / (2 * a)
    depth[hit] = s[hit]
    return depth.astype(np.float32)


def ball_cloud() -> np.ndarray:
    pts, n = synthetic.sphere(3000, radius=BALL_R, centre=tuple(BALL_C))
    return pts[synthetic.visible_from(pts, n, CAM_POS)]


class FakeWorld(Node):
    """Perception server + camera publisher + static TF."""

    def __init__(self, context: Any) -> None:
        super().__init__(unique_name("fake_world"), context=context)
        cbg = ReentrantCallbackGroup()
        self.create_service(GetObjectCloud, "/perception/get_object_cloud", self._cloud, callback_group=cbg)
        self.calls: list[str] = []
        static_qos = QoSProfile(depth=10, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                                reliability=ReliabilityPolicy.RELIABLE)
        self.tf_pub = self.create_publisher(TFMessage, "/tf_static", static_qos)
        t = TransformStamped()
        t.header.frame_id = BASE
        t.child_frame_id = CAM_FRAME
        t.transform.translation.x, t.transform.translation.y, t.transform.translation.z = (float(x) for x in CAM_POS)
        t.transform.rotation.x, t.transform.rotation.w = 1.0, 0.0  # 180 deg about x
        self.tf_pub.publish(TFMessage(transforms=[t]))
        self.rgb_pub = self.create_publisher(Image, "/front/image_raw", 1)
        self.depth_pub = self.create_publisher(Image, "/front/depth", 1)
        self.info_pub = self.create_publisher(CameraInfo, "/front/camera_info", 1)
        rgb = np.zeros((H, W, 3), dtype=np.uint8)
        rgb[..., 1] = 90
        self.rgb = numpy_to_image(rgb, "rgb8", CAM_FRAME)
        self.depth = numpy_to_image(render_depth(), "32FC1", CAM_FRAME)
        self.info = CameraInfo(width=W, height=H, k=K.ravel().tolist())
        self.info.header.frame_id = CAM_FRAME
        self.create_timer(0.1, self._publish, callback_group=cbg)

    def _publish(self) -> None:
        self.rgb_pub.publish(self.rgb)
        self.depth_pub.publish(self.depth)
        self.info_pub.publish(self.info)

    def _cloud(self, req: GetObjectCloud.Request, res: GetObjectCloud.Response) -> GetObjectCloud.Response:
        self.calls.append(req.label)
        if req.label == "slow":
            time.sleep(3.0)
        if req.label in ("ball", "slow"):
            pts = ball_cloud()
            res.cloud = points_to_pointcloud2(pts, BASE)
            res.header.frame_id = BASE
            res.num_points = len(pts)
            return res
        res.error_code = NOT_FOUND
        res.error_msg = f"no object '{req.label}' in view; visible objects: ['ball']"
        return res


class World:
    """Everything one test module needs: context, executor, grasp node, fake world, client node."""

    def __init__(self) -> None:
        import rclpy
        from rclpy.context import Context

        self.context = Context()
        rclpy.init(context=self.context)
        self.ex = SpinningExecutor(self.context)
        self.fake = self.ex.add(FakeWorld(self.context))
        overrides = [Parameter("cameras", value="front"), Parameter("main_camera", value="front"),
                     Parameter("perception_timeout", value=1.0), Parameter("tf_timeout", value=1.0)]
        self.grasp = GraspNode(unique_name("grasp"), context=self.context, parameter_overrides=overrides)
        self.ex.add(self.grasp)
        self.client_node = self.ex.add(Node(unique_name("grasp_client"), context=self.context))
        self.client = self.client_node.create_client(PlanGrasps, "/grasp/plan_grasps")
        self.markers: list[MarkerArray] = []
        self.client_node.create_subscription(MarkerArray, "/grasp/markers", self.markers.append, 10)

    def activate(self) -> None:
        from rclpy.lifecycle import TransitionCallbackReturn

        assert self.grasp.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert self.grasp.trigger_activate() == TransitionCallbackReturn.SUCCESS
        assert self.client.wait_for_service(timeout_sec=10.0)
        # Camera messages and the static TF reach the grasp node.
        assert wait_for(lambda: self.grasp._latest_msg("front", "depth") is not None, 10.0)

    def call(self, req: PlanGrasps.Request, timeout: float = 30.0) -> PlanGrasps.Response:
        done = threading.Event()
        future = self.client.call_async(req)
        future.add_done_callback(lambda _f: done.set())
        assert done.wait(timeout), "plan_grasps did not answer"
        return future.result()

    def close(self) -> None:
        import rclpy

        self.ex.close()
        rclpy.shutdown(context=self.context)


@pytest.fixture(scope="module")
def world(ros_domain: int) -> Iterator[World]:
    w = World()
    try:
        w.activate()
        yield w
    finally:
        w.close()


def request(**kwargs: Any) -> PlanGrasps.Request:
    req = PlanGrasps.Request(check_collisions=True, annotate=True, instance_id=-1)
    for k, v in kwargs.items():
        setattr(req, k, v)
    return req


def test_error_codes_match_the_srv() -> None:
    assert errors.NO_CLOUD == PlanGrasps.Response.NO_CLOUD
    assert errors.NO_GRASPS == PlanGrasps.Response.NO_GRASPS
    assert errors.OBJECT_TOO_WIDE == PlanGrasps.Response.OBJECT_TOO_WIDE
    assert errors.INVALID_ARGUMENT == ToolError.INVALID_ARGUMENT
    assert errors.TIMEOUT == ToolError.TIMEOUT


def _lowest_finger_z(c: Any) -> float:
    from maestro_common.geometry import pose_to_matrix

    m = pose_to_matrix(c.pose)
    centres, halves = FRANKA_HAND.boxes(np.array([min(c.width + 0.02, 0.08)]))
    lows = []
    for b in range(2):
        for corner in np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1])).T.reshape(-1, 3):
            p_local = centres[0, b] + corner * halves[0, b]
            lows.append((m[:3, :3] @ p_local + m[:3, 3])[2])
    return float(min(lows))


def test_plan_from_object_cloud_with_scene_and_annotation(world: World) -> None:
    n_markers = len(world.markers)
    res = world.call(request(label="ball", object_cloud=points_to_pointcloud2(ball_cloud(), BASE)))
    assert res.error_code == 0, res.error_msg
    assert res.header.frame_id == BASE
    assert 1 <= len(res.grasps) <= 5
    assert res.planning_time > 0.0
    scores = [g.score for g in res.grasps]
    assert scores == sorted(scores, reverse=True)
    for g in res.grasps:
        assert 0.05 < g.width < 0.08
        a = np.array([g.approach.x, g.approach.y, g.approach.z])
        assert np.linalg.norm(a) == pytest.approx(1.0, abs=1e-5)
        assert g.pre_grasp_offset > 0.0
        # The scene cloud from depth holds the table: no finger reaches below it.
        assert _lowest_finger_z(g) > -0.003
    best = res.grasps[0]
    p = np.array([best.pose.position.x, best.pose.position.y, best.pose.position.z])
    assert np.linalg.norm(p - BALL_C) < 0.02
    img = image_to_numpy(res.annotated_image)
    assert img.shape == (H, W, 3)
    background = np.array([0, 90, 0])
    assert np.any(np.any(img != background, axis=2))  # something was drawn
    assert wait_for(lambda: len(world.markers) > n_markers, 5.0)
    assert len(world.markers[-1].markers) == 1 + 2 * len(res.grasps)


def test_plan_by_label_asks_perception(world: World) -> None:
    res = world.call(request(label="ball", approach_mode=PlanGrasps.Request.APPROACH_TOP_DOWN))
    assert res.error_code == 0, res.error_msg
    assert "ball" in world.fake.calls
    for g in res.grasps:
        assert g.approach.z <= -np.cos(0.5) + 1e-6
    p = res.grasps[0].pose.position
    assert np.linalg.norm(np.array([p.x, p.y, p.z]) - BALL_C) < 0.02


def test_part_keypoints(world: World) -> None:
    kp = Keypoint(name="side", has_position=True)
    kp.position.x, kp.position.y, kp.position.z = 0.5, 0.0, 0.033
    res = world.call(request(label="ball", part="side", part_keypoints=[kp], part_radius=0.02))
    assert res.error_code == 0, res.error_msg
    assert all(g.part == "side" for g in res.grasps)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({}, PlanGrasps.Response.NO_CLOUD),  # no label, no cloud
        ({"label": "   "}, PlanGrasps.Response.NO_CLOUD),
        ({"label": "unicorn"}, PlanGrasps.Response.NO_CLOUD),  # perception: NOT_FOUND
        ({"label": "ball", "part_radius": float("nan")}, ToolError.INVALID_ARGUMENT),
        ({"label": "ball", "max_approach_angle": -1.0}, ToolError.INVALID_ARGUMENT),
        ({"label": "ball", "approach_mode": 7}, ToolError.INVALID_ARGUMENT),
        ({"label": "ball", "approach_mode": PlanGrasps.Request.APPROACH_ALONG_AXIS}, ToolError.INVALID_ARGUMENT),
        ({"label": "ball", "camera": "nope"}, ToolError.NOT_FOUND),
        ({"label": "ball", "part_keypoints": [Keypoint(name="x", has_position=False)]}, ToolError.INVALID_ARGUMENT),
    ],
)
def test_bad_requests_get_codes(world: World, kwargs: dict, code: int) -> None:
    res = world.call(request(**kwargs))
    assert res.error_code == code, res.error_msg
    assert res.error_msg
    assert not res.grasps


def test_nan_cloud(world: World) -> None:
    res = world.call(request(object_cloud=points_to_pointcloud2(np.full((100, 3), np.nan), BASE)))
    assert res.error_code == ToolError.INVALID_ARGUMENT


def test_too_wide_object(world: World) -> None:
    pts, _ = synthetic.sphere(2000, radius=0.06, centre=(0.5, 0.0, 0.06))
    res = world.call(request(object_cloud=points_to_pointcloud2(pts, BASE)))
    assert res.error_code == PlanGrasps.Response.OBJECT_TOO_WIDE, res.error_msg
    # A smaller stroke in the request makes the ball too wide as well.
    res = world.call(request(object_cloud=points_to_pointcloud2(ball_cloud(), BASE), max_width=0.05))
    assert res.error_code == PlanGrasps.Response.OBJECT_TOO_WIDE, res.error_msg


def test_no_grasps_on_a_flat_patch(world: World) -> None:
    rng = np.random.default_rng(0)
    patch = np.c_[rng.uniform(0.45, 0.55, (600, 2)), np.full(600, 0.001)]
    res = world.call(request(object_cloud=points_to_pointcloud2(patch, BASE)))
    assert res.error_code == PlanGrasps.Response.NO_GRASPS, res.error_msg


def test_perception_timeout_then_keeps_serving(world: World) -> None:
    t0 = time.monotonic()
    res = world.call(request(label="slow"))
    assert res.error_code == ToolError.TIMEOUT, res.error_msg
    assert time.monotonic() - t0 < 2.9  # bounded by perception_timeout (1 s), not by the 3 s server
    res = world.call(request(label="ball"), timeout=10.0)
    assert res.error_code == 0, res.error_msg


def test_concurrent_requests(world: World) -> None:
    results: list[PlanGrasps.Response] = []
    threads = [threading.Thread(target=lambda: results.append(world.call(request(label="ball")))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30.0)
    assert len(results) == 2 and all(r.error_code == 0 for r in results)
