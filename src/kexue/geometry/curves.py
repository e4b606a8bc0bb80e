"""Quarter arcs of closed convex plane curves, parametrised by arc length.

A sheet of the glued solid is a closed convex plane curve symmetric about two perpendicular
axes: the *bending axis* (the sheet is bent around it, its rulings are perpendicular to it)
and the *cross axis*. One quarter of the curve, from the vertex on the bending axis to the
vertex on the cross axis, determines everything. A :class:`QuarterCurve` describes that
quarter as a function of the arc length ``s`` in ``[0, length]`` measured from the vertex on
the bending axis: the point ``(u(s), h(s))`` (``u`` along the bending axis, ``h`` the
half-length of the ruling through the point) and the unit tangent's absolute components
``(|u'(s)|, h'(s))``.

Both are returned separately (rather than only ``h'``) because the gluing condition
``1 - h1'(s)^2 - h2'(l - s)^2`` is ``|u1'(s)|^2 - h2'(l - s)^2``: written this way it is
computed without the cancellation of ``1 - h'^2`` near the vertices.

Source: Su Jianlin, "思考:两个椭圆片能粘合成一个立体吗?", https://kexue.fm/archives/6818 (2019).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from scipy.special import ellipe, ellipeinc

from kexue._validation import check_callable, check_float, check_int

_GL8_X, _GL8_W = np.polynomial.legendre.leggauss(8)
_STENCIL = (-2.0, -1.0, 0.0, 1.0, 2.0)


def _lagrange_derivative(k: int, x: np.ndarray) -> np.ndarray:
    """Derivative at ``x`` of the k-th Lagrange basis polynomial on the nodes _STENCIL."""
    others = [xi for i, xi in enumerate(_STENCIL) if i != k]
    denominator = math.prod(_STENCIL[k] - xi for xi in others)
    total = np.zeros_like(x)
    for j in range(len(others)):
        term = np.ones_like(x)
        for i, xi in enumerate(others):
            if i != j:
                term = term * (x - xi)
        total = total + term
    return total / denominator


class CurvePoints(NamedTuple):
    """Points and unit tangents of a quarter curve at given arc lengths (arrays)."""

    u: np.ndarray
    """Coordinate along the bending axis (``u(0)`` = the vertex, ``u(length) = 0``)."""
    h: np.ndarray
    """Half-length of the ruling: the coordinate along the cross axis (``h(0) = 0``)."""
    du: np.ndarray
    """``|du/ds|``: 0 at a smooth vertex on the bending axis, 1 at the one on the cross axis."""
    dh: np.ndarray
    """``dh/ds``: 1 at a smooth vertex on the bending axis, 0 at the one on the cross axis."""
    du_complement: np.ndarray
    """``1 - |du/ds|``, computed without cancellation where ``|du/ds|`` is close to 1."""
    dh_complement: np.ndarray
    """``1 - dh/ds``, computed without cancellation where ``dh/ds`` is close to 1."""


def unit_tangent(u: np.ndarray, h: np.ndarray, du: np.ndarray, dh: np.ndarray) -> CurvePoints:
    """CurvePoints from a point and any tangent vector ``(du, dh)`` (absolute components)."""
    du, dh = np.abs(du), np.abs(dh)
    speed = np.hypot(du, dh)
    # 1 - du/speed = dh^2 / (speed (speed + du)): exact where du/speed is close to 1.
    return CurvePoints(u, h, du / speed, dh / speed, dh * dh / (speed * (speed + du)),
                       du * du / (speed * (speed + dh)))


def check_positive(name: str, value: float) -> float:
    """Return ``value`` as a float; TypeError unless a real number (bool, str and complex are
    not), ValueError naming ``name`` unless finite and > 0."""
    return check_float(value, name, minimum=0.0, include_min=False)


class QuarterCurve:
    """One quarter of a closed convex curve symmetric about two perpendicular axes.

    Subclasses set ``length`` (the quarter perimeter), ``breaks`` (arc lengths in
    ``(0, length)`` where the curve is not smooth, e.g. where a stadium's arc meets its
    straight side), ``name``, and implement :meth:`evaluate` and :meth:`sample_arcs`.
    """

    length: float
    breaks: tuple[float, ...] = ()
    name: str = "curve"

    def evaluate(self, s: np.ndarray) -> CurvePoints:
        """Point and unit tangent at arc lengths ``s`` (clipped to ``[0, length]``)."""
        raise NotImplementedError

    def sample_arcs(self, n: int) -> np.ndarray:
        """``n + 1`` increasing arc lengths from 0 to ``length``, dense where the curve bends."""
        return np.linspace(0.0, self.length, n + 1)

    @property
    def perimeter(self) -> float:
        """Perimeter of the whole closed curve (four quarters)."""
        return 4.0 * self.length

    @property
    def extent(self) -> tuple[float, float]:
        """Semi-extents ``(u(0), h(length))``: along the bending axis and the cross axis."""
        ends = self.evaluate(np.array([0.0, self.length]))
        return float(ends.u[0]), float(ends.h[1])

    def describe(self) -> dict:
        """A JSON-ready description of the curve."""
        return {"kind": self.name, "perimeter": self.perimeter}

    def scaled(self, factor: float) -> QuarterCurve:
        """The same curve with every length multiplied by ``factor`` (> 0).

        With a power of two for ``factor`` the scaling is exact; :class:`GluedSolid` uses
        it to compute at unit scale whatever the curves' size.
        """
        return _ScaledCurve(self, factor)


class _ScaledCurve(QuarterCurve):
    """``base`` with every length multiplied by ``factor`` (evaluated through ``base``)."""

    def __init__(self, base: QuarterCurve, factor: float) -> None:
        self.base = base
        self.factor = float(factor)
        self.name = base.name
        self.length = base.length * self.factor
        self.breaks = tuple(b * self.factor for b in base.breaks)

    def evaluate(self, s: np.ndarray) -> CurvePoints:
        p = self.base.evaluate(np.asarray(s, dtype=float) / self.factor)
        return p._replace(u=p.u * self.factor, h=p.h * self.factor)

    def sample_arcs(self, n: int) -> np.ndarray:
        return self.base.sample_arcs(n) * self.factor

    def describe(self) -> dict:
        return {**self.base.describe(), "perimeter": self.perimeter}


class EllipseCurve(QuarterCurve):
    """Quarter of the ellipse ``u = along * cos(t)``, ``h = across * sin(t)``, ``t`` in [0, pi/2].

    The arc length from the vertex ``(along, 0)`` is
    ``s(t) = across * E(t | 1 - along^2 / across^2)`` (SciPy's ``ellipeinc``, accurate for the
    negative parameter that ``along > across`` gives), so no singular integral is needed; its
    inverse is found by safeguarded Newton iteration on ``t``.

    Args:
        along: semi-axis on the bending axis (the sheet's rulings are perpendicular to it).
        across: semi-axis on the cross axis.

    Example:
        >>> quarter = EllipseCurve(2.0, 1.0)   # bent around its major axis
        >>> round(quarter.length, 7)
        2.4221121
    """

    name = "ellipse"

    def __init__(self, along: float, across: float) -> None:
        self.along = check_positive("along", along)
        self.across = check_positive("across", across)
        ratio = self.along / self.across
        if not (1e-8 <= ratio <= 1e8):
            raise ValueError(
                f"axis ratio along/across must lie in [1e-8, 1e8], got {ratio:.3g}")
        self._m = 1.0 - ratio * ratio
        self.length = float(self.across * ellipe(self._m))
        # Table for the first guess of the inverse: geometric near t = 0 (where s(t) bends
        # when along >> across), uniform elsewhere.
        table_t = np.unique(np.concatenate([
            [0.0], (math.pi / 2) * 2.0 ** -np.arange(60, 0, -1.0),
            np.linspace(0.0, math.pi / 2, 129)]))
        self._table_t = table_t
        self._table_s = self.across * ellipeinc(table_t, self._m)
        self._table_s[-1] = self.length

    def arc_length(self, t: np.ndarray) -> np.ndarray:
        """Arc length from the vertex on the bending axis to the point at angle ``t``."""
        return self.across * ellipeinc(np.asarray(t, dtype=float), self._m)

    def angle(self, s: np.ndarray) -> np.ndarray:
        """The ellipse angle ``t`` of the point at arc length ``s`` (inverse of arc_length)."""
        s = np.clip(np.asarray(s, dtype=float), 0.0, self.length)
        index = np.clip(np.searchsorted(self._table_s, s, side="right") - 1, 0,
                        len(self._table_t) - 2)
        lo, hi = self._table_t[index], self._table_t[index + 1]
        s_lo, s_hi = self._table_s[index], self._table_s[index + 1]
        span = np.where(s_hi > s_lo, s_hi - s_lo, 1.0)
        t = lo + (hi - lo) * np.clip((s - s_lo) / span, 0.0, 1.0)
        a2, b2 = self.along ** 2, self.across ** 2
        for _ in range(60):
            residual = self.across * ellipeinc(t, self._m) - s
            lo = np.where(residual <= 0, t, lo)
            hi = np.where(residual >= 0, t, hi)
            speed = np.sqrt(a2 * np.sin(t) ** 2 + b2 * np.cos(t) ** 2)
            step = residual / speed
            new = t - step
            outside = (new < lo) | (new > hi)
            new = np.where(outside, 0.5 * (lo + hi), new)
            # Newton converges quadratically: after a relative step of 1e-9 the next
            # error is ~1e-18, below rounding.
            done = ~outside & (np.abs(step) <= 1e-9 * np.maximum(t, 1e-300))
            t = new
            if np.all(done | (hi - lo <= 4e-16 * np.maximum(hi, 1e-300))):
                break
        return np.where(s >= self.length, math.pi / 2, np.where(s <= 0, 0.0, t))

    def evaluate(self, s: np.ndarray) -> CurvePoints:
        t = self.angle(s)
        return self.evaluate_angle(t)

    def evaluate_angle(self, t: np.ndarray) -> CurvePoints:
        """Point and unit tangent at ellipse angles ``t`` in ``[0, pi/2]``."""
        t = np.asarray(t, dtype=float)
        # cos(pi/2) is 6e-17 in floating point; the vertex on the cross axis is exact.
        sin, cos = np.sin(t), np.where(t >= math.pi / 2, 0.0, np.cos(t))
        return unit_tangent(self.along * cos, self.across * sin, self.along * sin,
                            self.across * cos)

    def sample_arcs(self, n: int) -> np.ndarray:
        arcs = self.arc_length(np.linspace(0.0, math.pi / 2, n + 1))
        arcs[-1] = self.length
        return arcs

    @property
    def extent(self) -> tuple[float, float]:
        return self.along, self.across

    @property
    def area(self) -> float:
        """Closed-form area ``pi * along * across`` of the whole ellipse."""
        return math.pi * self.along * self.across

    def describe(self) -> dict:
        return {"kind": "ellipse", "along": self.along, "across": self.across,
                "perimeter": self.perimeter}

    def scaled(self, factor: float) -> EllipseCurve:
        return EllipseCurve(self.along * factor, self.across * factor)


class StadiumCurve(QuarterCurve):
    """Quarter of a stadium: two half-discs of ``radius`` joined by sides of length ``straight``.

    Args:
        radius: radius of the two semicircular ends.
        straight: length of each straight side (0 gives a circle).
        straight_along: True puts the straight sides parallel to the bending axis (the
            semicircles cap the bending axis), False parallel to the cross axis.

    Example:
        >>> quarter = StadiumCurve(1.0, 2.0)
        >>> round(quarter.perimeter, 6)   # 2 pi r + 2 * straight
        10.283185
    """

    name = "stadium"

    def __init__(self, radius: float, straight: float, straight_along: bool = True) -> None:
        self.radius = check_positive("radius", radius)
        self.straight = check_float(straight, "straight", minimum=0.0)
        self.straight_along = bool(straight_along)
        self._arc = math.pi * self.radius / 2
        self.length = self._arc + self.straight / 2
        if self.straight > 0:
            self.breaks = (self._arc,) if straight_along else (self.straight / 2,)

    def evaluate(self, s: np.ndarray) -> CurvePoints:
        s = np.clip(np.asarray(s, dtype=float), 0.0, self.length)
        r, half = self.radius, self.straight / 2
        if self.straight_along:
            theta = np.minimum(s, self._arc) / r
            on_line = s > self._arc
            u = np.where(on_line, half - (s - self._arc), half + r * np.cos(theta))
            return unit_tangent(u, r * np.sin(theta), np.where(on_line, 1.0, np.sin(theta)),
                                np.where(on_line, 0.0, np.cos(theta)))
        theta = np.maximum(s - half, 0.0) / r
        on_line = s < half
        h = np.where(on_line, s, half + r * np.sin(theta))
        return unit_tangent(r * np.cos(theta), h, np.where(on_line, 0.0, np.sin(theta)),
                            np.where(on_line, 1.0, np.cos(theta)))

    def sample_arcs(self, n: int) -> np.ndarray:
        count_arc = max(2, int(round(n * self._arc / self.length)))
        turn = np.linspace(0.0, self._arc, count_arc + 1)
        line = np.linspace(0.0, self.straight / 2, n - count_arc + 1)
        if self.straight_along:
            return np.concatenate([turn, self._arc + line[1:]])
        return np.concatenate([line, line[-1] + turn[1:]])

    @property
    def area(self) -> float:
        """Closed-form area ``pi r^2 + 2 r * straight`` of the whole stadium."""
        return math.pi * self.radius ** 2 + 2 * self.radius * self.straight

    def describe(self) -> dict:
        return {"kind": "stadium", "radius": self.radius, "straight": self.straight,
                "straight_along": self.straight_along, "perimeter": self.perimeter}

    def scaled(self, factor: float) -> StadiumCurve:
        return StadiumCurve(self.radius * factor, self.straight * factor, self.straight_along)


class ParametricCurve(QuarterCurve):
    """A quarter curve given by a function of a parameter ``tau`` in ``[0, 1]``.

    ``point(tau)`` returns ``(u, h)`` arrays; ``tau = 0`` must be the vertex on the bending
    axis (``h = 0``) and ``tau = 1`` the vertex on the cross axis (``u = 0``); along the way
    ``u`` may not increase and ``h`` may not decrease (a convex curve symmetric about both
    axes). The arc length is tabulated by 8-point Gauss-Legendre quadrature on ``samples``
    parameter intervals and inverted by Hermite interpolation plus two Newton steps.

    Args:
        point: vectorised ``tau -> (u, h)``.
        derivative: vectorised ``tau -> (du/dtau, dh/dtau)``; if None, a fourth-order
            central difference is used (about 1e-10 relative accuracy).
        breaks: parameter values in (0, 1) where the curve is not smooth.
        samples: number of parameter intervals of the arc-length table.
        name: label used in reports.

    Example:
        >>> import numpy as np
        >>> quarter = ParametricCurve(lambda t: (2 * np.cos(np.pi * t / 2),
        ...                                      np.sin(np.pi * t / 2)))
        >>> round(quarter.length, 7)
        2.4221121
    """

    def __init__(self, point: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
                 derivative: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
                 breaks: tuple[float, ...] = (), samples: int = 1024,
                 name: str = "parametric") -> None:
        check_callable(point, "point")
        check_callable(derivative, "derivative", allow_none=True)
        self._point = point
        self._derivative = derivative
        self.name = name
        cuts = sorted(float(b) for b in breaks)
        if any(not (0.0 < b < 1.0) for b in cuts):
            raise ValueError(f"`breaks` must lie strictly inside (0, 1); received {list(breaks)}")
        samples = check_int(samples, "samples", minimum=16)
        pieces = [0.0, *cuts, 1.0]
        self._pieces = np.array(pieces)
        per_piece = max(4, int(samples) // len(pieces[:-1]))
        taus = np.unique(np.concatenate([np.linspace(pieces[i], pieces[i + 1], per_piece + 1)
                                         for i in range(len(pieces) - 1)]))
        self._tau = taus
        u, h = (np.asarray(c, dtype=float) for c in point(taus))
        if u.shape != taus.shape or h.shape != taus.shape:
            raise ValueError("point(tau) must return two arrays shaped like tau, got shapes "
                             f"{u.shape} and {h.shape} for tau of shape {taus.shape}")
        if not (np.all(np.isfinite(u)) and np.all(np.isfinite(h))):
            raise ValueError("point(tau) returned non-finite values on [0, 1]")
        scale = max(float(np.max(np.abs(u))), float(np.max(np.abs(h))))
        if scale <= 0:
            raise ValueError("point(tau) describes a degenerate curve (all points at 0)")
        tol = 1e-9 * scale
        if abs(h[0]) > tol or abs(u[-1]) > tol:
            raise ValueError("point(tau) must start on the bending axis (h(0) = 0) and end on "
                             f"the cross axis (u(1) = 0); got h(0) = {h[0]:.3g}, "
                             f"u(1) = {u[-1]:.3g}")
        if np.any(np.diff(u) > tol) or np.any(np.diff(h) < -tol) or np.any(u < -tol):
            raise ValueError("point(tau) must trace a quarter of a convex curve symmetric about "
                             "both axes: u non-increasing, h non-decreasing, u >= 0")
        left, right = taus[:-1], taus[1:]
        nodes = 0.5 * (left + right)[:, None] + 0.5 * (right - left)[:, None] * _GL8_X
        speed = self._speed(nodes.ravel()).reshape(nodes.shape)
        pieces_len = 0.5 * (right - left) * (speed @ _GL8_W)
        self._s = np.concatenate([[0.0], np.cumsum(pieces_len)])
        self._speed_tab = self._speed(taus)
        if np.any(self._speed_tab <= 0):
            raise ValueError("the curve's parametrisation must have a nonzero derivative "
                             "on [0, 1] (a regular curve)")
        self.length = float(self._s[-1])
        self.breaks = tuple(float(np.interp(b, taus, self._s)) for b in cuts)

    def _tangent(self, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._derivative is not None:
            du, dh = self._derivative(tau)
            return np.asarray(du, dtype=float), np.asarray(dh, dtype=float)
        # Derivative of the quartic through five points 1e-3 apart (less in short pieces),
        # the stencil shifted to stay inside the smooth piece holding tau (the function is
        # only known on [0, 1] and has kinks at the breaks): error about 1e-12.
        tau = np.asarray(tau, dtype=float)
        piece = np.clip(np.searchsorted(self._pieces, tau, side="right") - 1, 0,
                        len(self._pieces) - 2)
        start, end = self._pieces[piece], self._pieces[piece + 1]
        step = np.minimum(1e-3, (end - start) / 8)
        centre = np.clip(tau, start + 2 * step, end - 2 * step)
        x = (tau - centre) / step
        values = [self._point(centre + k * step) for k in _STENCIL]
        weights = [_lagrange_derivative(k, x) / step for k in range(len(_STENCIL))]
        du = sum(w * np.asarray(v[0], dtype=float) for w, v in zip(weights, values, strict=True))
        dh = sum(w * np.asarray(v[1], dtype=float) for w, v in zip(weights, values, strict=True))
        return du, dh

    def _speed(self, tau: np.ndarray) -> np.ndarray:
        du, dh = self._tangent(tau)
        return np.hypot(du, dh)

    def parameter(self, s: np.ndarray) -> np.ndarray:
        """The parameter ``tau`` of the point at arc length ``s``."""
        s = np.clip(np.asarray(s, dtype=float), 0.0, self.length)
        index = np.clip(np.searchsorted(self._s, s, side="right") - 1, 0, len(self._tau) - 2)
        t0, t1 = self._tau[index], self._tau[index + 1]
        s0, s1 = self._s[index], self._s[index + 1]
        width = np.where(s1 > s0, s1 - s0, 1.0)
        x = (s - s0) / width
        m0 = width / self._speed_tab[index]
        m1 = width / self._speed_tab[index + 1]
        tau = ((2 * x ** 3 - 3 * x ** 2 + 1) * t0 + (x ** 3 - 2 * x ** 2 + x) * m0
               + (-2 * x ** 3 + 3 * x ** 2) * t1 + (x ** 3 - x ** 2) * m1)
        tau = np.clip(tau, t0, t1)
        for _ in range(2):
            mid, half = 0.5 * (t0 + tau), 0.5 * (tau - t0)
            nodes = mid[:, None] + half[:, None] * _GL8_X
            partial = half * (self._speed(nodes.ravel()).reshape(nodes.shape) @ _GL8_W)
            tau = np.clip(tau - (s0 + partial - s) / self._speed(tau), t0, t1)
        return tau

    def evaluate(self, s: np.ndarray) -> CurvePoints:
        s = np.atleast_1d(np.asarray(s, dtype=float))
        tau = self.parameter(s)
        u, h = (np.asarray(c, dtype=float) for c in self._point(tau))
        du, dh = self._tangent(tau)
        return unit_tangent(u, h, du, dh)

    def sample_arcs(self, n: int) -> np.ndarray:
        arcs = np.interp(np.linspace(0.0, 1.0, n + 1), self._tau, self._s)
        arcs[-1] = self.length
        return arcs


def ellipse_with_quarter_length(across: float, length: float) -> EllipseCurve:
    """The ellipse with cross semi-axis ``across`` whose quarter perimeter is ``length``.

    Solves for the semi-axis along the bending axis (any value > 0 works as long as
    ``length > across``, the quarter perimeter of the degenerate ellipse along = 0).

    Example:
        >>> other = ellipse_with_quarter_length(1.5, EllipseCurve(2.0, 1.0).length)
        >>> round(other.along, 6), round(other.length, 7)
        (1.583365, 2.4221121)
    """
    across = check_positive("across", across)
    length = check_positive("length", length)
    if length <= across * (1 + 1e-12):
        raise ValueError(f"no ellipse with cross semi-axis {across:g} has quarter perimeter "
                         f"{length:g}: the quarter perimeter must exceed the semi-axis")
    # The quarter perimeter grows with `along`: bisection on a bracket, then secant polish.
    low, high = 1e-8 * across, length
    for _ in range(200):
        middle = 0.5 * (low + high)
        if EllipseCurve(middle, across).length < length:
            low = middle
        else:
            high = middle
        if high - low <= 4e-16 * high:
            break
    return EllipseCurve(0.5 * (low + high), across)


def stadium_with_quarter_length(radius: float, length: float,
                                straight_along: bool = True) -> StadiumCurve:
    """The stadium with end radius ``radius`` whose quarter perimeter is ``length``.

    Example:
        >>> stadium = stadium_with_quarter_length(1.0, EllipseCurve(2.0, 1.0).length)
        >>> round(stadium.straight, 6)
        1.702631
    """
    radius = check_positive("radius", radius)
    length = check_positive("length", length)
    straight = 2 * (length - math.pi * radius / 2)
    if straight < -1e-12 * length:
        raise ValueError(f"radius {radius:g} is too large: a stadium's quarter perimeter is at "
                         f"least pi*radius/2 = {math.pi * radius / 2:g} > {length:g}")
    return StadiumCurve(radius, max(straight, 0.0), straight_along)
