"""Node tests of the sim_gt backend against the fake simulator (codes for bad inputs, exact 3-D results)."""
import numpy as np
import pytest
from perception_fakes import BALL_C, BALL_R, BOX_HI, activate, call, world_to_base

from maestro_interfaces.srv import (
    CaptureImages,
    DetectObjects,
    GetObjectCloud,
    GetObjectGeometry,
    PointTo,
    QuerySemanticMap,
    Segment,
)
from maestro_perception.cloud import pointcloud2_to_points
from maestro_perception.sim_gt_node import SimGtBackend

INVALID_ARGUMENT, NOT_FOUND = 2, 3


@pytest.fixture()
def sim_gt(spinning, ros_context, fake_sim):
    from rclpy.parameter import Parameter

    from maestro_common.ros_testing import unique_name

    node = SimGtBackend(unique_name("sim_gt"), context=ros_context, parameter_overrides=[
        Parameter("profile", value=""), Parameter("cameras", value="front,wrist,bad,nodepth"),
        Parameter("base_frame", value="panda_link0"), Parameter("image_wait", value=2.0)])
    spinning.add(node)
    activate(node)
    return node


def test_detect_all_and_by_label(sim_gt, client_node):
    res = call(client_node, DetectObjects, "/perception/detect_objects",
               DetectObjects.Request(camera="front", annotate=True, with_masks=True))
    assert res.error_code == 0, res.error_msg
    assert res.backend == "sim_gt" and res.header.frame_id == "panda_link0"
    assert sorted(d.label for d in res.detections) == ["bowl", "tennis_ball"]  # robot is not visible
    ball = next(d for d in res.detections if d.label == "tennis_ball")
    assert ball.has_center_3d and ball.mask.width == 160 and ball.instance_id == 1
    c = np.array([ball.center_3d.x, ball.center_3d.y, ball.center_3d.z])
    # visible cap of a sphere seen from above: centroid between the centre and the top
    assert np.linalg.norm(c[:2] - world_to_base(BALL_C)[:2]) < 0.005
    assert BALL_C[2] < c[2] < BALL_C[2] + BALL_R
    assert res.annotated_image.width == 160 and res.annotated_image.encoding == "rgb8"
    bowl = next(d for d in res.detections if d.label == "bowl")
    assert [k.name for k in bowl.keypoints] == ["rim"] and bowl.keypoints[0].has_position
    res = call(client_node, DetectObjects, "/perception/detect_objects", DetectObjects.Request(labels=["ball"]))
    assert [d.label for d in res.detections] == ["tennis_ball"] and res.detections[0].mask.width == 0
    res = call(client_node, DetectObjects, "/perception/detect_objects", DetectObjects.Request(labels=["giraffe"]))
    assert res.error_code == DetectObjects.Response.NO_DETECTIONS and "giraffe" in res.error_msg


def test_bad_inputs_give_codes_and_node_keeps_serving(sim_gt, client_node):
    cases = [
        (DetectObjects, "detect_objects", DetectObjects.Request(camera="nope"), NOT_FOUND),
        (DetectObjects, "detect_objects", DetectObjects.Request(min_score=float("nan")), INVALID_ARGUMENT),
        (DetectObjects, "detect_objects", DetectObjects.Request(camera="wrist"), DetectObjects.Response.NO_IMAGE),
        (Segment, "segment", Segment.Request(label=" "), INVALID_ARGUMENT),
        (Segment, "segment", Segment.Request(label="giraffe"), NOT_FOUND),
        (Segment, "segment", Segment.Request(label="bowl", instance_id=1), NOT_FOUND),
        (PointTo, "point_to", PointTo.Request(query=""), INVALID_ARGUMENT),
        (PointTo, "point_to", PointTo.Request(query="the purple elephant"), PointTo.Response.NOT_UNDERSTOOD),
        (GetObjectCloud, "get_object_cloud", GetObjectCloud.Request(label=""), INVALID_ARGUMENT),
        (GetObjectCloud, "get_object_cloud", GetObjectCloud.Request(label="bowl", voxel_size=-1.0), INVALID_ARGUMENT),
        (GetObjectCloud, "get_object_cloud", GetObjectCloud.Request(camera="bad", label="bowl"),
         GetObjectCloud.Response.SIZE_MISMATCH),
        (GetObjectCloud, "get_object_cloud", GetObjectCloud.Request(camera="nodepth", label="tennis_ball"),
         GetObjectCloud.Response.NO_DEPTH),
        (GetObjectCloud, "get_object_cloud", GetObjectCloud.Request(label="bowl", target_frame="moon"), 8),
        (GetObjectGeometry, "get_object_geometry", GetObjectGeometry.Request(label="giraffe"), NOT_FOUND),
        (CaptureImages, "capture_images", CaptureImages.Request(cameras=["front", "nope"]), NOT_FOUND),
    ]
    for srv, name, req, code in cases:
        res = call(client_node, srv, f"/perception/{name}", req)
        assert res.error_code == code, f"{name} {req}: got {res.error_code} {res.error_msg}"
        assert res.error_msg, name
    res = call(client_node, DetectObjects, "/perception/detect_objects", DetectObjects.Request())
    assert res.error_code == 0


