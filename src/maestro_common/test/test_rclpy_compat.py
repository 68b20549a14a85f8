"""The two rclpy ActionClient races that lost goal responses in the in-process ROS tests, forced deterministically.

Each test widens the race window with a sleep at the exact point where rclpy 9.1.2 is unsafe; with
``maestro_common.rclpy_compat`` applied (it is, on ``import maestro_common``) both must pass every time.
"""
from __future__ import annotations

import time
from typing import Any

import pytest
from control_msgs.action import GripperCommand
from rclpy.action import ActionClient, ActionServer
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
from rclpy.node import Node
from rclpy.waitable import NumberOfEntities, Waitable

from maestro_common import rclpy_compat
from maestro_common.ros_testing import SpinningExecutor, unique_name, wait_for


class SlowLoggerNode(Node):
    """A node whose ``get_logger`` can be slowed down: ActionClient.__init__ calls it after ``add_waitable``."""

    delay_s = 0.0

    def get_logger(self) -> Any:
        """The node's logger, after ``delay_s``."""
        if self.delay_s:
            time.sleep(self.delay_s)
        return super().get_logger()


class SlowDict(dict):
    """A dict whose item assignment sleeps: stands in for a thread switch inside send_goal_async."""

    def __setitem__(self, key: Any, value: Any) -> None:
        time.sleep(0.5)
        super().__setitem__(key, value)


def _server(node: Node) -> ActionServer:
    def execute(goal_handle: Any) -> GripperCommand.Result:
        goal_handle.succeed()
        result = GripperCommand.Result()
        result.position = goal_handle.request.command.position
        return result

    return ActionServer(node, GripperCommand, "/compat_test/gripper", execute)


def _goal(position: float) -> GripperCommand.Goal:
    goal = GripperCommand.Goal()
    goal.command.position = position
    return goal


def _round_trip(client: ActionClient, position: float, feedback_callback: Any = None) -> float:
    fut = client.send_goal_async(_goal(position), feedback_callback=feedback_callback)
    assert wait_for(fut.done, 10.0), "goal response never delivered to the caller's future"
    handle = fut.result()
    assert handle.accepted
    res = handle.get_result_async()
    assert wait_for(res.done, 10.0), "no result"
    return float(res.result().result.position)


def test_the_fixes_are_in_effect_where_rclpy_needs_them() -> None:
    from rclpy.action.client import ActionClient as Cls

    applied = rclpy_compat.apply()
    assert not rclpy_compat.duplicate_future_present(Cls)
    assert ("construction_lock" in applied) or not rclpy_compat.construction_race_present(Cls)
    assert not rclpy_compat.destroy_race_present(Cls)


def test_a_destroyed_action_client_is_left_out_of_the_wait_set(ros_context: Any) -> None:
    # what the executor does with a client destroyed between collecting and entering the node's waitables
    node = Node(unique_name("compat_destroyed"), context=ros_context)
    client = ActionClient(node, GripperCommand, "/compat_test/gripper")
    server = _server(node)
    client.destroy()
    server.destroy()
    wait_set = _rclpy.WaitSet(0, 0, 0, 0, 0, 0, ros_context.handle)
    client.add_to_wait_set(wait_set)  # stock rclpy 9.1.2: RCLError "action client pointer is invalid"
    server.add_to_wait_set(wait_set)
    assert client.is_ready(wait_set) is False and server.is_ready(wait_set) is False
    node.destroy_node()


def test_action_clients_come_and_go_on_a_spinning_node(spinning: SpinningExecutor, ros_context: Any) -> None:
    server_node = spinning.add(Node(unique_name("compat_server"), context=ros_context))
    _server(server_node)
    node = spinning.add(Node(unique_name("compat_client"), context=ros_context))
    for _ in range(40):
        ActionClient(node, GripperCommand, "/compat_test/gripper").destroy()
        assert spinning.alive(), f"executor thread died: {spinning.error!r}"
    client = ActionClient(node, GripperCommand, "/compat_test/gripper")
    assert client.wait_for_server(timeout_sec=10.0)
    assert _round_trip(client, 0.05) == pytest.approx(0.05)


def test_creating_an_action_client_on_a_spinning_node_keeps_the_executor_alive(spinning: SpinningExecutor,
                                                                               ros_context: Any) -> None:
    server_node = spinning.add(Node(unique_name("compat_server"), context=ros_context))
    _server(server_node)
    node = spinning.add(SlowLoggerNode(unique_name("compat_client"), context=ros_context))
    node.delay_s = 0.3  # the executor wakes on add_waitable and reads the new client while __init__ sleeps here
    clients = [ActionClient(node, GripperCommand, "/compat_test/gripper") for _ in range(3)]
    node.delay_s = 0.0
    assert spinning.alive(), f"executor thread died: {spinning.error!r}"
    assert clients[-1].wait_for_server(timeout_sec=10.0)
    assert _round_trip(clients[-1], 0.02) == pytest.approx(0.02)


def test_a_goal_response_during_send_goal_async_reaches_the_callers_future(spinning: SpinningExecutor,
                                                                           ros_context: Any) -> None:
    server_node = spinning.add(Node(unique_name("compat_server"), context=ros_context))
    _server(server_node)
    node = spinning.add(Node(unique_name("compat_client"), context=ros_context))
    client = ActionClient(node, GripperCommand, "/compat_test/gripper")
    assert client.wait_for_server(timeout_sec=10.0)
    client._feedback_callbacks = SlowDict()  # rclpy 9.1.2 registers it between its two futures
    assert _round_trip(client, 0.03, feedback_callback=lambda msg: None) == pytest.approx(0.03)
    assert _round_trip(client, 0.04) == pytest.approx(0.04)


class _BrokenWaitable(Waitable):
    """A waitable whose wait-set methods raise (rclpy's base class raises NotImplementedError): kills the spin."""

    def get_num_entities(self) -> NumberOfEntities:
        raise ValueError("broken waitable")


def test_a_dead_executor_thread_fails_the_test_at_close(ros_context: Any) -> None:
    ex = SpinningExecutor(ros_context, threads=2)
    node = ex.add(Node(unique_name("broken"), context=ros_context))
    node.add_waitable(_BrokenWaitable(node.default_callback_group))
    assert wait_for(lambda: not ex.alive(), 10.0)
    with pytest.raises(RuntimeError, match="executor thread died"):
        ex.close()
