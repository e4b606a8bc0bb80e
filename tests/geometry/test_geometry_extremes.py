"""The two-ellipse solid at extreme sizes: computed at unit scale, bounds named, never NaN."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest
from scipy.special import ellipe
from typer.testing import CliRunner

from kexue.cli.main import app
from kexue.geometry import (
    ellipse_report,
    render_png,
    solid_mesh,
    two_ellipse_solid,
    write_obj,
    write_stl,
    write_template,
)
from kexue.geometry.mesh import STL_LARGEST

runner = CliRunner()


def _quarter_perimeter(a: float, b: float) -> float:
    """Closed form, computed independently: b E(1 - a^2/b^2) on the unit-scale ellipse."""
    return a * (b / a) * ellipe(1.0 - 1.0 / (b / a) ** 2)


@pytest.mark.parametrize("scale", [1e-100, 1e-60, 1e60, 1e100])
def test_measures_scale_exactly_with_the_size(scale):
    unit = two_ellipse_solid(2.0, 1.0).measures()
    big = two_ellipse_solid(2.0 * scale, 1.0 * scale).measures()
    assert big.gluable and not big.degenerate and not big.failure_intervals
    assert big.x_length == pytest.approx(unit.x_length * scale, rel=1e-13)
    assert big.volume == pytest.approx(unit.volume * scale**3, rel=1e-13)
    # Independent references: the sheets' area is 2 pi a b, the seam is the perimeter.
    assert big.surface_area == pytest.approx(2 * math.pi * 2.0 * scale * scale, rel=1e-10)
    assert big.quarter_length == pytest.approx(scale * _quarter_perimeter(2.0, 1.0), rel=1e-13)
    assert big.bounding_box[1] == pytest.approx((-scale, scale), rel=1e-15)
    assert big.margin_min == unit.margin_min and big.convex is True


@pytest.mark.parametrize("a, b, bound", [(2e200, 1e200, "largest double"),
                                          (2e-200, 1e-200, "smallest normal double"),
                                          (3e120, 1e120, "largest double")])
def test_results_beyond_doubles_are_errors_naming_the_bound(a, b, bound):
    with pytest.raises(ValueError, match=bound) as info:
        ellipse_report(a, b)
    assert "`a`" in str(info.value) and "`b`" in str(info.value)
    assert "volume" in str(info.value)


@pytest.mark.parametrize("exponent", range(-310, 301, 10))
def test_never_nan_and_never_gluable_beside_a_failure(exponent):
    a = 10.0 ** exponent if exponent > -310 else sys.float_info.min
    try:
        report = ellipse_report(2 * a, a)
    except ValueError as exc:
        assert "double" in str(exc) or "perimeter" in str(exc)
        return
    for key in ("major", "minor"):
        measures = report[key]
        assert measures["gluable"] == (not measures["failure_intervals"])
        text = json.dumps(measures, allow_nan=False)  # raises on NaN or infinity
        assert "NaN" not in text
    assert report["major"]["gluable"] and not report["minor"]["gluable"]


def test_python_api_rejects_strings_bools_and_complex():
    for bad in ("2", True, 2 + 0j):
        with pytest.raises(TypeError, match="`a`"):
            two_ellipse_solid(bad, 1.0)


def test_binary_stl_beyond_float32_is_an_error_naming_the_bound_obj_still_works(tmp_path):
    mesh = solid_mesh(two_ellipse_solid(2e100, 1e100), sections=8, per_side=2)
    assert np.all(np.isfinite(mesh.normals))
    with pytest.raises(ValueError, match="float32"):
        write_stl(mesh, tmp_path / "big.stl")
    assert not (tmp_path / "big.stl").exists()
    write_obj(mesh, tmp_path / "big.obj")
    coordinates = [float(v) for line in (tmp_path / "big.obj").read_text().splitlines()
                   if line.startswith("v ") for v in line.split()[1:]]
    assert max(coordinates) == pytest.approx(
        two_ellipse_solid(2e100, 1e100).measures().x_length, rel=1e-11)
    # Same mesh at unit size: volume and area scale by 1e300 and 1e200, finite and exact.
    unit = solid_mesh(two_ellipse_solid(2.0, 1.0), sections=8, per_side=2)
    assert mesh.volume == pytest.approx(unit.volume * 1e300, rel=1e-10)
    assert mesh.area == pytest.approx(unit.area * 1e200, rel=1e-10)
    small = solid_mesh(two_ellipse_solid(2e-100, 1e-100), sections=8, per_side=2)
    with pytest.raises(ValueError, match="float32"):
        write_stl(small, tmp_path / "small.stl")
    assert STL_LARGEST == pytest.approx(3.4028235e38)


def test_pictures_and_templates_at_extreme_sizes(tmp_path):
    solid = two_ellipse_solid(2e-100, 1e-100)
    render_png(solid, tmp_path / "s.png")
    width, height = write_template(solid, tmp_path / "s.svg", 180.0)
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    # The page does not depend on the size of the solid.
    assert (width, height) == write_template(two_ellipse_solid(2.0, 1.0),
                                             tmp_path / "u.svg", 180.0)


def test_cli_extremes_exit_2_naming_the_flags_and_json_is_strict():
    result = runner.invoke(app, ["ellipse", "--a", "2e-200", "--b", "1e-200", "--json"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "--a" in result.stderr and "--b" in result.stderr
    assert "smallest normal double" in result.stderr
    result = runner.invoke(app, ["ellipse", "--a", "2e100", "--b", "1e100", "--json"])
    assert result.exit_code == 0
    payload = json.loads(result.stdout, parse_constant=lambda c: pytest.fail(c))
    assert payload["major"]["volume"] == pytest.approx(3.1674635918580923e300, rel=1e-12)
    result = runner.invoke(app, ["ellipse", "--a", "2e100", "--b", "1e100", "--stl", "x.stl"])
    assert result.exit_code == 2 and "--stl" in result.stderr and "float32" in result.stderr


def test_outputs_are_checked_first_and_all_or_nothing(tmp_path):
    (tmp_path / "dir.stl").mkdir()
    cases = [
        (["--stl", str(tmp_path / "dir.stl")], "is a directory"),
        (["--stl", str(tmp_path / "same.stl"), "--obj", str(tmp_path / "same.stl")],
         "--obj must end in .obj"),
        (["--png", str(tmp_path / "x.jpg")], "--png must end in .png"),
        (["--png", "-"], "standard output"),
        (["--template", str(tmp_path / "t.svg"), "--png", str(tmp_path / "no" / "x.png")],
         "does not exist"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["ellipse", "--a", "2", "--b", "1", *args])
        assert result.exit_code == 2, result.output
        assert message in " ".join(result.stderr.split())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.stl"]
    # A failing output (degenerate solid has no mesh) leaves none of the others behind.
    result = runner.invoke(app, ["ellipse", "--a", "1", "--b", "1", "--png",
                                 str(tmp_path / "ok.png"), "--stl", str(tmp_path / "x.stl")])
    assert result.exit_code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.stl"]
