#!/usr/bin/env bash
# The project's test command (called by `make test` and .ci/run). Expects `source scripts/env.sh` done.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
export MUJOCO_GL=egl PYOPENGL_PLATFORM=egl
echo "[test] ruff"
ruff check src scripts launch benchmarks conftest.py
echo "[test] pytest"
MARK=(-m "not slow")
[ "${MAESTRO_SLOW:-0}" = "1" ] && MARK=()
# No blanket reruns: the "goal response never came" flakes were three rclpy races, fixed in
# maestro_common/rclpy_compat.py. A test that still needs a rerun carries its own @pytest.mark.flaky with the evidence.
python -m pytest "${MARK[@]}" src "$@"
