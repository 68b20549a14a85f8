"""Train the ``yolo`` backend's detector on images rendered by the simulator.

Two steps, usable separately (``python -m maestro_perception.train {render,fit,all} ...``):

``render``  drives a running ``maestro_sim`` over ROS (``--start-sim`` starts its ``sim_node`` executable as a
            subprocess; this module never imports maestro_sim): for each sample it resets a random tabletop task with
            a random seed and STAR-Gen perturbation (``visual`` restyles colours, textures and lights: the domain
            randomisation; ``pose`` and ``new_object`` vary placement and objects), waits for fresh frames, and writes
            every camera's rgb image plus YOLO-seg polygons traced from the segmentation render (labels from
            /sim/get_scene_ground_truth). Output: ``images/{train,val}``, ``labels/{train,val}``, ``dataset.yaml``.
``fit``     trains ``yolo11n-seg`` from its yaml (no pretrained weights, no network: YOLO_OFFLINE) with ultralytics,
            then exports ONNX for the onnxruntime backend. Needs ultralytics with a torchvision that works beside the
            installed torch (see docs: e.g. a separate venv with torch 2.14.1 + torchvision 0.29.1); it imports no ROS.

``val``     ultralytics val of trained ``.pt`` weights on a dataset (e.g. held-out renders from unseen seeds).

The exported ``best.onnx`` goes to ``--weights-out``. ``maestro perception train --sim`` (:mod:`train_pipeline`) runs
the whole recipe across the two venvs and ``--ship`` installs the result as the yolo backend's default weights
(``models/maestro_sim_yolo11n_seg.onnx`` + a JSON model card).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["align_classes", "coarse_label", "evaluate", "fit", "load_class_table", "main", "make_split_dirs", "mask_polygons",
           "merge_polygons", "render", "restrict_classes", "save_sample", "write_dataset_yaml", "yolo_seg_lines"]

TABLETOP_TASKS = ["put_ball_in_bowl", "rotate_cube", "hang_mug", "cut_banana", "clean_table_by_size",
                  "erase_then_stack", "open_cabinet", "fold_towel"]
MOBILE_TASKS = ["search_ball", "trash_ball", "collect_toys", "open_door_enter"]
PERTURBATIONS = ["base", "visual", "visual", "pose", "new_object"]
EMBODIMENT_CAMERAS = {"franka": ["front", "wrist"], "go2w_piper": ["head", "wrist"]}


COLOURS = ("red", "green", "blue", "yellow", "orange", "purple", "pink", "cyan", "white", "black", "grey", "gray",
           "brown", "wooden")


# ------------------------------------------------------------------------------------------------ labels (no ROS)
def coarse_label(label: str) -> str:
    """Detector class of a scene label: the colour/material words dropped (``red_cube`` -> ``cube``).

    The perturbations recolour objects, so colour-specific classes would each get a handful of examples; the agent
    still sees colours in the annotated image, and DetectObjects("red cube") matches the class ``cube``.
    """
    words = [w for w in label.lower().split("_") if w]
    kept = [w for w in words if w not in COLOURS]
    return "_".join(kept) or label
def mask_polygons(mask: np.ndarray, min_area: float = 12.0) -> list[np.ndarray]:
    """Outer contours of a boolean mask as (N, 2) pixel polygons (x, y), largest first (contourpy, no OpenCV)."""
    import contourpy

    padded = np.pad(mask.astype(np.float32), 1)
    gen = contourpy.contour_generator(z=padded, line_type=contourpy.LineType.Separate)
    polys = []
    for line in gen.lines(0.5):
        pts = np.asarray(line, dtype=np.float64) - 1.0  # undo the padding
        if len(pts) < 3:
            continue
        x, y = pts[:, 0], pts[:, 1]
        area = 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))
        if area >= min_area:
            polys.append((area, pts))
    return [p for _, p in sorted(polys, key=lambda t: -t[0])]


def merge_polygons(polys: list[np.ndarray]) -> np.ndarray:
    """One polygon through all parts of an instance, joined at their nearest points by zero-width bridges.

    YOLO-seg labels hold one polygon per object and ultralytics derives the object's box from that polygon's extent,
    so an object seen in pieces (a doorway's two wall segments, a mug split by the gripper) must keep every piece or
    its box shrinks to the largest one. Each part is entered at the point nearest to the previous part, walked once
    around, and left the way it was entered (the same idea as ultralytics' ``merge_multi_segment``).
    """
    if len(polys) == 1:
        return polys[0]
    # chain the parts: each next part is the one nearest to the parts already chained
    order, rest = [0], list(range(1, len(polys)))
    entry: dict[int, tuple[int, int]] = {}  # part -> (index of its entry point, index in the previous part)
    while rest:
        prev = polys[order[-1]]
        dists = [(np.linalg.norm(prev[:, None, :] - polys[j][None, :, :], axis=2), j) for j in rest]
        d, j = min(dists, key=lambda t: float(t[0].min()))
        i_prev, i_next = np.unravel_index(int(np.argmin(d)), d.shape)
        entry[j] = (int(i_next), int(i_prev))
        order.append(j)
        rest.remove(j)

    def walk(k: int) -> list[np.ndarray]:
        """Points of part k starting at its entry, with every later part spliced in where it hangs off k."""
        poly = polys[k]
        start = entry.get(k, (0, 0))[0]
        children = {entry[c][1]: c for c in order if c in entry and order.index(c) == order.index(k) + 1}
        pts: list[np.ndarray] = []
        for step in range(len(poly) + 1):
            idx = (start + step) % len(poly)
            pts.append(poly[idx])
            if step < len(poly) and idx in children:
                pts.extend(walk(children.pop(idx)))
                pts.append(poly[idx])
        return pts

    return np.asarray(walk(order[0]))


def yolo_seg_lines(seg: np.ndarray, instances: dict[int, int], min_pixels: int = 30, max_vertices: int = 200
                   ) -> list[str]:
    """YOLO-seg label lines (``class x1 y1 x2 y2 ...`` normalised) for every instance id -> class id visible in seg.

    An instance seen in several pieces gets one polygon through all of them (:func:`merge_polygons`).
    """
    h, w = seg.shape
    lines = []
    for inst, cls in instances.items():
        mask = seg == inst
        if mask.sum() < min_pixels:
            continue
        polys = mask_polygons(mask)
        if not polys:
            continue
        total = sum(len(q) for q in polys)
        budgets = [max(4, int(max_vertices * len(q) / total)) for q in polys]  # every piece keeps its outline
        poly = merge_polygons([q[np.linspace(0, len(q) - 1, b).astype(int)] if len(q) > b else q
                               for q, b in zip(polys, budgets, strict=True)])
        norm = np.clip(poly / [w - 1, h - 1], 0.0, 1.0)
        lines.append(f"{cls} " + " ".join(f"{v:.5f}" for v in norm.ravel()))
    return lines


# ------------------------------------------------------------------------------------------------ render (ROS)
def _sim_executable() -> str:
    from ament_index_python.packages import get_package_prefix

    exe = Path(get_package_prefix("maestro_sim")) / "lib" / "maestro_sim" / "sim_node"
    if not exe.exists():
        raise FileNotFoundError(f"{exe} not found; build maestro_sim (colcon build) or start the simulator yourself")
    return str(exe)


def render(out: Path, samples: int, seed: int = 0, val_fraction: float = 0.15, start_sim: bool = False,
           tasks: list[str] | None = None, cameras: list[str] | None = None, timeout: float = 30.0,
           coarse: bool = True, max_side: int = 0, names_from: Path | None = None,
           perturbations: list[str] | None = None, embodiment: str = "franka") -> Path:
    """Render ``samples`` scene resets (every camera each) into a YOLO-seg dataset; returns dataset.yaml.

    ``max_side`` > 0 downscales the saved images so that their longer side is at most that many pixels (labels are
    normalised, so they stay valid); ``names_from`` starts the class table from another dataset's ``names.json`` (a
    held-out set must use the training set's class ids); ``val_fraction=1`` puts every image into ``val``.
    """
    import rclpy
    from rclpy.context import Context
    from rclpy.executors import MultiThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    from maestro_common.images import image_to_numpy
    from maestro_interfaces.srv import GetSceneGroundTruth, ResetScene
    from maestro_perception.sim_gt_node import call_service

    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    rng = random.Random(seed)
    tasks = tasks or (MOBILE_TASKS if embodiment == "go2w_piper" else TABLETOP_TASKS)
    cameras = cameras or EMBODIMENT_CAMERAS.get(embodiment, ["front", "wrist"])
    sim = None
    if start_sim:
        sim = subprocess.Popen([_sim_executable(), "--ros-args", "-p", f"embodiment:={embodiment}", "-p",
                                f"task:={tasks[0]}"], start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT)
    make_split_dirs(out)
    names = load_class_table(names_from, out / "names.json")
    ctx = Context()
    rclpy.init(context=ctx)
    node = rclpy.create_node(f"maestro_dataset_renderer_{os.getpid()}", context=ctx)
    streams: dict[tuple[str, str], deque] = {}
    lock = threading.Lock()
    qos = QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE)

    def store(key: tuple[str, str]) -> Any:
        def cb(msg: Any) -> None:
            with lock:
                streams.setdefault(key, deque(maxlen=4)).append((time.monotonic(), msg))
        return cb

    for cam in cameras:
        for s in ("image_raw", "segmentation"):
            node.create_subscription(Image, f"/{cam}/{s}", store((cam, s)), qos)
    reset_cli = node.create_client(ResetScene, "/sim/reset_scene")
    gt_cli = node.create_client(GetSceneGroundTruth, "/sim/get_scene_ground_truth")
    ex = MultiThreadedExecutor(num_threads=3, context=ctx)
    ex.add_node(node)
    spin = threading.Thread(target=ex.spin, daemon=True)
    spin.start()

    def fresh_pair(cam: str, after: float) -> tuple[Any, Any] | None:
        with lock:
            rgbs = [m for t, m in streams.get((cam, "image_raw"), ()) if t > after]
            segs = {(m.header.stamp.sec, m.header.stamp.nanosec): m
                    for t, m in streams.get((cam, "segmentation"), ()) if t > after}
        for m in reversed(rgbs):
            key = (m.header.stamp.sec, m.header.stamp.nanosec)
            if key in segs:
                return m, segs[key]
        return None

    written = 0
    try:
        if not reset_cli.wait_for_service(timeout_sec=90.0 if start_sim else timeout):
            raise RuntimeError("/sim/reset_scene is not available: start the simulator (or pass --start-sim)")
        for i in range(samples):
            task = rng.choice(tasks)
            pert = rng.choice(perturbations or PERTURBATIONS)
            scene_seed = rng.randrange(10**6)
            res = call_service(reset_cli, ResetScene.Request(task=task, seed=scene_seed, perturbation=pert),
                               timeout, "the simulator")
            if res.error_code != 0:
                print(f"skip {task}/{pert}: {res.error_msg}", file=sys.stderr)
                continue
            after = time.monotonic() + 0.2
            gt = call_service(gt_cli, GetSceneGroundTruth.Request(), timeout, "the simulator")
            instances = {}
            for obj in gt.objects:
                label = coarse_label(obj.label or obj.name) if coarse else (obj.label or obj.name)
                instances[int(obj.instance_id)] = names.setdefault(label, len(names))
            split = "val" if rng.random() < val_fraction else "train"
            if (split == "train" and val_fraction > 0 and i == samples - 1
                    and not any((out / "images" / "val").glob("*.jpg"))):
                split = "val"  # ultralytics cannot train without a val image: a tiny run still gets one
            for cam in cameras:
                deadline = time.monotonic() + timeout
                pair = None
                while pair is None and time.monotonic() < deadline:
                    time.sleep(0.05)
                    pair = fresh_pair(cam, after)
                if pair is None:
                    print(f"no fresh frame from {cam} after reset {i}", file=sys.stderr)
                    continue
                rgb = image_to_numpy(pair[0])
                seg = image_to_numpy(pair[1]).astype(np.int32)
                stem = f"{i:05d}_{task}_{pert}_s{scene_seed}_{cam}"
                save_sample(out, split, stem, rgb, yolo_seg_lines(seg, instances), max_side)
                written += 1
            print(f"[{i + 1}/{samples}] {task} {pert}: {len(instances)} objects", flush=True)
    finally:
        ex.shutdown(timeout_sec=2.0)
        node.destroy_node()
        rclpy.shutdown(context=ctx)
        if sim is not None:
            os.killpg(sim.pid, 2)
            try:
                sim.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(sim.pid, 9)
    yaml_path = write_dataset_yaml(out, names)
    print(f"wrote {written} images with {len(names)} classes to {out}")
    return yaml_path


def load_class_table(*files: Path | None) -> dict[str, int]:
    """Class name -> id from ``names.json`` files, earlier files winning; a dataset's ``{name: id}``, fit's
    ``{id: name}`` (written beside the weights) and a shipped model card (``{"names": {id: name}, ...}``) are all
    understood."""
    names: dict[str, int] = {}
    for src in files:
        if src is None or not Path(src).exists():
            continue
        table = json.loads(Path(src).read_text())
        if isinstance(table.get("names"), dict):
            table = table["names"]
        if table and all(str(k).isdigit() for k in table):
            table = {str(v): int(k) for k, v in table.items()}
        names.update({k: int(v) for k, v in table.items() if k not in names})
    return names


def restrict_classes(dataset: Path, names_file: Path) -> int:
    """Set aside (to ``<dataset>_unknown_classes/``) every image whose labels use a class missing from ``names_file``.

    Fine-tuning keeps the detection head only when the class table is unchanged, and dropping just the unknown object
    from a label would teach the model that it is background; so the whole image goes. The dataset's ``names.json``
    and ``dataset.yaml`` become ``names_file``'s table. Returns the number of images set aside.
    """
    keep = load_class_table(names_file)
    own = load_class_table(dataset / "names.json")
    unknown = {i for name, i in own.items() if keep.get(name) != i}
    aside = dataset.parent / f"{dataset.name}_unknown_classes"
    moved = 0
    for txt in sorted((dataset / "labels").glob("*/*.txt")):
        if not any(int(r.split()[0]) in unknown for r in txt.read_text().splitlines() if r.strip()):
            continue
        split = txt.parent.name
        for src, kind in ((dataset / "images" / split / f"{txt.stem}.jpg", "images"), (txt, "labels")):
            if src.exists():
                (aside / kind / split).mkdir(parents=True, exist_ok=True)
                src.rename(aside / kind / split / src.name)
        moved += 1
    write_dataset_yaml(dataset, keep)
    return moved


def make_split_dirs(out: Path) -> None:
    """``images/{train,val}`` and ``labels/{train,val}`` under a dataset folder."""
    for split in ("train", "val"):
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)


def save_sample(out: Path, split: str, stem: str, rgb: np.ndarray, lines: list[str], max_side: int = 0) -> None:
    """Write one camera image (JPEG, longer side downscaled to ``max_side`` when > 0) and its YOLO-seg label file."""
    from PIL import Image as PILImage

    img = PILImage.fromarray(np.ascontiguousarray(rgb[..., :3]))
    if max_side and max(img.size) > max_side:
        scale = max_side / max(img.size)
        img = img.resize((round(img.width * scale), round(img.height * scale)), PILImage.BILINEAR)
    img.save(out / "images" / split / f"{stem}.jpg", quality=92)
    (out / "labels" / split / f"{stem}.txt").write_text("\n".join(lines) + "\n")


def write_dataset_yaml(out: Path, names: dict[str, int]) -> Path:
    """Record a dataset's class table: ``names.json`` (name -> id) and ``dataset.yaml`` (absolute path, id -> name);
    stale ultralytics label caches are removed, since the labels they index may have changed."""
    (out / "names.json").write_text(json.dumps(names, indent=1))
    yaml_path = out / "dataset.yaml"
    ordered = sorted(names, key=names.get)
    yaml_path.write_text(f"path: {out.resolve()}\ntrain: images/train\nval: images/val\nnames:\n"
                         + "".join(f"  {names[n]}: {n}\n" for n in ordered))
    for cache in (out / "labels").glob("*.cache"):
        cache.unlink()
    return yaml_path


def align_classes(dataset: Path, names_file: Path) -> dict[str, int]:
    """Re-number a (held-out) dataset's labels to the class ids of a training set's ``names.json``.

    Objects of classes the training set never saw are dropped from the labels (the detector cannot know them); returns
    ``{class: instances dropped}``. The dataset's ``names.json`` and ``dataset.yaml`` then equal the training set's.
    """
    train_names: dict[str, int] = json.loads(Path(names_file).read_text())
    own: dict[str, int] = json.loads((dataset / "names.json").read_text())
    id_to_name = {v: k for k, v in own.items()}
    dropped: dict[str, int] = {}
    for txt in (dataset / "labels").glob("*/*.txt"):
        lines = []
        for line in txt.read_text().splitlines():
            if not line.strip():
                continue
            cls, rest = line.split(" ", 1)
            name = id_to_name[int(cls)]
            if name in train_names:
                lines.append(f"{train_names[name]} {rest}")
            else:
                dropped[name] = dropped.get(name, 0) + 1
        txt.write_text("\n".join(lines) + "\n")
    write_dataset_yaml(dataset, train_names)
    return dropped


# ------------------------------------------------------------------------------------------------ fit (ultralytics)
def _offline_ultralytics(workdir: Path) -> None:
    """Settings for ultralytics without network: offline flags, project-local config/cache, a bundled font."""
    cfg = workdir / "ultralytics_cfg"
    (cfg / "Ultralytics").mkdir(parents=True, exist_ok=True)
    for k, v in {"YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "0", "YOLO_CONFIG_DIR": str(cfg),
                 "MPLCONFIGDIR": str(workdir / "mpl"), "XDG_CACHE_HOME": str(workdir / "cache")}.items():
        os.environ.setdefault(k, v)
    font = cfg / "Ultralytics" / "Arial.ttf"
    if not font.exists():
        import matplotlib

        shutil.copy(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf", font)


def _val_metrics(model: Any, data: Path, imgsz: int, device: str, split: str = "val") -> dict[str, Any]:
    """ultralytics val of ``model`` on ``data``: box/mask mAP50, mAP50-95 and per-class box mAP50."""
    m = model.val(data=str(Path(data).resolve()), imgsz=imgsz, device=device, split=split, plots=False,
                  verbose=False, batch=8, workers=0)
    names = m.names if hasattr(m, "names") else model.names
    per_class = {names[int(c)]: round(float(v), 4)
                 for c, v in zip(m.box.ap_class_index, m.box.all_ap[:, 0], strict=True)}
    out = {"box_map50": round(float(m.box.map50), 4), "box_map50_95": round(float(m.box.map), 4),
           "box_recall": round(float(m.box.mr), 4), "box_precision": round(float(m.box.mp), 4),
           "per_class_box_map50": per_class}
    if hasattr(m, "seg"):
        out.update({"mask_map50": round(float(m.seg.map50), 4), "mask_map50_95": round(float(m.seg.map), 4)})
    return out


def _count_images(data: Path) -> dict[str, int]:
    root = Path(data).resolve().parent
    return {split: len(list((root / "images" / split).glob("*.jpg"))) for split in ("train", "val")}


def fit(data: Path, out: Path, epochs: int = 40, imgsz: int = 320, batch: int = 8, device: str = "cpu",
        threads: int = 2, model_yaml: str = "yolo11n-seg.yaml", hours: float = 0.0, heldout: Path | None = None,
        patience: int = 100, lr0: float = 0.002, warmup_epochs: float = 1.0, init: Path | None = None) -> Path:
    """Train from scratch (offline) or fine-tune ``init`` weights, export ONNX, validate; returns best.onnx in ``out``.

    ``hours`` > 0 trains for that wall time instead of ``epochs`` (ultralytics' ``time``: the learning-rate schedule
    is fitted to the epochs that fit). AdamW at ``lr0``: ultralytics' automatic choice scales the rate down with the
    number of classes (2.4e-4 for ~40 classes), too slow for the few epochs a CPU affords. ``heldout``: a dataset.yaml
    of scenes from unseen seeds; its ``val`` split is
    evaluated after training. Writes ``metrics.json`` (both validations, epochs run, seconds per epoch),
    ``best.pt``, ``best.onnx`` and ``names.json`` (class id -> name) to ``out``.
    """
    out.mkdir(parents=True, exist_ok=True)
    _offline_ultralytics(out)
    import torch
    from ultralytics import YOLO, settings

    settings.update({"sync": False})
    model = YOLO(str(init) if init is not None else model_yaml)

    def keep_threads(_trainer: Any) -> None:
        torch.set_num_threads(threads)  # ultralytics drops to one thread on CPU

    model.add_callback("on_pretrain_routine_end", keep_threads)
    t0 = time.monotonic()
    extra = {"time": hours} if hours > 0 else {}
    model.train(data=str(Path(data).resolve()), epochs=epochs, imgsz=imgsz, batch=batch, device=device,
                workers=0, pretrained=init is not None, amp=False, project=str(out.resolve()), name="run", exist_ok=True,
                plots=False, verbose=False, seed=0, deterministic=False, patience=patience, cache=True,
                optimizer="AdamW", lr0=lr0, warmup_epochs=warmup_epochs, **extra)
    train_s = time.monotonic() - t0
    best = out / "run" / "weights" / "best.pt"
    epochs_run = 0
    results_csv = out / "run" / "results.csv"
    if results_csv.exists():
        epochs_run = max(0, len(results_csv.read_text().strip().splitlines()) - 1)
    trained = YOLO(str(best))
    onnx_path = Path(trained.export(format="onnx", imgsz=imgsz, simplify=True, dynamic=False, opset=17))
    summary: dict[str, Any] = {
        "model": model_yaml if init is None else f"fine-tuned from {Path(init).name}",
        "imgsz": imgsz, "batch": batch, "optimizer": "AdamW", "lr0": lr0,
        "epochs_requested": epochs, "hours": hours,
        "epochs_run": epochs_run, "train_seconds": round(train_s, 1),
        "seconds_per_epoch": round(train_s / max(epochs_run, 1), 1), "images": _count_images(data),
        "val": _val_metrics(trained, data, imgsz, device)}
    if heldout is not None:
        summary["heldout_images"] = _count_images(heldout)["val"]
        summary["heldout"] = _val_metrics(trained, heldout, imgsz, device)
    names = {int(k): str(v) for k, v in trained.names.items()}
    (out / "names.json").write_text(json.dumps(names, indent=1))
    (out / "metrics.json").write_text(json.dumps(summary, indent=1))
    shutil.copy(onnx_path, out / "best.onnx")
    if best.resolve() != (out / "best.pt").resolve():
        shutil.copy(best, out / "best.pt")
    print(f"metrics: {json.dumps(summary)}; weights in {out}")
    return out / "best.onnx"


def evaluate(weights: Path, data: Path, imgsz: int = 320, device: str = "cpu") -> dict[str, Any]:
    """ultralytics val of trained ``.pt`` weights on a dataset.yaml (its ``val`` split); prints and returns metrics."""
    _offline_ultralytics(Path(weights).resolve().parent)
    from ultralytics import YOLO, settings

    settings.update({"sync": False})
    metrics = _val_metrics(YOLO(str(weights)), data, imgsz, device)
    print(json.dumps(metrics, indent=1))
    return metrics


def main(argv: list[str] | None = None) -> int:
    """Command line: ``render``, ``fit`` or ``all``."""
    ap = argparse.ArgumentParser(prog="python -m maestro_perception.train", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("render", help="render a labelled dataset from the simulator")
    f = sub.add_parser("fit", help="train yolo11n-seg on a rendered dataset and export ONNX")
    a = sub.add_parser("all", help="render, then fit")
    v = sub.add_parser("val", help="ultralytics val of .pt weights on a dataset (e.g. held-out renders)")
    v.add_argument("--weights", type=Path, required=True)
    v.add_argument("--data", type=Path, required=True)
    v.add_argument("--imgsz", type=int, default=320)
    v.add_argument("--device", default="cpu")
    for p in (r, a):
        p.add_argument("--out", type=Path, default=Path("out/dataset"))
        p.add_argument("--samples", type=int, default=60, help="scene resets (each gives one image per camera)")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--start-sim", action="store_true", help="start the simulator as a subprocess")
        p.add_argument("--tasks", default="", help="comma-separated task ids (default: all tabletop tasks)")
        p.add_argument("--max-side", type=int, default=0, help="downscale saved images to this longer side (0 = keep)")
        p.add_argument("--val-fraction", type=float, default=0.15, help="share of resets that go to val (1 = all)")
        p.add_argument("--names-from", type=Path, default=None, help="names.json of the training set (held-out sets)")
        p.add_argument("--perturbations", default="", help="comma-separated STAR-Gen axes (default: mixed)")
        p.add_argument("--embodiment", default="franka", choices=sorted(EMBODIMENT_CAMERAS),
                       help="robot of the simulator started by --start-sim (default tasks follow it)")
        p.add_argument("--in-process", action="store_true",
                       help="render with maestro_sim in this process (no ROS, ~10x faster) with randomised viewpoints")
        p.add_argument("--viewpoint-fraction", type=float, default=0.5,
                       help="--in-process: share of samples with the arm (and mobile base) moved before rendering")
    for p in (f, a):
        p.add_argument("--weights-out", type=Path, default=Path("out/detector"))
        p.add_argument("--epochs", type=int, default=40)
        p.add_argument("--imgsz", type=int, default=320)
        p.add_argument("--batch", type=int, default=8)
        p.add_argument("--device", default="cpu")
        p.add_argument("--hours", type=float, default=0.0, help="train for this wall time instead of --epochs")
        p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
        p.add_argument("--lr0", type=float, default=0.002, help="AdamW learning rate")
        p.add_argument("--heldout", type=Path, default=None, help="dataset.yaml of held-out renders to evaluate")
        p.add_argument("--init", type=Path, default=None, help="fine-tune these .pt weights instead of training "
                                                                "yolo11n-seg from scratch")
    f.add_argument("--data", type=Path, required=True, help="dataset.yaml written by render")
    args = ap.parse_args(argv)
    if args.cmd in ("render", "all"):
        tasks = [t for t in args.tasks.split(",") if t] or None
        perts = [t for t in args.perturbations.split(",") if t] or None
        if args.in_process:
            from maestro_perception.sim_render import render_in_process

            data = render_in_process(args.out, args.samples, args.seed, args.val_fraction, tasks=tasks,
                                     embodiment=args.embodiment, max_side=args.max_side, names_from=args.names_from,
                                     perturbations=perts, viewpoint_fraction=args.viewpoint_fraction)
        else:
            data = render(args.out, args.samples, args.seed, args.val_fraction, start_sim=args.start_sim, tasks=tasks,
                          max_side=args.max_side, names_from=args.names_from, perturbations=perts,
                          embodiment=args.embodiment)
    if args.cmd == "fit":
        data = args.data
    if args.cmd in ("fit", "all"):
        fit(data, args.weights_out, args.epochs, args.imgsz, args.batch, args.device, threads=args.threads,
            hours=args.hours, heldout=args.heldout, lr0=args.lr0, init=args.init)
    if args.cmd == "val":
        evaluate(args.weights, args.data, args.imgsz, args.device)
    return 0


if __name__ == "__main__":
    sys.exit(main())
