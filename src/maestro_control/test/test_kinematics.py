"""FK/IK of both arms: round trips, limits, nearest-solution rule, position-only mode and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from maestro_control.kinematics import ArmKinematics, KinematicsError
from maestro_control.robot_models import PANDA, dh_forward


def test_fk_matches_dh(panda: ArmKinematics) -> None:
    q = np.array([0.3, -0.4, 0.2, -2.0, 0.1, 1.8, 0.5])
    assert np.allclose(panda.fk(q), dh_forward(PANDA, q), atol=1e-12)


@pytest.mark.parametrize("arm", ["panda", "piper"])
def test_ik_round_trip_random_poses(arm: str, request: pytest.FixtureRequest) -> None:
    kin: ArmKinematics = request.getfixturevalue(arm)
    rng = np.random.default_rng(1)
    ok = 0
    for _ in range(40):
        target = kin.fk(kin.random_q(rng))
        res = kin.ik(target, kin.random_q(rng), rng=rng)
        if res.success:
            ok += 1
            assert kin.within_limits(res.q)
            reached = kin.fk(res.q)
            assert np.linalg.norm(reached[:3, 3] - target[:3, 3]) < 1e-3
    assert ok >= 38


def test_ik_prefers_the_nearest_solution(panda: ArmKinematics) -> None:
    rng = np.random.default_rng(2)
    q_true = np.array([0.2, 0.3, -0.2, -1.8, 0.3, 2.0, 0.4])
    target = panda.fk(q_true)
    near = q_true + 0.05
    res = panda.ik(target, near, num_solutions=4, rng=rng)
    assert res.success
    assert np.linalg.norm(res.q - q_true) < 0.2  # the solution on the seed's branch, not a far one


def test_ik_position_only_and_unreachable(panda: ArmKinematics) -> None:
    t = np.eye(4)
    t[:3, 3] = [0.5, 0.1, 0.3]
    res = panda.ik(t, position_only=True)
    assert res.success and np.linalg.norm(panda.fk(res.q)[:3, 3] - t[:3, 3]) < 1e-3
    far = np.eye(4)
    far[:3, 3] = [2.0, 0.0, 0.5]
    res = panda.ik(far, num_seeds=4)
    assert not res.success and res.position_error > 0.5


def test_bad_input_raises(panda: ArmKinematics) -> None:
    with pytest.raises(KinematicsError):
        panda.fk(np.zeros(3))
    with pytest.raises(KinematicsError):
        panda.fk(np.full(7, np.nan))
    bad = np.eye(4)
    bad[0, 3] = np.nan
    with pytest.raises(KinematicsError):
        panda.ik(bad)
    with pytest.raises(KinematicsError):
        ArmKinematics(panda_urdf_path(), ["nope"], "panda_tcp")


def panda_urdf_path() -> str:
    from maestro_control.robot_models import default_robots_dir

    return str(default_robots_dir() / "panda.urdf")
