"""State messages of the sim node: TF quaternions, frame table, odometry frames (REP 105), stamps."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from maestro_sim.state_msgs import ODOM_FRAME, FrameTable, odometry_message, quat_xyzw, stamp_of, take_snapshot, tf_message
from maestro_sim.world import World


@pytest.fixture(scope="module")
def mobile_world() -> World:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        world = World("go2w_piper", "trash_ball", 0, "base")
    world.set_base_velocity(0.3, 0.0, 0.4)
    world.step(500)  # 1 s: the base has moved and turned
    return world


def test_quaternion_matches_scipy() -> None:
    for rot in Rotation.random(20, random_state=3).as_matrix():
        q = quat_xyzw(rot)
        ref = Rotation.from_matrix(rot).as_quat()
        assert min(np.linalg.norm(q - ref), np.linalg.norm(q + ref)) < 1e-9
    assert np.allclose(quat_xyzw(np.eye(3)), [0, 0, 0, 1])


def test_stamp_of_splits_seconds() -> None:
    t = stamp_of(12.345678912)
    assert t.sec == 12 and abs(t.nanosec - 345678912) <= 1
    almost = stamp_of(0.99999999999)  # rounds up to the next second instead of falling back to 0
    assert (almost.sec, almost.nanosec) == (1, 0)


def test_moving_frames_compose_to_the_world_pose(mobile_world: World) -> None:
    world = mobile_world
    table = FrameTable(world)
    static = {e.child: e for e in table.transforms(world.data, static=True)}
    moving = {e.child: e for e in table.transforms(world.data, static=False)}
    assert static["odom"].parent == "world" and moving["base_link"].parent == "odom"
    assert "base_link" not in static and "odom" not in moving

    def matrix(e) -> np.ndarray:
        m = np.eye(4)
        m[:3, :3] = Rotation.from_quat(e.quaternion).as_matrix()
        m[:3, 3] = e.position
        return m

    # world -> odom -> base_link -> piper_base_link -> piper_link1: equals MuJoCo's pose of piper_link1
    chain = matrix(static["odom"]) @ matrix(moving["base_link"]) @ matrix(static["piper_base_link"]) \
        @ matrix(moving["piper_link1"])
    assert np.allclose(chain[:3, 3], world.body_pos("piper_link1"), atol=1e-6)
    assert np.allclose(chain[:3, :3], world.body_rot("piper_link1"), atol=1e-6)
    msg = tf_message(list(moving.values()), stamp_of(world.time))
    assert {t.child_frame_id for t in msg.transforms} == set(moving)


def test_odometry_is_base_link_in_odom(mobile_world: World) -> None:
    world = mobile_world
    snap = take_snapshot(world, FrameTable(world))
    odom = odometry_message(snap, stamp_of(snap.time))
    assert odom is not None
    assert odom.header.frame_id == ODOM_FRAME == "odom" and odom.child_frame_id == "base_link"
    p = odom.pose.pose.position
    assert np.allclose([p.x, p.y, p.z], world.body_pos("base_link"), atol=1e-9)
    assert p.x > 0.05  # it drove forward
    o = odom.pose.pose.orientation
    yaw = math.atan2(2 * (o.w * o.z + o.x * o.y), 1 - 2 * (o.y ** 2 + o.z ** 2))
    assert yaw > 0.1  # and turned left
    assert odom.twist.twist.linear.x > 0.1 and odom.twist.twist.angular.z > 0.1  # base frame twist


def test_fixed_arm_has_no_odometry() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        world = World("franka", "put_ball_in_bowl", 0, "base")
    snap = take_snapshot(world, FrameTable(world))
    assert odometry_message(snap, stamp_of(0.0)) is None
    assert len(snap.position) == len(snap.joint_names) == 9
