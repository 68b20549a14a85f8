"""Unit tests of maestro_perception.annotate."""
import numpy as np

from maestro_perception.annotate import Annotator, annotate_detections, color_for
from maestro_perception.cloud import Intrinsics
from maestro_perception.results import Detection2D, Keypoint2D


def test_mask_box_and_points_change_the_right_pixels():
    rgb = np.zeros((240, 320, 3), np.uint8)
    mask = np.zeros((240, 320), bool)
    mask[100:140, 50:90] = True
    det = Detection2D("bowl", 0.9, (50, 100, 90, 140), mask=mask, instance_id=3,
                      keypoints=[Keypoint2D("rim", 70, 100)])
    out = annotate_detections(rgb, [det], points=[Keypoint2D("target", 250, 200)], title="detect")
    assert out.shape == rgb.shape and out.dtype == np.uint8
    assert rgb.sum() == 0  # input untouched
    col = np.array(color_for(3))
    inside = out[120, 70].astype(int)
    assert np.all(np.abs(inside - col * 0.45) <= 2)  # blended mask colour
    assert out[200, 250].any()  # the extra point is drawn
    assert not out[20, 300].any()  # far from everything stays black


def test_axes_projection_draws_lines():
    intr = Intrinsics(200.0, 200.0, 159.5, 119.5, 320, 240)
    ann = Annotator(np.zeros((240, 320, 3), np.uint8))
    ann.axes(np.array([0, 0, 1.0]), np.eye(3), 0.1, intr, np.eye(4))
    img = ann.image()
    # x axis goes right from the centre: red pixels to the right of the principal point
    assert img[119:121, 170:175, 0].max() == 255
    box_img = Annotator(np.zeros((240, 320, 3), np.uint8)).box_3d(
        np.array([[x, y, z] for x in (-.1, .1) for y in (-.1, .1) for z in (0.9, 1.1)]), intr, np.eye(4),
        (0, 255, 0)).image()
    assert box_img[:, :, 1].sum() > 0


def test_color_for_is_stable():
    assert color_for(5) == color_for(5)
    assert color_for("bowl") == color_for("bowl")
    assert color_for(1) != color_for(2)
