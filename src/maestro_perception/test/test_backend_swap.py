"""Manager tests: swap sim_gt -> yolo -> sim_gt while a client keeps calling; bad selections give codes."""
import threading
import time
from pathlib import Path

import pytest
from perception_fakes import FakeSim, call
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter

from maestro_common.ros_testing import unique_name
from maestro_interfaces.srv import DetectObjects, SelectBackend
from maestro_perception.manager_node import PerceptionManager, parse_backends
from maestro_perception.sim_gt_node import SimGtBackend
from maestro_perception.vlm_pointing_node import VlmPointingBackend
from maestro_perception.yolo_node import YoloBackend

TINY = str(Path(__file__).with_name("data") / "tiny_yolo11_seg.onnx")


@pytest.fixture()
def stack(ros_context):
    executor = MultiThreadedExecutor(num_threads=10, context=ros_context)
    common = [Parameter("profile", value=""), Parameter("cameras", value="front"),
              Parameter("base_frame", value="panda_link0")]
    names = {k: unique_name(k) for k in ("sim_gt", "yolo", "vlm")}
    sim = FakeSim(unique_name("fake_sim"), context=ros_context)
    nodes = [
        sim,
        SimGtBackend(names["sim_gt"], context=ros_context, parameter_overrides=common),
        YoloBackend(names["yolo"], context=ros_context, parameter_overrides=[*common, Parameter("weights", value=TINY)]),
        VlmPointingBackend(names["vlm"], context=ros_context, parameter_overrides=common),
    ]
    backends = f"sim_gt={names['sim_gt']},yolo={names['yolo']},vlm_pointing={names['vlm']},ghost=no_such_node"
    manager = PerceptionManager(unique_name("manager"), context=ros_context, parameter_overrides=[
        Parameter("backends", value=backends), Parameter("active_backend", value="sim_gt"),
        Parameter("transition_timeout", value=5.0)])
    client = Node(unique_name("client"), context=ros_context)
    for n in [*nodes, manager, client]:
        executor.add_node(n)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    try:
        yield manager, client
    finally:
        executor.shutdown(timeout_sec=2.0)
        thread.join(timeout=5.0)
        for n in [*nodes, manager, client]:
            n.destroy_node()


def test_parse_backends():
    assert parse_backends("a=x, b=/ns/y") == {"a": "x", "b": "/ns/y"}
    with pytest.raises(ValueError):
        parse_backends("a")


def _detect_backend(client, timeout=5.0):
    """backend name that answered, or None when no service answered within the timeout."""
    cli = client.create_client(DetectObjects, "/perception/detect_objects")
    try:
        if not cli.wait_for_service(timeout_sec=timeout):
            return None
        done = threading.Event()
        fut = cli.call_async(DetectObjects.Request(camera="front", min_score=0.0))
        fut.add_done_callback(lambda _f: done.set())
        if not done.wait(timeout):
            cli.remove_pending_request(fut)
            return None
        res = fut.result()
        assert res.error_code in (0, DetectObjects.Response.NO_DETECTIONS), res.error_msg
        return res.backend
    finally:
        client.destroy_client(cli)


def test_swap_while_a_client_keeps_calling(stack):
    manager, client = stack
    deadline = time.monotonic() + 20
    while manager.active != "sim_gt" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert manager.active == "sim_gt"
    assert _detect_backend(client) == "sim_gt"

    answers: list = []
    stop = threading.Event()

    def hammer():
        while not stop.is_set():
            answers.append(_detect_backend(client, timeout=1.0))

    t = threading.Thread(target=hammer)
    t.start()
    try:
        time.sleep(0.5)
        for name in ("yolo", "sim_gt"):
            res = call(client, SelectBackend, "/perception/select_backend", SelectBackend.Request(backend=name))
            assert res.error_code == 0, res.error_msg
            assert res.active_backend == name and "yolo" in res.available_backends
            time.sleep(3.0)
    finally:
        stop.set()
        t.join(timeout=15)
    answered = [a for a in answers if a is not None]
    assert "yolo" in answered and "sim_gt" in answered, answers
    # the order of answers follows the swaps: sim_gt ... yolo ... sim_gt
    first_yolo, last_yolo = answered.index("yolo"), len(answered) - 1 - answered[::-1].index("yolo")
    assert set(answered[:first_yolo]) == {"sim_gt"} and set(answered[last_yolo + 1:]) == {"sim_gt"}
    assert len(answered) >= 0.8 * len(answers), f"too many lost calls: {answers}"
    assert _detect_backend(client) == "sim_gt"


