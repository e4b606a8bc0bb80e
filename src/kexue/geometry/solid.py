"""The solid glued from two bent sheets: seam, gluability margin and measures.

Two closed convex sheets with equal perimeter ``4 l``, each symmetric about two perpendicular
axes, are bent without stretching (rulings perpendicular to their bending axes) and glued
edge to edge. With ``h1``, ``h2`` the ruling half-lengths of the two quarter curves as
functions of arc length, the seam in the first octant is

    P(s) = (x(s), h1(s), h2(l - s)),   x(s) = integral_0^s sqrt(1 - h1'(u)^2 - h2'(l - u)^2) du,

and gluing is possible exactly when the *margin* ``1 - h1'(s)^2 - h2'(l - s)^2`` is >= 0 on
``[0, l]``. Sheet 1 is the generalised cylinder ``(x(s), v h1(s), +-h2(l - s))`` (rulings
along y), sheet 2 is ``(x(s), +-h1(s), v h2(l - s))`` (rulings along z), ``v`` in [-1, 1].
The solid is ``{0 <= x <= x_l, |y| <= Y(x), |z| <= Z(x)}`` with ``Y(x(s)) = h1(s)`` and
``Z(x(s)) = h2(l - s)``: its cross-sections are rectangles, so its volume is
``integral 4 Y Z dx = 4 integral_0^l h1(s) h2(l - s) x'(s) ds``.

For two identical ellipses bent around the major axis the margin is >= 0 with equality
exactly at the ends (Su Jianlin's lemma); around the minor axis the margin is the negative
of that, so gluing fails on the whole open seam.

Source: Su Jianlin, "思考:两个椭圆片能粘合成一个立体吗?", https://kexue.fm/archives/6818 (2019).
"""

from __future__ import annotations

import math
import sys
from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np

from kexue._validation import describe
from kexue.geometry.curves import CurvePoints, EllipseCurve, QuarterCurve, check_positive

_GL_X, _GL_W = np.polynomial.legendre.leggauss(16)
#: levels of the geometric grading of the quadrature towards each end of the seam.
_GRADING_LEVELS = 60
#: margins above -MARGIN_TOLERANCE count as >= 0 (rounding of a dimensionless O(1) number).
MARGIN_TOLERANCE = 1e-12


class Seam(NamedTuple):
    """Samples of the seam in the first octant (arrays of equal length)."""

    s: np.ndarray
    """Arc length along the seam (also along sheet 1's edge from its vertex)."""
    x: np.ndarray
    """Position along the solid's axis, from 0 to ``x_length``."""
    y: np.ndarray
    """``h1(s)``: sheet 1's ruling half-length, the half-width Y(x) of the cross-section."""
    z: np.ndarray
    """``h2(l - s)``: sheet 2's ruling half-length, the half-height Z(x) of the section."""


@dataclass(frozen=True)
class Measures:
    """Gluability and measures of a glued solid (lengths in the curves' units)."""

    gluable: bool
    """True when the margin ``1 - h1'(s)^2 - h2'(l - s)^2`` is >= 0 on the whole seam."""
    degenerate: bool
    """True when the margin vanishes identically (e.g. two equal discs): the solid is flat."""
    quarter_length: float
    """``l``: a quarter of the common perimeter."""
    margin_min: float
    """Minimum of the margin over ``s`` in ``[0, l]``."""
    margin_min_at: tuple[float, ...]
    """Arc lengths ``s`` where the minimum is attained (all of them, within 1e-12)."""
    margin_max: float
    """Maximum of the margin (for a failed gluing: the least-violated point)."""
    failure_intervals: tuple[tuple[float, float], ...]
    """Intervals of ``s`` where the margin is negative (gluing impossible there)."""
    x_length: float | None
    """``x_l``: the solid's length along its axis (None when not gluable)."""
    volume: float | None
    """Enclosed volume (None when not gluable)."""
    surface_area: float | None
    """Total area of the two sheets (= the areas of the two flat curves)."""
    seam_length: float
    """Total length of the seam (= the common perimeter ``4 l``)."""
    bounding_box: tuple[tuple[float, float], ...] | None
    """``((0, x_l), (-Y, Y), (-Z, Z))`` (None when not gluable)."""
    convex: bool | None
    """Whether Y(x) and Z(x) are concave, i.e. the solid is convex (None when not gluable)."""

    def to_dict(self) -> dict:
        """A JSON-ready dict of the measures."""
        data = asdict(self)
        data["margin_min_at"] = list(self.margin_min_at)
        data["failure_intervals"] = [list(i) for i in self.failure_intervals]
        if self.bounding_box is not None:
            data["bounding_box"] = [list(b) for b in self.bounding_box]
        return data


