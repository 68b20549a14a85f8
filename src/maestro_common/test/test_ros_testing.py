"""The test fixtures' own guarantees: one ROS domain per test process, even when pids collide modulo 215."""
from __future__ import annotations

import os
from pathlib import Path

from maestro_common.ros_testing import DOMAIN_COUNT, claim_domain, isolated_domain_id, ros_test_env


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
