"""A synthetic, clearly labelled demo trial (trace + PNG images + MCAP + MP4) for tests, screenshots and benchmarks.

It follows the agent's event list (trial_start, model_request/response, substep_start/code, line, tool_call, stdout,
observation, verdict, trial_end) with a scripted "put the tennis ball into the bowl" run whose images are drawn with
Pillow. Nothing here is a result of the real agent: the trial's ``model`` field says ``demo (synthetic)``.

``python -m maestro_dashboard.demo OUT_DIR`` writes one trial folder.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

W, H = 320, 240
TABLE = (181, 160, 128)
BALL_START, BOWL = (95.0, 150.0), (235.0, 150.0)

CODE_1 = """# substep 1: find the ball, grasp it and lift it
dets = detect_objects(labels=["tennis ball", "bowl"], annotate=True)
ball = dets.detections[0]
grasps = plan_grasps(label="tennis ball", max_candidates=8)
best = grasps.candidates[0]
move_to_pose(pose=best.pre_grasp_pose)
move_to_pose(pose=best.grasp_pose, cartesian=True)
gripper(position=0.0, max_effort=40.0)
move_to_pose(pose=lifted(best.grasp_pose, dz=0.15))
print("holding ball:", get_robot_state().gripper_width > 0.01)"""
CODE_2 = """# substep 2: carry the ball above the bowl and release it
bowl = get_object_geometry(label="bowl")
above = above_of(bowl.center, dz=0.12)
r = move_to_pose(pose=above)
if not r:
    print("retrying with a joint-space plan:", r.error_msg)
    r = move_to_pose(pose=above, planner="ompl_rrtconnect")
