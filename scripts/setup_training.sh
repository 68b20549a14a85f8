#!/usr/bin/env bash
# Create .venv-train: the separate venv in which the YOLO detector trains (ultralytics + torch 2.14.1/torchvision 0.29.1).
# The runtime venv (.venv, CPU torch 2.13) cannot run ultralytics; the yolo backend itself only needs onnxruntime.
# Usage: scripts/setup_training.sh            (idempotent; re-run after editing requirements/training.txt)
# Then:  maestro perception train --sim        (or: python -m maestro_perception.cli train --sim)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENV="${MAESTRO_TRAIN_VENV:-$ROOT/.venv-train}"
REQ="$ROOT/requirements/training.txt"
STAMP="$VENV/.maestro-training-stamp"
log() { printf '\033[1;34m[setup_training]\033[0m %s\n' "$*"; }

if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV (plain venv on $($PYTHON --version 2>&1))"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip setuptools wheel
fi
SUM="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$SUM" ]; then
  log "up to date ($REQ unchanged)"
else
  log "installing $REQ (torch/torchvision are large CUDA builds; a local copy is used where pip finds one)"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQ"
  echo "$SUM" > "$STAMP"
fi
# Smoke check: the pair that breaks in .venv must work here (torchvision's compiled ops load, ultralytics imports).
YOLO_OFFLINE=1 YOLO_AUTOINSTALL=0 YOLO_CONFIG_DIR="$ROOT/out/ultralytics_cfg" MPLCONFIGDIR="$ROOT/out/mpl" \
  "$VENV/bin/python" - <<'PY'
import torch, torchvision, ultralytics, onnx, onnxslim, onnxruntime
from torchvision.ops import nms
nms(torch.zeros((1, 4)), torch.zeros(1), 0.5)
print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, ultralytics {ultralytics.__version__}, "
      f"onnx {onnx.__version__}, onnxruntime {onnxruntime.__version__}: OK")
PY
log "training venv ready: $VENV"
