"""RViz configs and the Foxglove layout stay consistent with the embodiment profiles and the wire names."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from maestro_common.profiles import available_profiles, load_profile

ROOT = Path(__file__).resolve().parents[3]


def _leaves(tree: object) -> list[str]:
    if isinstance(tree, str):
        return [tree]
    assert isinstance(tree, dict)
    return _leaves(tree["first"]) + _leaves(tree["second"])


@pytest.mark.parametrize("name", available_profiles())
def test_rviz_config_per_embodiment(name: str) -> None:
    profile = load_profile(name)
    cfg = yaml.safe_load((ROOT / "config" / "rviz" / f"{name}.rviz").read_text())
    vm = cfg["Visualization Manager"]
    fixed = vm["Global Options"]["Fixed Frame"]
    assert fixed in (profile["frames"].get("world"), profile["frames"].get("odom"))
    topics = {d["Topic"]["Value"] for d in vm["Displays"] if isinstance(d.get("Topic"), dict)}
    for cam in profile["cameras"]:
        assert f"/{cam}/image_raw" in topics
    assert {"/perception/markers", "/grasp/markers", "/control/markers"} <= topics
    classes = {d["Class"] for d in vm["Displays"]}
    assert {"rviz_default_plugins/RobotModel", "rviz_default_plugins/TF", "rviz_default_plugins/MarkerArray"} <= classes


def test_foxglove_layout_is_complete() -> None:
    layout = json.loads((ROOT / "config" / "foxglove" / "maestro.json").read_text())
    panels = _leaves(layout["layout"])
    assert sorted(panels) == sorted(layout["configById"])
    assert layout["configById"]["Image!front"]["imageMode"]["imageTopic"] == "/front/image_raw"
