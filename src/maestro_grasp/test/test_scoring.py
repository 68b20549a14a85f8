"""Score terms and constraint masks."""

import numpy as np
import pytest

from maestro_grasp import scoring


def test_approach_mask_and_score() -> None:
    down = np.array([[0.0, 0.0, -1.0], [np.sin(0.4), 0.0, -np.cos(0.4)], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert scoring.approach_mask(down, scoring.TOP_DOWN, 0.5).tolist() == [True, True, False, False]
    s = scoring.approach_score(down, scoring.TOP_DOWN)
    assert s[0] == pytest.approx(1.0) and s[2] == pytest.approx(0.5) and s[3] == pytest.approx(0.0)
    assert np.all(scoring.approach_score(down, None) == 0.5)


def test_part_mask() -> None:
    centres = np.array([[0.0, 0.0, 0.0], [0.1, 0.0, 0.0], [0.0, 0.2, 0.0]])
    kps = np.array([[0.11, 0.0, 0.0], [0.0, 0.0, 0.03]])
    assert scoring.part_mask(centres, kps, 0.04).tolist() == [True, True, False]
    assert scoring.part_mask(centres, np.zeros((0, 3)), 0.04).all()


def test_centring_clearance_width_and_combine() -> None:
    c = scoring.centring_score(np.array([[0.0, 0, 0], [0.05, 0, 0], [0.2, 0, 0]]), np.zeros(3), 0.1)
    np.testing.assert_allclose(c, [1.0, 0.5, 0.0])
    cl = scoring.clearance_score(np.array([0, 10, 100]))
    assert cl[0] == 1.0 and cl[0] > cl[1] > cl[2] >= 0.0
    np.testing.assert_allclose(scoring.width_margin_score(np.array([0.0, 0.04, 0.08]), 0.08), [1.0, 0.5, 0.0])
    w = scoring.ScoreWeights()
    ones = {k: np.ones(3) for k in ("antipodality", "approach", "centring", "clearance", "width_margin")}
    np.testing.assert_allclose(scoring.combine(ones, w), 1.0)
    mixed = dict(ones, antipodality=np.zeros(3))
    assert np.all(scoring.combine(mixed, w) == pytest.approx(1.0 - w.antipodality / 1.0))
