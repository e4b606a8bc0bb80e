"""``kexue ellipse``: table, JSON, output files and bad input."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from kexue.cli.main import app
from kexue.geometry import two_ellipse_solid

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, ["ellipse", *args])


def test_table_shows_measures():
    result = invoke("--a", "2", "--b", "1")
    assert result.exit_code == 0, result.output
    measures = two_ellipse_solid(2.0, 1.0).measures()
    for text in ("around major axis: volume", f"{measures.volume:.10g}",
                 f"{measures.x_length:.10g}", "around minor axis: gluable", "NO",
                 "2.422112055"):
        assert text in result.output


def test_json_output_matches_the_library():
    result = invoke("--a", "2", "--b", "1", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    measures = two_ellipse_solid(2.0, 1.0).measures()
    assert data["major"]["volume"] == measures.volume
    assert data["major"]["x_length"] == measures.x_length
    assert data["major"]["margin_min"] == 0.0
    assert data["minor"]["gluable"] is False
    assert data["minor"]["failure_intervals"] == [[0.0, data["quarter_length"]]]
    assert data["area_closed_form"] == pytest.approx(2 * math.pi * 2)
    assert data["swapped"] is False and data["outputs"] == {}


def test_a_smaller_than_b_is_swapped_and_said():
    result = invoke("--a", "1", "--b", "2", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert (data["a"], data["b"], data["swapped"]) == (2.0, 1.0, True)
    table = invoke("--a", "1", "--b", "2")
    assert "swapped" in table.output


def test_all_outputs(tmp_path):
    trimesh = pytest.importorskip("trimesh")
    files = {name: tmp_path / name for name in ("s.png", "s.stl", "s.obj")}
    result = invoke("--a", "2", "--b", "1", "--png", str(files["s.png"]), "--stl",
                    str(files["s.stl"]), "--obj", str(files["s.obj"]), "--template",
                    str(tmp_path / "sheet"), "--size-mm", "150", "--json")
    assert result.exit_code == 0, result.output
    for path in [*files.values(), tmp_path / "sheet.svg", tmp_path / "sheet.pdf"]:
        assert path.stat().st_size > 0
    mesh = trimesh.load(files["s.stl"])
    assert mesh.is_watertight
    assert mesh.volume == pytest.approx(json.loads(result.stdout)["major"]["volume"], rel=2e-3)


def test_second_sheet_stadium(tmp_path):
    result = invoke("--a", "2", "--b", "1", "--second", "stadium:1", "--template",
                    str(tmp_path / "t.svg"), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["second"]["sheet"]["kind"] == "stadium"
    assert data["second"]["measures"]["gluable"] is True
    assert (tmp_path / "t.svg").exists() and (tmp_path / "t-sheet2.svg").exists()


@pytest.mark.parametrize("args, name", [
    (("--a", "nan", "--b", "1"), "a"),
    (("--a", "inf", "--b", "1"), "a"),
    (("--a", "2", "--b", "-1"), "b"),
    (("--a", "0", "--b", "1"), "a"),
    (("--a", "1e10", "--b", "1"), "ratio"),
    (("--a", "2", "--b", "1", "--size-mm", "0"), "--size-mm"),
    (("--a", "2", "--b", "1", "--template", "x.txt"), "--template"),
    (("--a", "2", "--b", "1", "--second", "circle:1"), "--second"),
    (("--a", "2", "--b", "1", "--second", "stadium:9"), "radius"),
])
def test_bad_input_exits_2_naming_the_argument(args, name):
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert name in result.output


def test_non_numbers_are_refused_by_the_parser():
    result = invoke("--a", "two", "--b", "1")
    assert result.exit_code == 2
    assert "--a" in result.output


def test_degenerate_circle(tmp_path):
    result = invoke("--a", "1", "--b", "1")
    assert result.exit_code == 0
    assert "degenerate" in result.output
    result = invoke("--a", "1", "--b", "1", "--stl", str(tmp_path / "x.stl"))
    assert result.exit_code == 2
    assert "degenerate" in result.output and not (tmp_path / "x.stl").exists()


@pytest.mark.timeout(60)  # guards against a hang; speed is measured by benchmarks/ellipse.py
@pytest.mark.parametrize("a, b", [("1e6", "1"), ("1", "1e-6"), ("1e-6", "1")])
def test_extreme_ratios_finish(a, b):
    result = invoke("--a", a, "--b", b, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["major"]["gluable"] is True
