"""Export successful trials as a LeRobot-format data set (v2.1 layout: parquet episodes, MP4 videos, meta/*.json).

Frames, joint states and actions come from each trial's MCAP recording (written and decoded by the dashboard's bag
recorder, ``maestro_dashboard.recorder.bag``); the language instruction from the trial's trace. Camera frames are
resampled onto the episode's time grid (the latest frame at or before each step) and written as one MP4 per camera and
episode under ``videos/chunk-000/observation.images.<camera>/``. The reader used by the project is :func:`load_episode`.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def read_mcap_streams(mcap_path: Path, joint_topic: str = "/joint_states") -> dict[str, Any]:
    """Joint positions (T, N) with times, and camera frames per image topic, from an MCAP file."""
    from maestro_dashboard.recorder.bag import iter_bag

    times, positions, names = [], [], None
    frames: dict[str, list[np.ndarray]] = {}
    frame_times: dict[str, list[float]] = {}
    for topic, log_time, ros_msg in iter_bag(mcap_path):
        if topic == joint_topic:
            names = names or list(ros_msg.name)
            times.append(log_time * 1e-9)
            positions.append(np.asarray(ros_msg.position, dtype=np.float32))
        elif topic.endswith("/image_raw") and ros_msg.encoding == "rgb8":
            img = np.frombuffer(ros_msg.data, np.uint8).reshape(ros_msg.height, ros_msg.width, 3)
            frames.setdefault(topic, []).append(img)
            frame_times.setdefault(topic, []).append(log_time * 1e-9)
    return {"times": np.asarray(times), "positions": np.stack(positions) if positions else np.zeros((0, 0)),
            "joint_names": names or [], "frames": frames,
            "frame_times": {k: np.asarray(v) for k, v in frame_times.items()}}


def camera_key(topic: str) -> str:
    """LeRobot feature key of a camera topic: '/front/image_raw' -> 'observation.images.front'."""
    parts = [p for p in topic.split("/") if p and p != "image_raw"]
    return "observation.images." + ("_".join(parts) or "camera")


def video_path(root: Path, key: str, index: int) -> Path:
    """Where the MP4 of one camera of one episode lives (LeRobot v2.1 layout)."""
    return Path(root) / "videos" / "chunk-000" / key / f"episode_{index:06d}.mp4"


def write_video(path: Path, grid: np.ndarray, frame_times: np.ndarray, frames: list[np.ndarray], fps: float) -> int:
    """Write the frames resampled onto ``grid`` (latest frame at or before each step) as an MP4; return its length."""
    import imageio.v2 as imageio

    if not frames:
        raise ValueError("no camera frames to write")
    picks = np.clip(np.searchsorted(frame_times, grid, side="right") - 1, 0, len(frames) - 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    # macro_block_size=1 keeps odd sizes as they are; yuv420p is what video players and LeRobot's decoders expect
    with imageio.get_writer(path, fps=fps, codec="libx264", quality=8, macro_block_size=1,
                            pixelformat="yuv420p") as writer:
        for i in picks:
            writer.append_data(frames[int(i)])
    return len(picks)


def write_episode(root: Path, index: int, instruction: str, times: np.ndarray, states: np.ndarray,
                  fps: float = 10.0, cameras: dict[str, tuple[np.ndarray, list[np.ndarray]]] | None = None) -> Path:
    """Write one episode parquet (state, action = next state, timestamps, task index) resampled at ``fps``.

    ``cameras`` maps a feature key (see :func:`camera_key`) to (frame times, frames); each becomes the episode's MP4.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if len(times) < 2:
        raise ValueError("an episode needs at least two joint-state samples")
    grid = np.arange(times[0], times[-1], 1.0 / fps)
    state = np.stack([np.interp(grid, times, states[:, j]) for j in range(states.shape[1])], axis=1).astype(np.float32)
    action = np.vstack([state[1:], state[-1:]])
    table = pa.table({
        "observation.state": [row.tolist() for row in state],
        "action": [row.tolist() for row in action],
        "timestamp": (grid - grid[0]).astype(np.float32),
        "frame_index": np.arange(len(grid), dtype=np.int64),
        "episode_index": np.full(len(grid), index, dtype=np.int64),
        "task_index": np.zeros(len(grid), dtype=np.int64),
    })
    path = root / "data" / "chunk-000" / f"episode_{index:06d}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    for key, (frame_times, frames) in (cameras or {}).items():
        write_video(video_path(root, key, index), grid, frame_times, frames, fps)
    with open(root / "meta" / "episodes.jsonl", "a") as f:
        f.write(json.dumps({"episode_index": index, "tasks": [instruction], "length": len(grid)}) + "\n")
    return path


def load_episode(root: Path, index: int) -> dict[str, np.ndarray]:
    """Read one exported episode back (the reader the project uses for its data sets).

    Parquet columns as arrays, plus each camera's frames as a (T, H, W, 3) uint8 array under its feature key.
    """
    import imageio.v2 as imageio
    import pyarrow.parquet as pq

    table = pq.read_table(Path(root) / "data" / "chunk-000" / f"episode_{index:06d}.parquet")
    out = {name: np.asarray(table.column(name).to_pylist()) for name in table.column_names}
    videos = Path(root) / "videos" / "chunk-000"
    for cam_dir in sorted(videos.glob("observation.images.*")) if videos.is_dir() else []:
        mp4 = cam_dir / f"episode_{index:06d}.mp4"
        if mp4.is_file():
            out[cam_dir.name] = np.stack(list(imageio.mimread(mp4, memtest=False)))
    return out


def export_results(results_dir: Path, out: Path, fps: float = 10.0) -> int:
    """Export every successful trial with an MCAP recording under ``results_dir``; return the episode count."""
    from maestro_eval.results import ResultsStore

    out = Path(out)
    (out / "meta").mkdir(parents=True, exist_ok=True)
    (out / "meta" / "episodes.jsonl").write_text("")
    count, joint_names = 0, []
    image_shapes: dict[str, list[int]] = {}
    for row in ResultsStore(results_dir).load():
        if not row.get("success") or not row.get("trace_dir"):
            continue
        bags = sorted(Path(row["trace_dir"]).rglob("*.mcap"))  # the recorder writes bag/bag.mcap
        if not bags:
            continue
        streams = read_mcap_streams(bags[0])
        if len(streams["times"]) < 2:
            continue
        joint_names = streams["joint_names"]
        cameras = {camera_key(topic): (streams["frame_times"][topic], frames)
                   for topic, frames in streams["frames"].items() if frames}
        for key, (_t, frames) in cameras.items():
            image_shapes[key] = list(frames[0].shape)
        write_episode(out, count, row.get("instruction", ""), streams["times"], streams["positions"], fps, cameras)
        count += 1
    features: dict[str, Any] = {
        "observation.state": {"dtype": "float32", "shape": [len(joint_names)], "names": joint_names},
        "action": {"dtype": "float32", "shape": [len(joint_names)], "names": joint_names}}
    for key, shape in image_shapes.items():
        features[key] = {"dtype": "video", "shape": shape, "names": ["height", "width", "channels"],
                         "info": {"video.fps": fps, "video.codec": "h264", "video.pix_fmt": "yuv420p"}}
    info = {"codebase_version": "v2.1", "robot_type": "maestro_sim", "fps": fps, "total_episodes": count,
            "data_path": "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet",
            "video_path": "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4",
            "features": features}
    (out / "meta" / "info.json").write_text(json.dumps(info, indent=2))
    return count