def test_cloud_geometry_point_capture_and_map(sim_gt, client_node):
    res = call(client_node, GetObjectCloud, "/perception/get_object_cloud",
               GetObjectCloud.Request(label="tennis_ball", remove_outliers=True))
    assert res.error_code == 0, res.error_msg
    pts = pointcloud2_to_points(res.cloud)
    assert len(pts) == res.num_points > 20 and res.cloud.header.frame_id == "panda_link0"
    dist = np.linalg.norm(pts - world_to_base(BALL_C), axis=1)
    assert np.all(np.abs(dist - BALL_R) < 0.004)  # every point lies on the sphere
    res = call(client_node, GetObjectCloud, "/perception/get_object_cloud",
               GetObjectCloud.Request(label="bowl", target_frame="world"))
    assert res.header.frame_id == "world" and abs(res.centroid.z - BOX_HI[2]) < 0.01

    geo = call(client_node, GetObjectGeometry, "/perception/get_object_geometry",
               GetObjectGeometry.Request(label="bowl"))
    assert geo.error_code == 0, geo.error_msg
    g = geo.geometry
    assert abs(g.top_height - BOX_HI[2]) < 0.003
    np.testing.assert_allclose(g.support_plane, [0, 0, 1, 0], atol=0.003)  # the table, z = 0
    assert geo.keypoints[0].name == "rim" and geo.annotated_image.width == 160

    pt = call(client_node, PointTo, "/perception/point_to", PointTo.Request(query="the rim of the bowl"))
    assert pt.error_code == 0 and pt.points[0].name == "bowl/rim" and pt.points[0].has_position
    pt = call(client_node, PointTo, "/perception/point_to", PointTo.Request(query="tennis ball", max_points=3))
    assert pt.points[0].has_position and abs(pt.points[0].position.z - 2 * BALL_R) < 0.01

    cap = call(client_node, CaptureImages, "/perception/capture_images",
               CaptureImages.Request(cameras=["front"], with_depth=True))
    assert cap.error_code == 0 and cap.cameras == ["front"] and cap.depths[0].encoding == "32FC1"

    call(client_node, DetectObjects, "/perception/detect_objects", DetectObjects.Request())  # feeds the map
    sm = call(client_node, QuerySemanticMap, "/perception/query_semantic_map", QuerySemanticMap.Request(label="ball"))
    assert sm.error_code == 0 and [o.label for o in sm.objects] == ["tennis_ball"]
    assert sm.objects[0].pose.header.frame_id == "world"


def test_markers_and_semantic_map_decay_when_an_object_disappears(sim_gt, client_node, fake_sim):
    from visualization_msgs.msg import MarkerArray

    got = []
    client_node.create_subscription(MarkerArray, "/perception/markers", got.append, 10)
    call(client_node, DetectObjects, "/perception/detect_objects", DetectObjects.Request())
    q = QuerySemanticMap.Request(label="tennis_ball")
    before = call(client_node, QuerySemanticMap, "/perception/query_semantic_map", q).objects[0].confidence
    fake_sim.remove_ball()
    res = call(client_node, DetectObjects, "/perception/detect_objects", DetectObjects.Request())
    assert [d.label for d in res.detections] == ["bowl"]
    after = call(client_node, QuerySemanticMap, "/perception/query_semantic_map", q).objects[0]
    assert after.confidence < 0.7 * before and after.times_seen == 1
    bowl = call(client_node, QuerySemanticMap, "/perception/query_semantic_map",
                QuerySemanticMap.Request(label="bowl")).objects[0]
    assert bowl.times_seen == 2 and bowl.confidence > 0.95  # seen again: no miss decay
    import time

    deadline = time.monotonic() + 3
    while not got and time.monotonic() < deadline:
        time.sleep(0.05)
    texts = {m.text for arr in got for m in arr.markers if m.text}
    assert any(t.startswith("bowl") for t in texts)
