"""Measures of the two-ellipse solid against an independent mpmath computation and invariants."""

from __future__ import annotations

import math
from functools import cache

import mpmath
import numpy as np
import pytest

from kexue.geometry import (
    EllipseCurve,
    GluedSolid,
    ParametricCurve,
    ellipse_report,
    ellipse_with_quarter_length,
    normalise_axes,
    two_ellipse_solid,
)


def mpmath_reference(a, b, a2=None, b2=None, dps=14):
    """Quarter perimeter, x_l and volume by mpmath in a different parametrisation.

    The seam is followed by sheet 1's ellipse angle t1; sheet 2's angle t2 solves
    arc2(t2) = l - arc1(t1) with mpmath's findroot on mpmath's own incomplete elliptic
    integral; the integrals are tanh-sinh quadratures over t1.
    """
    a2 = a if a2 is None else a2
    b2 = b if b2 is None else b2
    with mpmath.workdps(dps):
        a, b, a2, b2 = (mpmath.mpf(v) for v in (a, b, a2, b2))
        m1, m2 = 1 - (a / b) ** 2, 1 - (a2 / b2) ** 2
        length = b * mpmath.ellipe(mpmath.pi / 2, m1)

        def speed1(t):
            return mpmath.sqrt(a ** 2 * mpmath.sin(t) ** 2 + b ** 2 * mpmath.cos(t) ** 2)

        def speed2(t):
            return mpmath.sqrt(a2 ** 2 * mpmath.sin(t) ** 2 + b2 ** 2 * mpmath.cos(t) ** 2)

        @cache
        def parts(t1):
            target = length - b * mpmath.ellipe(t1, m1)
            t2 = mpmath.findroot(lambda t: b2 * mpmath.ellipe(t, m2) - target,
                                 mpmath.pi / 2 * target / length, df=speed2)
            dh1 = b * mpmath.cos(t1) / speed1(t1)
            dh2 = b2 * mpmath.cos(t2) / speed2(t2)
            dx = mpmath.sqrt(max(1 - dh1 ** 2 - dh2 ** 2, 0)) * speed1(t1)
            return dx, b * mpmath.sin(t1), b2 * mpmath.sin(t2)

        span = [0, mpmath.pi / 4, mpmath.pi / 2]
        x_length = mpmath.quad(lambda t: parts(t)[0], span)
        volume = mpmath.quad(lambda t: 4 * parts(t)[0] * parts(t)[1] * parts(t)[2], span)
        return float(length), float(x_length), float(volume)


