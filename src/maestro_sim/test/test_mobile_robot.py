"""Go2-W + PiPER model: MJCF kinematics against the published DH table, actuators, base limits, cameras."""
from __future__ import annotations

import math

import mujoco
import numpy as np
import pytest

from maestro_sim.robots import get_robot
from maestro_sim.robots import go2w_piper as g


def _world() -> tuple[mujoco.MjModel, mujoco.MjData, g.Go2wPiper]:
    spec = mujoco.MjSpec()
    spec.worldbody.add_geom(type=mujoco.mjtGeom.mjGEOM_PLANE, size=[5, 5, 0.1])
    spec.worldbody.add_light(pos=[0, 0, 3], dir=[0, 0, -1])
    robot = get_robot("go2w_piper")
    robot.build(spec)
    model = spec.compile()
    data = mujoco.MjData(model)
    robot.reset(model, data)
    mujoco.mj_forward(model, data)
    return model, data, robot


def _set_arm(model: mujoco.MjModel, data: mujoco.MjData, q) -> None:
    for joint, value in zip(g.ARM_JOINTS, q, strict=True):
        data.qpos[model.joint(joint).qposadr[0]] = value
    mujoco.mj_kinematics(model, data)


def _link6_in_arm_base(model: mujoco.MjModel, data: mujoco.MjData) -> np.ndarray:
    base, link6 = data.body("piper_base_link"), data.body("piper_link6")
    rb, r6 = base.xmat.reshape(3, 3), link6.xmat.reshape(3, 3)
    out = np.eye(4)
    out[:3, :3] = rb.T @ r6
    out[:3, 3] = rb.T @ (link6.xpos - base.xpos)
    return out


def test_dh_zero_pose_matches_sdk_home():
    # piper_sdk reports the flange at (56.128, 0, 213.266) mm with 85 deg pitch for all-zero joints
    t = g.piper_dh_fk(np.zeros(6))
    assert np.allclose(t[:3, 3] * 1000.0, [56.128, 0.0, 213.266], atol=0.01)
    assert math.degrees(math.asin(-t[2, 0])) == pytest.approx(85.0, abs=0.01)


def test_mjcf_forward_kinematics_match_dh_table():
    model, data, _ = _world()
    rng = np.random.default_rng(3)
    configs = [np.zeros(6), np.array(g.HOME_ARM)]
    configs += [np.array([rng.uniform(lo, hi) for lo, hi in g.PIPER_JOINT_LIMITS]) for _ in range(40)]
    for q in configs:
        _set_arm(model, data, q)
        got, want = _link6_in_arm_base(model, data), g.piper_dh_fk(q)
        assert np.abs(got[:3, 3] - want[:3, 3]).max() < 1e-3, q
        assert np.abs(got[:3, :3] - want[:3, :3]).max() < 1e-3, q
        # tcp = 0.135 m along the flange z axis
        tcp = data.site(g.TCP_SITE).xpos
        flange = data.body("piper_link6")
        assert np.allclose(tcp, flange.xpos + flange.xmat.reshape(3, 3)[:, 2] * g.PIPER_TCP_OFFSET, atol=1e-6)


def test_joint_limits_and_names_match_constants():
    model, _, robot = _world()
    for joint, (lo, hi) in zip(g.ARM_JOINTS, g.PIPER_JOINT_LIMITS, strict=True):
        assert tuple(model.joint(joint).range) == pytest.approx((lo, hi))
    lim = robot.joint_limits()
    assert lim.lower.shape == (6,) and np.all(lim.lower < lim.upper)
    for name in ("base_link", "piper_base_link", "piper_gripper_base", "piper_leftfinger", "piper_rightfinger"):
        assert model.body(name).id > 0
    assert {c.name for c in robot.cameras()} == {"head", "wrist"}
    for cam in robot.cameras():
        assert model.camera(cam.name).fovy[0] == pytest.approx(cam.fovy_deg)


