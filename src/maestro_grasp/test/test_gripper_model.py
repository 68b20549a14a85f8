"""Gripper box model and the vectorised collision check."""

import numpy as np
import pytest
from scipy.spatial import cKDTree

from maestro_grasp import synthetic
from maestro_grasp.gripper_model import (
    FRANKA_HAND,
    PIPER_GRIPPER,
    gripper_for,
    in_collision,
    points_in_boxes,
    simulate_closing,
    to_tcp_frame,
)

TOP_DOWN = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]])  # columns x, y, z (z = -Z)


def test_presets_and_profile_override() -> None:
    assert gripper_for("franka").max_width == pytest.approx(0.08)
    assert gripper_for("go2w_piper").max_width == pytest.approx(0.07)
    assert gripper_for("franka", 0.05).max_width == pytest.approx(0.05)
    assert PIPER_GRIPPER.name == "piper"
    with pytest.raises(KeyError):
        gripper_for("robotiq")


def test_boxes_sit_outside_the_opening() -> None:
    c, h = FRANKA_HAND.boxes(np.array([0.04]))
    inner_left = c[0, 0, 1] + h[0, 0, 1]
    inner_right = c[0, 1, 1] - h[0, 1, 1]
    assert inner_left == pytest.approx(-0.02)
    assert inner_right == pytest.approx(0.02)
    assert c[0, 2, 2] + h[0, 2, 2] == pytest.approx(-FRANKA_HAND.finger_length)  # palm starts behind the fingers


def test_table_plane_collision() -> None:
    table = synthetic.table(size=0.4)
    tree = cKDTree(table)
    rot = np.repeat(TOP_DOWN[None], 3, axis=0)
    # TCP (fingertips) below, just above, and well above the table (z up).
    pos = np.array([[0.0, 0.0, -0.01], [0.0, 0.0, 0.003], [0.0, 0.0, 0.05]])
    hit = in_collision(FRANKA_HAND, rot, pos, np.full(3, 0.06), tree, table)
    assert hit.tolist() == [True, False, False]


def test_side_grasp_near_table_hits_palm() -> None:
    table = synthetic.table(size=0.4)
    # Approach along +x, closing along y, TCP 2 cm above the table: the 6.5 cm tall palm reaches below it.
    rot = np.array([[[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]]])
    counts, _ = points_in_boxes(rot, np.array([[0.0, 0.0, 0.02]]), *FRANKA_HAND.check_boxes(np.array([0.05])),
                                cKDTree(table), table)
    assert counts[0, :2].sum() == 0  # fingers (2.2 cm tall) clear the table
    assert counts[0, 2:].sum() > 0  # the palm does not


def test_grown_boxes_count_near_points() -> None:
    pts = np.array([[0.0, -0.031, -0.02], [0.0, -0.045, -0.02]])  # 1 mm outside / inside the left finger at gap 0.06
    rot = TOP_DOWN[None]
    rot = np.eye(3)[None]
    counts, grown = points_in_boxes(rot, np.zeros((1, 3)), *FRANKA_HAND.boxes(np.array([0.06])), cKDTree(pts), pts,
                                    margin=0.005)
    assert counts[0].tolist() == [1, 0, 0]
    assert grown[0].tolist() == [2, 0, 0]


def test_closing_on_a_sphere_finds_its_diameter() -> None:
    r = 0.03
    pts, n = synthetic.sphere(3000, radius=r, centre=(0.0, 0.0, 0.0))
    rot = np.repeat(TOP_DOWN[None], 2, axis=0)
    # TCP 1 cm below the equator (contacts at the equator), and far off to the side (nothing between the fingers).
    pos = np.array([[0.0, 0.0, -0.01], [0.2, 0.0, -0.01]])
    res = simulate_closing(FRANKA_HAND, to_tcp_frame(rot, pos, pts), np.matmul(n[None], rot))
    assert res.count[0] > 50 and res.count[1] == 0
    assert res.width[0] == pytest.approx(2 * r, abs=0.003)
    assert min(res.align_min[0], res.align_max[0]) > 0.95