class _Sample(NamedTuple):
    s: np.ndarray
    r: np.ndarray
    h1: np.ndarray
    h2: np.ndarray
    du1: np.ndarray
    du2: np.ndarray
    margin: np.ndarray


def _margin(one: CurvePoints, two: CurvePoints) -> np.ndarray:
    """``1 - h1'^2 - h2'^2 = |u1'|^2 - h2'^2 = (|u1'| - h2') (|u1'| + h2')``.

    Near s = l both factors |u1'| and h2' tend to 1; their difference is then taken from the
    complements (1 - h2') - (1 - |u1'|), so the margin keeps its relative accuracy and is
    exactly 0 at the ends.
    """
    near_one = (one.du > 0.5) & (two.dh > 0.5)
    difference = np.where(near_one, two.dh_complement - one.du_complement, one.du - two.dh)
    return difference * (one.du + two.dh)


class GluedSolid:
    """Two sheets of equal perimeter glued along their edges; see the module docstring.

    Args:
        first: quarter curve of sheet 1 (its rulings end up parallel to y).
        second: quarter curve of sheet 2 (rulings parallel to z); its quarter length must
            equal the first's within 1e-9 relative.

    Example:
        >>> from kexue.geometry.curves import EllipseCurve
        >>> solid = GluedSolid(EllipseCurve(2.0, 1.0), EllipseCurve(2.0, 1.0))
        >>> m = solid.measures()
        >>> m.gluable, m.margin_min == 0.0, round(m.x_length, 6)
        (True, True, 1.569757)
    """

    def __init__(self, first: QuarterCurve, second: QuarterCurve) -> None:
        for name, curve in (("first", first), ("second", second)):
            if not isinstance(curve, QuarterCurve):
                raise TypeError(f"`{name}` must be a QuarterCurve; received {describe(curve)}")
        if not math.isclose(first.length, second.length, rel_tol=1e-9):
            raise ValueError(
                "the two curves must have equal perimeters (to 1e-9 relative): first has "
                f"{first.perimeter:.12g}, second has {second.perimeter:.12g}")
        self.first = first
        self.second = second
        self.length = first.length
        if not math.isfinite(self.length) or self.length < sys.float_info.min:
            raise ValueError(f"the quarter perimeter {self.length:.3g} is outside the range of "
                             f"normal doubles [{sys.float_info.min:.3g}, "
                             f"{sys.float_info.max:.3g}]")
        # Everything is computed on the curves scaled by a power of two (exact) to a quarter
        # perimeter in [1, 2), then scaled back: results do not depend on the units, and no
        # product of lengths (areas, volumes) over- or underflows on the way.
        self.scale_exponent = math.frexp(self.length)[1] - 1
        if self.scale_exponent == 0:
            self._one, self._two = first, second
        else:
            factor = math.ldexp(1.0, -self.scale_exponent)
            self._one, self._two = first.scaled(factor), second.scaled(factor)
        self._length = self._one.length
        self._measures: Measures | None = None

    @property
    def unit(self) -> GluedSolid:
        """The same solid scaled by ``2 ** -scale_exponent`` (quarter perimeter in [1, 2))."""
        if self.scale_exponent == 0:
            return self
        return GluedSolid(self._one, self._two)

    def _up(self, values, power: int = 1):
        """Scale unit-scale lengths (power 1), areas (2) or volumes (3) back (arrays too)."""
        return np.ldexp(values, power * self.scale_exponent)

    def _down(self, values):
        return np.ldexp(np.asarray(values, dtype=float), -self.scale_exponent)

    # -- evaluation -----------------------------------------------------------------------

    def _sample(self, s: np.ndarray, r: np.ndarray) -> _Sample:
        """Both curves at seam positions given by ``s`` and ``r = l - s`` (both accurate)."""
        one = self._one.evaluate(s)
        two = self._two.evaluate(r)
        margin = _margin(one, two)
        return _Sample(s, r, one.h, two.h, one.du, two.du, margin)

    def margin(self, s: np.ndarray) -> np.ndarray:
        """The gluing margin ``1 - h1'(s)^2 - h2'(l - s)^2`` at arc lengths ``s``."""
        return self._margin_unit(self._down(s))

    def _margin_unit(self, s: np.ndarray) -> np.ndarray:
        s = np.clip(np.asarray(s, dtype=float), 0.0, self._length)
        return self._sample(s, self._length - s).margin

    def _quadrature(self) -> tuple[_Sample, np.ndarray]:
        """Nodes and weights on [0, l], graded geometrically towards both ends.

        Each half is parametrised by the distance from its own end (so ``l - s`` is exact
        near ``s = l``) and split at the curves' breakpoints; 16-point Gauss-Legendre per
        panel. The grading resolves vertices whose radius of curvature is ~1e-12 of ``l``.
        """
        ql = self._length
        half = ql / 2
        left = {half, *(half * 2.0 ** -np.arange(1, _GRADING_LEVELS + 1))}
        right = set(left)
        for b in self._one.breaks:
            (left if b < half else right).add(b if b < half else ql - b)
        for b in self._two.breaks:
            (right if b < half else left).add(b if b < half else ql - b)
        pieces = []
        for edges, from_left in ((left, True), (right, False)):
            e = np.array(sorted({0.0, *edges}))
            lo, hi = e[:-1], e[1:]
            d = (0.5 * (lo + hi))[:, None] + (0.5 * (hi - lo))[:, None] * _GL_X
            w = (0.5 * (hi - lo))[:, None] * _GL_W
            pieces.append((d.ravel(), ql - d.ravel(), w.ravel()) if from_left
                          else (ql - d.ravel(), d.ravel(), w.ravel()))
        s = np.concatenate([p[0] for p in pieces])
        r = np.concatenate([p[1] for p in pieces])
        w = np.concatenate([p[2] for p in pieces])
        return self._sample(s, r), w

    # -- measures -------------------------------------------------------------------------

    def measures(self) -> Measures:
        """Gluability margin, length, volume, area, bounding box and convexity (cached).

        Computed at unit scale and scaled back, so every result is as precise as for
        curves of size 1. Raises ValueError naming the bound when a length, area or volume
        would overflow the largest double or underflow the smallest normal one.
        """
        if self._measures is None:
            self._measures = self._scaled_measures(self._compute_measures())
        return self._measures

    def _scaled_measures(self, unit: Measures) -> Measures:
        if self.scale_exponent == 0:
            return unit

        def up(value: float, power: int, what: str) -> float:
            if value == 0:
                return 0.0
            exponent = math.log10(abs(value)) + power * self.scale_exponent * math.log10(2.0)
            about = f"{10 ** (exponent - math.floor(exponent)):.2g}e{math.floor(exponent):+d}"
            try:
                result = math.ldexp(value, power * self.scale_exponent)
            except OverflowError:
                result = math.inf
            if math.isinf(result):
                raise ValueError(f"the solid's {what} would be about {about}, beyond "
                                 f"the largest double ({sys.float_info.max:.3g}): the curves "
                                 "are too large to measure in these units")
            if abs(result) < sys.float_info.min:
                raise ValueError(f"the solid's {what} would be about {about}, below "
                                 f"the smallest normal double ({sys.float_info.min:.3g}): "
                                 "the curves are too small to measure in these units")
            return result

        box = unit.bounding_box
        return Measures(
            gluable=unit.gluable, degenerate=unit.degenerate,
            quarter_length=up(unit.quarter_length, 1, "quarter perimeter"),
            margin_min=unit.margin_min,
            margin_min_at=tuple(up(s, 1, "seam position") for s in unit.margin_min_at),
            margin_max=unit.margin_max,
            failure_intervals=tuple((up(a, 1, "seam position"), up(b, 1, "seam position"))
                                    for a, b in unit.failure_intervals),
            x_length=None if unit.x_length is None else up(unit.x_length, 1, "length x_l"),
            volume=None if unit.volume is None else up(unit.volume, 3, "volume"),
            surface_area=up(unit.surface_area, 2, "surface area"),
            seam_length=up(unit.seam_length, 1, "seam length"),
            bounding_box=None if box is None else tuple(
                (up(lo, 1, "extent"), up(hi, 1, "extent")) for lo, hi in box),
            convex=unit.convex)

    def _compute_measures(self) -> Measures:
        ql = self._length
        nodes, weights = self._quadrature()
        grid_s = np.concatenate([[0.0], np.linspace(0.0, ql, 2049)[1:-1], [ql]])
        grid = self._sample(grid_s, np.concatenate([[ql], ql - grid_s[1:-1], [0.0]]))
        s_all = np.concatenate([grid.s, nodes.s])
        m_all = np.concatenate([grid.margin, nodes.margin])
        order = np.argsort(s_all, kind="stable")
        s_all, m_all = s_all[order], m_all[order]
        if not np.all(np.isfinite(m_all)) or not np.all(np.isfinite(nodes.margin)):
            raise ValueError("the gluing margin is not a finite number everywhere on the seam: "
                             "the curves cannot be evaluated at this size or shape")
        margin_max = float(np.max(m_all))
        degenerate = float(np.max(np.abs(m_all))) <= MARGIN_TOLERANCE
        if degenerate:
            m_all = np.zeros_like(m_all)
        margin_min, margin_at = self._minimum(s_all, m_all, degenerate)
        failures = self._failures(s_all, m_all)
        gluable = margin_min >= -MARGIN_TOLERANCE
        area = 4.0 * float(np.sum(weights * (nodes.h1 * nodes.du1 + nodes.h2 * nodes.du2)))
        common = {"degenerate": degenerate, "quarter_length": ql, "margin_min": margin_min,
                  "margin_min_at": margin_at, "margin_max": 0.0 if degenerate else margin_max,
                  "failure_intervals": failures, "seam_length": 4.0 * ql}
        if not gluable:
            return Measures(gluable=False, x_length=None, volume=None, surface_area=area,
                            bounding_box=None, convex=None, **common)
        slope = np.zeros_like(nodes.margin) if degenerate else np.sqrt(
            np.maximum(nodes.margin, 0.0))
        x_length = float(np.sum(weights * slope))
        volume = 4.0 * float(np.sum(weights * nodes.h1 * nodes.h2 * slope))
        half_y = float(self._one.evaluate(np.array([ql])).h[0])
        half_z = float(self._two.evaluate(np.array([ql])).h[0])
        box = ((0.0, x_length), (-half_y, half_y), (-half_z, half_z))
        return Measures(gluable=True, x_length=x_length, volume=volume, surface_area=area,
                        bounding_box=box, convex=self._convex(degenerate), **common)

    def _minimum(self, s: np.ndarray, m: np.ndarray,
                 degenerate: bool) -> tuple[float, tuple[float, ...]]:
        """Global minimum of the margin and every place it is attained (ends included)."""
        if degenerate:
            return 0.0, (0.0, self._length)
        candidates = [(float(m[0]), 0.0), (float(m[-1]), self._length)]
        inner = np.nonzero((m[1:-1] <= m[:-2]) & (m[1:-1] <= m[2:]))[0] + 1
        # Refine the lowest few interior local minima of the sampled margin, all at once.
        inner = inner[np.argsort(m[inner])][:8]
        if len(inner):
            where, value = self._refine_minima(s[inner - 1], s[inner + 1])
            for i, w, v in zip(inner, where, value, strict=True):
                candidates.append((float(v), float(w)) if v <= m[i] else (float(m[i]),
                                                                          float(s[i])))
        low = min(c[0] for c in candidates)
        # The margin is a difference of O(1) numbers: below 1e-15 it is 0 to double precision
        # (next to the ends the angle of the far curve carries an absolute error ~1e-16).
        low = 0.0 if abs(low) < 1e-15 else low
        attained = sorted((c[1], c[0]) for c in candidates if c[0] <= low + MARGIN_TOLERANCE)
        # A flat minimum yields several candidates: keep the lowest of each cluster.
        groups: list[list[tuple[float, float]]] = []
        for where, value in attained:
            if groups and where - groups[-1][-1][0] <= 1e-3 * self._length:
                groups[-1].append((where, value))
            else:
                groups.append([(where, value)])
        ends = (0.0, self._length)
        return low, tuple(next((w for w, _ in g if w in ends), min(g, key=lambda c: c[1])[0])
                          for g in groups)

    def _refine_minima(self, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Minimise the margin on each interval [lo_i, hi_i] by repeated 33-point zooming."""
        grid = np.linspace(0.0, 1.0, 33)
        for _ in range(9):
            points = lo[:, None] + (hi - lo)[:, None] * grid
            values = self._margin_unit(points.ravel()).reshape(points.shape)
            best = np.argmin(values, axis=1)
            rows = np.arange(len(lo))
            lo = points[rows, np.maximum(best - 1, 0)]
            hi = points[rows, np.minimum(best + 1, len(grid) - 1)]
        return points[rows, best], values[rows, best]

    def _root(self, left: float, right: float) -> float:
        """A zero of the margin between ``left`` and ``right`` by repeated 65-point zooming."""
        f_left, f_right = (float(v) for v in self._margin_unit(np.array([left, right])))
        if right <= left or f_left * f_right > 0:
            # Samples and re-evaluations may disagree in sign at rounding level.
            return left if abs(f_left) <= abs(f_right) else right
        sign = np.sign(f_left)
        for _ in range(9):
            points = np.linspace(left, right, 65)
            values = self._margin_unit(points)
            k = int(np.argmax(np.sign(values) != sign))
            if values[k] == 0 or k == 0:
                return float(points[k])
            left, right = float(points[k - 1]), float(points[k])
        return 0.5 * (left + right)

    def _failures(self, s: np.ndarray, m: np.ndarray) -> tuple[tuple[float, float], ...]:
        """Maximal intervals of ``s`` on which the margin is below -MARGIN_TOLERANCE."""
        bad = m < -MARGIN_TOLERANCE
        if not np.any(bad):
            return ()
        root = self._root
        intervals: list[tuple[float, float]] = []
        for i in np.nonzero(bad)[0]:
            if intervals and s[i] <= intervals[-1][1]:
                continue
            # Walk out to the nearest samples where the margin is >= 0 and find the roots.
            lo = i
            while lo > 0 and m[lo] < 0:
                lo -= 1
            hi = i
            while hi < len(s) - 1 and m[hi] < 0:
                hi += 1
            start = s[lo] if m[lo] < 0 else root(s[lo], s[lo + 1])
            end = s[hi] if m[hi] < 0 else root(s[hi - 1], s[hi])
            # The margin is 0 at the ends and quadratic next to them, so rounding (~1e-16)
            # blurs its sign over sqrt(1e-16 / max|margin|) l: a boundary that close to an
            # end is the end.
            scale = max(float(np.max(np.abs(m))), 1e-300)
            snap = max(1e-7, 10 * math.sqrt(2.2e-16 / scale)) * self._length
            start = 0.0 if start <= snap else start
            end = self._length if end >= self._length - snap else end
            intervals.append((float(start), float(end)))
        return tuple(intervals)

    def _convex(self, degenerate: bool) -> bool:
        """Y(x) and Z(x) concave: dY/dx = h1'/x' falls and dZ/dx = -h2'/x' falls along s."""
        if degenerate:
            return True
        s = np.linspace(0.0, self._length, 2049)[1:-1]
        one = self._one.evaluate(s)
        two = self._two.evaluate(self._length - s)
        margin = _margin(one, two)
        # Where the margin is at rounding level (next to the ends, where the sections shrink
        # with a vertical tangent) the slopes are noise; concavity there is not in doubt.
        keep = margin > 1e-6 * np.max(margin)
        one = type(one)(*(c[keep] for c in one))
        two = type(two)(*(c[keep] for c in two))
        speed = np.sqrt(margin[keep])
        with np.errstate(divide="ignore", invalid="ignore"):
            dy = one.dh / speed
            dz = -two.dh / speed
        # Allowed wobble: 1e-9 plus the relative rounding noise of the slope, ~1e-16 / margin.
        noise = 1e-9 + 1e-15 / margin[keep][:-1]
        falls_y = np.all(np.diff(dy) <= noise * (1 + np.abs(dy[:-1])))
        falls_z = np.all(np.diff(dz) <= noise * (1 + np.abs(dz[:-1])))
        return bool(falls_y and falls_z)

    # -- seam -----------------------------------------------------------------------------

    def seam_arcs(self, n: int = 64) -> np.ndarray:
        """About ``n + 1`` seam arc lengths: sheet 1's own samples (e.g. uniform in the
        ellipse angle) on the first half, sheet 2's on the second, plus the breakpoints."""
        if int(n) < 2:
            raise ValueError(f"n must be >= 2, got {n}")
        ql = self._length
        one = self._one.sample_arcs(int(n))
        two = self._two.sample_arcs(int(n))
        arcs = np.concatenate([one[one < ql / 2], [ql / 2], ql - two[two < ql / 2],
                               list(self._one.breaks), [ql - b for b in self._two.breaks]])
        return self._up(np.unique(np.clip(arcs, 0.0, ql)))

    def seam(self, n: int = 64, arcs: np.ndarray | None = None) -> Seam:
        """The seam in the first octant, sampled at :meth:`seam_arcs` (or at ``arcs``).

        ``x`` is integrated exactly between samples (Gauss-Legendre, graded towards the
        ends), so every sample lies on the true seam.
        """
        ql = self._length
        s = self._down(self.seam_arcs(n) if arcs is None else arcs)
        s = np.unique(np.clip(s, 0.0, ql))
        if not self.measures().gluable:
            raise ValueError("the sheets cannot be glued (the margin is negative on "
                             f"{list(self.measures().failure_intervals)}): no seam exists")
        if self.measures().degenerate:
            return Seam(self._up(s), np.zeros_like(s), *self._heights(s))
        # Each interval is integrated from the nearer end (so that l - s stays exact), with
        # 16 Gauss-Legendre nodes; the two end intervals are graded geometrically.
        lo, hi = s[:-1], s[1:]
        from_left = lo + hi <= ql
        d_lo = np.where(from_left, lo, ql - hi)
        d_hi = np.where(from_left, hi, ql - lo)
        owner = [np.arange(len(lo))]
        p_lo, p_hi, p_left = [d_lo], [d_hi], [from_left]
        grade = 2.0 ** -np.arange(0, 41)
        for k in {0, len(lo) - 1}:
            if d_lo[k] == 0.0 and d_hi[k] > 0:
                p_hi[0] = p_hi[0].copy()
                p_hi[0][k] = d_hi[k] * grade[-1]
                edges = d_hi[k] * grade[::-1]
                owner.append(np.full(len(edges) - 1, k))
                p_lo.append(edges[:-1])
                p_hi.append(edges[1:])
                p_left.append(np.full(len(edges) - 1, from_left[k]))
        owner_all = np.concatenate(owner)
        e_lo, e_hi = np.concatenate(p_lo), np.concatenate(p_hi)
        left_all = np.concatenate(p_left)
        d = (0.5 * (e_lo + e_hi))[:, None] + (0.5 * (e_hi - e_lo))[:, None] * _GL_X
        w = (0.5 * (e_hi - e_lo))[:, None] * _GL_W
        side = np.repeat(left_all, len(_GL_X))
        d = d.ravel()
        sample = self._sample(np.where(side, d, ql - d), np.where(side, ql - d, d))
        pieces = np.sum(w * np.sqrt(np.maximum(sample.margin, 0.0)).reshape(w.shape), axis=1)
        increments = np.bincount(owner_all, weights=pieces, minlength=len(lo))
        x = np.concatenate([[0.0], np.cumsum(increments)])
        return Seam(self._up(s), self._up(x), *self._heights(s))

    def _heights(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        y = self._one.evaluate(s).h
        z = self._two.evaluate(self._length - s).h
        return self._up(y), self._up(z)


def two_ellipse_solid(a: float, b: float, axis: str = "major") -> GluedSolid:
    """Two identical ellipses with semi-axes ``a >= b`` bent around one axis and glued.

    Args:
        a: semi-major axis (> 0).
        b: semi-minor axis (> 0, <= a; call :func:`normalise_axes` first to swap).
        axis: ``"major"`` (the article's construction, always gluable) or ``"minor"``
            (bending around the minor axis: never gluable for a > b).

    Example:
        >>> solid = two_ellipse_solid(2.0, 1.0)
        >>> round(solid.length, 7), round(solid.measures().volume, 6)
        (2.4221121, 3.167464)
    """
    a = check_positive("a", a)
    b = check_positive("b", b)
    if a < b:
        raise ValueError(f"a must be >= b (semi-major first), got a={a!r} < b={b!r}")
    if axis == "major":
        return GluedSolid(EllipseCurve(a, b), EllipseCurve(a, b))
    if axis == "minor":
        return GluedSolid(EllipseCurve(b, a), EllipseCurve(b, a))
    raise ValueError(f"axis must be 'major' or 'minor', got {axis!r}")


def normalise_axes(a: float, b: float) -> tuple[float, float, bool]:
    """Validate semi-axes and order them: returns ``(major, minor, swapped)``.

    Raises ValueError naming ``a`` or ``b`` for non-numbers, NaN, infinities, values <= 0,
    and for ratios beyond 1e8 (where double precision cannot tell the ellipse from a segment).

    Example:
        >>> normalise_axes(1, 2)
        (2.0, 1.0, True)
    """
    a = check_positive("a", a)
    b = check_positive("b", b)
    swapped = a < b
    major, minor = (b, a) if swapped else (a, b)
    if major > 1e8 * minor:
        ratio = major / minor
        raise ValueError(f"`a` = {a:g}, `b` = {b:g}: the axis ratio must be at most 1e8 "
                         f"(got {ratio:.3g})" if math.isfinite(ratio) else
                         f"`a` = {a:g}, `b` = {b:g}: the axis ratio must be at most 1e8 "
                         "(got one beyond the largest double)")
    return major, minor, swapped


def ellipse_report(a: float, b: float) -> dict:
    """Both constructions for two identical ellipses, as a JSON-ready dict.

    The semi-axes are validated and ordered with :func:`normalise_axes` (``a < b`` is
    swapped and reported as ``"swapped": true``). ``"major"`` holds the measures of the
    article's construction (bending around the major axis), ``"minor"`` those of bending
    around the minor axis, which fails (its ``failure_intervals`` say where).

    Example:
        >>> report = ellipse_report(2.0, 1.0)
        >>> report["major"]["gluable"], report["minor"]["gluable"]
        (True, False)
    """
    major, minor, swapped = normalise_axes(a, b)
    try:
        around_major = two_ellipse_solid(major, minor, "major").measures()
        around_minor = two_ellipse_solid(major, minor, "minor").measures()
    except ValueError as exc:
        raise ValueError(f"`a` = {major:g}, `b` = {minor:g}: {exc}") from None
    return {"a": major, "b": minor, "swapped": swapped,
            "perimeter": around_major.seam_length, "quarter_length": around_major.quarter_length,
            "area_closed_form": 2 * math.pi * major * minor,
            "major": around_major.to_dict(), "minor": around_minor.to_dict()}
