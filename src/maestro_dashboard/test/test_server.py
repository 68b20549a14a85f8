"""The dashboard server: HTTP API on a recorded trial, websocket rules, and live events arriving over the websocket."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

from maestro_common.ros_testing import unique_name, wait_for
from maestro_dashboard.demo import write_demo_trial
from maestro_dashboard.server import DashboardServer
from maestro_dashboard.store import TrialStore


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    write_demo_trial(root / "demo", t0=1_700_000_000.0)
    return root


@pytest.fixture()
def server(demo_runs: Path) -> Any:
    srv = DashboardServer(TrialStore([demo_runs]), port=0)
    srv.start()
    yield srv
    srv.stop()


def get(srv: DashboardServer, path: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(srv.url.rstrip("/") + path, timeout=10) as r:
            return r.status, r.read(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers.get("Content-Type", "")


def test_refuses_non_loopback_hosts() -> None:
    with pytest.raises(ValueError, match="loopback"):
        DashboardServer(TrialStore([]), host="0.0.0.0")


def test_page_and_replay_api(server: DashboardServer) -> None:
    status, body, ctype = get(server, "/")
    assert status == 200 and b"Maestro" in body and ctype.startswith("text/html")
    assert b"http://" not in body and b"https://" not in body          # no CDN: everything is served locally
    for f in ("app.js", "app.css"):
        status, body, _ = get(server, f"/static/{f}")
        assert status == 200 and b"https://" not in body
    trials = json.loads(get(server, "/api/trials")[1])
    assert [t["id"] for t in trials] == ["demo"] and trials[0]["success"] is True
    p = json.loads(get(server, "/api/trial/demo")[1])
    assert p["meta"]["task"] == "put_ball_in_bowl" and p["issues"] == []
    assert len([e for e in p["events"] if e["type"] == "tool_call"]) == 12
    assert p["videos"]["front"]["frames"] == 121 and len(p["videos"]["front"]["stamps"]) == 121
    assert len(p["joints"]["names"]) == 9 and len(p["joints"]["t"]) >= 200
    status, body, ctype = get(server, "/api/trial/demo/frame/front/60")
    assert status == 200 and ctype == "image/jpeg" and body[:2] == b"\xff\xd8"
    status, body, ctype = get(server, "/api/trial/demo/file/images/obs_00_front.png")
    assert status == 200 and body[:4] == b"\x89PNG"


def test_bad_requests_answer_with_errors(server: DashboardServer) -> None:
    assert get(server, "/api/trial/nope")[0] == 404
    assert get(server, "/api/trial/demo/file/trace.jsonl")[0] == 404          # only images are served
    assert get(server, "/api/trial/demo/file/..%2F..%2F..%2Fetc%2Fpasswd")[0] == 404
    assert get(server, "/api/trial/demo/frame/front/x")[0] == 400
    assert get(server, "/api/trial/demo/frame/..%2Fbag/1")[0] == 404
    assert get(server, "/static/../server.py")[0] == 404
    assert get(server, "/api/live")[0] == 404                                  # live mode off
    status, body, _ = get(server, "/nothing")
    assert status == 404 and "no page" in json.loads(body)["error"]


def test_analytics_endpoint(server: DashboardServer) -> None:
    a = json.loads(get(server, "/api/analytics")[1])
    assert a["trials"] == 1 and a["calls"] == 12
    assert a["by_module"] == {"control": 8, "perception": 2, "grasp": 1, "agent": 1}
    a = json.loads(get(server, "/api/analytics?category=articulated")[1])
    assert a["trials"] == 0 and a["all_task_categories"] == ["pick-and-place"]


def test_websocket_origin_and_ops(server: DashboardServer) -> None:
    ws_url = server.url.replace("http", "ws") + "ws"
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus, match="403"):
        connect(ws_url, origin="http://evil.example", open_timeout=5).close()
    with connect(ws_url, origin=server.url.rstrip("/"), open_timeout=5) as ws:
        assert json.loads(ws.recv(timeout=5)) == {"kind": "hello", "live": False}
        ws.send(json.dumps({"op": "run_task", "instruction": "x"}))
        reply = json.loads(ws.recv(timeout=5))
        assert reply["kind"] == "reply" and reply["ok"] is False and "live mode is off" in reply["error"]
        ws.send("not json")
        assert "JSON" in json.loads(ws.recv(timeout=5))["error"]


def test_live_events_arrive_over_the_websocket(spinning: Any, ros_context: Any, demo_runs: Path) -> None:
    from rclpy.node import Node
    from std_msgs.msg import String

    from maestro_dashboard.live import LiveBridge

    srv = DashboardServer(TrialStore([demo_runs]), port=0)
    srv.start()
    try:
        srv.live = spinning.add(LiveBridge(srv.broadcast, context=ros_context))
        pub_node = spinning.add(Node(unique_name("agent_stub"), context=ros_context))
        pub = pub_node.create_publisher(String, "/agent/events", 10)
        assert wait_for(lambda: pub.get_subscription_count() > 0, timeout=10.0)
        with connect(srv.url.replace("http", "ws") + "ws", open_timeout=5) as ws:
            assert json.loads(ws.recv(timeout=5))["live"] is True
            t0 = time.time()
            sent = [{"v": 1, "type": "trial_start", "t": t0, "instruction": "Put the ball in the bowl.",
                     "task": "put_ball_in_bowl", "trace_dir": str(demo_runs / "demo")},
                    {"v": 1, "type": "substep", "t": t0 + 0.5, "substep": 1, "code": "detect_objects()",
                     "subtasks": ["find"], "current_subtask": 0},
                    {"v": 1, "type": "tool_call", "t": t0 + 1.0, "name": "detect_objects", "start": t0 + 0.6,
                     "end": t0 + 0.9, "substep": 1, "line": 1, "error_code": 0},
                    {"v": 1, "type": "mystery", "t": t0 + 1.1}]
            for ev in sent:
                pub.publish(String(data=json.dumps(ev)))
            pub.publish(String(data="{not json"))
            got: list[dict[str, Any]] = []
            issues = []
            deadline = time.time() + 10
            while len(got) < len(sent) and time.time() < deadline:
                msg = json.loads(ws.recv(timeout=10))
                if msg["kind"] == "event":
                    got.append(msg["event"])
                elif msg["kind"] == "issue":
                    issues.append(msg)
            assert [e["type"] for e in got] == ["trial_start", "substep_code", "tool_call", "mystery"]
            assert got[2]["rel_start"] == pytest.approx(0.6) and got[2]["module"] == "perception"
            assert got[0]["rel"] == 0.0
            live = json.loads(urllib.request.urlopen(srv.url + "api/live", timeout=5).read())
            assert live["meta"]["task"] == "put_ball_in_bowl" and len(live["events"]) == 4
            assert any("unknown event type 'mystery'" in i["message"] for i in live["issues"])
            # the live trial's images come from its trace_dir
            r = urllib.request.urlopen(srv.url + "api/trial/__live__/file/images/obs_00_front.png", timeout=5)
            assert r.read()[:4] == b"\x89PNG"
            ws.send(json.dumps({"op": "run_task", "instruction": "go"}))
            while (reply := json.loads(ws.recv(timeout=10)))["kind"] != "reply":
                pass
            assert reply["ok"] is False and "/agent/run_task" in reply["error"]   # no agent running: says so
    finally:
        srv.stop()
