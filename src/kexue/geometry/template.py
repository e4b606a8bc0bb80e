"""Printable paper templates of the sheets (SVG or PDF at true scale).

Each template shows one flat sheet with: the cut line; glue tabs with their fold lines; the
ruling lines (dashed: keep these straight while bending, do not crease); the bending axis
(dash-dot); numbered match marks along the edge; a 50 mm scale bar to check the print.

Gluing rule. The seam point at arc length ``s`` from sheet 1's vertex on its bending axis is
the point at arc length ``l - s`` from sheet 2's vertex on *its* bending axis. Marks are
placed every ``l / q`` from the bending-axis vertices and numbered 0..q, so mark ``k`` of one
sheet is glued to mark ``q - k`` of the other. Tabs sit on the half of every quarter next
to the bending axis (marks 0..q/2): their partner edge (marks q/2..q) has none, so every
point of the seam gets exactly one tab, also when both sheets are printed from the same
template.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kexue._io import atomic_write
from kexue._validation import check_choice, check_int, check_positive_int
from kexue.geometry.curves import QuarterCurve, check_positive
from kexue.geometry.solid import GluedSolid

_MM_PER_INCH = 25.4


def template_scale(solid: GluedSolid, size_mm: float) -> float:
    """Millimetres per model unit so that the largest flat dimension prints as ``size_mm``.

    Example:
        >>> from kexue.geometry.solid import two_ellipse_solid
        >>> template_scale(two_ellipse_solid(2.0, 1.0), 180.0)   # 2a = 4 units -> 180 mm
        45.0
    """
    size_mm = check_positive("size_mm", size_mm)
    unit = solid.unit
    extent = max(max(unit.first.extent), max(unit.second.extent))
    try:
        return math.ldexp(size_mm / (2.0 * extent), -solid.scale_exponent)
    except OverflowError:
        return math.inf


def _closed(curve: QuarterCurve, arcs: np.ndarray, quadrant: tuple[int, int]) -> tuple:
    """Edge points and outward normals of one quadrant at the given arc lengths."""
    p = curve.evaluate(arcs)
    su, sh = quadrant
    return (np.stack([su * p.u, sh * p.h], 1), np.stack([su * p.dh, sh * p.du], 1))


def write_template(solid: GluedSolid, path: str | os.PathLike | Sequence[str | os.PathLike],
                   size_mm: float = 180.0,
                   sheet: int = 1, marks: int = 8, rulings: int = 12, tab_mm: float = 7.0,
                   title: str | None = None) -> tuple[float, float]:
    """Write a true-scale paper template of one sheet; the format follows the suffix.

    Args:
        solid: a gluable :class:`GluedSolid`.
        path: output file ending in ``.svg`` or ``.pdf`` (``.png``: a 150 dpi preview),
            written atomically; or a list of such files (drawn once, saved to each).
        size_mm: printed length of the largest flat dimension of the two sheets (e.g. the
            major axis ``2a``); both sheets of a solid share the scale.
        sheet: 1 or 2: which sheet to draw.
        marks: match-mark intervals per quarter (even, >= 2).
        rulings: ruling lines per quarter.
        tab_mm: glue tab width in millimetres.
        title: heading printed on the page (default: the sheet and the scale).

    Returns:
        The page size ``(width_mm, height_mm)``.

    Example:
        >>> import tempfile, pathlib
        >>> from kexue.geometry.solid import two_ellipse_solid
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "sheet.svg"
        >>> width, height = write_template(two_ellipse_solid(2.0, 1.0), target, 180.0)
        >>> round(width), round(height)
        (214, 148)
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Polygon

    paths = [Path(p) for p in ([path] if isinstance(path, (str, os.PathLike)) else path)]
    for target in paths:
        if target.suffix.lower() not in (".svg", ".pdf", ".png"):
            raise ValueError(f"`path` must end in .svg or .pdf (or .png for a preview); "
                             f"received {str(target)!r}")
    sheet = check_choice(sheet, "sheet", (1, 2))
    marks = check_int(marks, "marks", minimum=2)
    if marks % 2:
        raise ValueError(f"`marks` must be an even integer >= 2; received {marks}")
    rulings = check_positive_int(rulings, "rulings")
    tab_mm = check_positive("tab_mm", tab_mm)
    if not solid.measures().gluable:
        raise ValueError("the sheets cannot be glued: no template to print")
    # Drawn from the solid at unit scale (any size prints the same page).
    unit = solid.unit
    scale = template_scale(unit, size_mm)
    curve = unit.first if sheet == 1 else unit.second
    ql = unit.length
    along, across = curve.extent
    margin, text_mm = 10.0, 24.0
    # At least 200 mm wide so that the instructions fit on the page.
    width = max(2 * (along * scale + tab_mm + margin), 200.0)
    height = 2 * (across * scale + tab_mm + margin) + text_mm
    figure = Figure(figsize=(width / _MM_PER_INCH, height / _MM_PER_INCH))
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(-width / 2, width / 2)
    axes.set_ylim(-(across * scale + tab_mm + margin) - text_mm,
                  across * scale + tab_mm + margin)
    axes.set_axis_off()
    quadrants = [(1, 1), (-1, 1), (-1, -1), (1, -1)]
    dense = np.union1d(curve.sample_arcs(200), np.linspace(0.0, ql, 201))
    tabbed_arcs = dense[dense <= ql / 2]
    plain_arcs = dense[dense >= ql / 2]
    tab_s = tab_mm / scale
    cut = {"color": "black", "linewidth": 0.6}
    for quadrant in quadrants:
        edge, _ = _closed(curve, plain_arcs, quadrant)
        axes.plot(*(scale * edge).T, **cut)
        edge, _ = _closed(curve, tabbed_arcs, quadrant)
        axes.plot(*(scale * edge).T, color="black", linewidth=0.4, linestyle=(0, (1, 1.5)))
        # Glue tabs: one per mark interval on the tabbed half, tapered at both ends.
        for k in range(int(marks) // 2):
            a, b = k * ql / marks, (k + 1) * ql / marks
            inset = min(tab_s, (b - a) / 3)
            rim = np.linspace(a, b, 24)
            top = np.linspace(a + inset, b - inset, 24)
            rim_pts, _ = _closed(curve, rim, quadrant)
            top_pts, normals = _closed(curve, top, quadrant)
            outline = np.concatenate([rim_pts, (top_pts + tab_s * normals)[::-1]]) * scale
            axes.add_patch(Polygon(outline, closed=True, facecolor="0.92", edgecolor="black",
                                   linewidth=0.6))
        # Match marks: a tick across the edge and its number inside the sheet.
        ticks = np.linspace(0.0, ql, int(marks) + 1)
        points, normals = _closed(curve, ticks, quadrant)
        for k, (point, normal) in enumerate(zip(points * scale, normals, strict=True)):
            if (k == 0 and quadrant[1] < 0) or (k == marks and quadrant[0] < 0):
                continue  # the vertices are shared by two quadrants: label them once
            inner, outer = point - 2.5 * normal, point + 1.0 * normal
            axes.plot([inner[0], outer[0]], [inner[1], outer[1]], color="tab:red",
                      linewidth=0.6)
            label = point - 6.0 * normal
            axes.text(label[0], label[1], str(k), fontsize=6, color="tab:red",
                      ha="center", va="center")
    # Rulings (chords perpendicular to the bending axis) and the bending axis.
    arcs = np.linspace(0.0, ql, int(rulings) + 1)[1:]
    points = curve.evaluate(arcs)
    for u, h in zip(points.u * scale, points.h * scale, strict=True):
        for side in (1, -1):
            axes.plot([side * u, side * u], [-h, h], color="tab:blue", linewidth=0.4,
                      linestyle=(0, (4, 3)))
    axes.plot([-along * scale, along * scale], [0, 0], color="0.5", linewidth=0.4,
              linestyle=(0, (8, 2, 1, 2)))
    # Scale bar and instructions in the bottom strip.
    base = -(across * scale + tab_mm + margin) - text_mm + 5.0
    left = -width / 2 + margin
    axes.plot([left, left + 50.0], [base, base], color="black", linewidth=1.2)
    axes.text(left + 25.0, base + 1.5, "50 mm", fontsize=6, ha="center", va="bottom")
    if title is None:
        which = ("one of two identical sheets: print this page twice"
                 if solid.first.describe() == solid.second.describe()
                 else f"sheet {sheet} of 2 ({curve.name})")
        title = (f"{which}; scale {template_scale(solid, size_mm):.4g} mm per unit; "
                 "print at 100 %, check the 50 mm bar")
    lines = [title,
             "Cut along solid lines. Fold the grey tabs along the dotted edge. Do not crease: "
             "bend the sheet so the dashed blue rulings stay straight.",
             f"Glue mark k of this sheet to mark {marks} - k of the other sheet "
             "(the other sheet's bending axis is perpendicular to this one's)."]
    for i, text in enumerate(lines):
        axes.text(left + 55.0, base + 9.0 - 4.0 * i, text, fontsize=6, ha="left",
                  va="center")
    for target in paths:
        with atomic_write(target, "wb") as handle:
            figure.savefig(handle, format=target.suffix.lower()[1:], dpi=150)
    return width, height
