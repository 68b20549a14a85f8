"""Tool discovery on the ROS graph, UNAVAILABLE for vanished tools, and JSON <-> ROS argument conversion."""
from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from typing import Any

import pytest

from maestro_common.ros_testing import unique_name, wait_for

_spec = importlib.util.spec_from_file_location("fake_ros_tools", Path(__file__).with_name("fake_ros_tools.py"))
fake_ros_tools = importlib.util.module_from_spec(_spec)
sys.modules["fake_ros_tools"] = fake_ros_tools
_spec.loader.exec_module(fake_ros_tools)

from maestro_agent import msgconv  # noqa: E402
from maestro_agent.dispatch import ToolDispatcher  # noqa: E402
from maestro_agent.registry import ToolRegistry, parse_graph  # noqa: E402


def test_parse_graph_filters_namespaces_types_and_non_tools() -> None:
    graph = [
        ("/perception/detect_objects", ["maestro_interfaces/srv/DetectObjects"]),
        ("/perception/select_backend", ["maestro_interfaces/srv/SelectBackend"]),      # not an agent tool
        ("/control/reset_estop", ["maestro_interfaces/srv/ResetEStop"]),                # not an agent tool
        ("/control/move_to_pose/_action/send_goal", ["maestro_interfaces/action/MoveToPose_SendGoal"]),
        ("/control/move_to_pose/_action/get_result", ["maestro_interfaces/action/MoveToPose_GetResult"]),
        ("/control/move_to_pose/_action/cancel_goal", ["action_msgs/srv/CancelGoal"]),
        ("/sim/evaluate_task", ["maestro_interfaces/srv/EvaluateTask"]),                # wrong namespace
        ("/perception/get_parameters", ["rcl_interfaces/srv/GetParameters"]),           # not maestro
        ("/grasp/plan_grasps", ["maestro_interfaces/srv/PlanGrasps"]),
        ("/policy/run_policy/_action/send_goal", ["maestro_interfaces/action/RunPolicy_SendGoal"]),
    ]
    found = parse_graph(graph)
    assert found == {
        "detect_objects": ("/perception/detect_objects", "service", "DetectObjects"),
        "move_to_pose": ("/control/move_to_pose", "action", "MoveToPose"),
        "plan_grasps": ("/grasp/plan_grasps", "service", "PlanGrasps"),
        "run_policy": ("/policy/run_policy", "action", "RunPolicy"),
    }


def test_registry_sees_tools_appear_and_reports_unavailable(spinning: Any, ros_context: Any) -> None:
    from rclpy.callback_groups import ReentrantCallbackGroup
    from rclpy.node import Node

    agent = spinning.add(Node(unique_name("agent"), context=ros_context))
    registry = ToolRegistry(agent, callback_group=ReentrantCallbackGroup())
    registry.refresh()
    assert "detect_objects" not in registry.tools()
    fake = spinning.add(fake_ros_tools.FakeTools(unique_name("fake"), context=ros_context,
                                                 tools=("detect_objects", "gripper")))
    assert wait_for(lambda: (registry.refresh(), {"detect_objects", "gripper"} <= set(registry.tools()))[1], 10.0)
    info = registry.get("gripper")
    assert info.kind == "action" and info.wire_name == "/control/gripper" and info.type_name == "Gripper"
    before = registry.fingerprint()
    dispatcher = ToolDispatcher(registry)
    res = dispatcher.call("detect_objects", {"labels": ["ball"]}, 5.0)
    assert res["error_code"] == 0 and res["detections"][0]["label"] == "ball"
    res = dispatcher.call("detect_objects", {"labels": ["nothing"]}, 5.0)
    assert res["error_code"] == 101 and "no object" in res["error_msg"]
    res = dispatcher.call("gripper", {"command": "close"}, 5.0)
    assert res["error_code"] == 0 and res["holding"] is True
    assert fake.calls[-1][1].command == 1
    # bad arguments never reach the server
    res = dispatcher.call("detect_objects", {"labels": "ball"}, 5.0)
    assert res["error_code"] == 2 and "labels" in res["error_msg"]
    res = dispatcher.call("detect_objects", {"colour": "red"}, 5.0)
    assert res["error_code"] == 2 and "unknown field" in res["error_msg"]
    # the tool vanishes: refresh notices, calls answer UNAVAILABLE (6) with a clear message, quickly
    fake.remove("detect_objects")
    assert wait_for(lambda: "detect_objects" in registry.refresh().removed or
                    "detect_objects" not in registry.tools(), 10.0)
    assert registry.fingerprint() != before
    res = dispatcher.call("detect_objects", {"labels": ["ball"]}, 5.0)
    assert res["error_code"] == 6
    assert "detect_objects" in res["error_msg"] and "/perception/detect_objects" in res["error_msg"]
    res = dispatcher.call("teleport", {}, 1.0)
    assert res["error_code"] == 6 and "does not exist" in res["error_msg"]


