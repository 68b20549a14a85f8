"""Live: grasps for the tennis ball of put_ball_in_bowl, with the MuJoCo sim and the sim_gt perception backend.

Sim, perception and grasp nodes run in-process on an isolated domain. The grasp node fetches the ball's cloud from
perception (depth + ground-truth mask) and the scene cloud from the front camera's depth; the best grasp must lie
within 2 cm of the ball's true centre (from /sim/get_scene_ground_truth, moved into panda_link0 with TF).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.slow

maestro_sim_node = pytest.importorskip("maestro_sim.node")
sim_gt = pytest.importorskip("maestro_perception.sim_gt_node")


@pytest.fixture(scope="module")
def stack(ros_domain: int) -> Iterator[dict[str, Any]]:
    import rclpy
    from rclpy.context import Context
    from rclpy.lifecycle import TransitionCallbackReturn
    from rclpy.node import Node
    from rclpy.parameter import Parameter

    from maestro_common.ros_testing import SpinningExecutor, unique_name, wait_for
    from maestro_common.tf import TfBuffer
    from maestro_grasp.grasp_node import GraspNode

    ctx = Context()
    rclpy.init(context=ctx)
    ex = SpinningExecutor(ctx, threads=8)
    try:
        sim = ex.add(maestro_sim_node.SimNode(context=ctx, parameter_overrides=[
            Parameter("camera_rate", value=2.0), Parameter("realtime", value=True)]))
        perception = sim_gt.SimGtBackend(unique_name("sim_gt"), context=ctx, parameter_overrides=[
            Parameter("profile", value="franka"), Parameter("image_wait", value=5.0)])
        ex.add(perception)
        grasp = GraspNode(unique_name("grasp"), context=ctx, parameter_overrides=[
            Parameter("profile", value="franka"), Parameter("perception_timeout", value=20.0),
            Parameter("tf_timeout", value=2.0)])
        ex.add(grasp)
        client = ex.add(Node(unique_name("grasp_live_client"), context=ctx))
        tf = TfBuffer(client)
        for node in (perception, grasp):
            assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
            assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        assert wait_for(lambda: grasp._latest_msg("front", "depth") is not None, 60.0), "no depth from the sim"
        yield {"sim": sim, "client": client, "tf": tf}
    finally:
        ex.close()
        rclpy.shutdown(context=ctx)


def _call(client: Any, srv_type: Any, name: str, request: Any, timeout: float = 60.0) -> Any:
    cli = client.create_client(srv_type, name)
    try:
        assert cli.wait_for_service(timeout_sec=20.0), f"{name} not available"
        done = threading.Event()
        future = cli.call_async(request)
        future.add_done_callback(lambda _f: done.set())
        assert done.wait(timeout), f"{name} did not answer in {timeout} s"
        return future.result()
    finally:
        client.destroy_client(cli)


def test_best_grasp_on_the_tennis_ball(stack: dict[str, Any]) -> None:
    from maestro_common.geometry import pose_to_matrix
    from maestro_interfaces.srv import GetSceneGroundTruth, PlanGrasps

    gt = _call(stack["client"], GetSceneGroundTruth, "/sim/get_scene_ground_truth", GetSceneGroundTruth.Request())
    assert gt.error_code == 0, gt.error_msg
    ball = next(o for o in gt.objects if o.label == "tennis_ball")
    base_from_world = stack["tf"].lookup("panda_link0", "world", timeout=10.0)
    centre = (base_from_world @ pose_to_matrix(ball.pose))[:3, 3]

    res = _call(stack["client"], PlanGrasps, "/grasp/plan_grasps",
                PlanGrasps.Request(label="tennis_ball", instance_id=-1, check_collisions=True, annotate=True))
    assert res.error_code == 0, res.error_msg
    assert res.header.frame_id == "panda_link0"
    best = res.grasps[0]
    p = np.array([best.pose.position.x, best.pose.position.y, best.pose.position.z])
    assert np.linalg.norm(p - centre) < 0.02, f"best grasp {p} vs ball centre {centre}"
    assert 0.04 < best.width < 0.08
    assert res.annotated_image.width > 0

    top = _call(stack["client"], PlanGrasps, "/grasp/plan_grasps",
                PlanGrasps.Request(label="tennis_ball", instance_id=-1, check_collisions=True,
                                   approach_mode=PlanGrasps.Request.APPROACH_TOP_DOWN))
    assert top.error_code == 0, top.error_msg
    assert top.grasps[0].approach.z < -np.cos(0.5) + 1e-6
