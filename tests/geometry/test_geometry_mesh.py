"""The mesh (checked with trimesh), OBJ/STL files, the PNG rendering and the paper templates."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from kexue.geometry import (
    EllipseCurve,
    GluedSolid,
    render_png,
    solid_mesh,
    stadium_with_quarter_length,
    template_scale,
    two_ellipse_solid,
    write_obj,
    write_stl,
    write_template,
)

trimesh = pytest.importorskip("trimesh")


def _trimesh(mesh):
    return trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)


@pytest.mark.parametrize("a, b", [(2.0, 1.0), (1.2, 1.0), (8.0, 1.0)])
def test_mesh_is_watertight_outward_and_convex(a, b):
    solid = two_ellipse_solid(a, b)
    mesh = solid_mesh(solid)
    tm = _trimesh(mesh)
    assert tm.is_watertight
    assert tm.is_winding_consistent
    assert tm.volume > 0  # outward normals
    assert np.allclose(tm.face_normals, mesh.normals, atol=1e-9)
    merged = trimesh.Trimesh(mesh.vertices, mesh.faces)
    assert merged.is_volume and merged.is_convex
    # Convexity of the true solid: the mesh fills its own convex hull.
    assert merged.convex_hull.volume == pytest.approx(merged.volume, rel=1e-9)
    m = solid.measures()
    assert tm.volume == pytest.approx(m.volume, rel=2e-3)
    assert tm.area == pytest.approx(2 * math.pi * a * b, rel=2e-3)
    lo, hi = tm.bounds
    assert lo == pytest.approx([0, -b, -b], abs=1e-12)
    assert hi == pytest.approx([m.x_length, b, b], rel=1e-12)


def test_mesh_volume_and_area_converge_second_order():
    solid = two_ellipse_solid(2.0, 1.0)
    m = solid.measures()
    volume_errors, area_errors = [], []
    for sections, per_side in ((16, 4), (32, 8), (64, 16)):
        tm = _trimesh(solid_mesh(solid, sections, per_side))
        volume_errors.append(m.volume - tm.volume)
        area_errors.append(2 * math.pi * 2.0 - tm.area)
    # Inscribed polyhedra: always below, error / 4 per doubling.
    assert all(e > 0 for e in volume_errors + area_errors)
    for errors in (volume_errors, area_errors):
        ratios = [errors[i] / errors[i + 1] for i in range(len(errors) - 1)]
        assert all(3.5 < r < 4.5 for r in ratios), ratios


def test_each_sheet_unrolls_to_the_ellipse():
    # Faces of sheet 1 are the top/bottom faces (normals mostly along z); their area is the
    # area of one ellipse, pi a b, up to the mesh error.
    a, b = 2.0, 1.0
    mesh = solid_mesh(two_ellipse_solid(a, b), 128, 16)
    v = mesh.vertices[mesh.faces]
    areas = np.linalg.norm(np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0]), axis=1) / 2
    normals = mesh.normals
    sheet1 = np.abs(normals[:, 1]) < 1e-9  # sheet 1 faces contain y-rulings: normal has no y
    sheet2 = np.abs(normals[:, 2]) < 1e-9
    assert not np.any(sheet1 & sheet2)
    assert np.sum(areas[sheet1]) == pytest.approx(math.pi * a * b, rel=1e-3)
    assert np.sum(areas[sheet2]) == pytest.approx(math.pi * a * b, rel=1e-3)


def test_mesh_of_ellipse_and_stadium():
    first = EllipseCurve(2.0, 1.0)
    solid = GluedSolid(first, stadium_with_quarter_length(1.0, first.length))
    tm = _trimesh(solid_mesh(solid))
    assert tm.is_watertight and tm.is_winding_consistent
    assert tm.volume == pytest.approx(solid.measures().volume, rel=2e-3)


def test_stl_and_obj_round_trip(tmp_path):
    solid = two_ellipse_solid(2.0, 1.0)
    mesh = solid_mesh(solid, 32, 8)
    write_stl(mesh, tmp_path / "s.stl")
    write_obj(mesh, tmp_path / "s.obj")
    data = (tmp_path / "s.stl").read_bytes()
    assert len(data) == 84 + 50 * len(mesh.faces)
    assert not data.startswith(b"solid")  # binary, not ASCII STL
    from_stl = trimesh.load(tmp_path / "s.stl")
    from_obj = trimesh.load(tmp_path / "s.obj")
    for loaded in (from_stl, from_obj):
        assert loaded.is_watertight and loaded.is_winding_consistent
        assert loaded.volume == pytest.approx(mesh.volume, rel=1e-6)


def test_degenerate_and_unglueable_solids_have_no_mesh():
    with pytest.raises(ValueError, match="degenerate"):
        solid_mesh(two_ellipse_solid(1.0, 1.0))
    with pytest.raises(ValueError, match="cannot be glued"):
        solid_mesh(two_ellipse_solid(2.0, 1.0, "minor"))


def test_png_rendering(tmp_path):
    target = tmp_path / "solid.png"
    render_png(two_ellipse_solid(2.0, 1.0), target)
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (840, 660)


def _svg_size_mm(text):
    match = re.search(r'<svg[^>]*width="([\d.]+)pt" height="([\d.]+)pt"', text)
    return float(match.group(1)) * 25.4 / 72, float(match.group(2)) * 25.4 / 72


@pytest.mark.parametrize("size_mm", [120.0, 180.0, 400.0])
def test_template_is_true_scale(tmp_path, size_mm):
    solid = two_ellipse_solid(2.0, 1.0)
    scale = template_scale(solid, size_mm)
    assert 2 * 2.0 * scale == pytest.approx(size_mm)
    svg = tmp_path / "sheet.svg"
    pdf = tmp_path / "sheet.pdf"
    size = write_template(solid, svg, size_mm)
    assert write_template(solid, pdf, size_mm) == size
    width, height = _svg_size_mm(svg.read_text())
    assert (width, height) == pytest.approx(size, abs=1e-3)
    # The page holds the sheet (2a x 2b at scale) plus tabs and margins.
    assert width >= size_mm and height >= size_mm / 2
    box = re.search(rb"/MediaBox \[ *0 0 ([\d.]+) ([\d.]+) *\]", pdf.read_bytes())
    assert float(box.group(1)) * 25.4 / 72 == pytest.approx(width, abs=1e-3)
    assert float(box.group(2)) * 25.4 / 72 == pytest.approx(height, abs=1e-3)


def test_template_draws_the_outline_at_true_scale(tmp_path):
    # The same drawing as a PNG preview at a known page size: measure the sheet's extent
    # along the major axis, which must span size_mm.
    from matplotlib.image import imread

    solid = two_ellipse_solid(2.0, 1.0)
    target = tmp_path / "sheet.png"
    width_mm, height_mm = write_template(solid, target, 150.0, marks=2, rulings=1)
    image = imread(target)[..., :3]
    dark = np.nonzero(image.mean(axis=2) < 0.5)
    mm_per_px = width_mm / image.shape[1]
    # Left and right extremes of the outline on the row through the centre of the sheet.
    # The page's top edge is b * scale + tab (7 mm) + margin (10 mm) above the major axis.
    centre_row = int(round((1.0 * 150 / 4 + 7 + 10) / mm_per_px))
    cols = dark[1][np.abs(dark[0] - centre_row) <= 1]
    # Tabs start at the vertices; only the 1 mm match-mark ticks stick out there.
    span = (cols.max() - cols.min()) * mm_per_px
    assert 150.0 - 1.0 <= span <= 150.0 + 2 * 1.0 + 1.0


def test_template_rejects_bad_arguments(tmp_path):
    solid = two_ellipse_solid(2.0, 1.0)
    with pytest.raises(ValueError, match="svg or .pdf"):
        write_template(solid, tmp_path / "x.txt")
    with pytest.raises(ValueError, match="size_mm"):
        write_template(solid, tmp_path / "x.svg", size_mm=-5)
    with pytest.raises(ValueError, match="sheet"):
        write_template(solid, tmp_path / "x.svg", sheet=3)
    with pytest.raises(FileNotFoundError):
        write_template(solid, tmp_path / "missing" / "x.svg")
