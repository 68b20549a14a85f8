"""Fake ros2_control-style controllers for tests and demos without the simulator.

Serves ``/arm_controller/follow_joint_trajectory`` (FollowJointTrajectory: integrates the joint positions along the
trajectory in wall time, cancel stops where the arm is, a new goal replaces the old one) and
``/gripper_controller/gripper_cmd`` (GripperCommand: fingers move at 0.1 m/s and stall on an object of width
``object_width`` when > 0), and publishes ``/joint_states`` at ``rate`` Hz. Console script ``fake_controllers``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
from control_msgs.action import FollowJointTrajectory, GripperCommand
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from sensor_msgs.msg import JointState


def _t(d: Any) -> float:
    return float(d.sec) + float(d.nanosec) * 1e-9


class FakeControllers(Node):
    """In-process stand-in for the arm and gripper controllers."""

    def __init__(self, arm_joints: list[str], finger_joints: list[str], q0: list[float], node_name: str = "fake_ctrl",
                 rate: float = 100.0, object_width: float = 0.0, **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self.arm_joints, self.finger_joints = list(arm_joints), list(finger_joints)
        self.q = np.array(q0, float)
        self.qd = np.zeros(len(arm_joints))
        self.finger = 0.04
        self.object_width = object_width
        self.lock = threading.Lock()
        self.goal_seq = 0
        self.trajectories: list[Any] = []
        self.cbg = ReentrantCallbackGroup()
        self.pub = self.create_publisher(JointState, "/joint_states", 10)
        self.timer = self.create_timer(1.0 / rate, self._publish, callback_group=self.cbg)
        self.arm = ActionServer(self, FollowJointTrajectory, "/arm_controller/follow_joint_trajectory",
                                execute_callback=self._exec_arm, goal_callback=lambda g: GoalResponse.ACCEPT,
                                cancel_callback=lambda g: CancelResponse.ACCEPT, callback_group=self.cbg)
        self.grip = ActionServer(self, GripperCommand, "/gripper_controller/gripper_cmd",
                                 execute_callback=self._exec_gripper, goal_callback=lambda g: GoalResponse.ACCEPT,
                                 cancel_callback=lambda g: CancelResponse.ACCEPT, callback_group=self.cbg)

    def _publish(self) -> None:
        msg = JointState()
        msg.header.stamp = self.get_clock().now().to_msg()
        with self.lock:
            msg.name = self.arm_joints + self.finger_joints
            msg.position = [float(v) for v in self.q] + [self.finger / 2] * len(self.finger_joints)
            msg.velocity = [float(v) for v in self.qd] + [0.0] * len(self.finger_joints)
        self.pub.publish(msg)

    def _exec_arm(self, gh: Any) -> FollowJointTrajectory.Result:
        traj = gh.request.trajectory
        res = FollowJointTrajectory.Result()
        if sorted(traj.joint_names) != sorted(self.arm_joints) or not traj.points:
            res.error_code = FollowJointTrajectory.Result.INVALID_JOINTS
            res.error_string = f"expected joints {self.arm_joints}"
            gh.abort()
            return res
        order = [traj.joint_names.index(j) for j in self.arm_joints]
        times = np.array([_t(p.time_from_start) for p in traj.points])
        pts = np.array([[p.positions[i] for i in order] for p in traj.points])
        with self.lock:
            self.goal_seq += 1
            seq = self.goal_seq
            start = self.q.copy()
            self.trajectories.append(traj)
        if times[0] > 0:
            times = np.concatenate([[0.0], times])
            pts = np.vstack([start, pts])
        t0 = time.monotonic()
        while True:
            t = time.monotonic() - t0
            with self.lock:
                if self.goal_seq != seq:  # replaced by a newer goal
                    res.error_code = FollowJointTrajectory.Result.INVALID_GOAL
                    res.error_string = "preempted by a newer trajectory"
                    gh.abort()
                    return res
                if gh.is_cancel_requested:
                    self.qd[:] = 0.0
                    gh.canceled()
                    return res
                new_q = np.array([np.interp(t, times, pts[:, j]) for j in range(len(self.arm_joints))])
                self.qd = (new_q - self.q) / 0.005
                self.q = new_q
                if t >= times[-1]:
                    self.qd[:] = 0.0
                    break
            time.sleep(0.005)
        gh.succeed()
        res.error_code = FollowJointTrajectory.Result.SUCCESSFUL
        return res

    def _exec_gripper(self, gh: Any) -> GripperCommand.Result:
        target = float(gh.request.command.position)
        res = GripperCommand.Result()
        stalled = False
        while True:
            with self.lock:
                if gh.is_cancel_requested:
                    gh.canceled()
                    res.position = self.finger
                    return res
                step = float(np.clip(target - self.finger, -0.001, 0.001))
                nxt = self.finger + step
                if self.object_width > 0 and step < 0 and nxt <= self.object_width:
                    self.finger = self.object_width
                    stalled = True
                    break
                self.finger = nxt
                if abs(target - self.finger) < 1e-6:
                    break
            time.sleep(0.01)
        res.position = self.finger
        res.stalled = stalled
        res.reached_goal = not stalled
        res.effort = float(gh.request.command.max_effort) if stalled else 0.0
        gh.succeed()
        return res


def main(args: list[str] | None = None) -> None:
    """Run fake Panda controllers (arm at the profile's home pose) until interrupted."""
    import rclpy
    from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor

    from maestro_common.profiles import load_profile

    with rclpy.init(args=args):
        profile = load_profile("franka")
        arm = profile["arm"]
        node = FakeControllers(arm["joint_names"], profile["gripper"]["joint_names"], arm["home"])
        ex = MultiThreadedExecutor(num_threads=4)
        ex.add_node(node)
        try:
            ex.spin()
        except (KeyboardInterrupt, ExternalShutdownException):
            pass
        finally:
            ex.shutdown(timeout_sec=2.0)
            node.destroy_node()
