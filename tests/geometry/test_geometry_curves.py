"""Quarter curves and the generalisation to two different curves of equal perimeter."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from kexue.geometry import (
    EllipseCurve,
    GluedSolid,
    ParametricCurve,
    StadiumCurve,
    ellipse_with_quarter_length,
    stadium_with_quarter_length,
)


@pytest.mark.parametrize("along, across", [(2.0, 1.0), (1.0, 2.0), (1e6, 1.0), (1.0, 1e-6)])
def test_ellipse_arc_length_and_inverse_against_mpmath(along, across):
    curve = EllipseCurve(along, across)
    t = np.array([1e-9, 1e-4, 0.3, 1.0, 1.5])
    with mpmath.workdps(30):
        def speed(v):
            return mpmath.sqrt(along ** 2 * mpmath.sin(v) ** 2 + across ** 2 * mpmath.cos(v) ** 2)

        expected = [float(mpmath.quad(speed, [0, 1e-6, x] if x > 1e-6 else [0, x])) for x in t]
    assert np.allclose(curve.arc_length(t), expected, rtol=1e-13, atol=0)
    assert np.allclose(curve.angle(curve.arc_length(t)), t, rtol=1e-12, atol=0)


def test_tangent_is_unit_and_complements_are_exact():
    for curve in (EllipseCurve(3.0, 1.0), StadiumCurve(1.0, 2.0), StadiumCurve(1.0, 2.0, False)):
        s = np.linspace(0, curve.length, 101)
        p = curve.evaluate(s)
        assert np.allclose(p.du ** 2 + p.dh ** 2, 1.0, atol=1e-14)
        assert np.allclose(p.du_complement, 1 - p.du, atol=1e-15)
        assert np.allclose(p.dh_complement, 1 - p.dh, atol=1e-15)
        # Arc length really is arc length: |d(u, h)/ds| = 1 by finite differences.
        step = 1e-6
        mid = s[1:-1]
        plus, minus = curve.evaluate(mid + step), curve.evaluate(mid - step)
        speed = np.hypot(plus.u - minus.u, plus.h - minus.h) / (2 * step)
        assert np.allclose(speed, 1.0, atol=1e-6)


def test_stadium_quarter_and_area():
    stadium = StadiumCurve(1.0, 2.0)
    assert stadium.perimeter == pytest.approx(2 * math.pi + 4.0)
    assert stadium.extent == pytest.approx((2.0, 1.0))
    across = StadiumCurve(1.0, 2.0, straight_along=False)
    assert across.extent == pytest.approx((1.0, 2.0))
    solid = GluedSolid(stadium, stadium)
    assert solid.measures().surface_area == pytest.approx(2 * stadium.area, rel=1e-12)


def test_equal_perimeter_constructors():
    base = EllipseCurve(2.0, 1.0)
    other = ellipse_with_quarter_length(1.5, base.length)
    assert other.length == pytest.approx(base.length, rel=1e-14)
    stadium = stadium_with_quarter_length(0.8, base.length)
    assert stadium.length == pytest.approx(base.length, rel=1e-14)
    with pytest.raises(ValueError, match="radius"):
        stadium_with_quarter_length(2.0, base.length)
    with pytest.raises(ValueError, match="quarter perimeter"):
        ellipse_with_quarter_length(3.0, base.length)


def test_unequal_perimeters_are_rejected():
    with pytest.raises(ValueError, match="equal perimeters"):
        GluedSolid(EllipseCurve(2.0, 1.0), EllipseCurve(2.0, 1.1))


@pytest.mark.parametrize("second", [
    lambda ql: ellipse_with_quarter_length(1.5, ql),
    lambda ql: ellipse_with_quarter_length(0.6, ql),
    lambda ql: stadium_with_quarter_length(1.0, ql),
])
def test_sheets_can_be_exchanged(second):
    # Exchanging the sheets maps the seam s -> l - s and swaps y and z: same solid.
    first = EllipseCurve(2.0, 1.0)
    other = second(first.length)
    one = GluedSolid(first, other).measures()
    two = GluedSolid(other, first).measures()
    assert one.gluable == two.gluable
    assert one.x_length == pytest.approx(two.x_length, rel=1e-11)
    assert one.volume == pytest.approx(two.volume, rel=1e-11)
    assert one.margin_min == pytest.approx(two.margin_min, abs=1e-12)


def test_ellipse_with_stadium_matches_parametric_stadium():
    first = EllipseCurve(2.0, 1.0)
    stadium = stadium_with_quarter_length(1.0, first.length)
    r, half, arc = stadium.radius, stadium.straight / 2, math.pi / 2

    def point(t):
        # The quarter stadium by a parameter proportional to arc length, kink at t = k.
        s = t * stadium.length
        theta = np.minimum(s, arc * r) / r
        line = np.maximum(s - arc * r, 0)
        return half + r * np.cos(theta) - line, r * np.sin(theta)

    k = arc * r / stadium.length
    parametric = ParametricCurve(point, breaks=(k,))
    exact = GluedSolid(first, stadium).measures()
    other = GluedSolid(first, parametric).measures()
    assert exact.gluable and other.gluable
    assert other.x_length == pytest.approx(exact.x_length, rel=1e-10)
    assert other.volume == pytest.approx(exact.volume, rel=1e-10)
    # Volume by an independent route: trapezoid rule on a fine seam of 4 Y Z over x.
    seam = GluedSolid(first, stadium).seam(4000)
    assert np.trapezoid(4 * seam.y * seam.z, seam.x) == pytest.approx(exact.volume, rel=1e-5)


def test_a_stadium_across_the_bending_axis_cannot_be_glued_to_this_ellipse():
    first = EllipseCurve(2.0, 1.0)
    stadium = stadium_with_quarter_length(1.2, first.length, straight_along=False)
    measures = GluedSolid(first, stadium).measures()
    assert not measures.gluable
    (start, end), = measures.failure_intervals
    solid = GluedSolid(first, stadium)
    assert solid.margin(np.array([start, end])) == pytest.approx([0, 0], abs=1e-9)
    inside = np.linspace(start, end, 50)[1:-1]
    assert np.all(solid.margin(inside) < 0)
    assert start <= measures.margin_min_at[0] <= end


def test_parametric_curve_validation():
    with pytest.raises(ValueError, match="bending axis"):
        ParametricCurve(lambda t: (np.cos(t), 1 + np.sin(t)))
    with pytest.raises(ValueError, match="convex|non-increasing"):
        ParametricCurve(lambda t: (1 - t, np.sin(np.pi * t) * (t < 0.5) + (t >= 0.5) * t))
    with pytest.raises(ValueError, match="breaks"):
        ParametricCurve(lambda t: (np.cos(np.pi * t / 2), np.sin(np.pi * t / 2)), breaks=(1.5,))
    with pytest.raises(TypeError, match="`point` must be callable; received 'not a function'"):
        ParametricCurve("not a function")
    with pytest.raises(TypeError, match="`samples` must be an integer >= 16; received 20.5"):
        ParametricCurve(lambda t: (np.cos(np.pi * t / 2), np.sin(np.pi * t / 2)), samples=20.5)


@pytest.mark.parametrize("along, across", [(0.0, 1.0), (float("nan"), 1.0), (1.0, -2.0)])
def test_ellipse_curve_rejects_bad_axes(along, across):
    with pytest.raises(ValueError, match="along|across"):
        EllipseCurve(along, across)


def test_geometry_imports_no_deep_learning_backend_nor_matplotlib():
    import subprocess
    import sys

    code = ("import sys, kexue.geometry; print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'keras', 'jax', 'tensorflow', 'torch', 'matplotlib', 'trimesh'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
