"""KeypointTracks (flow + re-detection per camera) and the backend's /perception/track_keypoints service."""
import numpy as np
import pytest
from perception_fakes import activate, call
from scipy import ndimage

from maestro_perception.errors import InvalidArgument, NotUnderstood
from maestro_perception.results import Keypoint2D
from maestro_perception.tracking_service import KeypointTracks


def _texture(h=240, w=320, seed=0):
    rng = np.random.default_rng(seed)
    return np.repeat((ndimage.gaussian_filter(rng.uniform(0, 255, (h, w)), 2.0) * 3.0)[..., None], 3, 2)


def _shift(img, dx, dy):
    return ndimage.shift(img, (dy, dx, 0), order=3, mode="reflect")


class FakeDetector:
    """Grounds 'corner' at a known position; counts calls; can be told it sees nothing."""

    def __init__(self, u, v):
        self.u, self.v, self.calls, self.blind = u, v, 0, False

    def __call__(self, query):
        self.calls += 1
        if self.blind or query != "corner":
            raise NotUnderstood(f"no {query}")
        return [Keypoint2D("towel/corner_0", self.u, self.v, 0.9)]


def test_tracks_follow_flow_and_redetect_on_schedule():
    tracks, det = KeypointTracks(levels=4), FakeDetector(120.0, 100.0)
    img = _texture(seed=1)
    out = tracks.step("front", img, ["corner"], False, det, redetect_every=3)
    assert [(r.name, r.u, r.v, r.ok, r.redetected) for r in out] == [("corner", 120.0, 100.0, True, True)]
    det.blind = True  # flow alone for the next calls
    frame = img
    for _ in range(2):
        frame = _shift(frame, 3.0, 2.0)
        (r,) = tracks.step("front", frame, [], False, det, redetect_every=3)
        assert r.ok and not r.redetected
    np.testing.assert_allclose([r.u, r.v], [126.0, 104.0], atol=0.3)
    assert det.calls == 1  # not due yet: no detector calls
    det.blind, det.u, det.v = False, 127.0, 105.0
    (r,) = tracks.step("front", _shift(frame, 0.5, 0.5), [], False, det, redetect_every=3)
    assert r.redetected and (r.u, r.v) == (127.0, 105.0) and det.calls == 2
    assert len(r.history) >= 4


def test_lost_point_triggers_redetection_and_errors_are_typed():
    tracks, det = KeypointTracks(levels=3), FakeDetector(100.0, 80.0)
    img = _texture(seed=2)
    tracks.step("wrist", img, ["corner"], False, det, redetect_every=0)
    occluded = img.copy()
    occluded[50:110, 70:130] = 0.0
    det.blind = True
    (r,) = tracks.step("wrist", occluded, [], False, det, redetect_every=0)
    assert not r.ok and r.score == 0.0
    det.blind = False
    (r,) = tracks.step("wrist", img, [], False, det, redetect_every=0)
    assert r.ok and r.redetected
    with pytest.raises(InvalidArgument):
        KeypointTracks().step("front", img, [], False, det)  # nothing to continue
    with pytest.raises(NotUnderstood):
        KeypointTracks().step("front", img, ["a unicorn"], True, det)
    with pytest.raises(InvalidArgument):
        tracks.step("wrist", img, [], False, det, redetect_every=-1)


def test_track_keypoints_service_tracks_a_ball_with_3d_positions(spinning, ros_context, fake_sim, client_node):
    from rclpy.parameter import Parameter

    from maestro_common.ros_testing import unique_name
    from maestro_interfaces.srv import TrackKeypoints
    from maestro_perception.sim_gt_node import SimGtBackend

    node = spinning.add(SimGtBackend(unique_name("sim_gt"), context=ros_context, parameter_overrides=[
        Parameter("profile", value=""), Parameter("cameras", value="front"),
        Parameter("base_frame", value="panda_link0"), Parameter("image_wait", value=2.0)]))
    activate(node)

    def track(**kw):
        req = TrackKeypoints.Request(camera="front", queries=[], reset=False, redetect_every=2)
        for k, v in kw.items():
            setattr(req, k, v)
        return call(client_node, TrackKeypoints, "/perception/track_keypoints", req)

    res = track(queries=["tennis ball", "rim of the bowl"])
    assert res.error_code == 0, res.error_msg
    assert [p.name for p in res.points] == ["tennis ball", "rim of the bowl"] and all(res.redetected)
    assert all(p.has_position for p in res.points) and res.annotated_image.width > 0
    first = res.points[0]
    res = track()  # the fake sim's image is static: flow keeps the points in place
    assert res.error_code == 0 and not any(res.redetected)
    assert abs(res.points[0].u - first.u) < 0.5 and abs(res.points[0].v - first.v) < 0.5
    assert list(track().redetected) == [True, True]  # due every 2nd call
    assert track(camera="nope").error_code == 3  # NOT_FOUND: unknown camera
    assert track(camera="front", queries=["a unicorn"], reset=True).error_code == 103  # NOT_UNDERSTOOD
