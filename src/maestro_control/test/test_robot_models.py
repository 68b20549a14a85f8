"""The committed URDFs are generated from the DH tables and reproduce the DH forward kinematics exactly."""

from __future__ import annotations

import math

import numpy as np
import pinocchio as pin
import pytest

from maestro_control import robot_models as rm

PANDA_URDF = str(rm.default_robots_dir() / "panda.urdf")
PIPER_URDF = str(rm.default_robots_dir() / "piper.urdf")


@pytest.mark.parametrize("name,path", [("panda", PANDA_URDF), ("piper", PIPER_URDF)])
def test_committed_urdf_is_generated_text(name: str, path: str) -> None:
    with open(path) as f:
        assert f.read() == rm.urdf_text(rm.ARMS[name]), "regenerate with python -m maestro_control.robot_models"


@pytest.mark.parametrize("name,path", [("panda", PANDA_URDF), ("piper", PIPER_URDF)])
def test_urdf_fk_matches_dh_table(name: str, path: str) -> None:
    spec = rm.ARMS[name]
    model = pin.buildModelFromUrdf(path)
    data = model.createData()
    for frame, which in ((spec.tcp_link, "tcp"), (spec.flange_link, "flange")):
        fid = model.getFrameId(frame)
        for _ in range(50):
            q = pin.randomConfiguration(model)
            pin.framesForwardKinematics(model, data, q)
            assert np.allclose(data.oMf[fid].homogeneous, rm.dh_forward(spec, q[: len(spec.joints)], which),
                               atol=1e-12)


def test_panda_zero_pose_flange_and_tcp() -> None:
    t = rm.dh_forward(rm.PANDA, np.zeros(7), "flange")
    assert np.allclose(t[:3, 3], [0.088, 0.0, 0.333 + 0.316 + 0.384 - 0.107], atol=1e-12)
    assert np.allclose(t[:3, 2], [0, 0, -1], atol=1e-12)  # flange points down at q = 0
    tcp = rm.dh_forward(rm.PANDA, np.zeros(7), "tcp")
    assert tcp[2, 3] == pytest.approx(0.926 - 0.1034)


def test_piper_zero_pose_matches_sdk_end_pose() -> None:
    # piper_sdk reports the flange at (56.128, 0, 213.266) mm with 85 deg pitch for all-zero joints
    t = rm.dh_forward(rm.PIPER, np.zeros(6), "flange")
    assert np.allclose(t[:3, 3] * 1000.0, [56.128, 0.0, 213.266], atol=0.01)
    assert math.degrees(math.asin(-t[2, 0])) == pytest.approx(85.0, abs=0.01)
    tcp = rm.dh_forward(rm.PIPER, np.zeros(6), "tcp")
    assert np.allclose(tcp[:3, 3], t[:3, 3] + 0.135 * t[:3, 2])


@pytest.mark.parametrize("name,path", [("panda", PANDA_URDF), ("piper", PIPER_URDF)])
def test_joint_limits_in_urdf(name: str, path: str) -> None:
    spec = rm.ARMS[name]
    model = pin.buildModelFromUrdf(path)
    for j in spec.joints:
        idx = model.joints[model.getJointId(j.name)].idx_q
        assert model.lowerPositionLimit[idx] == pytest.approx(j.lower)
        assert model.upperPositionLimit[idx] == pytest.approx(j.upper)
        assert model.velocityLimit[model.joints[model.getJointId(j.name)].idx_v] == pytest.approx(j.velocity)
