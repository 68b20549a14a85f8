"""Trial recording: schemas, the non-blocking session, MCAP recovery, the bag_recorder node in-process and killed."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mcap.reader import make_reader
from rclpy.serialization import serialize_message
from sensor_msgs.msg import Image, JointState

from maestro_common.images import numpy_to_image
from maestro_common.ros_testing import NodeProcess, unique_name, wait_for
from maestro_dashboard.recorder.bag import McapBagWriter, iter_bag, recover_mcap
from maestro_dashboard.recorder.msgdefs import MessageDefinitionError, full_definition
from maestro_dashboard.recorder.node import camera_of
from maestro_dashboard.recorder.session import RecordingSession


def topics_in(bag: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for topic, _t, _msg in iter_bag(bag):
        out[topic] = out.get(topic, 0) + 1
    return out


def test_full_definitions_include_nested_types() -> None:
    text = full_definition("sensor_msgs/msg/Image")
    assert text.startswith("# This message contains an uncompressed image") or "uint32 height" in text
    assert "MSG: std_msgs/Header" in text and "MSG: builtin_interfaces/Time" in text
    tf = full_definition("tf2_msgs/msg/TFMessage")
    assert "MSG: geometry_msgs/TransformStamped" in tf and "MSG: geometry_msgs/Quaternion" in tf
    with pytest.raises(MessageDefinitionError):
        full_definition("no_such_msgs/msg/Thing")


def test_camera_names() -> None:
    assert camera_of("/front/image_raw", ("image_raw",)) == "front"
    assert camera_of("/robot/wrist/depth", ("image_raw", "depth")) == "robot_wrist_depth"
    assert camera_of("/joint_states", ("image_raw",)) is None


def _image(i: int, stamp: float) -> bytes:
    a = np.zeros((48, 64, 3), np.uint8)
    a[:, i % 64] = 255
    m = numpy_to_image(a, "rgb8")
    m.header.stamp.sec, m.header.stamp.nanosec = int(stamp), int((stamp % 1) * 1e9)
    return serialize_message(m)


def test_session_writes_bag_and_video(tmp_path: Path) -> None:
    s = RecordingSession(tmp_path, video_topics={"/front/image_raw": "front"}, max_video_hz=0)
    s.add_topic("/front/image_raw", "sensor_msgs/msg/Image")
    s.add_topic("/joint_states", "sensor_msgs/msg/JointState")
    t0 = 1_700_000_000.0
    for i in range(12):
        s.offer("/front/image_raw", _image(i, t0 + i * 0.2), int((t0 + i * 0.2) * 1e9))
        s.offer("/joint_states", serialize_message(JointState(name=["a"], position=[i * 0.1])), int((t0 + i * 0.2) * 1e9))
    summary = s.close()
    assert summary["written"] == 24 and summary["dropped_bag"] == 0 and summary["errors"] == []
    bag = tmp_path / "bag" / "bag.mcap"
    assert topics_in(bag) == {"/front/image_raw": 12, "/joint_states": 12}
    with open(bag, "rb") as f:
        reader = make_reader(f)
        assert reader.get_header().profile == "ros2"
        summ = reader.get_summary()
        assert {s.name for s in summ.schemas.values()} == {"sensor_msgs/msg/Image", "sensor_msgs/msg/JointState"}
        assert {s.encoding for s in summ.schemas.values()} == {"ros2msg"}
        assert {c.message_encoding for c in summ.channels.values()} == {"cdr"}
    js = [m for _, _, m in iter_bag(bag, ["/joint_states"])]
    assert [round(m.position[0], 3) for m in js] == [round(i * 0.1, 3) for i in range(12)]
    side = json.loads((tmp_path / "video" / "front.frames.json").read_text())
    assert side["frames"] == 12 and side["stamps"][0] == pytest.approx(t0) and side["size"] == [64, 48]
    import imageio.v2 as iio

    frames = [f for f in iio.get_reader(str(tmp_path / "video" / "front.mp4"), format="FFMPEG")]  # len() is inf
    assert len(frames) == 12 and frames[0].shape == (48, 64, 3)
    assert json.loads((tmp_path / "recording.json").read_text())["topics"] == {"/front/image_raw": 12,
                                                                              "/joint_states": 12}


def test_offer_never_blocks_and_counts_drops(tmp_path: Path) -> None:
    gate = threading.Event()

    def slow_decoder(data: bytes) -> tuple[np.ndarray, str, float]:
        gate.wait(5.0)
        return np.zeros((4, 4, 3), np.uint8), "rgb8", 1.0

    s = RecordingSession(tmp_path, video_topics={"/cam/image_raw": "cam"}, queue_size=16, video_queue_size=2,
                         max_video_hz=0, image_decoder=slow_decoder)
    s.add_topic("/cam/image_raw", "sensor_msgs/msg/Image")
    data = _image(0, 1.0)
    t = time.perf_counter()
    for i in range(2000):
        s.offer("/cam/image_raw", data, i)
    elapsed = time.perf_counter() - t
    assert elapsed < 1.0                         # 2000 offers with a stuck encoder: no blocking
    assert s.stats.dropped_video >= 1            # the video queue (2) overflowed and counted
    gate.set()
    summary = s.close()
    assert summary["written"] + summary["dropped_bag"] == 2000


def test_truncated_mcap_is_recovered(tmp_path: Path) -> None:
    w = McapBagWriter(tmp_path / "full.mcap", chunk_size=4096)
    w.add_topic("/joint_states", "sensor_msgs/msg/JointState")
    for i in range(500):
        w.write("/joint_states", serialize_message(JointState(name=["a"], position=[float(i)])), i * 1000)
    w.close()
    data = (tmp_path / "full.mcap").read_bytes()
    (tmp_path / "cut.mcap").write_bytes(data[: len(data) * 2 // 3])  # as if the recorder was SIGKILLed
    stats = recover_mcap(tmp_path / "cut.mcap", tmp_path / "fixed.mcap")
    assert stats["truncated"] and 100 < stats["messages"] < 500
    with open(tmp_path / "fixed.mcap", "rb") as f:
        assert make_reader(f).get_summary() is not None
    got = [m.position[0] for _, _, m in iter_bag(tmp_path / "fixed.mcap")]
    assert got == [float(i) for i in range(len(got))]


# ------------------------------------------------------------------------------------------------ node tests
def _publishers(node: Any) -> dict[str, Any]:
    from rclpy.qos import DurabilityPolicy, QoSProfile
    from std_msgs.msg import String
    from tf2_msgs.msg import TFMessage
    from visualization_msgs.msg import MarkerArray

    latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
    return {"events": node.create_publisher(String, "/agent/events", 10),
            "image": node.create_publisher(Image, "/front/image_raw", 10),
            "joints": node.create_publisher(JointState, "/joint_states", 10),
            "tf_static": node.create_publisher(TFMessage, "/tf_static", latched),
            "markers": node.create_publisher(MarkerArray, "/perception/markers", 10),
            "ignored": node.create_publisher(String, "/chatter", 10)}


def _event(pubs: dict[str, Any], **ev: Any) -> None:
    from std_msgs.msg import String

    pubs["events"].publish(String(data=json.dumps(ev)))


def _static_tf() -> Any:
    from geometry_msgs.msg import TransformStamped
    from tf2_msgs.msg import TFMessage

    t = TransformStamped()
    t.header.frame_id, t.child_frame_id = "world", "panda_link0"
    t.transform.rotation.w = 1.0
    return TFMessage(transforms=[t])


def test_node_records_a_trial(spinning: Any, ros_context: Any, tmp_path: Path) -> None:
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from visualization_msgs.msg import Marker, MarkerArray

    from maestro_dashboard.recorder.node import BagRecorderNode

    pub_node = spinning.add(Node(unique_name("pub"), context=ros_context))
    pubs = _publishers(pub_node)
    pubs["tf_static"].publish(_static_tf())           # latched before the trial starts
    rec = spinning.add(BagRecorderNode(context=ros_context, parameter_overrides=[
        Parameter("discovery_period", value=0.2), Parameter("max_video_hz", value=0.0)]))
    wanted = {"/front/image_raw", "/joint_states", "/tf_static", "/perception/markers", "/agent/events"}
    raw = wanted - {"/agent/events"}                  # the event topic is written by the event callback itself
    assert wait_for(lambda: raw <= {t for t, s in rec._subs.items() if s is not None}, timeout=10.0)
    assert "/chatter" not in rec._subs
    time.sleep(0.5)  # let the transient-local sample arrive
    trial = tmp_path / "trial"
    _event(pubs, v=1, type="trial_start", t=time.time(), instruction="x", trace_dir=str(trial))
    assert wait_for(lambda: rec.session is not None, timeout=5.0)
    for i in range(10):
        pubs["image"].publish(numpy_to_image(np.full((48, 64, 3), i * 20, np.uint8), "rgb8"))
        pubs["joints"].publish(JointState(name=["j"], position=[float(i)]))
        time.sleep(0.05)
    pubs["markers"].publish(MarkerArray(markers=[Marker(ns="grasps", id=1)]))
    time.sleep(0.3)
    _event(pubs, v=1, type="trial_end", t=time.time(), success=True)
    assert wait_for(lambda: (trial / "recording.json").is_file(), timeout=15.0)
    counts = topics_in(trial / "bag" / "bag.mcap")
    assert set(counts) == wanted
    assert counts["/tf_static"] >= 1 and counts["/perception/markers"] == 1
    assert counts["/front/image_raw"] >= 8 and counts["/joint_states"] >= 8  # reliable on loopback: all or nearly
    assert counts["/agent/events"] == 2               # trial_start and trial_end, in order
    tf = next(m for _, _, m in iter_bag(trial / "bag" / "bag.mcap", ["/tf_static"]))
    assert tf.transforms[0].child_frame_id == "panda_link0"
    side = json.loads((trial / "video" / "front.frames.json").read_text())
    assert side["frames"] == counts["/front/image_raw"]
    assert (trial / "video" / "front.mp4").stat().st_size > 500
    # bad input on the event topic is ignored, not fatal
    _event(pubs, type="trial_start")                  # no trace_dir, no default_dir: not recorded
    from std_msgs.msg import String

    pubs["events"].publish(String(data="{broken"))
    time.sleep(0.3)
    assert rec.session is None


def test_node_interrupted_mid_trial_leaves_a_readable_bag(spinning: Any, ros_context: Any, tmp_path: Path) -> None:
    from rclpy.node import Node

    pub_node = spinning.add(Node(unique_name("pub"), context=ros_context))
    pubs = _publishers(pub_node)
    proc = NodeProcess.python_module("maestro_dashboard.recorder.node", "--ros-args", "-p", "discovery_period:=0.2",
                                     log_path=tmp_path / "rec.log")
    trial = tmp_path / "crash"
    try:
        # wait until the recorder subscribed to the joint states
        assert wait_for(lambda: pub_node.count_subscribers("/joint_states") > 0, timeout=20.0), proc.log_text()
        assert wait_for(lambda: pub_node.count_subscribers("/agent/events") > 0, timeout=10.0)
        _event(pubs, v=1, type="trial_start", t=time.time(), instruction="x", trace_dir=str(trial))
        assert wait_for(lambda: (trial / "bag" / "bag.mcap").is_file(), timeout=10.0), proc.log_text()
        time.sleep(0.3)
        for i in range(30):
            pubs["joints"].publish(JointState(name=["j"], position=[float(i)]))
            time.sleep(0.02)
        time.sleep(0.3)
    finally:
        code = proc.stop()                            # SIGINT in the middle of the trial (no trial_end)
    assert code in (0, -2, 130), proc.log_text()
    with open(trial / "bag" / "bag.mcap", "rb") as f:
        assert make_reader(f).get_summary() is not None  # finished: summary + footer written on shutdown
    assert topics_in(trial / "bag" / "bag.mcap").get("/joint_states", 0) >= 25
