"""A closed triangle mesh of the glued solid, and OBJ / binary STL writers.

The solid ``{0 <= x <= x_l, |y| <= Y(x), |z| <= Z(x)}`` is meshed as a tube of rectangular
rings, one ring per seam sample, each ring's corners exactly on the seam. The top and
bottom sides of a ring are rulings of sheet 1, the left and right sides rulings of sheet 2,
so every ruling is an edge chain of the mesh. At ``x = 0`` the section shrinks to a segment
along z (sheet 2's middle ruling) and at ``x = x_l`` to a segment along y (sheet 1's): the
rings there collapse onto those segments, which closes the mesh without caps. Triangles are
ordered counter-clockwise seen from outside, so normals point outwards.
"""

from __future__ import annotations

import math
import os
from typing import NamedTuple

import numpy as np

from kexue._io import atomic_write
from kexue._validation import check_int, check_positive_int
from kexue.geometry.solid import GluedSolid


class Mesh(NamedTuple):
    """Vertices (float64, shape (V, 3)) and triangles (int64 indices, shape (F, 3))."""

    vertices: np.ndarray
    faces: np.ndarray

    def _unit_triangles(self) -> tuple[np.ndarray, int]:
        """Triangle corners scaled by a power of two to at most 1 in size, and that power:
        cross products of any mesh's edges then neither over- nor underflow."""
        largest = float(np.max(np.abs(self.vertices))) if len(self.vertices) else 0.0
        exponent = math.frexp(largest)[1] if largest > 0 and math.isfinite(largest) else 0
        return np.ldexp(self.vertices, -exponent)[self.faces], exponent

    @property
    def normals(self) -> np.ndarray:
        """Unit outward normals of the triangles."""
        v, _ = self._unit_triangles()
        cross = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
        return cross / np.linalg.norm(cross, axis=1, keepdims=True)

    @property
    def volume(self) -> float:
        """Enclosed volume by the divergence theorem (positive for outward normals; inf
        when it exceeds the largest double)."""
        v, exponent = self._unit_triangles()
        unit = float(np.sum(np.einsum("ij,ij->i", v[:, 0], np.cross(v[:, 1], v[:, 2])))) / 6.0
        return _ldexp(unit, 3 * exponent)

    @property
    def area(self) -> float:
        """Total surface area of the triangles (inf when it exceeds the largest double)."""
        v, exponent = self._unit_triangles()
        unit = float(np.sum(np.linalg.norm(np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0]),
                                           axis=1))) / 2.0
        return _ldexp(unit, 2 * exponent)


def _ldexp(value: float, exponent: int) -> float:
    try:
        return math.ldexp(value, exponent)
    except OverflowError:
        return math.copysign(math.inf, value)


#: binary STL stores float32: the largest coordinate it holds, and the smallest solid size
#: whose coordinates keep float32's full 24-bit precision (normal numbers down to size/2^24).
STL_LARGEST = float(np.finfo(np.float32).max)
STL_SMALLEST_SIZE = float(np.finfo(np.float32).tiny / np.finfo(np.float32).eps)


