"""The test fixtures' own guarantees: one ROS domain per test process, even when pids collide modulo 215."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rclpy.node import Node

from maestro_common.ros_testing import (
    DOMAIN_COUNT,
    SpinningExecutor,
    claim_domain,
    isolated_domain_id,
    ros_test_env,
    unique_name,
    wait_for,
)


def test_two_claims_from_the_same_start_get_different_domains(tmp_path: Path) -> None:
    first, h1 = claim_domain(6, tmp_path)
    second, h2 = claim_domain(6 + DOMAIN_COUNT, tmp_path)  # another pid, same value modulo 215
    assert (first, second) == (7, 8)
    assert h1 is not None and h2 is not None
    h1.close()  # the process holding domain 7 ended
    again, h3 = claim_domain(6, tmp_path)
    assert again == 7
    for h in (h2, h3):
        h.close()


def test_claims_wrap_around_within_1_to_215(tmp_path: Path) -> None:
    last, h1 = claim_domain(DOMAIN_COUNT - 1, tmp_path)
    wrapped, h2 = claim_domain(DOMAIN_COUNT - 1, tmp_path)
    assert (last, wrapped) == (DOMAIN_COUNT, 1)
    h1.close()
    h2.close()


def test_an_unusable_lock_dir_falls_back_to_the_pid_domain(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert claim_domain(41, blocker / "locks") == (42, None)


def test_this_process_and_its_children_use_the_claimed_domain() -> None:
    domain = isolated_domain_id()
    assert 1 <= domain <= DOMAIN_COUNT
    assert os.environ["ROS_DOMAIN_ID"] == str(domain)
    env = ros_test_env()
    assert env["ROS_DOMAIN_ID"] == env["MAESTRO_TEST_DOMAIN_ID"] == str(domain)
    assert env["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"


def test_closing_a_busy_executor_never_reports_a_teardown_error(ros_context: Any) -> None:
    # a timer firing at 1 kHz keeps the spin thread dispatching callbacks while close() shuts the pool down
    for _ in range(15):
        ex = SpinningExecutor(ros_context, threads=2)
        node = ex.add(Node(unique_name("busy"), context=ros_context))
        ticks: list[int] = []
        node.create_timer(0.001, lambda t=ticks: t.append(1))
        assert wait_for(lambda t=ticks: len(t) > 5, 10.0)
        ex.close()  # raises if the spin thread died (e.g. "cannot schedule new futures after shutdown")
        assert not ex.alive()
