"""``maestro perception train --sim``: the whole detector recipe in one command, across two venvs.

1. **render** (this process, the main venv with the simulator): a domain-randomised training set from the
   tabletop tasks (and ``--mobile-samples`` scenes of the Go2-W + PiPER tasks), then a held-out set from other seeds.
   ``--render in-process`` (default) builds the scenes with ``maestro_sim`` directly and moves the arm/base to random
   viewpoints (:mod:`maestro_perception.sim_render`); ``--render ros`` drives ``maestro_sim``'s ``sim_node``, started
   as a subprocess on a private ROS domain (loopback only). The ``base`` scenes are left out by default
   (``--perturbations``): they do not change with the seed, and the recall benchmark scores them, so they stay unseen.
2. **fit** (a subprocess in the training venv ``.venv-train``, made by ``scripts/setup_training.sh``: ultralytics +
   torch 2.14.1/torchvision 0.29.1, which cannot live beside the main venv's CPU torch 2.13): ``yolo11n-seg`` from its
   yaml (no pretrained weights, fully offline) or fine-tuned from ``--init`` weights, ``nice -n 19``, ONNX export,
   ultralytics val on both sets. With ``--init``, the class ids are the init model's (its ``names.json``) and images
   showing classes it does not have are set aside, so the detection head is kept.
3. **ship** (``--ship``): copy ``best.onnx`` and a model card (class names, metrics, the command) into
   ``src/maestro_perception/models/`` as the default weights of the ``yolo`` backend.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["SHIPPED_CARD", "SHIPPED_CHECKPOINT", "SHIPPED_MODEL", "add_train_arguments", "init_names", "repo_root",
           "run_train", "training_python"]

SHIPPED_MODEL = "maestro_sim_yolo11n_seg.onnx"
SHIPPED_CARD = "maestro_sim_yolo11n_seg.json"
SHIPPED_CHECKPOINT = "maestro_sim_yolo11n_seg.pt"  # the same weights for ultralytics: fine-tune with --init


def repo_root() -> Path:
    """The workspace root: ``$MAESTRO_ROOT`` or the folder above ``src/`` of this (symlink-installed) source file."""
    env = os.environ.get("MAESTRO_ROOT")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3]


def training_python(explicit: str = "") -> Path:
    """Python of the training venv (``--train-python``, ``$MAESTRO_TRAIN_PYTHON`` or ``<root>/.venv-train``)."""
    return Path(explicit or os.environ.get("MAESTRO_TRAIN_PYTHON", "") or repo_root() / ".venv-train/bin/python")


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``maestro perception train``."""
    p.add_argument("--sim", action="store_true",
                   help="render the dataset from the simulator (required unless --data is given)")
    p.add_argument("--data", type=Path, default=None, help="skip rendering: train on this dataset.yaml")
    p.add_argument("--heldout", type=Path, default=None, help="with --data: held-out dataset.yaml to evaluate")
    p.add_argument("--out", type=Path, default=Path("out/detector"), help="work folder (datasets, runs, weights)")
    p.add_argument("--samples", type=int, default=220, help="tabletop scene resets (2 images each)")
    p.add_argument("--mobile-samples", type=int, default=50, help="Go2-W + PiPER scene resets (0 = none)")
    p.add_argument("--heldout-samples", type=int, default=30, help="tabletop resets of the held-out set")
    p.add_argument("--heldout-mobile-samples", type=int, default=10, help="mobile resets of the held-out set")
    p.add_argument("--seed", type=int, default=0, help="training scenes' seed; the held-out set uses seed + 1000")
    p.add_argument("--render", choices=("in-process", "ros"), default="in-process",
                   help="build scenes with maestro_sim in this process (fast, random viewpoints) or drive sim_node")
    p.add_argument("--perturbations", default="visual,visual,pose,new_object",
                   help="STAR-Gen axes to sample (repeats weight them); base is left out so its scenes stay unseen")
    p.add_argument("--viewpoint-fraction", type=float, default=0.5,
                   help="in-process: share of scenes rendered with the arm (and mobile base) moved")
    p.add_argument("--init", type=Path, default=None,
                   help="fine-tune these .pt weights (their names.json beside them fixes the class ids)")
    p.add_argument("--lr0", type=float, default=0.002, help="AdamW learning rate (0.001 suits a fine-tune)")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--hours", type=float, default=0.0, help="train for this wall time instead of --epochs")
    p.add_argument("--imgsz", type=int, default=320)
    p.add_argument("--device", default="cpu", help="training device (cpu, 0 for the first GPU)")
    p.add_argument("--train-python", default="", help="python of the training venv (default .venv-train)")
    p.add_argument("--ship", action="store_true", help="copy the result into src/maestro_perception/models/")


def init_names(init: Path) -> Path:
    """The class table of the ``--init`` weights: the ``names.json`` that ``fit`` wrote beside them, or the model card
    of the same name (``models/maestro_sim_yolo11n_seg.pt`` -> ``.json``) for the shipped checkpoint."""
    init = Path(init).resolve()
    for names in (init.parent / "names.json", init.with_suffix(".json")):
        if names.is_file():
            return names
    raise FileNotFoundError(f"no names.json beside {init} (nor {init.with_suffix('.json').name}): --init needs the "
                            f"class table that fit writes beside best.pt")


