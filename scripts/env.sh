# Source this file to use the Maestro workspace: `source scripts/env.sh`.
_MAESTRO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC1091
source "$_MAESTRO_ROOT/.venv/bin/activate"
if [ -z "${ROS_DISTRO:-}" ] || [ ! -d "/opt/ros/${ROS_DISTRO:-none}" ]; then
  export AMENT_PREFIX_PATH="$VIRTUAL_ENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
fi
# shellcheck disable=SC1091
[ -f "$_MAESTRO_ROOT/install/local_setup.bash" ] && source "$_MAESTRO_ROOT/install/local_setup.bash"
# DDS stays on this machine unless the user configures otherwise.
export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-42}"
export MUJOCO_GL="${MUJOCO_GL:-egl}"
export PYOPENGL_PLATFORM="${PYOPENGL_PLATFORM:-egl}"
export MAESTRO_ROOT="$_MAESTRO_ROOT"
unset _MAESTRO_ROOT
# The `maestro` command (installed by colcon under the maestro_bringup prefix).
export PATH="$MAESTRO_ROOT/install/maestro_bringup/lib/maestro_bringup:$PATH"
