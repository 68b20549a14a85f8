"""Tests of the VLM pointing client (parsing, OpenAI-compatible HTTP via a mock transport) and the vlm backend."""
import json

import httpx
import numpy as np
import pytest
from perception_fakes import BALL_C, BALL_R, activate, call, render, world_to_base

from maestro_interfaces.srv import DetectObjects, GetObjectCloud, PointTo
from maestro_perception.pointing import OpenAIPointingModel, PointingError, make_pointing_model, parse_points
from maestro_perception.vlm_pointing_node import VlmPointingBackend, region_from_point


def test_parse_points_formats():
    pts = parse_points('```json\n[{"point": [500, 250], "label": "handle"}, {"point": [0, 1000]}]\n```', 201, 101)
    assert pts[0][:2] == (50.0, 50.0) and pts[1][:2] == (200.0, 0.0)
    assert pts[0][2] > pts[1][2]
    assert parse_points("[]", 10, 10) == []
    assert parse_points('[{"point": [2000, 5]}, {"point": "x"}]', 10, 10) == []  # out of range / malformed dropped
    with pytest.raises(PointingError):
        parse_points("I cannot see it", 10, 10)


def test_openai_compatible_request_and_answer():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen["path"], seen["auth"], seen["model"] = request.url.path, request.headers.get("authorization"), body["model"]
        content = body["messages"][0]["content"]
        seen["image"] = content[0]["image_url"]["url"][:22]
        seen["text"] = content[1]["text"]
        return httpx.Response(200, json={"choices": [{"message": {"content": '[{"point": [100, 900]}]'}}]})

    model = OpenAIPointingModel("qwen-vl", "http://127.0.0.1:9/v1", "sekret", transport=httpx.MockTransport(handler))
    pts = model.point(np.zeros((101, 201, 3), np.uint8), "the mug handle", 2)
    assert pts == [(180.0, 10.0, 1.0)]
    assert seen["path"] == "/v1/chat/completions" and seen["auth"] == "Bearer sekret" and seen["model"] == "qwen-vl"
    assert seen["image"] == "data:image/png;base64," and "the mug handle" in seen["text"]

    def failing(request):
        return httpx.Response(500, text="boom")

    bad = OpenAIPointingModel("m", "http://127.0.0.1:9/v1", transport=httpx.MockTransport(failing))
    with pytest.raises(PointingError, match="500"):
        bad.point(np.zeros((4, 4, 3), np.uint8), "x")


def test_make_pointing_model_reports_what_is_missing(monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    assert make_pointing_model("", "")[0] is None
    model, why = make_pointing_model("gemini", "gemini-x", api_key_env="MY_KEY")
    assert model is None and "MY_KEY" in why
    model, why = make_pointing_model("openai", "m")
    assert model is None and "base_url" in why
    assert make_pointing_model("openai", "m", "http://127.0.0.1:9/v1")[0] is not None


def test_region_from_point_grows_over_the_object_only():
    _, depth, seg = render()
    v, u = np.argwhere(seg == 1).mean(axis=0)
    region = region_from_point(depth, u, v, radius=60)
    ball = seg == 1
    assert (region & ball).sum() >= 0.9 * ball.sum()
    assert (region & ~ball).sum() <= 0.25 * ball.sum()  # one dilation ring at most


class FakeModel:
    """Points at the ball's pixel centre for any query mentioning 'ball'."""

    def __init__(self):
        _, _, seg = render()
        self.v, self.u = np.argwhere(seg == 1).mean(axis=0)

    def point(self, image, query, max_points=1):
        return [(float(self.u), float(self.v), 0.8)] if "ball" in query else []


@pytest.fixture()
def vlm(spinning, ros_context, fake_sim):
    from rclpy.parameter import Parameter

    from maestro_common.ros_testing import unique_name

    node = VlmPointingBackend(unique_name("vlm"), model=FakeModel(), context=ros_context, parameter_overrides=[
        Parameter("profile", value=""), Parameter("cameras", value="front"),
        Parameter("base_frame", value="panda_link0")])
    spinning.add(node)
    activate(node)
    return node


def test_vlm_backend_points_detects_and_clouds(vlm, client_node):
    res = call(client_node, PointTo, "/perception/point_to", PointTo.Request(query="the tennis ball"))
    assert res.error_code == 0 and res.backend == "vlm_pointing", res.error_msg
    p = res.points[0]
    assert p.has_position and np.linalg.norm(
        np.array([p.position.x, p.position.y]) - world_to_base(BALL_C)[:2]) < 0.005
    res = call(client_node, PointTo, "/perception/point_to", PointTo.Request(query="the giraffe"))
    assert res.error_code == PointTo.Response.NOT_UNDERSTOOD
    res = call(client_node, DetectObjects, "/perception/detect_objects", DetectObjects.Request())
    assert res.error_code == PointTo.Response.NOT_UNDERSTOOD and "labels" in res.error_msg
    res = call(client_node, GetObjectCloud, "/perception/get_object_cloud", GetObjectCloud.Request(label="ball"))
    assert res.error_code == 0, res.error_msg
    c = np.array([res.centroid.x, res.centroid.y, res.centroid.z])
    assert np.linalg.norm(c[:2] - world_to_base(BALL_C)[:2]) < 0.01 and c[2] < 2 * BALL_R + 0.005
