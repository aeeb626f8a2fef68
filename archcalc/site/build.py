"""Building the reports tree: every spec loaded, analyzed and checked once (in a process pool),
its pages composed and its charts drawn; then the zoo pages and charts from the specs' rows.

Nothing here writes a file: :func:`build_site` returns the tree as ``{relative path: text}``
(written by :func:`archcalc.fileio.write_tree`).
"""

from __future__ import annotations

__all__ = ["build_site", "build_tree", "SiteBuild", "SpecBuild", "single_page", "spec_charts", "stale_files", "SCALING_SPEC"]

import gc
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Collection, Mapping, Sequence

from ..analysis import Analysis, analyze
from ..errors import ArchcalcError
from ..plots.accuracy import Y_METRICS, AccuracyPoint, accuracy_point, chart_of_points
from ..spec import Spec
from .pages import (ROOFLINE_SETTINGS, chart_captions, spec_markdown, spec_page, standalone, zoo_markdown,
                    zoo_page)
from .summary import SpecSummary, shown_path, summarize_spec, summary_of

SCALING_SPEC = "efficientnet_b0"  # the zoo's scaling chart, when the spec exists


def single_page(spec: Spec, *, batch_size: int = 1, dtype: str = "float32", depth: int | None = None,
                style: str = "default", convention: str = "macs", raw: bool = False) -> str:
    """``archcalc report SPEC --format html``: one self-contained page for a loaded spec (``style``,
    ``convention`` and ``raw`` as for the other formats)."""
    analysis = analyze(spec, batch_size=batch_size, dtype=dtype)
    path = Path(spec.path) if spec.path is not None else Path(f"{spec.name}.yaml")
    s = summary_of(spec, analysis, shown=shown_path(path), stem=path.stem)
    charts = spec_charts(spec, analysis)
    return spec_page(spec, analysis, s, charts=list(charts.values()), back_link=None, depth=depth, style=style,
                     convention=convention, raw=raw, diagram=page_diagram(spec, analysis))


def page_diagram(spec: Spec, analysis: Analysis) -> str:
    """The interactive network diagram of a spec's HTML page (folded as ``archcalc plot graph``)."""
    from ..diagram import network_diagram
    from ..diagram.page import page_fragment

    return page_fragment(network_diagram(spec, analysis=analysis, title=None))


def page_diagram_and_graph_file(spec: Spec, analysis: Analysis) -> tuple[str, str]:
    """:func:`page_diagram`, and ``specs/<stem>.graph.svg`` (the diagram with its default title as a
    standalone SVG file), from one layout of the diagram: the two differ in the title only, and laying
    the diagram out is most of the work."""
    from dataclasses import replace

    from ..diagram import network_diagram, render_svg
    from ..diagram.compose import default_title, make_header
    from ..diagram.page import page_fragment

    untitled = network_diagram(spec, analysis=analysis, title=None)
    titled = replace(untitled, header=make_header(default_title(analysis), untitled.content.scale))
    return page_fragment(untitled), standalone(render_svg(titled))


def spec_charts(spec: Spec, analysis: Analysis) -> dict[str, tuple[str, str]]:
    """The per-spec charts as SVG text: ``{"layers": (caption, svg), "roofline": (caption, svg)}``."""
    from ..plots.devices import get_device
    from ..plots.layers import draw_layer_profile, layer_profile
    from ..plots.roofline import draw_roofline, roofline
    from ..plots.style import svg_text

    r = ROOFLINE_SETTINGS
    device = get_device(str(r["device"]))
    captions = chart_captions(analysis)
    layers = svg_text(draw_layer_profile(layer_profile(analysis)))
    roof = svg_text(draw_roofline(roofline(spec, device=device, dtype=str(r["dtype"]), batch_size=int(r["batch_size"]),
                                           analysis=analysis)))
    return {"layers": (captions["layers"], layers), "roofline": (captions["roofline"], roof)}


ZOO_METRIC = "top1"  # the zoo's accuracy charts


def _build_one(path: Path, charts: bool = True) -> tuple[SpecSummary, dict[str, str], AccuracyPoint | str | None]:
    """One spec, loaded, analyzed and checked once: its zoo row, its files and its accuracy-chart
    point (a string: why it has none; None: it failed to load)."""
    spec, analysis, s = summarize_spec(path)
    if spec is None or analysis is None:
        return s, {}, None
    point = accuracy_point(spec, y=ZOO_METRIC, totals=analysis.totals)
    captions = chart_captions(analysis)
    diagram, graph = page_diagram_and_graph_file(spec, analysis)
    files = {
        f"specs/{s.stem}.md": spec_markdown(spec, analysis, s),
        f"specs/{s.stem}.html": spec_page(spec, analysis, s, back_link="../index.html",
                                          charts=[(captions[k], f"{s.stem}.{k}.svg") for k in captions],
                                          diagram=diagram),
        f"specs/{s.stem}.graph.svg": graph,  # no matplotlib: always drawn
    }
    if charts:
        for key, (_caption, svg) in spec_charts(spec, analysis).items():
            files[f"specs/{s.stem}.{key}.svg"] = standalone(svg)
    return s, files, point if point is not None else f"no ImageNet {Y_METRICS[ZOO_METRIC]} figure in accuracy:"


