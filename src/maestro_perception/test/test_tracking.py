"""Unit tests of maestro_perception.tracking (pyramidal LK on shifted synthetic images)."""
import numpy as np
from scipy import ndimage

from maestro_perception.tracking import KeypointTracker, lucas_kanade


def _texture(h=240, w=320, seed=0):
    rng = np.random.default_rng(seed)
    return ndimage.gaussian_filter(rng.uniform(0, 255, (h, w)), 2.0) * 3.0


def _shift(img, dx, dy):
    return ndimage.shift(img, (dy, dx), order=3, mode="reflect")


def test_lk_recovers_subpixel_and_large_shifts():
    img = _texture()
    pts = np.array([[100.0, 80.0], [200.0, 150.0], [160.0, 120.0]])
    for dx, dy in [(0.4, -0.3), (6.0, 4.0), (-13.0, 9.0)]:
        p1, ok, err = lucas_kanade(img, _shift(img, dx, dy), pts, levels=4)
        assert ok.all()
        np.testing.assert_allclose(p1 - pts, np.tile([dx, dy], (3, 1)), atol=0.1)


def test_lk_flags_textureless_and_out_of_image():
    flat = np.full((120, 160), 50.0)
    _, ok, _ = lucas_kanade(flat, flat, np.array([[80.0, 60.0]]))
    assert not ok[0]
    img = _texture()
    _, ok, _ = lucas_kanade(img, _shift(img, -20.0, 0.0), np.array([[5.0, 100.0]]), levels=4)
    assert not ok[0]


def test_tracker_follows_motion_and_redetects():
    img = _texture(seed=3)
    tr = KeypointTracker(levels=4)
    tr.reset(img, {"handle": (120.0, 100.0), "hinge": (60.0, 60.0)})
    frame = img
    for _ in range(5):
        frame = _shift(frame, 2.0, 1.0)
        state = tr.update(frame)
    assert state["handle"].ok
    np.testing.assert_allclose([state["handle"].u, state["handle"].v], [130.0, 105.0], atol=0.3)
    # a detection re-anchors a point even after it was lost
    state["hinge"].ok = False
    state = tr.update(frame, {"hinge": (61.0, 62.0)})
    assert state["hinge"].ok and (state["hinge"].u, state["hinge"].v) == (61.0, 62.0)
    # an occluding flat patch makes the track fail the forward-backward check
    occluded = frame.copy()
    occluded[80:130, 100:160] = 0.0
    state = tr.update(occluded)
    assert not state["handle"].ok