def test_arm_holds_and_tracks_position_targets():
    model, data, robot = _world()
    target = np.array([0.4, 1.2, -1.0, 0.3, -0.5, 0.8])
    for act, q in zip(robot.arm_actuators, target, strict=True):
        data.ctrl[model.actuator(act).id] = q
    for _ in range(1500):  # 3 s
        robot.pre_step(model, data)
        mujoco.mj_step(model, data)
    q = np.array([data.qpos[model.joint(j).qposadr[0]] for j in g.ARM_JOINTS])
    assert np.abs(q - target).max() < 0.01


def test_gripper_opens_and_closes_symmetrically():
    model, data, robot = _world()
    robot.set_gripper(model, data, 0.05, None)
    for _ in range(500):
        mujoco.mj_step(model, data)
    assert robot.gripper_gap(model, data) == pytest.approx(0.05, abs=1e-3)
    q1, q2 = (data.qpos[model.joint(j).qposadr[0]] for j in g.FINGER_JOINTS)
    assert q1 == pytest.approx(q2, abs=1e-3)
    robot.set_gripper(model, data, 0.0, None)
    for _ in range(500):
        mujoco.mj_step(model, data)
    assert robot.gripper_gap(model, data) < 2e-3


def test_base_respects_velocity_and_acceleration_limits():
    model, data, robot = _world()
    limits = g.BaseLimits()
    robot.set_base_velocity(model, data, 5.0, 0.0, 0.0)  # above the limit: clipped
    dt = model.opt.timestep
    speeds = []
    for _ in range(int(2.0 / dt)):
        robot.pre_step(model, data)
        mujoco.mj_step(model, data)
        speeds.append(float(data.qvel[model.joint("base_x").dofadr[0]]))
    speeds = np.array(speeds)
    assert speeds.max() <= limits.v_x * 1.02
    assert speeds[-1] == pytest.approx(limits.v_x, rel=0.02)
    accel = np.diff(speeds) / dt
    assert accel.max() <= limits.a_x * 1.3  # actuator lag smooths, never exceeds the ramp much
    # body-frame command after turning: moving "forward" follows the heading
    model, data, robot = _world()
    data.qpos[model.joint("base_yaw").qposadr[0]] = math.pi / 2
    robot.set_base_velocity(model, data, 0.5, 0.0, 0.0)
    for _ in range(int(2.0 / dt)):
        robot.pre_step(model, data)
        mujoco.mj_step(model, data)
    x, y = data.qpos[model.joint("base_x").qposadr[0]], data.qpos[model.joint("base_y").qposadr[0]]
    assert abs(x) < 0.02 and y > 0.5
    robot.set_base_velocity(model, data, float("nan"), 0.0, 0.0)  # bad input: treated as stop
    for _ in range(int(1.0 / dt)):
        robot.pre_step(model, data)
        mujoco.mj_step(model, data)
    assert abs(data.qvel[model.joint("base_y").dofadr[0]]) < 0.02


def test_frames_reference_existing_objects():
    model, _, robot = _world()
    names = {f.name for f in robot.frames()}
    assert {"odom", "base_link", "piper_base_link", "piper_tcp", "head_camera_optical"} <= names
    lookup = {"body": mujoco.mjtObj.mjOBJ_BODY, "site": mujoco.mjtObj.mjOBJ_SITE, "camera": mujoco.mjtObj.mjOBJ_CAMERA}
    for frame in robot.frames():
        assert mujoco.mj_name2id(model, lookup[frame.kind], frame.mj_name) >= 0, frame
        assert frame.parent in names | {"world"}


def test_head_camera_renders_depth():
    model, data, _ = _world()
    with mujoco.Renderer(model, 120, 160) as renderer:
        renderer.enable_depth_rendering()
        renderer.update_scene(data, camera="head")
        depth = renderer.render()
    # looking forward and 25 deg down from 0.3 m: the floor fills the lower image at under ~2 m
    assert np.isfinite(depth).all() and 0.2 < float(np.median(depth[-20:])) < 2.0