def test_bad_selections(stack):
    manager, client = stack
    for name, code in (("", 2), ("nope", 3), ("ghost", 6)):
        res = call(client, SelectBackend, "/perception/select_backend", SelectBackend.Request(backend=name))
        assert res.error_code == code, (name, res.error_msg)
        assert res.error_msg
    # vlm_pointing activates but, with no model configured, answers UNAVAILABLE with a clear message
    res = call(client, SelectBackend, "/perception/select_backend", SelectBackend.Request(backend="vlm_pointing"))
    assert res.error_code == 0, res.error_msg
    det = call(client, DetectObjects, "/perception/detect_objects", DetectObjects.Request(labels=["bowl"]))
    assert det.error_code == 6 and "provider" in det.error_msg and det.backend == "vlm_pointing"


def test_cli_use_backend(stack, capsys):
    import argparse

    from maestro_perception.cli import add_arguments, run, use_backend

    manager, _ = stack
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert run(parser.parse_args(["use", "yolo", "--timeout", "20"])) == 0
    assert manager.active == "yolo"
    assert "active perception backend: yolo" in capsys.readouterr().out
    assert use_backend("nope", timeout=20) == 1
    assert "unknown backend 'nope'" in capsys.readouterr().err


def test_semantic_map_survives_swaps_and_is_published_as_markers(stack):
    from visualization_msgs.msg import MarkerArray

    from maestro_interfaces.srv import QuerySemanticMap
    from maestro_perception.map_sharing import LATCHED, MAP_MARKERS_TOPIC

    manager, client = stack
    deadline = time.monotonic() + 20
    while manager.active != "sim_gt" and time.monotonic() < deadline:
        time.sleep(0.1)
    markers: list = []
    client.create_subscription(MarkerArray, MAP_MARKERS_TOPIC, markers.append, LATCHED)
    det = call(client, DetectObjects, "/perception/detect_objects", DetectObjects.Request(camera="front"))
    assert det.error_code == 0 and det.backend == "sim_gt", det.error_msg
    q = QuerySemanticMap.Request(label="ball")
    before = call(client, QuerySemanticMap, "/perception/query_semantic_map", q)
    assert [o.label for o in before.objects] == ["tennis_ball"]
    for name in ("yolo", "vlm_pointing", "sim_gt"):
        res = call(client, SelectBackend, "/perception/select_backend", SelectBackend.Request(backend=name))
        assert res.error_code == 0, res.error_msg
        after = call(client, QuerySemanticMap, "/perception/query_semantic_map", q)
        assert after.error_code == 0 and manager.active == name, after.error_msg  # the only backend serving
        assert [o.label for o in after.objects] == ["tennis_ball"], f"{name} lost the map"
        p0, p1 = before.objects[0].pose.pose.position, after.objects[0].pose.pose.position
        assert abs(p0.x - p1.x) + abs(p0.y - p1.y) + abs(p0.z - p1.z) < 1e-6
        assert after.objects[0].times_seen == before.objects[0].times_seen
    deadline = time.monotonic() + 5
    while not markers and time.monotonic() < deadline:
        time.sleep(0.05)
    texts = [m.text for arr in markers for m in arr.markers if m.text]
    assert any(t.startswith("tennis_ball") for t in texts) and any(t.startswith("bowl") for t in texts), texts
    frames = {m.header.frame_id for arr in markers for m in arr.markers if m.action == m.ADD}
    assert frames == {"world"}
