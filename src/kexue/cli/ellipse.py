"""``kexue ellipse``: the solid glued from two bent elliptical sheets."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

_SECOND_HELP = ("Second sheet instead of a copy of the first: 'ellipse:B' (an ellipse with "
                "cross semi-axis B and the same perimeter), 'stadium:R' (a stadium with end "
                "radius R, straight sides along the bending axis) or 'stadium-across:R'.")


def _second_curve(spec: str, length: float):
    from kexue.geometry import ellipse_with_quarter_length, stadium_with_quarter_length

    kind, _, value = spec.partition(":")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"--second must look like 'ellipse:B', 'stadium:R' or "
                         f"'stadium-across:R' with a number, got {spec!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"--second needs a finite number > 0 after the colon, got {spec!r}")
    if kind == "ellipse":
        return ellipse_with_quarter_length(number, length)
    if kind in ("stadium", "stadium-across"):
        return stadium_with_quarter_length(number, length, straight_along=kind == "stadium")
    raise ValueError(f"--second kind must be ellipse, stadium or stadium-across, got {kind!r}")


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "0" if value == 0 else f"{value:.10g}"
    return str(value)


def _where(points, length: float) -> str:
    return ", ".join(f"s = {p:.6g} ({p / length:.4g} l)" for p in points)


def _rows(name: str, m: dict) -> list[tuple[str, str]]:
    ql = m["quarter_length"]
    rows = [(f"{name}: gluable", "yes" if m["gluable"] else "NO"),
            (f"{name}: margin min",
             f"{_fmt(m['margin_min'])} at {_where(m['margin_min_at'], ql)}")]
    if m["failure_intervals"]:
        spans = "; ".join(f"{a:.6g} < s < {b:.6g}" for a, b in m["failure_intervals"])
        rows.append((f"{name}: fails on", spans + f"  (seam is 0 <= s <= {ql:.6g})"))
        return rows
    if m["degenerate"]:
        rows.append((f"{name}: degenerate", "yes: the margin is 0 everywhere, both sheets "
                                            "lie flat on one another (volume 0)"))
    box = m["bounding_box"]
    rows += [(f"{name}: length x_l", _fmt(m["x_length"])),
             (f"{name}: volume", _fmt(m["volume"])),
             (f"{name}: surface area", _fmt(m["surface_area"])),
             (f"{name}: bounding box",
              " x ".join(f"[{lo:.6g}, {hi:.6g}]" for lo, hi in box)),
             (f"{name}: convex", _fmt(m["convex"]))]
    return rows


def ellipse(
    a: Annotated[float, typer.Option("--a", help="Semi-axis a of the ellipse (> 0).")],
    b: Annotated[float, typer.Option(
        "--b", help="Semi-axis b (> 0). If a < b they are swapped so that a is the "
                    "semi-major axis.")],
    png: Annotated[Path | None, typer.Option(
        "--png", help="Write a 3D rendering (PNG).")] = None,
    stl: Annotated[Path | None, typer.Option(
        "--stl", help="Write the solid as binary STL.")] = None,
    obj: Annotated[Path | None, typer.Option(
        "--obj", help="Write the solid as Wavefront OBJ.")] = None,
    template: Annotated[Path | None, typer.Option(
        "--template", help="Write a paper template: F.svg or F.pdf by suffix; no suffix "
                           "writes both. Two different sheets give F-sheet2 too.")] = None,
    size_mm: Annotated[float, typer.Option(
        "--size-mm", help="Printed length of the longest flat dimension (2a) in mm.",
    )] = 180.0,
    sections: Annotated[int, typer.Option(
        "--sections", min=4, max=4096, help="Mesh resolution: rings along the seam.")] = 96,
    second: Annotated[str | None, typer.Option("--second", help=_SECOND_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the measures as JSON.")] = False,
) -> None:
    """Glue two elliptical sheets bent around the major axis: seam, measures, mesh, template.

    Bending around the minor axis is reported too: impossible, the gluing margin is < 0.
    """
    from kexue.cli._common import json_text, user_errors

    with user_errors(_FLAGS):
        from kexue.geometry import (
            EllipseCurve,
            GluedSolid,
            ellipse_report,
            normalise_axes,
        )

        major, minor, swapped = normalise_axes(a, b)
        size_mm = _check_size(size_mm)
        _check_outputs(png, stl, obj, template, second is None)
        report = ellipse_report(major, minor)
        report["swapped"] = swapped
        if second is None:
            from kexue.geometry import two_ellipse_solid

            solid = two_ellipse_solid(major, minor)
        else:
            first = EllipseCurve(major, minor)
            solid = GluedSolid(first, _second_curve(second, first.length))
            report["second"] = {"sheet": solid.second.describe(),
                                "measures": solid.measures().to_dict()}
        outputs = _write_outputs(solid, png, stl, obj, template, size_mm, sections,
                                 identical=second is None, label=_label(major, minor, second))
        report["outputs"] = outputs
    if swapped:
        typer.echo(f"note: a < b, swapped so that a is the semi-major axis: a = {major:g}, "
                   f"b = {minor:g}", err=True)
    if as_json:
        typer.echo(json_text(report, indent=2))
        return
    _print_table(report, second)


_FLAGS = {"a": "--a", "b": "--b", "size_mm": "--size-mm", "sections": "--sections",
          "across": "--second", "radius": "--second"}


def _check_outputs(png: Path | None, stl: Path | None, obj: Path | None,
                   template: Path | None, identical: bool) -> None:
    """Every output path is checked before any work: a clash is found in a second."""
    from kexue.cli._common import check_outputs

    outputs = [("--png", png), ("--stl", stl), ("--obj", obj)]
    targets = _template_targets(template)
    if not identical:
        targets += [t.with_name(t.stem + "-sheet2" + t.suffix) for t in targets]
    outputs += [("--template", target) for target in targets]
    check_outputs(outputs, allowed={"--png": (".png",), "--stl": (".stl",),
                                    "--obj": (".obj",)})


def _label(a: float, b: float, second: str | None) -> str:
    return f"two ellipses a={a:g}, b={b:g}" + (f", second sheet {second}" if second else "")


def _check_size(size_mm: float) -> float:
    if not math.isfinite(size_mm) or not (1.0 <= size_mm <= 10000.0):
        raise ValueError(f"--size-mm must be a number of millimetres in [1, 10000], "
                         f"got {size_mm!r}")
    return size_mm


def _template_targets(template: Path | None) -> list[Path]:
    if template is None:
        return []
    if str(template).strip() in ("", "-") or template.name in ("", ".", ".."):
        raise ValueError(f"--template must name a file; got {str(template)!r}")
    suffix = template.suffix.lower()
    if suffix and suffix not in (".svg", ".pdf"):
        raise ValueError(f"--template must end in .svg or .pdf (or have no suffix for both), "
                         f"got {str(template)!r}")
    if suffix:
        return [template]
    return [template.with_name(template.name + ".svg"), template.with_name(template.name + ".pdf")]


def _write_outputs(solid, png, stl, obj, template, size_mm, sections, identical, label):
    import sys

    from kexue.cli._common import staged
    from kexue.geometry import render_png, solid_mesh, write_obj, write_stl, write_template

    targets = _template_targets(template)
    written: dict[str, list[str]] = {}
    measures = solid.measures()
    if not (png or stl or obj or targets):
        return written
    if not measures.gluable:
        spans = "; ".join(f"{a:.6g} < s < {b:.6g}" for a, b in measures.failure_intervals)
        raise ValueError(f"the two sheets cannot be glued (the margin is negative on {spans}): "
                         "no outputs can be written")
    if (stl or obj) and measures.degenerate:
        raise ValueError("a = b: the solid is degenerate (two flat discs, volume 0), "
                         "so --stl/--obj have nothing to mesh")
    if stl:
        from kexue.geometry.mesh import check_stl_size

        try:
            check_stl_size(max(abs(v) for pair in measures.bounding_box for v in pair))
        except ValueError as exc:
            raise ValueError(f"--stl: {exc}") from None
    others = [] if identical else [t.with_name(t.stem + "-sheet2" + t.suffix) for t in targets]
    finals = [p for p in (stl, obj, png) if p] + targets + others
    mesh = []

    def make_mesh() -> None:
        mesh.append(solid_mesh(solid, sections=sections))

    # Every output is written to a temporary file first and renamed only when all of them
    # succeeded: a failing output leaves none of the others behind.
    with staged(finals) as temp:
        steps = []
        if stl or obj:
            steps.append(("mesh", make_mesh))
        if stl:
            steps.append(("stl", lambda: write_stl(mesh[0], temp[stl], header=label)))
            written["stl"] = [str(stl)]
        if obj:
            steps.append(("obj", lambda: write_obj(mesh[0], temp[obj], comment=label)))
            written["obj"] = [str(obj)]
        if png:
            steps.append(("png", lambda: render_png(solid, temp[png])))
            written["png"] = [str(png)]
        if targets:
            steps.append(("template", lambda: write_template(
                solid, [temp[t] for t in targets], size_mm=size_mm)))
            written["template"] = [str(t) for t in targets]
            if others:
                steps.append(("template, sheet 2", lambda: write_template(
                    solid, [temp[t] for t in others], size_mm=size_mm, sheet=2)))
                written["template"] += [str(t) for t in others]
        if not sys.stderr.isatty():
            for _, step in steps:
                step()
            return written
        from rich.progress import Progress

        with Progress(transient=True) as progress:
            task = progress.add_task("writing", total=len(steps))
            for name, step in steps:
                progress.update(task, description=f"writing {name}")
                step()
                progress.advance(task)
    return written


def _print_table(report: dict, second: str | None) -> None:
    from rich.console import Console
    from rich.table import Table

    from kexue.cli._common import markup_safe

    table = Table(title=f"Two elliptical sheets, a = {report['a']:g}, b = {report['b']:g}")
    table.add_column("measure")
    table.add_column("value")
    table.add_row("perimeter (seam length)", _fmt(report["perimeter"]))
    table.add_row("quarter perimeter l", _fmt(report["quarter_length"]))
    table.add_row("2 pi a b (two sheets' area)", _fmt(report["area_closed_form"]))
    for key, name in (("major", "around major axis"), ("minor", "around minor axis")):
        table.add_section()
        for label, value in _rows(name, report[key]):
            table.add_row(label, value)
    if second:
        table.add_section()
        sheet = report["second"]["sheet"]
        table.add_row("second sheet", ", ".join(f"{k} = {_fmt(v)}" for k, v in sheet.items()))
        for label, value in _rows("with second sheet", report["second"]["measures"]):
            table.add_row(label, value)
    for kind, paths in report["outputs"].items():
        table.add_row(f"wrote {kind}", markup_safe(", ".join(paths)))
    Console().print(table)
