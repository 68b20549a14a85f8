"""Tests of the dataset label writer of maestro_perception.train (no simulator, no ultralytics needed)."""
import numpy as np

from maestro_perception.train import mask_polygons, yolo_seg_lines


def _area(poly):
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))


def test_polygon_of_a_rectangle_and_a_disc():
    m = np.zeros((60, 80), bool)
    m[10:30, 20:60] = True  # 20 x 40 pixels
    polys = mask_polygons(m)
    assert len(polys) == 1
    assert abs(_area(polys[0]) - 800) < 45  # pixel-centre contour at the 0.5 level: (19 + ~1) x (39 + ~1)
    assert polys[0][:, 0].min() >= 19 and polys[0][:, 0].max() <= 60
    yy, xx = np.mgrid[:60, :80]
    disc = (xx - 40) ** 2 + (yy - 30) ** 2 <= 15 ** 2
    assert abs(_area(mask_polygons(disc)[0]) - np.pi * 15 ** 2) < 0.05 * np.pi * 15 ** 2


def test_yolo_seg_lines_largest_part_normalised_and_small_dropped():
    seg = np.full((100, 200), -1, np.int32)
    seg[10:50, 10:50] = 3
    seg[80:82, 190:192] = 3  # a second tiny fragment of the same instance: only the largest part is written
    seg[60:62, 60:62] = 5  # 4 pixels: below min_pixels
    lines = yolo_seg_lines(seg, {3: 1, 5: 0, 9: 2})
    assert len(lines) == 1
    vals = lines[0].split()
    assert vals[0] == "1"
    xy = np.array(vals[1:], float).reshape(-1, 2)
    assert (xy >= 0).all() and (xy <= 1).all()
    assert abs(xy[:, 0].max() * 199 - 49.5) < 1.0 and abs(xy[:, 1].min() * 99 - 9.5) < 1.0


def test_coarse_labels_drop_colours_and_materials():
    from maestro_perception.train import coarse_label

    assert coarse_label("red_cube") == "cube"
    assert coarse_label("wooden_knife") == "knife"
    assert coarse_label("tennis_ball") == "tennis_ball"
    assert coarse_label("mug_hanger_stand") == "mug_hanger_stand"
    assert coarse_label("black") == "black"  # nothing left: keep the label


def test_align_classes_renumbers_to_the_training_ids_and_drops_unseen_classes(tmp_path):
    import json

    from maestro_perception.train import align_classes

    ds = tmp_path / "heldout"
    (ds / "labels" / "val").mkdir(parents=True)
    (ds / "names.json").write_text(json.dumps({"bowl": 0, "comet": 1, "cube": 2}))
    (ds / "labels" / "val" / "a.txt").write_text(
        "0 0.1 0.1 0.2 0.1 0.2 0.2\n1 0.5 0.5 0.6 0.5 0.6 0.6\n2 0.3 0.3 0.4 0.3 0.4 0.4\n")
    (ds / "labels" / "val.cache").write_text("stale")
    train = tmp_path / "names.json"
    train.write_text(json.dumps({"cube": 0, "bowl": 1, "mug": 2}))
    assert align_classes(ds, train) == {"comet": 1}
    lines = (ds / "labels" / "val" / "a.txt").read_text().split("\n")
    assert [ln.split()[0] for ln in lines if ln] == ["1", "0"]
    assert lines[0].endswith("0.2 0.2")
    assert json.loads((ds / "names.json").read_text()) == {"cube": 0, "bowl": 1, "mug": 2}
    assert "  2: mug" in (ds / "dataset.yaml").read_text() and not (ds / "labels" / "val.cache").exists()


def test_an_object_seen_in_pieces_keeps_every_piece_in_its_polygon():
    """A doorway's two wall segments (or a mug split by the gripper) must label one box around both pieces."""
    from PIL import Image, ImageDraw

    seg = np.full((100, 200), -1, np.int32)
    seg[10:50, 10:50] = 3
    seg[60:90, 150:190] = 3
    seg[5:20, 100:120] = 3
    lines = yolo_seg_lines(seg, {3: 7})
    assert len(lines) == 1 and lines[0].split()[0] == "7"
    xy = np.array(lines[0].split()[1:], float).reshape(-1, 2) * [199, 99]
    assert xy[:, 0].min() < 11 and xy[:, 0].max() > 188  # the box spans the leftmost and the rightmost piece
    assert xy[:, 1].min() < 6 and xy[:, 1].max() > 88
    raster = Image.new("L", (200, 100))
    ImageDraw.Draw(raster).polygon([tuple(p) for p in xy], fill=1)
    filled = np.asarray(raster).astype(bool)
    truth = seg == 3
    assert (filled & truth).sum() / (filled | truth).sum() > 0.85  # the bridges add no area between the pieces


def test_merge_polygons_visits_every_vertex_of_every_part():
    from maestro_perception.train import merge_polygons

    square = np.array([[0, 0], [4, 0], [4, 4], [0, 4]], float)
    parts = [square, square + [10, 0], square + [0, 20]]
    merged = merge_polygons(parts)
    for part in parts:
        assert all((np.abs(merged - v).sum(axis=1) < 1e-9).any() for v in part)
    assert merge_polygons([square]) is square


def test_class_tables_read_both_layouts_and_earlier_files_win(tmp_path):
    import json

    from maestro_perception.train import load_class_table

    fit_names = tmp_path / "fit.json"
    fit_names.write_text(json.dumps({"0": "cube", "1": "bowl"}))  # what fit writes beside best.pt
    own = tmp_path / "own.json"
    own.write_text(json.dumps({"bowl": 5, "golf_ball": 2}))  # a dataset's table
    assert load_class_table(fit_names, own, tmp_path / "missing.json") == {"cube": 0, "bowl": 1, "golf_ball": 2}


def test_restrict_classes_sets_aside_whole_images_with_unknown_classes(tmp_path):
    import json

    from maestro_perception.train import restrict_classes

    ds = tmp_path / "ds"
    for split in ("train", "val"):
        (ds / "images" / split).mkdir(parents=True)
        (ds / "labels" / split).mkdir(parents=True)
    (ds / "names.json").write_text(json.dumps({"cube": 0, "bowl": 1, "golf_ball": 2}))
    rows = {"a": "0 0.1 0.1 0.2 0.1 0.2 0.2\n", "b": "1 0.1 0.1 0.2 0.1 0.2 0.2\n2 0.5 0.5 0.6 0.5 0.6 0.6\n"}
    for stem, text in rows.items():
        (ds / "images" / "train" / f"{stem}.jpg").write_bytes(b"jpg")
        (ds / "labels" / "train" / f"{stem}.txt").write_text(text)
    (ds / "labels" / "train.cache").write_text("stale")
    init = tmp_path / "names.json"
    init.write_text(json.dumps({"0": "cube", "1": "bowl"}))
    assert restrict_classes(ds, init) == 1
    assert [p.stem for p in (ds / "images" / "train").iterdir()] == ["a"]
    assert (tmp_path / "ds_unknown_classes" / "labels" / "train" / "b.txt").read_text() == rows["b"]
    assert json.loads((ds / "names.json").read_text()) == {"cube": 0, "bowl": 1}
    assert "golf_ball" not in (ds / "dataset.yaml").read_text() and not (ds / "labels" / "train.cache").exists()
