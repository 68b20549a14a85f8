"""The dashboard in headless Chromium (selenium): scrub a recorded trial and check that every panel shows that moment;
follow a live trial whose events are published on /agent/events.

Set MAESTRO_DOCS_IMG=docs/img to also save the screenshots used in docs/dashboard.md.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from maestro_common.ros_testing import unique_name, wait_for
from maestro_dashboard.demo import build_events, render, write_demo_trial
from maestro_dashboard.server import DashboardServer
from maestro_dashboard.store import TrialStore

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="Debian chromium + chromium-driver needed")
T0 = 1_700_000_000.0


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    write_demo_trial(root / "demo", t0=T0)
    return root


@pytest.fixture()
def browser() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="maestro-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
              f"--user-data-dir={profile}", "--window-size=1600,1000"):
        opts.add_argument(a)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def shot(driver: Any, name: str) -> None:
    folder = os.environ.get("MAESTRO_DOCS_IMG")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(folder) / name))


def js(driver: Any, code: str) -> Any:
    return driver.execute_script(code)


def scrub(driver: Any, t: float) -> None:
    """Move the scrubber like a user would (value + input event)."""
    js(driver, f"const s = document.getElementById('scrubber'); s.value = {t}; "
               "s.dispatchEvent(new Event('input', {bubbles: true}));")


def panel_state(driver: Any) -> dict[str, Any]:
    return js(driver, """
      const $ = (id) => document.getElementById(id);
      const img = $('camera-img');
      const toolImg = document.querySelector('#tool-detail img');
      return {
        t: ['panel-subtasks','panel-reasoning','panel-code','panel-camera','panel-tools','panel-robot']
             .map((id) => $(id).dataset.t),
        subtask: (document.querySelector('#subtasks li.active') || {}).textContent || null,
        done: document.querySelectorAll('#subtasks li.done').length,
        line: $('code').dataset.line,
        execText: (document.querySelector('#code .exec') || {}).textContent || null,
        tool: $('tool-detail').dataset.name, toolText: $('tool-detail').textContent,
        toolImgOk: toolImg ? toolImg.complete && toolImg.naturalWidth > 0 : null,
        reasoning: $('reasoning').textContent, stdout: $('stdout').textContent,
        camSrc: img.getAttribute('src'), camOk: img.complete && img.naturalWidth > 0,
        joint1: (document.querySelector('#robot .val[data-joint="panda_joint1"]') || {}).textContent || null,
        clock: $('clock').textContent, model: $('model').textContent,
        verdict: ($('outcome').textContent || ''),
      };""")


def expected_joint1(payload: dict[str, Any], t: float) -> str:
    ts = [s - payload["t0"] for s in payload["joints"]["t"]]
    i = max(k for k, s in enumerate(ts) if s <= t + 1e-3)
    return f"{payload['joints']['position'][i][0]:.3f}"


def wait_state(driver: Any, t: float, timeout: float = 10.0) -> dict[str, Any]:
    ok = wait_for(lambda: panel_state(driver)["t"] == [f"{t:.3f}"] * 6 and panel_state(driver)["camOk"], timeout)
    state = panel_state(driver)
    assert ok, state
    return state


def test_replay_scrub_every_panel_shows_that_moment(browser: Any, demo_runs: Path) -> None:
    srv = DashboardServer(TrialStore([demo_runs]), port=0)
    srv.start()
    try:
        payload = json.loads(__import__("urllib.request").request.urlopen(srv.url + "api/trial/demo").read())
        browser.get(srv.url + "?trial=demo")
        assert wait_for(lambda: js(browser, "return window.maestro && window.maestro.ready"), 20.0)
        assert "Put the tennis ball into the bowl." in browser.find_element("id", "instruction").text
        # 16.2 s: substep 2, the first move_to_pose above the bowl is running (it will fail), line 4
        scrub(browser, 16.2)
        st = wait_state(browser, 16.2)
        assert st["subtask"] == "place the ball in the bowl" and st["done"] == 2
        assert st["line"] == "4" and "r = move_to_pose(pose=above)" in st["execText"]
        assert st["tool"] == "move_to_pose" and "running" in st["toolText"]
        assert st["reasoning"].startswith("Get the bowl's centre")
        assert st["camSrc"].endswith("/frame/front/81")          # 16.2 s at 5 fps
        assert st["joint1"] == expected_joint1(payload, 16.2)
        assert "holding ball: True" in st["stdout"] and "retrying" not in st["stdout"]
        assert st["clock"] == "16.2 s / 24.0 s"
        assert "RUNNING" in st["verdict"]
        shot(browser, "dashboard_replay.png")
        # 4.4 s: substep 1, detect_objects finished (its annotated image shown), plan_grasps about to start
        scrub(browser, 4.4)
        st = wait_state(browser, 4.4)
        assert st["subtask"] == "locate the tennis ball and the bowl" and st["done"] == 0
        assert st["line"] == "3"
        assert st["tool"] == "detect_objects" and "2 detections" in st["toolText"]
        assert wait_for(lambda: panel_state(browser)["toolImgOk"] is True, 10.0)
        assert st["camSrc"].endswith("/frame/front/22")
        assert st["joint1"] == expected_joint1(payload, 4.4)
        assert "latency 3.1 s" in st["model"]
        # the end: verdict and progress
        scrub(browser, 24.0)
        st = wait_state(browser, 24.0)
        assert "TASK_COMPLETE" in st["verdict"] and "100%" in st["verdict"]
        assert st["done"] == 3
        # the analytics tab shows the same exact counts as the CLI
        browser.find_element("css selector", '[data-testid="tab-analytics"]').click()
        assert wait_for(lambda: js(browser, "return !!window.maestro.analytics"), 10.0)
        counts = js(browser, "return [...document.querySelectorAll('#an-modules .hbar')]"
                             ".map(e => [e.dataset.key, e.querySelector('.v').textContent])")
        assert counts == [["control", "8"], ["perception", "2"], ["grasp", "1"], ["agent", "1"]]
        cell = js(browser, "return document.querySelector('#an-passing td[data-from=\"perception\"][data-to=\"grasp\"]')"
                           ".dataset.count")
        assert cell == "1"
    finally:
        srv.stop()


def test_damaged_trial_shows_what_it_can(browser: Any, tmp_path: Path) -> None:
    trial = write_demo_trial(tmp_path / "runs" / "broken", t0=T0, recording=False)
    lines = (trial / "trace.jsonl").read_text().splitlines()
    (trial / "trace.jsonl").write_text("\n".join(lines[:5] + ["{corrupt"] + lines[5:-1]) + "\n" + lines[-1][:20])
    (trial / "images" / "call_00_detect_objects.png").unlink()
    srv = DashboardServer(TrialStore([tmp_path / "runs"]), port=0)
    srv.start()
    try:
        browser.get(srv.url + "?trial=broken&t=4.4")
        assert wait_for(lambda: js(browser, "return window.maestro && window.maestro.ready"), 20.0)
        banner = browser.find_element("id", "issue-banner")
        assert wait_for(lambda: banner.is_displayed(), 5.0)
        assert "corrupt_line" in banner.text and "missing_image" in banner.text and "truncated" in banner.text
        detail = browser.find_element("id", "tool-detail").text
        assert "detect_objects" in detail and "image missing" in detail
        assert js(browser, "return document.getElementById('code').dataset.line") == "3"   # the rest still works
    finally:
        srv.stop()


def test_live_mode_follows_events_published_on_ros(browser: Any, spinning: Any, ros_context: Any,
                                                    tmp_path: Path) -> None:
    from rclpy.node import Node
    from sensor_msgs.msg import Image, JointState
    from std_msgs.msg import String

    from maestro_common.images import numpy_to_image
    from maestro_dashboard.demo import joint_positions, write_images
    from maestro_dashboard.live import LiveBridge

    srv = DashboardServer(TrialStore([tmp_path / "runs"]), port=0)
    srv.start()
    try:
        srv.live = spinning.add(LiveBridge(srv.broadcast, camera_hz=10.0, joints_hz=20.0, context=ros_context))
        node = spinning.add(Node(unique_name("agent_stub"), context=ros_context))
        pub = node.create_publisher(String, "/agent/events", 50)
        cam = node.create_publisher(Image, "/front/image_raw", 5)
        joints = node.create_publisher(JointState, "/joint_states", 5)
        assert wait_for(lambda: pub.get_subscription_count() > 0, 10.0)
        browser.get(srv.url)
        assert wait_for(lambda: js(browser, "return window.maestro && window.maestro.ready"), 20.0)
        assert browser.find_element("id", "mode").text == "LIVE"
        assert wait_for(lambda: srv.live.frames.get("front") is not None or cam.get_subscription_count() > 0, 10.0)
        # replay the demo script live: its first 17 s happened "already", so the trial is in substep 2 now
        t0 = time.time() - 16.2
        trace_dir = tmp_path / "live_trial"
        events = [e for e in build_events(t0, str(trace_dir)) if e["t"] <= time.time()]
        write_images(trace_dir, events, t0)
        names = [f"panda_joint{i}" for i in range(1, 8)] + ["panda_finger_joint1", "panda_finger_joint2"]
        for i, ev in enumerate(events):
            pub.publish(String(data=json.dumps(ev)))
            if i % 5 == 0:
                rel = time.time() - t0
                cam.publish(numpy_to_image(np.asarray(render(rel)), "rgb8"))
                joints.publish(JointState(name=names, position=joint_positions(rel)))
            time.sleep(0.02)
        assert wait_for(lambda: js(browser, "return window.maestro.liveEvents.length") == len(events), 10.0)
        for _ in range(5):
            rel = time.time() - t0
            cam.publish(numpy_to_image(np.asarray(render(rel)), "rgb8"))
            joints.publish(JointState(name=names, position=joint_positions(rel)))
            time.sleep(0.15)
        assert wait_for(lambda: panel_state(browser)["camOk"] and panel_state(browser)["joint1"] is not None, 10.0)
        st = panel_state(browser)
        assert st["subtask"] == "place the ball in the bowl"
        assert st["tool"] == "get_object_geometry"     # the agent reports a call when it ends: the latest finished
        assert "RUNNING" in st["verdict"]
        assert float(st["t"][0]) >= 16.0                           # following the live clock
        kinds = js(browser, "return window.maestro.received")
        assert {"hello", "event", "frame", "joints"} <= set(kinds)
        shot(browser, "dashboard_live.png")
        # the rest of the trial arrives; the page ends on the verdict
        for ev in build_events(t0, str(trace_dir))[len(events):]:
            pub.publish(String(data=json.dumps(ev)))
        assert wait_for(lambda: "TASK_COMPLETE" in panel_state(browser)["verdict"], 10.0)
    finally:
        srv.stop()