def _build_collected(path: Path, charts: bool = True) -> tuple[SpecSummary, dict[str, str], AccuracyPoint | str | None]:
    """:func:`_build_one` in a pool worker: the cyclic garbage collector paused while the spec is built,
    then one collection. A spec's charts make tens of thousands of matplotlib objects, in reference
    cycles, and the collector would otherwise run again and again over them and the spec's analysis
    as they pile up; all of it is garbage once the spec's files are made."""
    from ..gcpause import collection_paused

    with collection_paused():
        result = _build_one(path, charts)
    gc.collect()
    return result


SpecBuild = tuple[SpecSummary, dict[str, "str | bytes"], "AccuracyPoint | str | None"]
"""One spec's part of the tree: its zoo row, its files, its accuracy-chart point (as :func:`_build_one`)."""

ChartLookup = Callable[[str, str], "str | bytes | None"]
"""``lookup(rel, key)``: a zoo chart drawn earlier from data whose digest is ``key``, or None."""


@dataclass
class SiteBuild:
    """The reports tree as :func:`build_tree` made it."""

    files: dict[str, str | bytes]  # relative path -> content
    specs: list[tuple[Path, SpecBuild]]  # every spec, sorted by path
    built: list[Path]  # the specs built this time (the others were reused)
    chart_keys: dict[str, str]  # zoo chart -> digest of the data it was drawn from

    @property
    def summaries(self) -> list[SpecSummary]:
        return [b[0] for _, b in self.specs]


def build_site(paths: Sequence[Path], *, jobs: int | None = None, charts: bool | Collection[str] = True,
               zoo_charts: bool = True) -> tuple[dict[str, str], list[SpecSummary]]:
    """Every file of the reports tree (relative path -> text) and the zoo rows.

    ``charts``: draw every spec's SVG charts (True), none (False) or those of the given spec
    stems; pages name the chart files either way. ``zoo_charts``: the accuracy and scaling charts.
    ``jobs`` > 1 builds specs in that many processes (the output is the same).
    """
    site = build_tree(paths, jobs=jobs, charts=charts, zoo_charts=zoo_charts)
    return site.files, site.summaries  # type: ignore[return-value]  # nothing reused: all text


def build_tree(paths: Sequence[Path], *, jobs: int | None = None, charts: bool | Collection[str] = True,
               zoo_charts: bool = True, reuse: Mapping[Path, SpecBuild] | None = None,
               chart_lookup: ChartLookup | None = None) -> SiteBuild:
    """:func:`build_site`, reusing what an earlier build made: ``reuse`` gives the part of each spec
    that need not be built again, ``chart_lookup`` the zoo charts drawn earlier (by the digest of
    their data). The result is the same as without them (see :mod:`.incremental`)."""
    paths = sorted(Path(p) for p in paths)
    stems = [p.stem for p in paths]
    dupes = sorted({s for s in stems if stems.count(s) > 1})
    if dupes:
        raise ArchcalcError(f"two specs share the file name {', '.join(dupes)}: report pages are named after it")
    reuse = reuse or {}
    todo = [p for p in paths if p not in reuse]
    draw = {p: charts is True or (charts is not False and p.stem in charts) for p in todo}
    scaling = next((p for p in paths if p.stem == SCALING_SPEC), None)
    scaling_key = _scaling_key(scaling) if scaling is not None and zoo_charts else None
    scaling_svg = None
    if scaling_key is not None and chart_lookup is not None:
        scaling_svg = chart_lookup(f"charts/scaling_{SCALING_SPEC}.svg", scaling_key)
    draw_scaling = scaling_key is not None and scaling_svg is None
    jobs = min(jobs if jobs is not None else (os.cpu_count() or 1), sum(draw.values()) + draw_scaling) or 1
    built: dict[Path, SpecBuild] = {}
    if jobs > 1 and todo:
        from concurrent.futures import ProcessPoolExecutor

        _preload_charts()  # forked workers start with matplotlib imported
        # what the workers inherit lives as long as they do: out of the collector's sight, their
        # collections are cheaper (and the pages of it shared with this process stay shared)
        gc.collect()
        gc.freeze()
        try:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                # the scaling chart loads its spec at many scales: start it first, beside the specs
                scaling_job = pool.submit(_scaling_chart_early, scaling) if draw_scaling and scaling else None
                built = dict(zip(todo, pool.map(_build_collected, todo, [draw[p] for p in todo], chunksize=1)))
                scaling_svg = scaling_job.result() if scaling_job is not None else scaling_svg
        finally:
            gc.unfreeze()
    else:
        built = {p: _build_one(p, draw[p]) for p in todo}
    results = [(p, built[p] if p in built else reuse[p]) for p in paths]
    files: dict[str, str | bytes] = {}
    points, excluded = [], []
    for _, (s, f, point) in results:
        files.update(f)
        if isinstance(point, AccuracyPoint):
            points.append(point)
        elif point is not None:
            excluded.append((s.name, point))
    summaries = [s for _, (s, _f, _p) in results]
    keys: dict[str, str] = {}
    links = _zoo_charts(paths, summaries, points, excluded, files, draw=zoo_charts, lookup=chart_lookup,
                        keys=keys, scaling_svg=scaling_svg, scaling_key=scaling_key)
    files["README.md"] = zoo_markdown(summaries, links)
    files["index.html"] = zoo_page(summaries, links)
    return SiteBuild(files=files, specs=results, built=[p for p in paths if p in built], chart_keys=keys)


