"""The semantic map is fed by whichever backend serves: a yolo backend (with a stand-in model that reports the fake
scene's ball by its segmentation mask) remembers the ball where it is and publishes it as a marker."""
import time

import numpy as np
from perception_fakes import BALL_C, activate, call, render
from rclpy.parameter import Parameter

from maestro_common.ros_testing import unique_name
from maestro_interfaces.srv import DetectObjects, QuerySemanticMap
from maestro_perception.map_sharing import LATCHED, MAP_MARKERS_TOPIC
from maestro_perception.results import Detection2D
from maestro_perception.yolo_node import YoloBackend


class BallModel:
    """Reports the fake scene's ball ("sports_ball", score 0.8) with its exact mask."""

    names = {0: "sports_ball"}

    def predict(self, rgb, conf, labels=None):
        mask = render()[2] == 1
        assert mask.shape == rgb.shape[:2]
        return [Detection2D("sports_ball", 0.8, Detection2D.box_from_mask(mask), mask)] if 0.8 >= conf else []


def test_yolo_detections_update_the_semantic_map(spinning, ros_context, fake_sim, client_node):
    from pathlib import Path

    from visualization_msgs.msg import MarkerArray

    tiny = str(Path(__file__).with_name("data") / "tiny_yolo11_seg.onnx")
    node = spinning.add(YoloBackend(unique_name("yolo"), context=ros_context, parameter_overrides=[
        Parameter("profile", value=""), Parameter("cameras", value="front"),
        Parameter("base_frame", value="panda_link0"), Parameter("weights", value=tiny),
        Parameter("image_wait", value=2.0)]))
    activate(node)
    node.model = BallModel()
    markers: list = []
    client_node.create_subscription(MarkerArray, MAP_MARKERS_TOPIC, markers.append, LATCHED)
    res = call(client_node, DetectObjects, "/perception/detect_objects", DetectObjects.Request(camera="front"))
    assert res.error_code == 0 and res.backend == "yolo", res.error_msg
    sm = call(client_node, QuerySemanticMap, "/perception/query_semantic_map", QuerySemanticMap.Request(label="ball"))
    assert [o.label for o in sm.objects] == ["sports_ball"] and sm.objects[0].pose.header.frame_id == "world"
    p = sm.objects[0].pose.pose.position
    # seen from above, in the world frame: over the ball centre, on its upper half (radius 3 cm)
    assert np.linalg.norm(np.array([p.x, p.y]) - BALL_C[:2]) < 0.01 and 0.0 < p.z - BALL_C[2] <= 0.03
    assert abs(sm.objects[0].confidence - 0.8) < 0.01  # the detector's score (minus a little age decay)
    deadline = time.monotonic() + 5
    while not markers and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any(m.text.startswith("sports_ball 0.80") for arr in markers for m in arr.markers), markers