gripper(position=0.08)
observe("is the ball in the bowl?")"""

# (rel start, rel end, substep, subtask, code line, name, args, result, error_code, image kind)
CALLS: list[tuple[float, float, int, int, int, str, dict[str, Any], str, int, str]] = [
    (3.7, 4.3, 1, 0, 2, "detect_objects", {"labels": ["tennis ball", "bowl"], "annotate": True},
     "2 detections: tennis ball 0.94, bowl 0.90", 0, "detect"),
    (4.5, 5.3, 1, 1, 4, "plan_grasps", {"label": "tennis ball", "max_candidates": 8},
     "8 candidates, best score 0.87", 0, "grasps"),
    (5.5, 7.6, 1, 1, 6, "move_to_pose", {"pose": "pre-grasp"}, "reached (pos err 2.1 mm)", 0, "path"),
    (7.7, 8.6, 1, 1, 7, "move_to_pose", {"pose": "grasp", "cartesian": True}, "reached (pos err 1.4 mm)", 0, ""),
    (8.7, 9.4, 1, 1, 8, "gripper", {"position": 0.0, "max_effort": 40.0}, "stalled at 0.064 m (object held)", 0, ""),
    (9.5, 11.0, 1, 1, 9, "move_to_pose", {"pose": "lift +0.15 m"}, "reached (pos err 1.9 mm)", 0, ""),
    (11.1, 11.2, 1, 1, 10, "get_robot_state", {}, "gripper_width 0.064 m", 0, ""),
    (15.6, 15.9, 2, 2, 2, "get_object_geometry", {"label": "bowl"}, "bowl centre (0.58, 0.21, 0.04) m", 0, "detect"),
    (16.0, 16.4, 2, 2, 4, "move_to_pose", {"pose": "above bowl"}, "no collision-free path in 0.4 s", 301, ""),
    (16.5, 19.0, 2, 2, 7, "move_to_pose", {"pose": "above bowl", "planner": "ompl_rrtconnect"},
     "reached (pos err 2.4 mm)", 0, "path"),
    (19.1, 19.7, 2, 2, 8, "gripper", {"position": 0.08}, "opened to 0.080 m", 0, ""),
    (19.8, 20.3, 2, 2, 9, "observe", {"question": "is the ball in the bowl?"}, "2 images", 0, "obs"),
]
SUBTASKS = ["locate the tennis ball and the bowl", "grasp and lift the ball", "place the ball in the bowl"]
DURATION = 24.0


def gripper_xy(rel: float) -> tuple[float, float, float]:
    """Scripted gripper position in the image (x, y) and opening (0..1) at ``rel`` seconds."""
    home = (160.0, 60.0)
    keys = [(0.0, home, 1.0), (5.5, home, 1.0), (7.6, (BALL_START[0], 120.0), 1.0), (8.6, (BALL_START[0], 140.0), 1.0),
            (9.4, (BALL_START[0], 140.0), 0.45), (11.0, (BALL_START[0], 90.0), 0.45), (16.5, (BALL_START[0], 90.0), 0.45),
            (19.0, (BOWL[0], 110.0), 0.45), (19.7, (BOWL[0], 110.0), 1.0), (DURATION, (BOWL[0], 110.0), 1.0)]
    for (t0, p0, o0), (t1, p1, o1) in zip(keys, keys[1:], strict=False):
        if t0 <= rel <= t1:
            a = (rel - t0) / max(t1 - t0, 1e-6)
            a = 0.5 - 0.5 * math.cos(math.pi * a)
            return p0[0] + a * (p1[0] - p0[0]), p0[1] + a * (p1[1] - p0[1]), o0 + a * (o1 - o0)
    return home[0], home[1], 1.0


def ball_xy(rel: float) -> tuple[float, float]:
    """Where the ball is: on the table, in the gripper, then in the bowl."""
    if rel < 9.4:
        return BALL_START
    if rel < 19.7:
        gx, gy, _ = gripper_xy(rel)
        return gx, gy + 12
    return BOWL[0], BOWL[1] - 4


def render(rel: float, kind: str = "", camera: str = "front") -> Image.Image:
    """Draw the scene at ``rel`` seconds (optionally with a tool's annotation: detect, grasps, path, obs)."""
    img = Image.new("RGB", (W, H), (58, 64, 78))
    d = ImageDraw.Draw(img)
    d.polygon([(20, 95), (300, 95), (320, 240), (0, 240)], fill=TABLE)
    if camera == "wrist":
        d.rectangle([0, 0, W, H], fill=(150, 132, 104))
    bx, by = BOWL
    d.ellipse([bx - 42, by - 16, bx + 42, by + 20], fill=(47, 94, 178), outline=(25, 50, 110), width=2)
    d.ellipse([bx - 34, by - 12, bx + 34, by + 8], fill=(30, 64, 130))
    cx, cy = ball_xy(rel)
    d.ellipse([cx - 10, cy - 10, cx + 10, cy + 10], fill=(206, 232, 60), outline=(120, 140, 20), width=2)
    gx, gy, op = gripper_xy(rel)
    gap = 6 + 14 * op
    d.rectangle([gx - 4, 0, gx + 4, gy - 14], fill=(225, 225, 230))
    d.rectangle([gx - gap - 6, gy - 16, gx + gap + 6, gy - 10], fill=(240, 240, 245))
    d.rectangle([gx - gap - 6, gy - 10, gx - gap, gy + 6], fill=(200, 200, 208))
    d.rectangle([gx + gap, gy - 10, gx + gap + 6, gy + 6], fill=(200, 200, 208))
    if kind == "detect":
        for (x, y, r, label, color) in ((cx, cy, 13, "tennis ball 0.94", (0, 255, 120)),
                                        (bx, by, 46, "bowl 0.90", (255, 190, 0))):
            d.rectangle([x - r, y - r * 0.6 if r > 20 else y - r, x + r, y + r * 0.6 if r > 20 else y + r],
                        outline=color, width=2)
            d.rectangle([x - r, y - r - 12, x - r + 7 * len(label), y - r], fill=color)
            d.text((x - r + 2, y - r - 12), label, fill=(0, 0, 0))
    elif kind == "grasps":
        for i, ang in enumerate(np.linspace(0, math.pi, 8, endpoint=False)):
            dx, dy = 18 * math.cos(ang), 18 * math.sin(ang)
            color = (0, 255, 0) if i == 0 else (255, 80, 80)
            d.line([cx - dx, cy - dy, cx + dx, cy + dy], fill=color, width=3 if i == 0 else 1)
    elif kind == "path":
        pts = [(gripper_xy(t)[0], gripper_xy(t)[1]) for t in np.linspace(rel, rel + 2.5, 12)]
        d.line(pts, fill=(255, 0, 255), width=2)
        for p in pts:
            d.ellipse([p[0] - 2, p[1] - 2, p[0] + 2, p[1] + 2], fill=(255, 0, 255))
    d.text((6, 4), f"{camera}  t={rel:5.1f}s  (synthetic demo)", fill=(235, 235, 235))
    return img


def joint_positions(rel: float) -> list[float]:
    """Seven arm joints + two fingers following the scripted gripper motion."""
    gx, gy, op = gripper_xy(rel)
    u, v = (gx - 160) / 160, (gy - 60) / 100
    q = [0.9 * u, -0.785 + 0.6 * v, 0.1 * u, -2.356 + 0.7 * v, 0.05 * u, 1.571 + 0.3 * v, 0.785 + 0.4 * u]
    return [*q, 0.04 * op, 0.04 * op]


def build_events(t0: float, trace_dir: str) -> list[dict[str, Any]]:
    """The demo trial's events with absolute times starting at ``t0``."""
    ev: list[dict[str, Any]] = []

    def add(rel: float, type_: str, **fields: Any) -> None:
        ev.append({"v": 1, "type": type_, "t": round(t0 + rel, 4), **fields})

    add(0.0, "trial_start", task="put_ball_in_bowl", scene="franka_tabletop", seed=3, model="demo (synthetic)",
        embodiment="franka", instruction="Put the tennis ball into the bowl.", trace_dir=trace_dir, perturbation="base")
    add(0.2, "observation", substep=0, images=["images/obs_00_front.png", "images/obs_00_wrist.png"])
    add(0.3, "model_request", substep=1, kind="plan", n_images=2)
    add(3.4, "model_response", substep=1, kind="plan", latency=3.1, input_tokens=5210, output_tokens=412)
    add(3.5, "substep_start", substep=1)
    add(3.5, "substep_code", substep=1, code=CODE_1, subtasks=SUBTASKS,
        reasoning="The ball lies on the left of the table and the bowl on the right. First detect both, then plan "
                  "antipodal grasps on the ball's point cloud, approach from above, close and lift 15 cm. I print the "
                  "gripper width to verify that the ball is held before moving on.")
    ev_lines = [(3.6, 1, 2), (4.4, 1, 3), (4.45, 1, 4), (5.4, 1, 5), (5.45, 1, 6), (7.65, 1, 7), (8.65, 1, 8),
                (9.45, 1, 9), (11.05, 1, 10), (15.5, 2, 2), (15.95, 2, 3), (15.97, 2, 4), (16.45, 2, 5), (16.47, 2, 6),
                (16.49, 2, 7), (19.05, 2, 8), (19.75, 2, 9)]
    for rel, sub, line in ev_lines:
        add(rel, "line", substep=sub, line=line)
    for i, (s, e, sub, subtask, line, name, args, result, err, kind) in enumerate(CALLS):
        image = f"images/call_{i:02d}_{name}.png" if kind else ""
        call = {"substep": sub, "subtask": subtask, "subtask_name": SUBTASKS[subtask], "line": line, "name": name,
                "args": args, "result": result, "error_code": err,
                "error_msg": "PLANNING_FAILED: try another planner or a nearby goal" if err else "",
                "t_start": round(t0 + s, 4), "t_end": round(t0 + e, 4)}
        if image:
            call["image"] = image
        ev.append({"v": 1, "type": "tool_call", "t": round(t0 + e, 4), **call})
    add(11.2, "stdout", substep=1, text="holding ball: True\n")
    add(11.3, "observation", substep=1, images=["images/obs_01_front.png", "images/obs_01_wrist.png"])
    add(11.4, "model_request", substep=1, kind="react", n_images=5)
    add(15.3, "model_response", substep=1, kind="react", latency=3.9, input_tokens=7830, output_tokens=365)
    add(15.35, "verdict", substep=1, verdict="CONTINUE",
        reasoning="The wrist image shows the ball between the fingers and the width is 6.4 cm: the ball is held. "
                  "Next: carry it above the bowl and release.")
    add(15.4, "substep_start", substep=2)
    add(15.4, "substep_code", substep=2, code=CODE_2, subtasks=SUBTASKS,
        reasoning="Get the bowl's centre from its geometry, move 12 cm above it and open the gripper. If the planner "
                  "fails, retry with RRT-Connect.")
    add(16.45, "stdout", substep=2, text="retrying with a joint-space plan: no collision-free path in 0.4 s\n")
    add(20.4, "observation", substep=2, images=["images/obs_02_front.png", "images/obs_02_wrist.png"])
    add(20.5, "model_request", substep=2, kind="react", n_images=4)
    add(23.5, "model_response", substep=2, kind="react", latency=3.0, input_tokens=8120, output_tokens=120)
    add(23.6, "verdict", substep=2, verdict="TASK_COMPLETE",
        reasoning="The front image shows the ball resting inside the bowl and the gripper open above it.")
    add(DURATION, "trial_end", progress=100.0, success=True, verdict="TASK_COMPLETE", substeps=2)
    return ev


def write_images(trial: Path, events: list[dict[str, Any]], t0: float) -> None:
    """Render every image file the events name."""
    (trial / "images").mkdir(parents=True, exist_ok=True)
    for e in events:
        if e["type"] == "observation":
            for f in e["images"]:
                render(e["t"] - t0, camera="wrist" if "wrist" in f else "front").save(trial / f)
        elif e["type"] == "tool_call" and e.get("image"):
            kind = next(c[9] for c in CALLS if c[5] == e["name"] and abs(t0 + c[1] - e["t_end"]) < 1e-3)
            render(e["t_start"] - t0, "obs" if kind == "obs" else kind).save(trial / e["image"])


def write_recording(trial: Path, t0: float, fps: float = 5.0) -> dict[str, Any]:
    """Record camera frames and joint states of the scripted motion through the real RecordingSession."""
    from rclpy.serialization import serialize_message
    from rclpy.time import Time as RosTime
    from sensor_msgs.msg import JointState

    from maestro_common.images import numpy_to_image
    from maestro_dashboard.recorder.session import RecordingSession

    names = [f"panda_joint{i}" for i in range(1, 8)] + ["panda_finger_joint1", "panda_finger_joint2"]
    session = RecordingSession(trial, video_topics={"/front/image_raw": "front"}, queue_size=4096,
                               video_queue_size=4096, video_fps=fps, max_video_hz=0)
    session.add_topic("/front/image_raw", "sensor_msgs/msg/Image")
    session.add_topic("/joint_states", "sensor_msgs/msg/JointState")
    n = int(DURATION * fps) + 1
    for i in range(n):
        rel = i / fps
        stamp = t0 + rel
        msg = numpy_to_image(np.asarray(render(rel)), "rgb8", frame_id="front_camera_optical")
        msg.header.stamp = RosTime(nanoseconds=int(round(stamp * 1e9))).to_msg()
        session.offer("/front/image_raw", serialize_message(msg), int(stamp * 1e9))
        for k in range(2):
            r = rel + k / (2 * fps)
            js = JointState(name=names, position=joint_positions(r))
            s = t0 + r
            js.header.stamp = RosTime(nanoseconds=int(round(s * 1e9))).to_msg()
            session.offer("/joint_states", serialize_message(js), int(s * 1e9))
    return session.close()


def write_demo_trial(out_dir: str | Path, t0: float | None = None, recording: bool = True) -> Path:
    """Write the demo trial into ``out_dir`` (created) and return it."""
    trial = Path(out_dir)
    trial.mkdir(parents=True, exist_ok=True)
    t0 = time.time() if t0 is None else t0
    events = build_events(t0, str(trial))
    write_images(trial, events, t0)
    with (trial / "trace.jsonl").open("w") as f:
        for e in events:
            f.write(json.dumps(e) + "\n")
    if recording:
        write_recording(trial, t0)
    return trial


def main(argv: list[str] | None = None) -> int:
    """Write a demo trial folder."""
    p = argparse.ArgumentParser(prog="python -m maestro_dashboard.demo", description=__doc__)
    p.add_argument("out", help="trial folder to write")
    p.add_argument("--no-recording", action="store_true", help="trace and images only (no MCAP/MP4)")
    a = p.parse_args(argv)
    print(write_demo_trial(a.out, recording=not a.no_recording))
    return 0


if __name__ == "__main__":
    sys.exit(main())