@pytest.mark.parametrize("a, b", [(2.0, 1.0), (1.3, 1.0)])
def test_measures_match_mpmath(a, b):
    length, x_length, volume = mpmath_reference(a, b)
    measures = two_ellipse_solid(a, b).measures()
    assert measures.quarter_length == pytest.approx(length, rel=1e-12)
    assert measures.x_length == pytest.approx(x_length, rel=1e-9)
    assert measures.volume == pytest.approx(volume, rel=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("a, b", [(5.0, 1.0), (1.01, 1.0), (20.0, 1.0)])
def test_measures_match_mpmath_more_ratios(a, b):
    length, x_length, volume = mpmath_reference(a, b)
    measures = two_ellipse_solid(a, b).measures()
    assert measures.quarter_length == pytest.approx(length, rel=1e-12)
    assert measures.x_length == pytest.approx(x_length, rel=1e-9)
    assert measures.volume == pytest.approx(volume, rel=1e-9)


def test_two_different_ellipses_match_mpmath():
    first = EllipseCurve(2.0, 1.0)
    second = ellipse_with_quarter_length(1.5, first.length)
    length, x_length, volume = mpmath_reference(2.0, 1.0, second.along, second.across)
    measures = GluedSolid(first, second).measures()
    assert second.length == pytest.approx(length, rel=1e-13)
    assert measures.x_length == pytest.approx(x_length, rel=1e-9)
    assert measures.volume == pytest.approx(volume, rel=1e-9)


def test_article_numbers():
    # The article's quarter perimeter for a = 2, b = 1 (its y-grid gave 2.41934).
    assert two_ellipse_solid(2.0, 1.0).length == pytest.approx(2.4221121, abs=5e-8)
    # Independent closed form check: Ramanujan's second approximation (error ~1e-10 here).
    a, b = 2.0, 1.0
    h = ((a - b) / (a + b)) ** 2
    ramanujan = math.pi * (a + b) * (1 + 3 * h / (10 + math.sqrt(4 - 3 * h)))
    assert 4 * two_ellipse_solid(a, b).length == pytest.approx(ramanujan, rel=1e-8)


@pytest.mark.parametrize("a, b", [(2.0, 1.0), (1.1, 1.0), (10.0, 1.0), (1e4, 1.0)])
def test_margin_zero_exactly_at_ends_and_positive_inside(a, b):
    solid = two_ellipse_solid(a, b)
    measures = solid.measures()
    assert measures.gluable
    assert measures.margin_min == 0.0
    assert measures.margin_min_at == pytest.approx((0.0, solid.length), abs=1e-9 * solid.length)
    ends = solid.margin(np.array([0.0, solid.length]))
    assert np.all(ends == 0.0)
    inside = solid.margin(np.linspace(0, solid.length, 1001)[1:-1])
    assert np.all(inside > 0)


def test_margin_definition_against_finite_differences_of_h():
    # margin = 1 - h'(s)^2 - h'(l - s)^2 with h' from central differences of h(s) = b sin t(s).
    solid = two_ellipse_solid(2.0, 1.0)
    curve = solid.first
    ql = solid.length
    s = np.linspace(0.1, ql - 0.1, 17)
    step = 1e-5

    def slope(v):
        return (curve.evaluate(v + step).h - curve.evaluate(v - step).h) / (2 * step)

    expected = 1 - slope(s) ** 2 - slope(ql - s) ** 2
    assert np.allclose(solid.margin(s), expected, atol=1e-9)


@pytest.mark.parametrize("a, b", [(2.0, 1.0), (3.0, 1.0), (1e3, 1.0)])
def test_minor_axis_is_the_negative_margin_and_fails_everywhere_inside(a, b):
    major = two_ellipse_solid(a, b, "major")
    minor = two_ellipse_solid(a, b, "minor")
    s = np.linspace(0, major.length, 513)
    assert np.allclose(minor.margin(s), -major.margin(s), atol=1e-12)
    measures = minor.measures()
    assert not measures.gluable
    assert measures.x_length is None and measures.volume is None
    assert measures.failure_intervals == ((0.0, minor.length),)
    # The worst point is where the major-axis margin is largest.
    worst = measures.margin_min_at[0]
    assert measures.margin_min == pytest.approx(-major.measures().margin_max, rel=1e-9)
    assert major.margin(np.array([worst]))[0] == pytest.approx(major.measures().margin_max,
                                                              rel=1e-9)


def test_circle_is_degenerate_without_division_by_zero():
    with np.errstate(divide="raise", invalid="raise"):
        measures = two_ellipse_solid(1.5, 1.5).measures()
    assert measures.gluable and measures.degenerate
    assert measures.x_length == 0.0 and measures.volume == 0.0
    assert measures.surface_area == pytest.approx(2 * math.pi * 1.5 ** 2, rel=1e-12)


@pytest.mark.parametrize("a, b", [(2.0, 1.0), (7.0, 3.0), (1e6, 1.0), (1.0, 1e-6)])
def test_invariants(a, b):
    solid = two_ellipse_solid(a, b)
    m = solid.measures()
    assert m.surface_area == pytest.approx(2 * math.pi * a * b, rel=1e-11)
    assert m.seam_length == pytest.approx(4 * solid.length, rel=1e-15)
    assert m.bounding_box == ((0.0, m.x_length), (-b, b), (-b, b))
    assert 0 < m.x_length < solid.length
    assert 0 < m.volume < m.x_length * 4 * b * b
    assert m.convex


def test_quadrature_agrees_with_a_parametric_description_of_the_ellipse():
    # ParametricCurve tabulates its own arc length by Gauss-Legendre: an independent path.
    a, b = 2.0, 1.0

    def point(t):
        return a * np.cos(np.pi * t / 2), b * np.sin(np.pi * t / 2)

    def derivative(t):
        return -a * np.pi / 2 * np.sin(np.pi * t / 2), b * np.pi / 2 * np.cos(np.pi * t / 2)

    curve = ParametricCurve(point, derivative)
    exact = two_ellipse_solid(a, b).measures()
    other = GluedSolid(curve, curve).measures()
    assert other.x_length == pytest.approx(exact.x_length, rel=1e-9)
    assert other.volume == pytest.approx(exact.volume, rel=1e-9)
    # Without the derivative the finite-difference tangent costs a little accuracy only.
    rough = GluedSolid(ParametricCurve(point), ParametricCurve(point)).measures()
    assert rough.volume == pytest.approx(exact.volume, rel=1e-8)


def test_seam_is_on_the_ellipse_and_converges():
    solid = two_ellipse_solid(2.0, 1.0)
    m = solid.measures()
    errors = []
    for n in (16, 32, 64, 128):
        seam = solid.seam(n)
        assert seam.x[-1] == pytest.approx(m.x_length, rel=1e-13)
        # Sheet 1 edge: (u, y) on the ellipse; sheet 2 edge: (u2, z) on it too.
        assert np.all(np.diff(seam.x) >= 0)
        points = np.stack([seam.x, seam.y, seam.z], 1)
        chord = np.sum(np.linalg.norm(np.diff(points, axis=0), axis=1))
        errors.append(solid.length - chord)
    # The polyline seam length tends to l from below, second order.
    assert all(e > 0 for e in errors)
    ratios = [errors[i] / errors[i + 1] for i in range(len(errors) - 1)]
    assert all(3.5 < r < 4.5 for r in ratios), ratios


def test_seam_points_satisfy_the_arc_length_identity():
    # |P'(s)| = 1: x'(s)^2 + h'(s)^2 + h'(l - s)^2 = 1 via finite differences of the seam.
    solid = two_ellipse_solid(2.0, 1.0)
    s = np.linspace(0.2, solid.length - 0.2, 9)
    step = 1e-5
    plus = solid.seam(arcs=np.concatenate([[0.0], s + step]))
    minus = solid.seam(arcs=np.concatenate([[0.0], s - step]))
    derivative = np.stack([plus.x - minus.x, plus.y - minus.y, plus.z - minus.z], 1)[1:]
    assert np.allclose(np.linalg.norm(derivative, axis=1) / (2 * step), 1.0, atol=1e-8)


def test_volume_from_sections_converges_to_the_quadrature():
    # V = integral 4 Y Z dx by the trapezoid rule on ever finer seam samples.
    solid = two_ellipse_solid(2.0, 1.0)
    exact = solid.measures().volume
    errors = []
    for n in (32, 64, 128, 256):
        seam = solid.seam(n)
        errors.append(abs(np.trapezoid(4 * seam.y * seam.z, seam.x) - exact))
    assert errors[-1] < 1e-4 * exact
    assert all(errors[i + 1] < errors[i] for i in range(len(errors) - 1))


@pytest.mark.timeout(60)  # guards against a hang; speed is measured by benchmarks/ellipse.py
@pytest.mark.parametrize("ratio", [1e-6, 1e-3, 1e3, 1e6])
def test_extreme_ratios_finish(ratio):
    report = ellipse_report(ratio, 1.0)
    major = report["major"]
    assert major["gluable"] and major["margin_min"] == 0.0
    big, small = max(ratio, 1.0), min(ratio, 1.0)
    assert report["a"] == big and report["b"] == small and report["swapped"] == (ratio < 1)
    assert major["surface_area"] == pytest.approx(2 * math.pi * big * small, rel=1e-9)
    # A needle: the solid is about as long as a quarter perimeter, x_l -> a.
    if big / small >= 1e3:
        assert major["x_length"] == pytest.approx(big, rel=1e-2)
    assert not report["minor"]["gluable"]


@pytest.mark.parametrize("a, b, name", [
    (float("nan"), 1.0, "a"), (1.0, float("inf"), "b"), (-1.0, 1.0, "a"), (1.0, 0.0, "b"),
    (1e9, 1.0, "ratio"),
])
def test_bad_axes_raise_value_error_naming_the_argument(a, b, name):
    with pytest.raises(ValueError, match=name):
        normalise_axes(a, b)


def test_a_smaller_than_b_is_swapped():
    assert normalise_axes(1.0, 2.0) == (2.0, 1.0, True)
    assert ellipse_report(1.0, 2.0)["major"] == ellipse_report(2.0, 1.0)["major"]
    with pytest.raises(ValueError, match="a must be >= b"):
        two_ellipse_solid(1.0, 2.0)


@pytest.mark.parametrize("eps", [1e-3, 1e-4, 1e-6])
def test_near_circle_asymptotics(eps):
    # a = 1 + eps, b = 1: to first order in eps the seam angles satisfy t2 = pi/2 - t1 +
    # eps sin(2 t1) / 2, which gives margin = 6 eps sin^2 t cos^2 t, hence
    # x_l = sqrt(6 eps) / 2, V = 4 sqrt(6 eps) pi / 16, max margin = 1.5 eps; errors O(eps).
    m = two_ellipse_solid(1.0 + eps, 1.0).measures()
    assert m.x_length == pytest.approx(math.sqrt(1.5 * eps), rel=2 * eps)
    assert m.volume == pytest.approx(math.pi * math.sqrt(6 * eps) / 4, rel=2 * eps)
    assert m.margin_max == pytest.approx(1.5 * eps, rel=2 * eps)
    assert m.convex and not m.degenerate
