"""The generated stubs, .pyi and API docs stay in sync with maestro_interfaces (fields, defaults, constants, words)."""
from __future__ import annotations

import ast
import inspect
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from maestro_agent import stubgen
from maestro_agent.sandbox import sbx_runtime
from maestro_common.interface_catalog import action_types, service_types

SPECS = stubgen.all_tool_specs()


def _module() -> types.ModuleType:
    sys.modules["sbx_runtime"] = sbx_runtime
    mod = types.ModuleType("robot_tools_test")
    exec(compile(stubgen.render_module(SPECS), "<robot_tools>", "exec"), mod.__dict__)
    return mod


def _ros_default(msg: Any, name: str) -> Any:
    value = getattr(msg, name)
    if isinstance(value, (bool, int, float, str)):
        return value
    return None


def test_every_interface_has_a_spec() -> None:
    names = {s.type_name for s in SPECS}
    assert names == set(service_types()) | set(action_types())


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.tool)
def test_function_signature_matches_interface(spec: stubgen.ToolSpec) -> None:
    mod = _module()
    fn = getattr(mod, spec.tool)
    iface = (service_types() if spec.kind == "service" else action_types())[spec.type_name]
    req_cls = iface.Request if spec.kind == "service" else iface.Goal
    fields = req_cls.get_fields_and_field_types()
    params = inspect.signature(fn).parameters
    assert set(params) == set(fields) | {"timeout"}
    default_msg = req_cls()
    for name in fields:
        if name == "timeout":
            continue
        expected = _ros_default(default_msg, name)
        if isinstance(expected, float):
            assert params[name].default == pytest.approx(expected)
        else:
            assert params[name].default == expected, name
    # every field is documented in the docstring with its .srv/.action comment
    doc = fn.__doc__ or ""
    for f in spec.request:
        if f.name != "timeout":
            assert f"{f.name} (" in doc
            if f.doc:
                assert f.doc[:30] in doc
    for f in spec.response:
        assert f"{f.name} (" in doc
    # constants: class attributes and function attributes with the interface's values
    res_cls = iface.Response if spec.kind == "service" else iface.Result
    for cls in (req_cls, res_cls):
        for const in [a for a in dir(cls) if a.isupper() and a != "SLOT_TYPES" and not a.endswith("__DEFAULT")]:
            assert getattr(getattr(mod, spec.type_name), const) == getattr(cls, const)
            assert getattr(fn, const) == getattr(cls, const)
    if spec.kind == "action":
        assert callable(fn.start)


def test_stub_sends_every_field_to_the_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    mod = _module()
    sent: list[tuple[str, dict, float]] = []
    monkeypatch.setitem(mod.__dict__, "_call_tool", lambda n, a, t: sent.append((n, a, t)) or "ok")
    assert mod.detect_objects(labels=["ball"], annotate=True, timeout=3.0) == "ok"
    name, args, timeout = sent[-1]
    assert name == "detect_objects" and timeout == 3.0
    assert args == {"camera": "", "labels": ["ball"], "min_score": 0.0, "with_masks": False, "annotate": True}
    mod.move_to_pose(target=[0.4, 0, 0.3], timeout=12.0)
    assert sent[-1][1]["timeout"] == 12.0 and sent[-1][2] == 12.0   # goal field and call wait


def test_enums_and_default_waits() -> None:
    by = {s.tool: s for s in SPECS}
    assert by["gripper"].enums == {"command": {"OPEN": 0, "CLOSE": 1, "MOVE": 2}}
    assert by["move_to_pose"].enums == {"mode": {"PLANNED": 0, "CARTESIAN": 1}}
    assert by["plan_grasps"].enums["approach_mode"]["APPROACH_TOP_DOWN"] == 1
    assert by["move_to_pose"].default_wait_s == pytest.approx(30.0 + stubgen.WAIT_GRACE_S)
    assert by["detect_objects"].default_wait_s == stubgen.DEFAULT_SERVICE_WAIT_S
    assert by["move_to_pose"].description.startswith("Move the arm's tool centre point")


def test_pyi_and_docs_cover_every_tool() -> None:
    pyi = stubgen.render_pyi(SPECS)
    tree = ast.parse(pyi)
    names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    names |= {n.target.id for n in tree.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}
    docs = stubgen.render_docs(SPECS)
    for spec in SPECS:
        assert spec.tool in names and spec.type_name in names
        assert f"### {spec.tool}(" in docs
        for f in spec.request + spec.response:
            assert f.name in docs
        for c in spec.response_constants:
            assert f"{c.name}={c.value}" in docs
    # nested message types are documented from the .msg comments
    assert "### Detection:" in docs and "center_3d" in docs and "robot base frame" in docs


def test_parse_interface_text_handles_comments_and_constants() -> None:
    text = ("# Title line.\n# second line\nuint8 A = 0   # first\nuint8 B = 1\nuint8 mode  # the mode\n"
            "float32 timeout  # seconds (0 = 7)\n---\nuint16 ERR = 301  # bad\nuint16 error_code\n")
    desc, sections = stubgen.parse_interface_text(text)
    assert desc == "Title line. second line"
    assert sections[0].comments["mode"] == "the mode"
    assert stubgen._enums_of(sections[0]) == {"mode": {"A": 0, "B": 1}}
    assert sections[1].constants[0][:3] == ("uint16", "ERR", "301")


def test_committed_generated_files_are_up_to_date(tmp_path: Path) -> None:
    committed = Path(stubgen.__file__).resolve().parent / "generated"
    for fresh in stubgen.write_generated(tmp_path):
        assert (committed / fresh.name).read_text() == fresh.read_text(), (
            f"{fresh.name} is stale: run `python -m maestro_agent.stubgen`")
    assert {s.type_name for s in stubgen.agent_tool_specs()}.isdisjoint(stubgen.NON_TOOL_TYPES)
