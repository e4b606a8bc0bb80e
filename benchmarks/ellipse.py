"""Benchmark of ``kexue.geometry`` / ``kexue ellipse``: speed, accuracy, convergence.

Run by hand: ``.venv/bin/python benchmarks/ellipse.py``. Prints and writes
``benchmarks/results/ellipse.md`` plus ``ellipse_convergence.png``, ``ellipse_solid.png``
and ``ellipse_template.png`` next to it.

Competitors, all measured in this run:
- an mpmath high-precision computation (tanh-sinh quadrature over the ellipse angle,
  findroot on mpmath's incomplete elliptic integral): the accuracy reference;
- the article's numerical method (a uniform y-grid, arc length by the trapezoid rule of the
  singular integrand, h' by finite differences), at several grid steps.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from functools import cache
from pathlib import Path

import matplotlib
import mpmath
import numpy as np
import scipy

from _machine import cpu_model
from kexue.geometry import (
    render_png,
    solid_mesh,
    two_ellipse_solid,
    write_obj,
    write_stl,
    write_template,
)

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
A, B = 2.0, 1.0


def median_time(function, repeats: int = 7) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)



def mpmath_reference(a: float, b: float, dps: int = 20) -> tuple[float, float, float]:
    """Quarter perimeter, x_l and volume (independent high-precision computation)."""
    with mpmath.workdps(dps):
        a, b = mpmath.mpf(a), mpmath.mpf(b)
        m = 1 - (a / b) ** 2
        length = b * mpmath.ellipe(mpmath.pi / 2, m)

        def speed(t):
            return mpmath.sqrt(a ** 2 * mpmath.sin(t) ** 2 + b ** 2 * mpmath.cos(t) ** 2)

        @cache
        def parts(t1):
            target = length - b * mpmath.ellipe(t1, m)
            t2 = mpmath.findroot(lambda t: b * mpmath.ellipe(t, m) - target,
                                 mpmath.pi / 2 * target / length, df=speed)
            dh1, dh2 = b * mpmath.cos(t1) / speed(t1), b * mpmath.cos(t2) / speed(t2)
            return (mpmath.sqrt(max(1 - dh1 ** 2 - dh2 ** 2, 0)) * speed(t1), b * mpmath.sin(t1),
                    b * mpmath.sin(t2))

        span = [0, mpmath.pi / 4, mpmath.pi / 2]
        x_length = mpmath.quad(lambda t: parts(t)[0], span)
        volume = mpmath.quad(lambda t: 4 * parts(t)[0] * parts(t)[1] * parts(t)[2], span)
        return float(length), float(x_length), float(volume)


def article_method(a: float, b: float, step: float) -> tuple[float, float, float]:
    """The article's approach as described: uniform y-grid, singular arc-length integrand.

    s(y) = integral_0^y sqrt(1 + a^2 y^2 / (b^4 - b^2 y^2)) dy by the trapezoid rule on
    y = 0, step, ..., b - step (the integrand is infinite at y = b); h(s) is y(s) on that
    grid; h' by finite differences; x by cumulative sums.
    """
    y = np.arange(0.0, b, step)
    integrand = np.sqrt(1 + a * a * y * y / (b ** 4 - b * b * y * y))
    s = np.concatenate([[0.0], np.cumsum(0.5 * (integrand[1:] + integrand[:-1]) * step)])
    length = float(s[-1])
    grid = np.linspace(0.0, length, len(s))
    h = np.interp(grid, s, y)
    slope = np.gradient(h, grid)
    margin = 1 - slope ** 2 - slope[::-1] ** 2
    dx = np.sqrt(np.maximum(margin, 0.0))
    ds = grid[1] - grid[0]
    x_length = float(np.sum(0.5 * (dx[1:] + dx[:-1])) * ds)
    volume_integrand = 4 * h * h[::-1] * dx
    volume = float(np.sum(0.5 * (volume_integrand[1:] + volume_integrand[:-1])) * ds)
    return length, x_length, volume


def cli_time(args: list[str], repeats: int = 3) -> tuple[float, float]:
    """Median wall time and median CPU time (user + sys) of ``kexue ARGS`` as a process."""
    exe = str(Path(sys.executable).with_name("kexue"))
    walls, cpus = [], []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([exe, *args], check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text)
        lines.append(text)

    say("# kexue ellipse benchmark")
    say()
    say(f"- command: `.venv/bin/python benchmarks/ellipse.py`; a = {A:g}, b = {B:g}")
    say(f"- machine: {os.cpu_count()} cores, {cpu_model()}; the machine was shared with other "
        "jobs: timings are medians")
    say(f"- versions: Python {platform.python_version()}, NumPy {np.__version__}, SciPy "
        f"{scipy.__version__}, matplotlib {matplotlib.__version__}, mpmath {mpmath.__version__}")
    say()

    # -- accuracy ------------------------------------------------------------------------
    start = time.perf_counter()
    ref = mpmath_reference(A, B)
    mp_time = time.perf_counter() - start
    measures_time = median_time(lambda: two_ellipse_solid(A, B).measures(), 9)
    ours = two_ellipse_solid(A, B).measures()
    ours_row = (ours.quarter_length, ours.x_length, ours.volume)
    say("## Accuracy and speed of the measures (a = 2, b = 1)")
    say()
    say("| method | time | quarter perimeter l | x_l | volume | max rel. error |")
    say("|---|---|---|---|---|---|")

    def row(name: str, seconds: float, values) -> None:
        error = max(abs(v - r) / r for v, r in zip(values, ref, strict=True))
        say(f"| {name} | {seconds * 1e3:.3g} ms | {values[0]:.12g} | {values[1]:.12g} | "
            f"{values[2]:.12g} | {error:.2e} |")

    say(f"| mpmath reference (20 digits) | {mp_time * 1e3:.4g} ms | {ref[0]:.12g} | "
        f"{ref[1]:.12g} | {ref[2]:.12g} | - |")
    row("**kexue** (`two_ellipse_solid(2, 1).measures()`)", measures_time, ours_row)
    article_rows = []
    for step in (1e-3, 1e-4, 1e-5, 1e-6):
        seconds = median_time(lambda step=step: article_method(A, B, step), 3)
        values = article_method(A, B, step)
        article_rows.append((step, values))
        row(f"article's y-grid method, step {step:g}", seconds, values)
    say()
    say(f"kexue is {mp_time / measures_time:.0f}x faster than the mpmath reference and "
        f"{median_time(lambda: article_method(A, B, 1e-6), 3) / measures_time:.1f}x faster "
        "than the article's method at its step 1e-6, which is wrong in the 3rd digit "
        "(the article reported l = 2.41934 against the true 2.4221121).")
    say()

    # -- extreme ratios ------------------------------------------------------------------
    say("## Measures across axis ratios (median time, margin minimum, x_l / a)")
    say()
    say("| a / b | time | margin min | at s / l | x_l / a | volume / (x_l 4 b^2) |")
    say("|---|---|---|---|---|---|")
    for ratio in (1.0, 1.001, 1.5, 2.0, 10.0, 1e3, 1e6):
        seconds = median_time(lambda ratio=ratio: two_ellipse_solid(ratio, 1.0).measures(), 5)
        m = two_ellipse_solid(ratio, 1.0).measures()
        where = ", ".join(f"{w / m.quarter_length:.3g}" for w in m.margin_min_at)
        fill = m.volume / (m.x_length * 4) if m.x_length else float("nan")
        say(f"| {ratio:g} | {seconds * 1e3:.3g} ms | {m.margin_min:.3g} | {where} | "
            f"{m.x_length / ratio:.6g} | {fill:.6g} |")
    say()

    # -- convergence ---------------------------------------------------------------------
    say("## Convergence with resolution (a = 2, b = 1)")
    say()
    say("Mesh: `solid_mesh(solid, sections, per_side)`; relative errors against the "
        "quadrature volume and the exact area 2 pi a b; seam: polyline length against l.")
    say()
    say("| sections | per side | triangles | volume rel. error | area rel. error | "
        "seam length rel. error | mesh time |")
    say("|---|---|---|---|---|---|---|")
    solid = two_ellipse_solid(A, B)
    convergence = []
    for sections, per_side in ((12, 3), (24, 6), (48, 12), (96, 16), (192, 32), (384, 64)):
        seconds = median_time(lambda s=sections, p=per_side: solid_mesh(solid, s, p), 3)
        mesh = solid_mesh(solid, sections, per_side)
        seam = solid.seam(sections)
        chord = float(np.sum(np.linalg.norm(np.diff(np.stack([seam.x, seam.y, seam.z], 1),
                                                    axis=0), axis=1)))
        errors = (abs(mesh.volume / ours.volume - 1),
                  abs(mesh.area / (2 * np.pi * A * B) - 1),
                  abs(chord / ours.quarter_length - 1))
        convergence.append((sections, *errors))
        say(f"| {sections} | {per_side} | {len(mesh.faces)} | {errors[0]:.2e} | "
            f"{errors[1]:.2e} | {errors[2]:.2e} | {seconds * 1e3:.3g} ms |")
    say()
    say("Article's method against the step of its y-grid (relative error of x_l, volume):")
    say()
    say("| step | l error | x_l error | volume error |")
    say("|---|---|---|---|")
    for step, values in article_rows:
        errs = [abs(v - r) / r for v, r in zip(values, ref, strict=True)]
        say(f"| {step:g} | {errs[0]:.2e} | {errs[1]:.2e} | {errs[2]:.2e} |")
    say()

    # -- outputs -------------------------------------------------------------------------
    say("## Outputs (default resolution), median times")
    say()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        mesh = solid_mesh(solid)
        steps = {
            "measures": lambda: two_ellipse_solid(A, B).measures(),
            "mesh (96 sections x 16)": lambda: solid_mesh(two_ellipse_solid(A, B)),
            "write STL": lambda: write_stl(mesh, out / "s.stl"),
            "write OBJ": lambda: write_obj(mesh, out / "s.obj"),
            "render PNG": lambda: render_png(solid, out / "s.png"),
            "template SVG": lambda: write_template(solid, out / "t.svg"),
            "template PDF": lambda: write_template(solid, out / "t.pdf"),
        }
        say("| step | time |")
        say("|---|---|")
        total = 0.0
        for name, function in steps.items():
            seconds = median_time(function, 3)
            total += seconds
            say(f"| {name} | {seconds * 1e3:.4g} ms |")
        say(f"| **all, in process** | **{total * 1e3:.4g} ms** |")
        base = ["ellipse", "--a", "2", "--b", "1"]
        every = base + ["--png", str(out / "c.png"), "--stl", str(out / "c.stl"), "--obj",
                        str(out / "c.obj"), "--template", str(out / "c")]
        say()
        say("Whole `kexue` processes (Python start-up and imports included). Wall time on "
            "this shared 2-core machine is inflated by other jobs; CPU time (user + sys) "
            "is what the command itself costs.")
        say()
        say("| command | wall time | CPU time |")
        say("|---|---|---|")
        for label, args in (("kexue --help", ["--help"]),
                            ("kexue ellipse --a 2 --b 1 --json", base + ["--json"]),
                            ("kexue ellipse --a 2 --b 1 --png --stl --obj --template "
                             "(svg + pdf)", every)):
            wall, cpu = cli_time(args)
            say(f"| `{label}` | {wall * 1e3:.4g} ms | {cpu * 1e3:.4g} ms |")
        all_wall, all_cpu = wall, cpu
    say()
    say(f"Targets: measures < 50 ms (measured {measures_time * 1e3:.3g} ms); all outputs "
        f"< 2 s (in process {total:.2f} s; the whole command {all_cpu:.2f} s CPU, "
        f"{all_wall:.2f} s wall, including Python, NumPy, SciPy and matplotlib start-up).")

    # -- pictures ------------------------------------------------------------------------
    render_png(solid, RESULTS / "ellipse_solid.png")
    write_template(solid, RESULTS / "ellipse_template.png")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    data = np.array(convergence)
    for column, label in ((1, "mesh volume"), (2, "mesh area"), (3, "seam polyline length")):
        axes.loglog(data[:, 0], data[:, column], "o-", label=label)
    axes.loglog(data[:, 0], 0.5 * data[0, 1] * (data[0, 0] / data[:, 0]) ** 2, "k--",
                label="slope -2")
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    axes.set_xticks(data[:, 0])
    axes.xaxis.set_major_formatter(ScalarFormatter())
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.set_xlabel("sections along the seam")
    axes.set_ylabel("relative error")
    axes.set_title("kexue.geometry: convergence with resolution (a = 2, b = 1)")
    axes.legend()
    figure.tight_layout()
    figure.savefig(RESULTS / "ellipse_convergence.png", dpi=110)
    say()
    say("![convergence](ellipse_convergence.png)")
    (RESULTS / "ellipse.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(json.dumps({"written": str(RESULTS / "ellipse.md")}))


if __name__ == "__main__":
    main()