def solid_mesh(solid: GluedSolid, sections: int = 96, per_side: int = 16) -> Mesh:
    """Triangulate the solid: about ``sections + 1`` rings of ``4 * per_side`` vertices.

    Args:
        solid: a gluable, non-degenerate :class:`GluedSolid`.
        sections: number of seam intervals (rings are placed as in ``GluedSolid.seam``).
        per_side: vertices per side of a ring (the ruling subdivisions).

    Returns:
        A watertight, consistently oriented :class:`Mesh`.

    Example:
        >>> from kexue.geometry.solid import two_ellipse_solid
        >>> mesh = solid_mesh(two_ellipse_solid(2.0, 1.0), sections=32, per_side=4)
        >>> round(mesh.volume, 2)
        3.16
    """
    sections = check_int(sections, "sections", minimum=2)
    per_side = check_positive_int(per_side, "per_side")
    measures = solid.measures()
    if not measures.gluable:
        raise ValueError("the sheets cannot be glued: there is no solid to mesh")
    if measures.degenerate:
        raise ValueError("the solid is degenerate (both sheets lie flat, volume 0): "
                         "there is nothing to mesh")
    seam = solid.seam(int(sections))
    m = int(per_side)
    ramp = 1.0 - 2.0 * np.arange(m) / m  # 1 .. just above -1: one side without its end
    rings_yz = []
    for y, z in zip(seam.y, seam.z, strict=True):
        rings_yz.append(np.concatenate([
            np.stack([y * ramp, np.full(m, z)], 1),      # top    (y from +Y to -Y)
            np.stack([np.full(m, -y), z * ramp], 1),     # left   (z from +Z to -Z)
            np.stack([-y * ramp, np.full(m, -z)], 1),    # bottom (y from -Y to +Y)
            np.stack([np.full(m, y), -z * ramp], 1),     # right  (z from -Z to +Z)
        ]))
    count = len(seam.x)
    vertices: list[np.ndarray] = []
    ids = np.empty((count, 4 * m), dtype=np.int64)
    j = np.arange(m)
    full = np.arange(m + 1)
    next_id = 0
    for k in range(count):
        x = seam.x[k]
        if k == 0:
            # Section is the segment {(0, 0, z)}: points e_0 (top) .. e_m (bottom).
            pts = np.stack([np.full(m + 1, x), np.zeros(m + 1), seam.z[k] * (1 - 2 * full / m)],
                           1)
            e = next_id + full
            ids[k] = np.concatenate([np.full(m, e[0]), e[j], np.full(m, e[m]), e[m - j]])
        elif k == count - 1:
            # Section is the segment {(x_l, y, 0)}: points f_0 (+y) .. f_m (-y).
            pts = np.stack([np.full(m + 1, x), seam.y[k] * (1 - 2 * full / m), np.zeros(m + 1)],
                           1)
            f = next_id + full
            ids[k] = np.concatenate([f[j], np.full(m, f[m]), f[m - j], np.full(m, f[0])])
        else:
            pts = np.concatenate([np.full((4 * m, 1), x), rings_yz[k]], 1)
            ids[k] = next_id + np.arange(4 * m)
        vertices.append(pts)
        next_id += len(pts)
    a = ids[:-1]
    b = np.roll(ids[:-1], -1, axis=1)
    c = np.roll(ids[1:], -1, axis=1)
    d = ids[1:]
    faces = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3),
                            np.stack([a, c, d], -1).reshape(-1, 3)])
    keep = (faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (
        faces[:, 0] != faces[:, 2])
    return Mesh(np.concatenate(vertices), faces[keep])


def check_stl_size(size: float) -> None:
    """Raise ValueError naming the bound unless a solid whose largest coordinate is ``size``
    fits binary STL's float32 coordinates at full precision.

    Example:
        >>> check_stl_size(2.0)
        >>> check_stl_size(1e100)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: binary STL holds float32 coordinates, at most 3.4e+38; ...
    """
    if not size <= STL_LARGEST:
        raise ValueError(f"binary STL holds float32 coordinates, at most {STL_LARGEST:.3g}; "
                         f"this solid reaches {size:.3g} (write OBJ, a text format, instead)")
    if size < STL_SMALLEST_SIZE:
        raise ValueError(f"binary STL holds float32 coordinates, which keep their precision "
                         f"for solids of size >= {STL_SMALLEST_SIZE:.3g}; this solid's size is "
                         f"{size:.3g} (write OBJ, a text format, instead)")


def write_obj(mesh: Mesh, path: str | os.PathLike, comment: str = "") -> None:
    """Write ``mesh`` as a Wavefront OBJ text file (1-based faces, atomically).

    Example:
        >>> import tempfile, pathlib
        >>> from kexue.geometry.solid import two_ellipse_solid
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "solid.obj"
        >>> write_obj(solid_mesh(two_ellipse_solid(2.0, 1.0), 8, 2), target)
        >>> target.read_text().count("\\nf ") > 0
        True
    """
    lines = [f"# {line}" for line in (comment or "kexue two-sheet solid").splitlines()]
    lines += [f"v {x:.12g} {y:.12g} {z:.12g}" for x, y, z in mesh.vertices]
    lines += [f"f {i} {j} {k}" for i, j, k in mesh.faces + 1]
    with atomic_write(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")


def write_stl(mesh: Mesh, path: str | os.PathLike, header: str = "kexue two-sheet solid") -> None:
    """Write ``mesh`` as a binary STL file (float32 normals and vertices, atomically).

    Raises ValueError naming the bound when a coordinate lies beyond float32's range
    (:data:`STL_LARGEST`) or the solid is too small for float32 (:data:`STL_SMALLEST_SIZE`).

    Example:
        >>> import tempfile, pathlib
        >>> from kexue.geometry.solid import two_ellipse_solid
        >>> mesh = solid_mesh(two_ellipse_solid(2.0, 1.0), 8, 2)
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "solid.stl"
        >>> write_stl(mesh, target)
        >>> target.stat().st_size == 84 + 50 * len(mesh.faces)
        True
    """
    check_stl_size(float(np.max(np.abs(mesh.vertices))) if len(mesh.vertices) else 0.0)
    record = np.dtype([("normal", "<f4", 3), ("vertices", "<f4", (3, 3)), ("attr", "<u2")])
    data = np.zeros(len(mesh.faces), dtype=record)
    data["normal"] = mesh.normals
    data["vertices"] = mesh.vertices[mesh.faces]
    with atomic_write(path, "wb") as handle:
        handle.write(header.encode("ascii", "replace")[:80].ljust(80, b" "))
        handle.write(np.uint32(len(mesh.faces)).astype("<u4").tobytes())
        handle.write(data.tobytes())