def _preload_charts() -> None:
    """Import matplotlib and the chart modules before a process pool forks (each worker would
    import them again otherwise)."""
    from ..plots import accuracy, layers, roofline, scaling, style  # noqa: F401

    style.new_figure(1, 1)  # the first figure imports the backend and reads the font list


def _scaling_key(path: Path) -> str | None:
    from .digest import data_digest, spec_inputs

    inputs = spec_inputs(path)
    return data_digest({"scaling": inputs}) if inputs is not None else None


def _scaling_chart(path: Path) -> str:
    """The zoo's scaling chart of the spec at ``path``."""
    from ..plots.scaling import draw_scaling, scaling_study
    from ..plots.style import svg_text

    return standalone(svg_text(draw_scaling(scaling_study(path))))


def _scaling_chart_early(path: Path) -> str | None:
    """:func:`_scaling_chart` started before the spec is known to load: None when it fails (the
    spec's own build reports why, or the chart is drawn again and fails as it would have)."""
    try:
        return _scaling_chart(path)
    except ArchcalcError:
        return None


def _zoo_charts(paths: Sequence[Path], summaries: Sequence[SpecSummary], points: Sequence[AccuracyPoint],
                excluded: Sequence[tuple[str, str]], files: dict[str, str | bytes], *, draw: bool,
                lookup: ChartLookup | None = None, keys: dict[str, str] | None = None,
                scaling_svg: str | bytes | None = None, scaling_key: str | None = None) -> list[tuple[str, str]]:
    """Draw the zoo charts into ``files`` (when ``draw``); return their (caption, path) links.
    The accuracy charts are made of the points the specs' builds returned (no spec is loaded
    again); the scaling study loads its spec at every scale it draws (or ``scaling_svg`` is that
    chart, drawn already). A chart ``lookup`` finds by the digest of its data is not drawn again;
    ``keys`` receives each chart's digest."""
    from ..plots.accuracy import draw_accuracy
    from ..plots.style import svg_text
    from .digest import data_digest

    keys = keys if keys is not None else {}
    links = []
    for x, caption in (("macs", "ImageNet top-1 accuracy vs multiply-adds"),
                       ("params", "ImageNet top-1 accuracy vs parameters")):
        chart = chart_of_points(points, x=x, y=ZOO_METRIC, excluded=excluded)
        if not chart.points:
            continue
        rel = f"charts/accuracy_{x}.svg"
        if draw:
            # a point's path is where its spec was read, which the chart does not show
            key = data_digest({"accuracy": [{**asdict(p), "path": Path(p.path).name} for p in points], "x": x,
                               "excluded": sorted(excluded)})
            found = lookup(rel, key) if lookup is not None else None
            files[rel] = found if found is not None else standalone(svg_text(draw_accuracy(chart)))
            keys[rel] = key
        links.append((caption, rel))
    scaling = next((p for p, s in zip(paths, summaries) if p.stem == SCALING_SPEC and s.error is None), None)
    if scaling is not None:
        name = next(s.name for p, s in zip(paths, summaries) if p == scaling)
        rel = f"charts/scaling_{scaling.stem}.svg"
        if draw:
            files[rel] = scaling_svg if scaling_svg is not None else _scaling_chart(scaling)
            if scaling_key is not None:
                keys[rel] = scaling_key
        links.append((f"{name}: cost under width, depth and resolution scaling", rel))
    return links


def stale_files(out_dir: Path, files: Collection[str]) -> list[Path]:
    """Files the manifest of ``out_dir`` lists (archcalc wrote them) that ``files`` no longer has
    and that are still there: the files a regeneration producing ``files`` removes."""
    from ..fileio import read_manifest

    return [out_dir / rel for rel in sorted(read_manifest(out_dir)) if rel not in files
            and os.path.lexists(out_dir / rel)]
