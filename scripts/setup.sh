#!/usr/bin/env bash
# One-command set-up of the Maestro workspace (idempotent).
#  - pip path (default): .venv with the ROS 2 Kilted wheels from PyPI + pinned Python deps, CMake path repair, colcon build.
#  - ROS path: when a ROS 2 install is sourced (ROS_DISTRO set), the venv sees the system packages, the wheels and the
#    compat interface packages (tf2_msgs, control_msgs) are skipped, and colcon builds against the sourced install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"
STAMP_DIR="$VENV/.maestro-stamps"
log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

install_debian_packages() {
  local wanted=(cmake g++ libusb-1.0-0 libegl1 libegl-mesa0 libgl1-mesa-dri libgles2 bubblewrap ffmpeg chromium chromium-driver)
  local missing=()
  for p in "${wanted[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
    log "missing Debian packages: ${missing[*]} (install them as root)"; return 1
  fi
  local SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  log "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
}

ros_install_sourced() { [ -n "${ROS_DISTRO:-}" ] && [ -d "/opt/ros/${ROS_DISTRO}" ]; }

stamp_ok() {  # stamp_ok NAME FILES... : true when FILES are unchanged since the last successful step NAME
  local name="$1"; shift
  local sum; sum="$(cat "$@" | sha256sum | cut -d' ' -f1)"
  [ -f "$STAMP_DIR/$name" ] && [ "$(cat "$STAMP_DIR/$name")" = "$sum" ]
}
stamp_write() { local name="$1"; shift; mkdir -p "$STAMP_DIR"; cat "$@" | sha256sum | cut -d' ' -f1 > "$STAMP_DIR/$name"; }

install_debian_packages

if [ ! -x "$VENV/bin/python" ]; then
  if ros_install_sourced; then
    log "ROS 2 ${ROS_DISTRO} is sourced: creating .venv with system site packages"
    "$PYTHON" -m venv --system-site-packages "$VENV"
  else
    log "creating .venv"
    "$PYTHON" -m venv "$VENV"
  fi
  "$VENV/bin/pip" install -q --upgrade pip setuptools wheel
fi
PIP=("$VENV/bin/pip" install -q --disable-pip-version-check)

if ! ros_install_sourced; then
  if ! stamp_ok ros-wheels requirements/ros-wheels.txt; then
    log "installing ROS 2 Kilted wheels"
    "${PIP[@]}" -r requirements/ros-wheels.txt
    stamp_write ros-wheels requirements/ros-wheels.txt
  fi
fi
if ! stamp_ok python requirements/python.txt requirements/models-nodeps.txt; then
  log "installing Python dependencies"
  "${PIP[@]}" -r requirements/python.txt
  "${PIP[@]}" --no-deps -r requirements/models-nodeps.txt
  stamp_write python requirements/python.txt requirements/models-nodeps.txt
fi

# shellcheck disable=SC1091
source "$VENV/bin/activate"
COLCON_ARGS=(--symlink-install --event-handlers console_stderr- status-)
if ros_install_sourced; then
  SKIP=()
  for pkg in tf2_msgs control_msgs; do
    if python -c "import ${pkg}" 2>/dev/null; then SKIP+=("$pkg"); fi
  done
  [ ${#SKIP[@]} -gt 0 ] && { log "using the ROS install's ${SKIP[*]}"; COLCON_ARGS+=(--packages-skip "${SKIP[@]}"); }
else
  python "$ROOT/scripts/fix_wheel_cmake_paths.py" "$VENV"
  export CMAKE_PREFIX_PATH="$VENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
  export AMENT_PREFIX_PATH="$VENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
fi
log "colcon build"
colcon build "${COLCON_ARGS[@]}"
log "done: 'source scripts/env.sh' to use the workspace, or run 'make demo' / 'make test'"