# Failed once (KeyError 'handle': start() answered an error) in a fresh-clone CI run while a 2-worker evaluation loaded
# the 2-core machine (load ~15); passes alone. The start() answers are asserted with their error now, so the next
# failure names its cause (goal-response timeout of 5 s vs. a lost server).
@pytest.mark.flaky(reruns=2)
def test_action_handles_feedback_cancel_and_timeout(spinning: Any, ros_context: Any) -> None:
    from rclpy.callback_groups import ReentrantCallbackGroup
    from rclpy.node import Node

    fake = spinning.add(fake_ros_tools.FakeTools(unique_name("fake"), motion_s=3.0, context=ros_context,
                                                 tools=("move_to_pose",)))
    agent = spinning.add(Node(unique_name("agent"), context=ros_context))
    registry = ToolRegistry(agent, callback_group=ReentrantCallbackGroup())
    assert wait_for(lambda: (registry.refresh(), "move_to_pose" in registry.tools())[1], 10.0)
    dispatcher = ToolDispatcher(registry)
    started = dispatcher.start("move_to_pose", {"target": [0.4, 0.0, 0.3]})
    assert "handle" in started, started
    handle = started["handle"]
    assert wait_for(lambda: dispatcher.handle("handle_status", {"handle": handle})["feedback"] is not None, 5.0)
    status = dispatcher.handle("handle_status", {"handle": handle})
    assert status["done"] is False and status["feedback"]["phase"] == "executing"
    res = dispatcher.handle("handle_result", {"handle": handle, "timeout": 0.1})
    assert res["error_code"] == 4 and "still running" in res["error_msg"]
    assert dispatcher.handle("handle_cancel", {"handle": handle})["accepted"] is True
    res = dispatcher.handle("handle_result", {"handle": handle, "timeout": 5.0})
    assert res["error_code"] == 5
    # a blocking call that runs out of time cancels its goal (the wait is the goal's timeout + a grace, since the
    # server enforces the timeout field itself; this fake ignores it)
    fake.motion_s = 20.0
    res = dispatcher.call("move_to_pose", {"target": [0.4, 0.0, 0.3]}, timeout=0.3)
    assert res["error_code"] == 4 and "cancelled" in res["error_msg"]
    assert fake.calls[-1][0] == "move_to_pose"
    # a substep timeout stops the running goal without latching; a task cancel latches until reset()
    fake.motion_s = 0.2
    started = dispatcher.start("move_to_pose", {"target": [0.4, 0.0, 0.3]})
    assert "handle" in started, started
    running = started["handle"]
    dispatcher.cancel_all(latch=False)
    assert dispatcher.handle("handle_result", {"handle": running, "timeout": 5.0})["error_code"] == 5
    assert dispatcher.call("move_to_pose", {"target": [0.4, 0.0, 0.3]}, timeout=10.0)["error_code"] == 0
    dispatcher.cancel_all()
    assert dispatcher.call("move_to_pose", {"target": [0.4, 0.0, 0.3]}, timeout=10.0)["error_code"] == 5
    dispatcher.reset()
    assert dispatcher.call("move_to_pose", {"target": [0.4, 0.0, 0.3]}, timeout=10.0)["error_code"] == 0


# --------------------------------------------------------------------------------------------------------------
# conversion


