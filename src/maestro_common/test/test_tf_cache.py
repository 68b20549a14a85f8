"""The built-in TF buffer interpolates, chains frames and fails clearly on unknown frames or times."""
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from maestro_common.errors import UnknownFrame
from maestro_common.geometry import make_transform, transform_points
from maestro_common.tf import ExtrapolationError, TransformCache


def _yaw(deg: float) -> list[float]:
    return list(Rotation.from_euler("z", deg, degrees=True).as_quat())


@pytest.fixture()
def cache() -> TransformCache:
    c = TransformCache()
    c.set_transform("world", "base", make_transform([1, 0, 0], [0, 0, 0, 1]), 0, static=True)
    c.set_transform("base", "tool", make_transform([0, 0, 0], _yaw(0)), 1_000_000_000, static=False)
    c.set_transform("base", "tool", make_transform([0, 2, 0], _yaw(90)), 2_000_000_000, static=False)
    return c


def test_interpolates_translation_and_rotation(cache: TransformCache) -> None:
    m = cache.lookup("base", "tool", 1_500_000_000)
    assert np.allclose(m[:3, 3], [0, 1, 0])
    assert np.isclose(Rotation.from_matrix(m[:3, :3]).as_euler("zyx", degrees=True)[0], 45.0)


def test_chains_through_parents_and_inverts(cache: TransformCache) -> None:
    m = cache.lookup("world", "tool", 2_000_000_000)
    assert np.allclose(transform_points(m, np.array([[1.0, 0, 0]]))[0], [1.0, 3.0, 0.0])
    inv = cache.lookup("tool", "world", 2_000_000_000)
    assert np.allclose(inv @ m, np.eye(4))


def test_latest_when_no_stamp(cache: TransformCache) -> None:
    assert np.allclose(cache.lookup("base", "tool")[:3, 3], [0, 2, 0])


def test_unknown_frame_lists_known_frames(cache: TransformCache) -> None:
    with pytest.raises(UnknownFrame, match=r"frame 'camera' does not exist.*'base'"):
        cache.lookup("base", "camera")


def test_extrapolation_is_reported(cache: TransformCache) -> None:
    with pytest.raises(ExtrapolationError, match="outside the buffered range"):
        cache.lookup("base", "tool", 5_000_000_000)


def test_disconnected_trees(cache: TransformCache) -> None:
    cache.set_transform("odom", "robot", np.eye(4), 0, static=True)
    with pytest.raises(UnknownFrame, match="not connected"):
        cache.lookup("world", "robot")
