"""Node-level tests through ROS: services, FollowJointTrajectory validation and cancel, gripper, topics.

One sim node runs in-process (module fixture) with rendering on at a low camera rate.
"""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import rclpy
from builtin_interfaces.msg import Duration
from control_msgs.action import FollowJointTrajectory, GripperCommand
from rclpy.action import ActionClient
from rclpy.context import Context
from rclpy.node import Node
from sensor_msgs.msg import Image, JointState
from trajectory_msgs.msg import JointTrajectoryPoint

from maestro_common.ros_testing import SpinningExecutor, unique_name, wait_for
from maestro_interfaces.srv import EvaluateTask, GetSceneGroundTruth, ListTasks, ResetScene
from maestro_sim.node import SimNode

ARM = [f"panda_joint{i}" for i in range(1, 8)]
HOME = [0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785]


@pytest.fixture(scope="module")
def sim():
    """(sim node, client node, executor) on an isolated domain; torn down after the module."""
    ctx = Context()
    rclpy.init(context=ctx)
    ex = SpinningExecutor(ctx, threads=6)
    node = SimNode(context=ctx, parameter_overrides=[
        rclpy.parameter.Parameter("camera_rate", value=2.0),
        rclpy.parameter.Parameter("realtime", value=True)])
    client = Node(unique_name("sim_client"), context=ctx)
    ex.add(node)
    ex.add(client)
    try:
        yield node, client
    finally:
        ex.close()
        rclpy.shutdown(context=ctx)


def call(client: Node, srv_type, name: str, request, timeout: float = 20.0):
    """Call a service and wait for the response."""
    cli = client.create_client(srv_type, name)
    assert cli.wait_for_service(timeout_sec=10.0), f"{name} not available"
    future = cli.call_async(request)
    assert wait_for(future.done, timeout), f"{name} did not answer"
    client.destroy_client(cli)
    return future.result()


def send_goal(client: Node, action: ActionClient, goal, timeout: float = 20.0):
    """Send a goal, return (goal handle, result future)."""
    assert action.wait_for_server(timeout_sec=10.0)
    fut = action.send_goal_async(goal)
    assert wait_for(fut.done, timeout)
    handle = fut.result()
    assert handle.accepted
    return handle, handle.get_result_async()


def traj_goal(points: list[tuple[float, list[float]]], names: list[str] = ARM) -> FollowJointTrajectory.Goal:
    goal = FollowJointTrajectory.Goal()
    goal.trajectory.joint_names = names
    for t, q in points:
        sec = int(t)
        goal.trajectory.points.append(JointTrajectoryPoint(
            positions=q, time_from_start=Duration(sec=sec, nanosec=int((t - sec) * 1e9))))
    return goal


def test_list_reset_evaluate(sim):
    node, client = sim
    res = call(client, ListTasks, "/sim/list_tasks", ListTasks.Request(embodiment="franka"))
    ids = [t.id for t in res.tasks]
    assert res.error_code == 0 and "put_ball_in_bowl" in ids
    assert all(t.embodiment == "franka" for t in res.tasks)
    bad = call(client, ResetScene, "/sim/reset_scene", ResetScene.Request(task="no_such_task"))
    assert bad.error_code == ResetScene.Response.UNKNOWN_TASK and "list_tasks" in bad.error_msg
    bad = call(client, ResetScene, "/sim/reset_scene", ResetScene.Request(task="put_ball_in_bowl",
                                                                            perturbation="sideways"))
    assert bad.error_code == ResetScene.Response.BAD_PERTURBATION
    bad = call(client, ResetScene, "/sim/reset_scene", ResetScene.Request(task="put_ball_in_bowl", seed=-3))
    assert bad.error_code == 2  # INVALID_ARGUMENT
    ok = call(client, ResetScene, "/sim/reset_scene", ResetScene.Request(task="put_ball_in_bowl", seed=1,
                                                                           perturbation="new_object"))
    assert ok.error_code == 0 and ok.instruction and "bowl" in ok.objects
    ev = call(client, EvaluateTask, "/sim/evaluate_task", EvaluateTask.Request())
    assert ev.error_code == 0 and ev.task == "put_ball_in_bowl" and ev.progress == 0.0 and len(ev.criteria) == 4
    gt = call(client, GetSceneGroundTruth, "/sim/get_scene_ground_truth", GetSceneGroundTruth.Request())
    assert gt.error_code == 0 and {o.name for o in gt.objects} >= {"ball", "bowl"}
    assert all(o.instance_id >= 1 for o in gt.objects)
    # the world keeps running after bad requests
    t0 = node.world.time
    assert wait_for(lambda: node.world.time > t0 + 0.1, 5.0)


