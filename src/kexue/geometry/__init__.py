"""The two-ellipse solid: two sheets bent without stretching and glued edge to edge.

Su Jianlin asked whether two identical elliptical sheets can be bent and glued into a closed
solid (https://kexue.fm/archives/6818, 2019). This package computes the seam, the gluability
margin, the solid's measures, a mesh (OBJ/STL), a 3D picture and printable paper templates,
for two ellipses and for any two convex curves of equal perimeter with two axes of symmetry.

Example:
    >>> from kexue.geometry import two_ellipse_solid
    >>> measures = two_ellipse_solid(2.0, 1.0).measures()
    >>> measures.gluable, round(measures.volume, 6)
    (True, 3.167464)
"""

from kexue.geometry.curves import (
    CurvePoints,
    EllipseCurve,
    ParametricCurve,
    QuarterCurve,
    StadiumCurve,
    ellipse_with_quarter_length,
    stadium_with_quarter_length,
)
from kexue.geometry.mesh import Mesh, solid_mesh, write_obj, write_stl
from kexue.geometry.render import render_png
from kexue.geometry.solid import (
    GluedSolid,
    Measures,
    Seam,
    ellipse_report,
    normalise_axes,
    two_ellipse_solid,
)
from kexue.geometry.template import template_scale, write_template

__all__ = [
    "CurvePoints",
    "EllipseCurve",
    "GluedSolid",
    "Measures",
    "Mesh",
    "ParametricCurve",
    "QuarterCurve",
    "Seam",
    "StadiumCurve",
    "ellipse_report",
    "ellipse_with_quarter_length",
    "normalise_axes",
    "render_png",
    "solid_mesh",
    "stadium_with_quarter_length",
    "template_scale",
    "two_ellipse_solid",
    "write_obj",
    "write_stl",
    "write_template",
]
