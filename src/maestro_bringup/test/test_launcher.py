"""`maestro up`: brings nodes up, reports readiness, restarts a killed node, leaves no orphan after shutdown."""
import signal
import sys
import time
from pathlib import Path

import psutil

from maestro_common.ros_testing import NodeProcess, wait_for

PROFILE = str(Path(__file__).with_name("heartbeat_profile.yaml"))
MAESTRO = [sys.executable, "-m", "maestro_bringup.cli"]


def _children(pid: int) -> list[psutil.Process]:
    try:
        return [p for p in psutil.Process(pid).children(recursive=True) if p.is_running()]
    except psutil.NoSuchProcess:
        return []


def test_exit_when_ready_smoke_check(tmp_path: Path) -> None:
    proc = NodeProcess([*MAESTRO, "up", PROFILE, "--exit-when-ready", "--ready-timeout", "60"],
                       log_path=tmp_path / "up.log")
    assert wait_for(lambda: not proc.alive(), timeout=90), proc.log_text()
    assert proc.stop() == 0, proc.log_text()
    log = proc.log_text()
    assert "all nodes ready" in log and "started beat_a" in log and "started beat_b" in log


def test_restart_after_kill_and_no_orphans(tmp_path: Path) -> None:
    proc = NodeProcess([*MAESTRO, "up", PROFILE], log_path=tmp_path / "up.log")
    try:
        assert wait_for(lambda: "all nodes ready" in proc.log_text(), timeout=60), proc.log_text()
        kids = _children(proc.proc.pid)
        node_pids = {p.pid for p in kids if "heartbeat_node" in " ".join(p.cmdline())}
        assert len(node_pids) == 2
        victim = sorted(node_pids)[0]
        psutil.Process(victim).kill()
        assert wait_for(lambda: "restarting in" in proc.log_text(), timeout=10), proc.log_text()

        def restarted() -> bool:
            pids = {p.pid for p in _children(proc.proc.pid) if "heartbeat_node" in " ".join(p.cmdline())}
            return len(pids) == 2 and victim not in pids

        assert wait_for(restarted, timeout=20), proc.log_text()
        all_kids = [p.pid for p in _children(proc.proc.pid)]
    finally:
        proc.proc.send_signal(signal.SIGINT)
        code = proc.stop(timeout=20)
    assert code == 0, proc.log_text()
    time.sleep(0.5)
    survivors = [pid for pid in all_kids if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    assert survivors == [], f"orphans left: {survivors}"
    assert "stopped:" in proc.log_text()
