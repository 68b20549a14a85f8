"""Error filling, parameter validation and profile loading."""
from types import SimpleNamespace

import pytest

from maestro_common import errors
from maestro_common.params import check_value
from maestro_common.profiles import ProfileError, available_profiles, load_profile


def test_fill_error_maps_typed_failures_and_unexpected_exceptions() -> None:
    resp = SimpleNamespace(error_code=99, error_msg="x")
    errors.fill_error(resp, None)
    assert (resp.error_code, resp.error_msg) == (0, "")
    errors.fill_error(resp, errors.NotFound("no object 'cup'; known: ['ball']"))
    assert resp.error_code == errors.NOT_FOUND and "cup" in resp.error_msg
    errors.fill_error(resp, errors.ToolFailure("no grasp", code=202))
    assert resp.error_code == 202
    errors.fill_error(resp, ZeroDivisionError("division by zero"))
    assert resp.error_code == errors.UNKNOWN and "ZeroDivisionError" in resp.error_msg


def test_common_codes_match_the_interface() -> None:
    from maestro_interfaces.msg import ToolError

    for name in ("NONE", "UNKNOWN", "INVALID_ARGUMENT", "NOT_FOUND", "TIMEOUT", "CANCELLED", "UNAVAILABLE", "BUSY",
                 "UNKNOWN_FRAME", "ESTOPPED"):
        assert getattr(errors, name) == getattr(ToolError, name), name


def test_require_finite_and_nonempty() -> None:
    errors.require_finite("target", [0.1, 0.2])
    with pytest.raises(errors.InvalidArgument, match="NaN"):
        errors.require_finite("target", [0.1, float("nan")])
    with pytest.raises(errors.InvalidArgument, match="must not be empty"):
        errors.require_nonempty("label", "  ")


def test_check_value() -> None:
    assert check_value("rate", 5.0, min_value=0.1, max_value=30.0) is None
    assert "below the minimum" in (check_value("rate", 0.0, min_value=0.1) or "")
    assert "not one of" in (check_value("backend", "foo", choices=["sim_gt", "yolo"]) or "")


def test_profiles_load_and_are_consistent() -> None:
    names = available_profiles()
    assert {"franka", "go2w_piper"} <= set(names)
    for name in names:
        p = load_profile(name)
        assert p["embodiment"] == name
        assert p["frames"]["base"]
        assert all(n.get("package") and n.get("executable") for n in p["nodes"])


def test_unknown_profile_names_the_available_ones() -> None:
    with pytest.raises(ProfileError, match="available"):
        load_profile("does_not_exist")
