"""Network diagrams: the spec's structure drawn as boxes and arrows, coloured by cost.

Computing and drawing are apart: :mod:`.structure` (the series-parallel tree, tied to the
analysis), :mod:`.content` (each box's words, size and colour, measured with :mod:`.metrics`),
:mod:`.layout` (the geometry), :mod:`.compose` (folding, header: a :class:`Diagram`) are pure;
:mod:`.svg` writes SVG text, :mod:`.figure` draws with matplotlib (PNG, PDF; imported when
called), :mod:`.page` puts the diagram on an HTML page and :mod:`.script` is its behaviour there.
No system binary (Graphviz or other) is used: the spec is series-parallel, so its layout follows
its structure.
"""

from .compose import Diagram, auto_depth, network_diagram
from .content import COLOR_BY
from .svg import render_svg

__all__ = ["Diagram", "network_diagram", "auto_depth", "render_svg", "COLOR_BY"]
