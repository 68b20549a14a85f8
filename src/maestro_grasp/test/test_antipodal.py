"""Antipodal pair sampling on synthetic clouds."""

import numpy as np

from maestro_grasp import synthetic
from maestro_grasp.antipodal import AntipodalParams, estimate_normals, sample_antipodal_pairs

COS_CONE = np.cos(np.arctan(AntipodalParams().friction_coef))


def test_normals_match_sphere_surface() -> None:
    pts, true_n = synthetic.sphere(2000, radius=0.04, centre=(0.1, 0.2, 0.3))
    n = estimate_normals(pts, radius=0.012)
    assert n.shape == pts.shape
    np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1.0, atol=1e-6)
    # Oriented away from the centroid: agree with the true outward normals.
    assert np.mean(np.einsum("ij,ij->i", n, true_n)) > 0.98


def test_sphere_pairs_are_antipodal_chords() -> None:
    r = 0.033
    pts, true_n = synthetic.sphere(2000, radius=r)
    n = estimate_normals(pts)
    pairs = sample_antipodal_pairs(pts, n, max_width=0.08, rng=np.random.default_rng(1))
    assert len(pairs) > 100
    # Closing axis inside both friction cones of the true normals.
    idx1 = np.array([np.argmin(np.linalg.norm(pts - p, axis=1)) for p in pairs.p1[:200]])
    idx2 = np.array([np.argmin(np.linalg.norm(pts - p, axis=1)) for p in pairs.p2[:200]])
    a = pairs.axis[:200]
    assert np.all(np.abs(np.einsum("ij,ij->i", true_n[idx1], a)) >= COS_CONE - 0.05)
    assert np.all(np.abs(np.einsum("ij,ij->i", true_n[idx2], a)) >= COS_CONE - 0.05)
    # On a sphere, antipodal chords are nearly diameters.
    assert pairs.width.min() >= 2 * r * COS_CONE - 0.004
    assert pairs.width.max() <= 2 * r + 1e-6
    assert np.all((pairs.quality >= 0) & (pairs.quality <= 1))


def test_box_pairs_join_opposite_faces() -> None:
    pts, _ = synthetic.box(2000, size=(0.04, 0.06, 0.1), centre=(0, 0, 0.05))
    pairs = sample_antipodal_pairs(pts, estimate_normals(pts), max_width=0.08)
    assert len(pairs) > 50
    # Closing axes run along the box axes (estimated normals blur at the edges, so allow a few strays), and only
    # the 4 cm and 6 cm directions fit in 8 cm.
    dominant = np.argmax(np.abs(pairs.axis), axis=1)
    assert np.mean(np.max(np.abs(pairs.axis), axis=1) >= COS_CONE) > 0.85
    assert not np.any(dominant == 2)
    assert np.all(pairs.width <= 0.08)
    assert pairs.too_wide > 0  # the 10 cm direction was antipodal but too wide


def test_too_wide_object_has_only_too_wide_pairs() -> None:
    pts, _ = synthetic.sphere(1500, radius=0.06)
    pairs = sample_antipodal_pairs(pts, estimate_normals(pts, radius=0.02), max_width=0.08)
    assert len(pairs) == 0
    assert pairs.too_wide > 0


def test_part_anchor_mask_limits_first_contacts() -> None:
    pts, _ = synthetic.box(2000, size=(0.05, 0.05, 0.05))
    mask = pts[:, 0] > 0.02
    pairs = sample_antipodal_pairs(pts, estimate_normals(pts), 0.08, AntipodalParams(num_anchors=64), anchor_mask=mask)
    assert len(pairs) > 0
    # One end of every pair is an anchor (p1) or was de-duplicated into p2.
    assert np.all((pairs.p1[:, 0] > 0.02) | (pairs.p2[:, 0] > 0.02))
