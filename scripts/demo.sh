#!/usr/bin/env bash
# The main job: bring up the simulated Franka stack with the agent, run "Put the tennis ball into the bowl." end to end
# with the default model backend (offline rule planner unless GEMINI_API_KEY/OPENAI settings are present), print the
# evaluated progress, and shut everything down. Expects `source scripts/env.sh` done (the Makefile does it).
set -euo pipefail
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-42}"
TASK="${MAESTRO_DEMO_TASK:-put_ball_in_bowl}"
INSTRUCTION="${MAESTRO_DEMO_INSTRUCTION:-Put the tennis ball into the bowl.}"
MODEL="${MAESTRO_MODEL:-}"
LOG_DIR="${MAESTRO_RUNS:-runs}/demo-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$LOG_DIR"
echo "[demo] bringing up the franka stack (logs: $LOG_DIR/stack.log)"
maestro up franka --task "$TASK" > "$LOG_DIR/stack.log" 2>&1 &
UP_PID=$!
cleanup() { kill -INT "$UP_PID" 2>/dev/null || true; wait "$UP_PID" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
for _ in $(seq 1 240); do
  grep -q "all nodes ready" "$LOG_DIR/stack.log" && break
  if grep -q "NOT READY" "$LOG_DIR/stack.log" || ! kill -0 "$UP_PID" 2>/dev/null; then
    echo "[demo] the stack did not come up; see $LOG_DIR/stack.log"; tail -30 "$LOG_DIR/stack.log"; exit 1
  fi
  sleep 0.5
done
grep -q "all nodes ready" "$LOG_DIR/stack.log" || { echo "[demo] timed out waiting for the stack"; exit 1; }
echo "[demo] stack ready; running the agent"
maestro task "$INSTRUCTION" --task "$TASK" ${MODEL:+--model "$MODEL"}
