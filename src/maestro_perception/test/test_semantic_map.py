"""Unit tests of maestro_perception.semantic_map."""
import numpy as np

from maestro_perception.semantic_map import SemanticMap


def test_merge_by_label_and_distance():
    m = SemanticMap(merge_distance=0.3)
    a = m.observe("orange_ball", [1.0, 0.0, 0.1], stamp=1.0, score=0.8)
    b = m.observe("orange_ball", [1.1, 0.0, 0.1], stamp=2.0, score=0.8)
    c = m.observe("orange_ball", [3.0, 0.0, 0.1], stamp=3.0, score=0.8)
    d = m.observe("bowl", [1.0, 0.0, 0.1], stamp=3.0, score=0.5)
    assert a.key == b.key and c.key != a.key and d.key not in (a.key, c.key)
    assert len(m) == 3
    assert b.times_seen == 2 and b.first_seen == 1.0 and b.last_seen == 2.0
    assert 1.0 < b.position[0] < 1.1
    assert b.confidence > 0.8  # seen twice: more confident
    assert [e.label for e in m.query("ball")] == ["orange_ball", "orange_ball"]
    assert [e.label for e in m.query(min_confidence=0.7)] == ["orange_ball", "orange_ball"]


def test_decay_when_expected_but_unseen_and_forgetting():
    m = SemanticMap(decay_rate=1.0, forget_below=0.1)
    seen = m.observe("cup", [0, 0, 0], 0.0, 0.9)
    hidden = m.observe("can", [5, 0, 0], 0.0, 0.9)

    def in_view(entry):
        return entry.position[0] < 2.0

    m.mark_unseen(1.0, in_view, dt=1.0)
    assert abs(seen.confidence - 0.9 * np.exp(-1.0)) < 1e-9
    assert hidden.confidence == 0.9  # not expected in view: no decay
    forgotten = m.mark_unseen(3.0, in_view, dt=2.0)
    assert forgotten == [seen.key] and len(m) == 1


def test_age_decay_and_persistence(tmp_path):
    m = SemanticMap(age_decay_rate=0.1)
    m.observe("box", [1, 2, 3], 0.0, 1.0)
    conf = m.query("box", now=10.0)[0].confidence
    assert abs(conf - np.exp(-1.0)) < 1e-9
    m.save(tmp_path / "map.json")
    m2 = SemanticMap()
    m2.load(tmp_path / "map.json")
    e = m2.query("box")[0]
    np.testing.assert_allclose(e.position, [1, 2, 3])
    assert m2.observe("box", [5, 5, 5], 11.0).key != e.key


def test_state_handover_between_backends():
    import json

    import numpy as np
    import pytest

    from maestro_perception.map_sharing import MapState, map_markers, state_message_text

    active, idle = SemanticMap(), SemanticMap()
    active.observe("mug", np.array([1.0, 2.0, 0.5]), 10.0, 0.9)
    text = state_message_text(active, "/yolo", 100.0)
    state = MapState("/sim_gt")
    assert not state.apply(text, idle, serving=True)  # the serving backend is the authority
    assert state.apply(text, idle, serving=False) and [e.label for e in idle.query()] == ["mug"]
    assert not state.apply(text, idle, serving=False)  # not newer
    assert not MapState("/yolo").apply(text, SemanticMap(), serving=False)  # own message
    older = json.loads(state_message_text(SemanticMap(), "/vlm", 50.0))
    assert not state.apply(json.dumps(older), idle, serving=False) and len(idle) == 1
    with pytest.raises(ValueError):
        state.apply("{not json", idle, serving=False)
    arr = map_markers(idle.query(), "odom")
    assert arr.markers[0].action == arr.markers[0].DELETEALL
    assert [m.text for m in arr.markers[1:] if m.text] == ["mug 0.90 (seen 1)"]
    assert all(m.header.frame_id == "odom" for m in arr.markers[1:])
