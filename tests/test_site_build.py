"""The reports tree's per-spec build (archcalc.site.build): work shared between the files of a spec
gives the same files as making each on its own, and the pool's garbage-collection wrapper builds
the same spec."""

from __future__ import annotations

import gc

import pytest

from archcalc.diagram import network_diagram, render_svg
from archcalc.site.build import _build_collected, _build_one, page_diagram, page_diagram_and_graph_file
from archcalc.site.pages import standalone

from conftest import SPECS, zoo_analysis, zoo_spec


@pytest.mark.parametrize("stem", ["alexnet", "resnet50", "googlenet"])
def test_one_diagram_layout_makes_the_page_diagram_and_the_graph_file(stem):
    path = SPECS / f"{stem}.yaml"
    if not path.is_file():
        pytest.skip(f"no {path.name} in the zoo")
    spec, analysis = zoo_spec(path), zoo_analysis(path)
    # the graph file as laid out on its own, with its title
    graph = standalone(render_svg(network_diagram(spec, analysis=analysis)))
    assert page_diagram_and_graph_file(spec, analysis) == (page_diagram(spec, analysis), graph)


def test_build_collected_is_build_one_and_restores_the_collector():
    path = SPECS / "lenet5.yaml"
    was = gc.isenabled()
    try:
        gc.enable()
        collected = _build_collected(path, charts=False)
        assert gc.isenabled()
    finally:
        if not was:
            gc.disable()
    assert collected == _build_one(path, charts=False)
