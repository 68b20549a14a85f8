"""A CI-sized benchmark run on the live simulator: 2 tasks x (base + 1 perturbation), offline planner."""
import json
import os
import sys
from pathlib import Path

import pytest

from maestro_common.ros_testing import NodeProcess, isolated_domain_id, wait_for


# In the default suite (issue 8: a CI-sized run completes inside the test suite): ~4-8 min on the 2-core machine.
@pytest.mark.timeout(1800)
def test_ci_sized_run_completes_and_resumes(tmp_path: Path) -> None:
    results = tmp_path / "results"
    cmd = [sys.executable, "-m", "maestro_bringup.cli", "eval", str(results), "--suite", "tabletop",
           "--tasks", "put_ball_in_bowl", "open_cabinet", "--trials", "base+1", "--model", "offline",
           "--max-substeps", "6", "--trial-timeout", "420"]
    env = {"MAESTRO_EVAL_BASE_DOMAIN": str(isolated_domain_id())}
    proc = NodeProcess(cmd, env=env, log_path=tmp_path / "eval.log")
    try:
        assert wait_for(lambda: not proc.alive(), timeout=2400, period=2.0), proc.log_text()[-3000:]
    finally:
        code = proc.stop()
    assert code == 0, proc.log_text()[-3000:]
    rows = [json.loads(line) for line in (results / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 4
    assert {r["task"] for r in rows} == {"put_ball_in_bowl", "open_cabinet"}
    assert all(r["status"] in ("done", "timeout") for r in rows), rows
    assert all(0.0 <= float(r["progress"]) <= 100.0 for r in rows)
    report = (results / "report.md").read_text()
    assert "put_ball_in_bowl" in report and (results / "figures" / "trial_grid.png").is_file()
    # a re-run skips every finished trial
    again = NodeProcess(cmd, env=env, log_path=tmp_path / "eval2.log")
    assert wait_for(lambda: not again.alive(), timeout=120), again.log_text()
    assert again.stop() == 0
    assert "4 already finished, skipped" in again.log_text()
    assert len((results / "results.jsonl").read_text().splitlines()) == 4
    assert os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
