"""A 3D picture of the glued solid: the seam and the rulings of both sheets (matplotlib)."""

from __future__ import annotations

import os

import numpy as np

from kexue._io import atomic_write
from kexue._validation import check_positive_int
from kexue.geometry.solid import GluedSolid


def render_png(solid: GluedSolid, path: str | os.PathLike, rulings: int = 24,
               title: str | None = None, dpi: int = 120) -> None:
    """Draw the seam (black) and the rulings of sheet 1 (blue) and sheet 2 (orange) as PNG.

    Uses matplotlib's Agg canvas directly (no pyplot, no global backend change), so it works
    without a display.

    Args:
        solid: a gluable :class:`GluedSolid` (a degenerate one is drawn flat).
        path: output PNG file (written atomically).
        rulings: about how many rulings to draw per sheet and half.
        title: figure title (default: a summary of the measures).
        dpi: resolution; the figure is 7 x 5.5 inches.

    Example:
        >>> import tempfile, pathlib
        >>> from kexue.geometry.solid import two_ellipse_solid
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "solid.png"
        >>> render_png(two_ellipse_solid(2.0, 1.0), target)
        >>> target.read_bytes()[:4] == b"\\x89PNG"
        True
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from mpl_toolkits.mplot3d.art3d import Line3DCollection

    rulings = check_positive_int(rulings, "rulings")
    measures = solid.measures()
    if not measures.gluable:
        raise ValueError("the sheets cannot be glued: there is no solid to draw")
    # Drawn at unit scale (the axes say the unit), so any size draws alike.
    unit = solid.unit
    seam = unit.seam(256)
    x, y, z = seam.x, seam.y, seam.z
    # Rulings evenly spaced along the seam (each sheet's edge), as they would be on paper.
    marks = unit.seam(arcs=np.linspace(0.0, unit.length, int(rulings) + 1))

    figure = Figure(figsize=(7.0, 5.5))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(projection="3d")
    rx, ry, rz = marks.x, marks.y, marks.z
    sheet1 = [[(rx[k], -ry[k], sz * rz[k]), (rx[k], ry[k], sz * rz[k])] for k in range(len(rx))
              for sz in (1, -1)]
    sheet2 = [[(rx[k], sy * ry[k], -rz[k]), (rx[k], sy * ry[k], rz[k])] for k in range(len(rx))
              for sy in (1, -1)]
    axes.add_collection3d(Line3DCollection(sheet1, colors="tab:blue", linewidths=0.9,
                                           label="sheet 1 rulings (along y)"))
    axes.add_collection3d(Line3DCollection(sheet2, colors="tab:orange", linewidths=0.9,
                                           label="sheet 2 rulings (along z)"))
    # Faint surfaces of both sheets give depth to the wire frame.
    v = np.linspace(-1.0, 1.0, 2)
    for sign in (1, -1):
        axes.plot_surface(np.repeat(x[:, None], 2, 1), y[:, None] * v, sign * np.repeat(
            z[:, None], 2, 1), color="tab:blue", alpha=0.12, linewidth=0, shade=False)
        axes.plot_surface(np.repeat(x[:, None], 2, 1), sign * np.repeat(y[:, None], 2, 1),
                          z[:, None] * v, color="tab:orange", alpha=0.12, linewidth=0,
                          shade=False)
    for sy in (1, -1):
        for sz in (1, -1):
            axes.plot(x, sy * y, sz * z, color="black", linewidth=1.6,
                      label="seam" if sy == sz == 1 else None)
    half = max(float(np.max(y)), float(np.max(z)))
    length = float(x[-1])
    axes.set_xlim(0, max(length, 1e-12))
    axes.set_ylim(-half, half)
    axes.set_zlim(-half, half)
    axes.set_box_aspect((max(length, 1e-3 * half), 2 * half, 2 * half))
    units = "" if solid.scale_exponent == 0 else f" (units of 2^{solid.scale_exponent})"
    axes.set_xlabel("x" + units)
    axes.set_ylabel("y" + units)
    axes.set_zlabel("z" + units)
    axes.view_init(elev=22, azim=-58)
    axes.legend(loc="upper left", fontsize=8)
    if title is None:
        title = (f"length {measures.x_length:.4g}, volume {measures.volume:.4g}, "
                 f"area {measures.surface_area:.4g}")
    axes.set_title(title, fontsize=10)
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=int(dpi))
