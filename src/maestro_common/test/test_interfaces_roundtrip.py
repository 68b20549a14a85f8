"""Every interface imports, documents its error fields, and round-trips between two processes."""
import sys
from pathlib import Path

import pytest
import rclpy
from rclpy.action import ActionClient

from maestro_common.interface_catalog import action_types, interface_names, message_types, service_types
from maestro_common.ros_testing import NodeProcess, unique_name, wait_for


def test_every_interface_file_imports() -> None:
    assert len(service_types()) >= 12 and len(action_types()) >= 7
    assert set(message_types()) == set(interface_names("msg"))
    for name in ("DetectObjects", "PointTo", "Segment", "GetObjectCloud", "GetObjectGeometry", "PlanGrasps",
                 "GetRobotState", "QuerySemanticMap", "CaptureImages", "ResetScene", "EvaluateTask", "ListTasks"):
        assert name in service_types(), name
    for name in ("MoveToPose", "MoveJoints", "FollowCartesianPath", "Gripper", "MoveBase", "RunPolicy", "RunTask"):
        assert name in action_types(), name


def test_every_response_and_result_carries_error_fields() -> None:
    for name, srv in service_types().items():
        fields = srv.Response.get_fields_and_field_types()
        assert fields.get("error_code") == "uint16" and fields.get("error_msg") == "string", name
    for name, act in action_types().items():
        fields = act.Result.get_fields_and_field_types()
        assert fields.get("error_code") == "uint16" and fields.get("error_msg") == "string", name


@pytest.fixture()
def echo_server(tmp_path: Path):
    proc = NodeProcess([sys.executable, str(Path(__file__).with_name("interface_echo_server.py"))],
                       log_path=tmp_path / "echo.log")
    assert wait_for(lambda: "ready" in proc.log_text(), timeout=30), proc.log_text()
    yield proc
    assert proc.stop() in (0, -2, 130), proc.log_text()


def test_services_and_actions_round_trip_between_processes(echo_server, ros_context) -> None:
    node = rclpy.create_node(unique_name("roundtrip_client"), context=ros_context)
    executor = rclpy.executors.SingleThreadedExecutor(context=ros_context)
    executor.add_node(node)
    try:
        for name, srv in service_types().items():
            client = node.create_client(srv, f"/echo/{name}")
            assert client.wait_for_service(timeout_sec=10.0), name
            future = client.call_async(srv.Request())
            executor.spin_until_future_complete(future, timeout_sec=10.0)
            assert future.done() and future.result().error_msg == name
        for name, act in action_types().items():
            client = ActionClient(node, act, f"/echo/{name}")
            assert client.wait_for_server(timeout_sec=10.0), name
            feedback = []
            goal_future = client.send_goal_async(act.Goal(), feedback_callback=feedback.append)
            executor.spin_until_future_complete(goal_future, timeout_sec=10.0)
            handle = goal_future.result()
            assert handle is not None and handle.accepted, name
            result_future = handle.get_result_async()
            executor.spin_until_future_complete(result_future, timeout_sec=10.0)
            assert result_future.result().result.error_msg == name
    finally:
        executor.shutdown()
        node.destroy_node()
