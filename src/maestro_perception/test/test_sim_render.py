"""In-process dataset rendering (maestro_perception.sim_render): labels line up with the segmentation render, the
viewpoint moves, and the class table follows the training set's names.json. Renders a few scenes (~5 s), no ROS."""
import json
import os
import random

import numpy as np
import pytest

pytest.importorskip("maestro_sim.world", reason="maestro_sim is not installed: no scene to render")
os.environ.setdefault("MUJOCO_GL", "egl")


def test_render_in_process_writes_labelled_images_with_the_given_class_ids(tmp_path):
    from maestro_perception.sim_render import render_in_process

    names = tmp_path / "names.json"
    names.write_text(json.dumps({"bowl": 0, "tennis_ball": 1}))
    yaml_path = render_in_process(tmp_path / "ds", samples=3, seed=3, tasks=["put_ball_in_bowl"], max_side=320,
                                  names_from=names, perturbations=["base", "visual"], viewpoint_fraction=0.5)
    table = json.loads((tmp_path / "ds" / "names.json").read_text())
    assert table["bowl"] == 0 and table["tennis_ball"] == 1  # ids of the training set kept, new classes appended
    images = sorted((tmp_path / "ds" / "images").glob("*/*.jpg"))
    assert images and any("/val/" in str(p) for p in images)  # ultralytics needs a val image
    from PIL import Image

    for img in images:
        assert max(Image.open(img).size) == 320
        label = img.parent.parent.parent / "labels" / img.parent.name / f"{img.stem}.txt"
        rows = [r.split() for r in label.read_text().splitlines() if r.strip()]
        assert rows, f"{img.name} has no labelled object (empty images are skipped)"
        for row in rows:
            assert int(row[0]) in table.values()
            xy = np.array(row[1:], float)
            assert len(xy) >= 6 and len(xy) % 2 == 0 and (xy >= 0).all() and (xy <= 1).all()
    assert any(p.stem.endswith("_front") for p in images)
    assert f"path: {(tmp_path / 'ds').resolve()}" in yaml_path.read_text()


@pytest.mark.parametrize("embodiment,task", [("franka", "rotate_cube"), ("go2w_piper", "search_ball")])
def test_randomise_viewpoint_moves_the_camera_and_keeps_objects_in_view(embodiment, task):
    from maestro_perception.sim_render import randomise_viewpoint
    from maestro_sim.world import World

    world = World(embodiment, task, 0, "base")
    cam = "wrist"
    before = world.camera_pose(cam)[0].copy()
    randomise_viewpoint(world, random.Random(1), arm_noise=0.3)
    after = world.camera_pose(cam)[0]
    assert np.linalg.norm(after - before) > 0.01
    q = world.arm_positions()
    assert (q >= world.arm_lower - 1e-9).all() and (q <= world.arm_upper + 1e-9).all()
    if embodiment == "go2w_piper":  # the head camera now faces one of the objects from 0.5-1.8 m
        head = world.camera_pose("head")[0]
        dists = [np.linalg.norm(o.position[:2] - head[:2]) for o in world.ground_truth()]
        assert min(dists) < 2.2