def test_topics_published(sim):
    _node, client = sim
    got: dict[str, object] = {}
    client.create_subscription(JointState, "/joint_states", lambda m: got.setdefault("js", m), 10)
    client.create_subscription(Image, "/front/segmentation", lambda m: got.setdefault("seg", m), 2)
    client.create_subscription(Image, "/wrist/depth", lambda m: got.setdefault("depth", m), 2)
    assert wait_for(lambda: len(got) == 3, 30.0), f"got only {list(got)}"
    assert got["js"].name[:7] == ARM and len(got["js"].name) == 9
    assert got["seg"].encoding == "32SC1" and got["seg"].width == 640
    assert got["depth"].encoding == "32FC1"


@pytest.mark.parametrize("names,points,code", [
    (["panda_joint1", "elbow"], [(1.0, [0.0, 0.0])], FollowJointTrajectory.Result.INVALID_JOINTS),
    (ARM, [(1.0, HOME), (0.5, HOME)], FollowJointTrajectory.Result.INVALID_GOAL),
    (ARM, [(1.0, [float("nan")] + HOME[1:])], FollowJointTrajectory.Result.INVALID_GOAL),
    (ARM, [(1.0, [5.0] + HOME[1:])], FollowJointTrajectory.Result.INVALID_GOAL),
    (ARM, [(0.05, [1.5] + HOME[1:])], FollowJointTrajectory.Result.INVALID_GOAL),   # too fast
    (ARM, [], FollowJointTrajectory.Result.INVALID_GOAL),
])
def test_fjt_rejects_bad_goals(sim, names, points, code):
    _node, client = sim
    action = ActionClient(client, FollowJointTrajectory, "/arm_controller/follow_joint_trajectory")
    _h, result = send_goal(client, action, traj_goal(points, names))
    assert wait_for(result.done, 10.0)
    res = result.result().result
    assert res.error_code == code and res.error_string
    action.destroy()


def test_fjt_executes_and_cancel_stops_fast(sim):
    node, client = sim
    call(client, ResetScene, "/sim/reset_scene", ResetScene.Request(task="put_ball_in_bowl"))
    action = ActionClient(client, FollowJointTrajectory, "/arm_controller/follow_joint_trajectory")
    target = list(HOME)
    target[0] = 0.4
    _h, result = send_goal(client, action, traj_goal([(1.0, target)]))
    assert wait_for(result.done, 20.0)
    assert result.result().result.error_code == FollowJointTrajectory.Result.SUCCESSFUL
    assert abs(node.world.arm_positions()[0] - 0.4) < 0.02
    # a long move, cancelled mid-way: the arm stops within 100 ms of sim time
    target[0] = -1.5
    handle, result = send_goal(client, action, traj_goal([(3.0, target)]))
    assert wait_for(lambda: abs(node.world.arm_velocities()[0]) > 0.3, 10.0)
    cancel = handle.cancel_goal_async()
    t_cancel = node.world.time
    assert wait_for(cancel.done, 5.0) and wait_for(result.done, 5.0)
    assert result.result().status == 5  # CANCELED

    stopped_at = []

    def watch() -> None:
        while not stopped_at:
            if abs(node.world.arm_velocities()[0]) < 0.05:
                stopped_at.append(node.world.time)
            time.sleep(0.001)

    thread = threading.Thread(target=watch)
    thread.start()
    thread.join(timeout=5.0)
    assert stopped_at, "the arm did not stop"
    # time from the cancel request until the joint stopped, in sim time
    assert stopped_at[0] - t_cancel < 0.1 + 0.05, f"stopped after {stopped_at[0] - t_cancel:.3f} s"
    q = node.world.arm_positions()[0]
    time.sleep(0.3)
    assert abs(node.world.arm_positions()[0] - q) < 0.01  # holds still
    action.destroy()


def test_gripper_command(sim):
    node, client = sim
    action = ActionClient(client, GripperCommand, "/gripper_controller/gripper_cmd")
    goal = GripperCommand.Goal()
    goal.command.position, goal.command.max_effort = 0.03, 20.0
    _h, result = send_goal(client, action, goal)
    assert wait_for(result.done, 10.0)
    res = result.result().result
    assert res.reached_goal and abs(res.position - 0.03) < 0.003
    assert abs(node.world.gripper_gap() - 0.03) < 0.003
    goal.command.position = float("nan")
    _h, result = send_goal(client, action, goal)
    assert wait_for(result.done, 10.0) and result.result().status == 6  # ABORTED
    action.destroy()
    assert np.isfinite(node.world.gripper_gap())