def test_convenient_forms_into_ros() -> None:
    from maestro_interfaces.action import Gripper, MoveToPose
    from maestro_interfaces.srv import PlanGrasps

    goal = msgconv.fill_message(MoveToPose.Goal(), {"target": [0.4, 0.1, 0.3], "mode": "cartesian"},
                                {"mode": {"PLANNED": 0, "CARTESIAN": 1}})
    assert goal.mode == 1 and goal.target.pose.position.y == pytest.approx(0.1)
    assert (goal.target.pose.orientation.x, goal.target.pose.orientation.w) == (1.0, 0.0)   # top-down
    goal = msgconv.fill_message(MoveToPose.Goal(), {"target": {"frame_id": "world", "pose": [1, 2, 3, 0, 0, 0, 2]}})
    assert goal.target.header.frame_id == "world" and goal.target.pose.orientation.w == pytest.approx(1.0)
    goal = msgconv.fill_message(MoveToPose.Goal(), {"target": {"position": {"x": 1, "y": 0, "z": 0},
                                                               "orientation": [0, 0, 0, 1]}})
    assert goal.target.pose.position.x == 1.0
    g = msgconv.fill_message(Gripper.Goal(), {"command": "Close", "width": 0.02},
                             {"command": {"OPEN": 0, "CLOSE": 1, "MOVE": 2}})
    assert g.command == 1 and g.width == pytest.approx(0.02)
    req = msgconv.fill_message(PlanGrasps.Request(), {"approach_mode": "top_down", "approach_axis": [0, 0, -1]},
                               {"approach_mode": {"APPROACH_ANY": 0, "APPROACH_TOP_DOWN": 1}})
    assert req.approach_mode == 1 and req.approach_axis.z == -1.0


@pytest.mark.parametrize("values,needle", [
    ({"target": [1, 2]}, "a pose is"),
    ({"target": [0, 0, 0, 0, 0, 0, 0]}, "zero length"),
    ({"velocity_scaling": float("nan")}, "finite"),
    ({"velocity_scaling": "fast"}, "expected a number"),
    ({"mode": "sideways"}, "unknown value"),
    ({"mode": 300}, "out of range"),
    ({"ignore_orientation": "yes"}, "true/false"),
    ({"target": {"pose": [1, 2, 3], "frame": "x"}}, "unknown keys"),
])
def test_bad_arguments_are_invalid_argument(values: dict, needle: str) -> None:
    from maestro_interfaces.action import MoveToPose

    with pytest.raises(msgconv.ConversionError) as err:
        msgconv.fill_message(MoveToPose.Goal(), values, {"mode": {"PLANNED": 0, "CARTESIAN": 1}})
    assert needle in str(err.value)


def test_results_to_json_with_refs() -> None:
    from sensor_msgs.msg import PointField

    from maestro_interfaces.srv import GetObjectCloud, PlanGrasps

    store = msgconv.RefStore()
    res = GetObjectCloud.Response()
    res.cloud.width, res.cloud.height, res.cloud.point_step = 3, 1, 12
    res.cloud.fields = [PointField(name=n, offset=4 * i, datatype=7, count=1) for i, n in enumerate("xyz")]
    import numpy as np

    pts = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9]], dtype=np.float32)
    res.cloud.data = pts.tobytes()
    res.centroid.x = float("nan")
    res.annotated_image = fake_ros_tools.make_image()
    out = msgconv.to_json(res, store, "get_object_cloud", substep=2)
    assert out["centroid"]["x"] is None
    assert out["cloud"]["__ref__"] == "cloud" and out["cloud"]["num_points"] == 3
    assert out["cloud"]["points"][1] == pytest.approx([0.4, 0.5, 0.6])
    img = out["annotated_image"]
    assert img["__ref__"] == "image" and img["width"] == 8 and store.get(img["id"]).field == "annotated_image"
    assert [k for k, _ in store.produced(2)] == [img["id"]]
    # a cloud reference goes back into a request as the stored message
    req = msgconv.fill_message(PlanGrasps.Request(), {"object_cloud": out["cloud"]}, store=store)
    assert req.object_cloud.width == 3
    with pytest.raises(msgconv.ConversionError):
        msgconv.fill_message(PlanGrasps.Request(), {"object_cloud": {"__ref__": "cloud", "id": "cloud-999"}},
                             store=store)
    assert math.isclose(msgconv.to_json(res.header.stamp), 0.0)