def _render(args: argparse.Namespace) -> tuple[Path, Path]:
    from maestro_perception.train import align_classes, render, restrict_classes

    ds, held = args.out / "dataset", args.out / "heldout"
    perts = [p for p in args.perturbations.split(",") if p] or None
    common: dict = {"max_side": args.imgsz, "perturbations": perts}
    if args.render == "ros":
        os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
        # a private domain: the sim started here must not answer (or disturb) a stack running on this machine
        os.environ["ROS_DOMAIN_ID"] = str(random.Random().randint(101, 200))
        render_fn = render
        common["start_sim"] = True
    else:
        from maestro_perception.sim_render import render_in_process

        render_fn = render_in_process
        common["viewpoint_fraction"] = args.viewpoint_fraction
    names_from = init_names(args.init) if args.init is not None else None
    data = render_fn(ds, args.samples, args.seed, embodiment="franka", names_from=names_from, **common)
    if args.mobile_samples > 0:
        data = render_fn(ds, args.mobile_samples, args.seed, embodiment="go2w_piper", **common)
    if names_from is not None:
        aside = restrict_classes(ds, names_from)
        if aside:
            print(f"set aside {aside} training images showing classes the --init model lacks", flush=True)
    heldout = render_fn(held, args.heldout_samples, args.seed + 1000, val_fraction=1.0, names_from=ds / "names.json",
                        embodiment="franka", **common)
    if args.heldout_mobile_samples > 0:
        heldout = render_fn(held, args.heldout_mobile_samples, args.seed + 1000, val_fraction=1.0,
                            embodiment="go2w_piper", **common)
    dropped = align_classes(held, ds / "names.json")
    if dropped:
        print(f"held-out objects of classes absent from the training set (not scored): {dropped}", flush=True)
    return data, heldout


def fit_command(py: Path, data: Path, weights_out: Path, args: argparse.Namespace, heldout: Path | None) -> list[str]:
    """The niced training-venv command line that runs ``maestro_perception.train fit``."""
    cmd = ["nice", "-n", "19", str(py), "-m", "maestro_perception.train", "fit", "--data", str(data.resolve()),
           "--weights-out", str(weights_out.resolve()), "--epochs", str(args.epochs), "--imgsz", str(args.imgsz),
           "--device", str(args.device), "--hours", str(args.hours), "--lr0", str(args.lr0)]
    if args.init is not None:
        cmd += ["--init", str(Path(args.init).resolve())]
    if heldout is not None:
        cmd += ["--heldout", str(heldout.resolve())]
    return cmd


def ship(weights_out: Path, command: str, models_dir: Path | None = None) -> Path:
    """Copy ``best.onnx`` + a model card (names, metrics, command) into the package's models folder."""
    models = models_dir or Path(__file__).resolve().parents[1] / "models"
    models.mkdir(parents=True, exist_ok=True)
    shutil.copy(weights_out / "best.onnx", models / SHIPPED_MODEL)
    shutil.copy(weights_out / "best.pt", models / SHIPPED_CHECKPOINT)
    metrics = json.loads((weights_out / "metrics.json").read_text())
    card = {"weights": SHIPPED_MODEL, "checkpoint": SHIPPED_CHECKPOINT,
            "architecture": "yolo11n-seg, trained by this project from random initialisation (no downloaded weights)"
                            + (f"; {metrics['model']}" if str(metrics.get("model", "")).startswith("fine") else ""),
            "names": json.loads((weights_out / "names.json").read_text()),
            "metrics": metrics, "command": command}
    (models / SHIPPED_CARD).write_text(json.dumps(card, indent=1) + "\n")
    return models / SHIPPED_MODEL


def run_train(args: argparse.Namespace) -> int:
    """Render (main venv) + fit/export/val (training venv subprocess) + optional ship; returns an exit code."""
    if not args.sim and args.data is None:
        print("say where the images come from: --sim (render them from the simulator) or --data dataset.yaml",
              file=sys.stderr)
        return 2
    py = training_python(args.train_python)
    if not py.exists():
        print(f"training venv not found ({py}): run scripts/setup_training.sh (ultralytics + torch 2.14.1 / "
              f"torchvision 0.29.1 in .venv-train; the main venv's torch cannot run ultralytics)", file=sys.stderr)
        return 1
    if args.data is not None:
        data, heldout = args.data, args.heldout
    else:
        how = "in-process" if args.render == "in-process" else "simulator subprocess, private ROS domain"
        print(f"[1/3] rendering {args.samples} tabletop + {args.mobile_samples} mobile scenes into {args.out} ({how})",
              flush=True)
        data, heldout = _render(args)
    weights_out = args.out / "weights"
    cmd = fit_command(py, data, weights_out, args, heldout)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]), PYTHONNOUSERSITE="1")
    env.pop("PYTHONHOME", None)
    print(f"[2/3] training in the training venv: {shlex.join(cmd)}", flush=True)
    rc = subprocess.call(cmd, env=env)
    if rc != 0:
        print(f"training failed (exit {rc}); see {weights_out}", file=sys.stderr)
        return 1
    print(f"[3/3] weights: {weights_out / 'best.onnx'}; metrics: {weights_out / 'metrics.json'}", flush=True)
    if args.ship:
        shipped = ship(weights_out, shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]))
        print(f"shipped {shipped} (rebuild maestro_perception to install it)")
    return 0
