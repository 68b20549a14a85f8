"""The Foxglove bridge advertises the ROS topics with ros2msg schemas and streams their CDR bytes, on localhost."""
from __future__ import annotations

import json
import struct
import time
from typing import Any

import pytest

from maestro_common.ros_testing import unique_name, wait_for

foxglove = pytest.importorskip("foxglove")


def test_bridge_advertises_and_streams_joint_states(spinning: Any, ros_context: Any) -> None:
    from rclpy.node import Node
    from rclpy.serialization import deserialize_message
    from sensor_msgs.msg import JointState
    from websockets.sync.client import connect

    from maestro_dashboard.foxglove_bridge import FoxgloveBridge

    ctx = foxglove.Context()
    server = foxglove.start_server(host="127.0.0.1", port=0, context=ctx)
    try:
        pub_node = spinning.add(Node(unique_name("pub"), context=ros_context))
        pub = pub_node.create_publisher(JointState, "/joint_states", 10)
        node = spinning.add(Node(unique_name("bridge"), context=ros_context))
        bridge = FoxgloveBridge(node, ["/joint_states", "/tf"], [], context=ctx)
        assert wait_for(lambda: (bridge.discover(), "/joint_states" in bridge.channels)[1], timeout=10.0)
        protocols = ["foxglove.sdk.v1", "foxglove.websocket.v1"]
        with connect(f"ws://127.0.0.1:{server.port}", subprotocols=protocols, open_timeout=5) as ws:
            channels = {}
            deadline = time.time() + 5
            while not channels and time.time() < deadline:
                msg = ws.recv(timeout=5)
                if isinstance(msg, str) and json.loads(msg).get("op") == "advertise":
                    channels = {c["topic"]: c for c in json.loads(msg)["channels"]}
            ch = channels["/joint_states"]
            assert ch["encoding"] == "cdr" and ch["schemaEncoding"] == "ros2msg"
            assert ch["schemaName"] == "sensor_msgs/msg/JointState" and "MSG: std_msgs/Header" in ch["schema"]
            ws.send(json.dumps({"op": "subscribe", "subscriptions": [{"id": 7, "channelId": ch["id"]}]}))
            time.sleep(0.3)
            got = None
            deadline = time.time() + 10
            while got is None and time.time() < deadline:
                pub.publish(JointState(name=["j1"], position=[0.25]))
                try:
                    msg = ws.recv(timeout=0.5)
                except TimeoutError:
                    continue
                if isinstance(msg, bytes) and msg[0] == 1:               # MessageData: op, sub id, log time, payload
                    sub_id = struct.unpack_from("<I", msg, 1)[0]
                    assert sub_id == 7
                    got = deserialize_message(msg[13:], JointState)
            assert got is not None and got.name == ["j1"] and got.position[0] == 0.25
    finally:
        server.stop()
