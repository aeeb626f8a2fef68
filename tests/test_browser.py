"""The HTML report's behaviour in a real browser: headless Chromium driven by selenium.

The page sorts its tables, folds and unfolds the network diagram's blocks, and links boxes and
table rows; none of that shows in the HTML as a string. These tests load pages written by
``archcalc report SPEC --format html`` and check: no console errors, a header click sorts by the
exact numbers, unfolding a block shows its children (and the script lays them out exactly as
:mod:`archcalc.diagram.layout` does), clicking or hovering a box highlights its rows and the
other way round, and at 1400 px the drawn diagram has no text over other text.

Needs Chromium and its driver (Debian: ``apt-get install chromium chromium-driver``; ``.ci/run``
installs them) and selenium (the ``test`` extra); the tests skip, saying so, without them.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from archcalc.cli import main
from archcalc.diagram import network_diagram, render_svg
from conftest import SPECS, zoo_analysis, zoo_spec

WIDTH = 1400
PAGES = ("resnet50", "resnet152", "googlenet_aux", "unet", "inception_v3_aux", "densenet264", "se_resnet50",
         "mobilenet_v3_large")


def _chromium() -> tuple[str | None, str | None]:
    """The browser and its driver, where Debian (or another distribution) puts them."""
    browser = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
    driver = shutil.which("chromedriver") or next(
        (p for p in ("/usr/lib/chromium/chromedriver", "/usr/bin/chromedriver") if os.path.exists(p)), None)
    return browser, driver


@pytest.fixture(scope="module")
def browser():
    pytest.importorskip("selenium", reason="selenium is not installed: pip install -e '.[test]'")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver = _chromium()
    if binary is None or driver is None:
        pytest.skip("no Chromium with chromedriver on this machine: apt-get install chromium chromium-driver "
                    "(Debian; .ci/run installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary  # with both paths given, selenium looks nothing up online
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={WIDTH},1000", "--force-device-scale-factor=1"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    session = webdriver.Chrome(service=Service(driver), options=options)
    yield session
    session.quit()


class Pages:
    """Each page as `archcalc report SPEC --format html -o PAGE` writes it, written when first asked for."""

    def __init__(self, folder: Path):
        self.folder, self.written = folder, set()

    def __getitem__(self, stem: str) -> Path:
        page = self.folder / f"{stem}.html"
        if stem not in self.written:
            assert main(["report", str(SPECS / f"{stem}.yaml"), "--format", "html", "-o", str(page)]) == 0
            self.written.add(stem)
        return page


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> Pages:
    return Pages(tmp_path_factory.mktemp("pages"))


def open_page(browser, path: Path) -> None:
    browser.get(path.as_uri())
    browser.get_log("browser")  # start each page with an empty log


def normalized(svg: str) -> str:
    return re.sub(r">\s+<", "><", svg.strip())


def python_svg(browser, stem: str, unfolded: set[str]) -> str:
    """Python's drawing of the page's diagram with ``unfolded`` blocks open, as the browser parses it."""
    path = SPECS / f"{stem}.yaml"
    spec, analysis = zoo_spec(path), zoo_analysis(path)  # loaded and analyzed once per process
    d0 = network_diagram(spec, analysis=analysis, title=None)
    svg = render_svg(network_diagram(spec, analysis=analysis, title=None, unfolded=d0.unfolded | unfolded),
                     interactive=True)
    return browser.execute_script(
        "var t = document.createElement('div'); t.innerHTML = arguments[0]; return t.firstElementChild.outerHTML;", svg)


def drawn_svg(browser) -> str:
    """The diagram as drawn now, without the hover and selection marks."""
    return browser.execute_script("""
      var svg = document.querySelector('svg.adg').cloneNode(true);
      svg.querySelectorAll('.hl, .sel').forEach(function (e) { e.classList.remove('hl', 'sel'); });
      return svg.outerHTML;""")


def box(browser, row: str):
    from selenium.webdriver.common.by import By

    return browser.find_element(By.CSS_SELECTOR, f'svg.adg g.nd[data-row="{row}"]')


def classes(element) -> set[str]:
    return set((element.get_attribute("class") or "").split())


# --------------------------------------------------------------------------- loading


@pytest.mark.parametrize("stem", PAGES)
def test_page_loads_without_console_errors(browser, pages, stem):
    from selenium.webdriver.common.by import By

    open_page(browser, pages[stem])
    svg = browser.find_element(By.CSS_SELECTOR, "svg.adg")
    assert svg.is_displayed() and browser.execute_script("return !!window.archcalcDiagram")
    browser.execute_script("window.archcalcDiagram.redraw();")  # the script's layout of the page as loaded ...
    assert normalized(drawn_svg(browser)) == normalized(python_svg(browser, stem, set()))  # ... is Python's
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


# --------------------------------------------------------------------------- sorting


def test_header_click_sorts_numerically(browser, pages):
    from selenium.webdriver.common.by import By

    open_page(browser, pages["resnet50"])
    table = browser.find_element(By.CSS_SELECTOR, "table.archcalc.sortable:has(tr[data-row])")
    headers = table.find_elements(By.CSS_SELECTOR, "thead th")
    col = [h.text for h in headers].index("Params")

    def column() -> tuple[list[float], list[str]]:
        cells = [row.find_elements(By.TAG_NAME, "td")[col] for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
        return [float(c.get_attribute("data-sort")) for c in cells], [c.text for c in cells]

    before, shown = column()
    assert sorted(shown) != [s for _, s in sorted(zip(before, shown))]  # text order is not number order here
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", headers[col])
    headers[col].click()
    ascending, shown = column()
    assert ascending == sorted(before) and headers[col].get_attribute("aria-sort") == "ascending"
    assert shown[0] == "0" and shown[-1].endswith("M")  # 0 parameters first, millions last: not "9.41 K" > "2.05 M"
    headers[col].click()
    descending, _ = column()
    assert descending == sorted(before, reverse=True) and headers[col].get_attribute("aria-sort") == "descending"


# --------------------------------------------------------------------------- folding


def test_unfolding_a_block_shows_its_children(browser, pages):
    from selenium.webdriver.common.by import By

    open_page(browser, pages["resnet152"])  # folded to its stages
    stage = box(browser, "conv4_x")
    assert "open" not in classes(stage)
    assert not browser.find_elements(By.CSS_SELECTOR, 'svg.adg g.nd[data-row="conv4_x.block1"]')  # not built yet
    stage.find_element(By.CSS_SELECTOR, ":scope > g.fold g.tgl").click()
    assert "open" in classes(stage)
    blocks = [box(browser, f"conv4_x.block{i}") for i in range(1, 37)]
    assert all(b.is_displayed() for b in blocks)  # 36 bottleneck blocks, each a folded box now
    tops = [b.rect["y"] for b in blocks]
    assert tops == sorted(tops) and len(set(tops)) == len(tops)  # one below the other
    assert box(browser, "avgpool").rect["y"] > tops[-1]  # what follows moved down
    key = stage.get_attribute("id")[len("adg-"):]
    assert normalized(drawn_svg(browser)) == normalized(python_svg(browser, "resnet152", {key}))
    # unfold a block inside by keyboard, then fold the stage again: its children are hidden
    toggle = blocks[0].find_element(By.CSS_SELECTOR, ":scope > g.fold g.tgl")
    browser.execute_script("arguments[0].focus();", toggle)
    from selenium.webdriver.common.keys import Keys

    toggle.send_keys(Keys.ENTER)
    assert "open" in classes(blocks[0]) and box(browser, "conv4_x.block1.add").is_displayed()
    stage.find_element(By.CSS_SELECTOR, ":scope > g.open > g.tgl").click()
    assert "open" not in classes(stage) and not blocks[5].is_displayed()
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


@pytest.mark.parametrize("stem", ["googlenet_aux", "unet", "inception_v3_aux", "se_resnet50", "mobilenet_v3_large",
                                  "densenet264"])
def test_script_lays_out_unfolded_blocks_as_python_does(browser, pages, stem):
    """Unfolding builds the block's inside from the page's data and lays it out again: the result is
    the markup Python draws for the same blocks open, element for element and coordinate for coordinate."""
    from archcalc.diagram.layout import node_key
    from archcalc.diagram.structure import blocks

    path = SPECS / f"{stem}.yaml"
    d0 = network_diagram(zoo_spec(path), analysis=zoo_analysis(path), title=None)
    closed = [node_key(b) for b in blocks(d0.tree) if node_key(b) not in d0.unfolded][:24]
    open_page(browser, pages[stem])
    for key in closed:
        browser.execute_script("window.archcalcDiagram.setOpen(arguments[0], true);", key)
    assert normalized(drawn_svg(browser)) == normalized(python_svg(browser, stem, set(closed)))


# --------------------------------------------------------------------------- highlighting


def test_clicking_a_box_highlights_its_row_and_back(browser, pages):
    from selenium.webdriver import ActionChains
    from selenium.webdriver.common.by import By

    open_page(browser, pages["resnet50"])
    pool = box(browser, "pool1")
    pool.click()
    rows = browser.find_elements(By.CSS_SELECTOR, 'tr[data-row="pool1"]')
    assert len(rows) == 2 and all("sel" in classes(r) for r in rows)  # the table and the every-layer table
    assert "sel" in classes(pool)
    # a row of a block the diagram shows folded highlights the block's box
    row = browser.find_element(By.CSS_SELECTOR, 'table.archcalc tr[data-row="conv3_x.block2"]')
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", row)
    row.click()
    block = box(browser, "conv3_x.block2")
    assert "sel" in classes(block.find_element(By.CSS_SELECTOR, ":scope > g.fold")) and "sel" in classes(row)
    assert not any("sel" in classes(r) for r in rows)  # one selection at a time
    # a layer inside that folded block: its row in the every-layer table finds the block's box too
    inner = browser.find_element(By.CSS_SELECTOR, 'tr[data-row="conv3_x.block2.conv2.conv1"]')
    browser.execute_script("arguments[0].closest('details').open = true; "
                           "arguments[0].scrollIntoView({block: 'center'});", inner)
    ActionChains(browser).move_to_element(inner).perform()
    assert "hl" in classes(block.find_element(By.CSS_SELECTOR, ":scope > g.fold"))
    # unfolded, the same layer's box is drawn; hovering it marks the block's row and its own
    browser.execute_script("window.archcalcDiagram.setOpen(arguments[0], true);", block.get_attribute("id")[4:])
    browser.execute_script("window.archcalcDiagram.setOpen(arguments[0], true);",
                           box(browser, "conv3_x.block2.conv2").get_attribute("id")[4:])
    leaf = box(browser, "conv3_x.block2.conv2.conv1")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", leaf)
    ActionChains(browser).move_to_element(leaf).perform()
    marked = {r.get_attribute("data-row") for r in browser.find_elements(By.CSS_SELECTOR, "tr.hl")}
    assert marked == {"conv3_x.block2", "conv3_x.block2.conv2.conv1"}
    assert "hl" in classes(leaf)


# --------------------------------------------------------------------------- what is drawn


def text_problems(browser) -> list[str]:
    """Visible text of the drawn diagram, measured by the browser: over other text, or outside its box."""
    found = browser.execute_script("""
      var out = [], items = [];
      document.querySelectorAll('svg.adg text').forEach(function (t) {
        var r = t.getBoundingClientRect();
        if (!r.width) return;  // hidden
        var owner = t.parentNode.querySelector(':scope > rect.bx, :scope > circle.bx, :scope > rect.frame');
        items.push([t.textContent, r, owner ? owner.getBoundingClientRect() : null]);
      });
      for (var i = 0; i < items.length; i++) {
        var a = items[i][1], o = items[i][2];
        if (o && (a.left < o.left - 0.5 || a.right > o.right + 0.5 || a.top < o.top - 0.5 || a.bottom > o.bottom + 0.5))
          out.push('outside its box: ' + items[i][0]);
        for (var j = i + 1; j < items.length; j++) {
          var b = items[j][1];
          if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5)
            out.push('overlap: ' + items[i][0] + ' / ' + items[j][0]);
        }
      }
      return [out, items.length];
    """)
    problems, count = found
    assert count > 10
    return problems


@pytest.mark.parametrize("stem", ["googlenet_aux", "unet", "inception_v3_aux", "resnet50"])
def test_screenshot_at_1400px_shows_the_diagram_without_overlaps(browser, pages, stem, tmp_path):
    from PIL import Image
    from selenium.webdriver.common.by import By

    open_page(browser, pages[stem])
    assert browser.execute_script("return window.innerWidth") <= WIDTH
    wrap = browser.find_element(By.CSS_SELECTOR, ".diagram-wrap")
    browser.execute_script("arguments[0].style.maxHeight = 'none'; arguments[0].scrollIntoView();", wrap)
    svg = browser.find_element(By.CSS_SELECTOR, "svg.adg")
    assert svg.rect["width"] <= WIDTH and svg.rect["x"] >= 0  # the whole width on screen, unscaled
    assert float(svg.get_attribute("width")) == pytest.approx(svg.rect["width"], abs=1)
    assert text_problems(browser) == []
    shot = tmp_path / f"{stem}.png"
    svg.screenshot(str(shot))
    with Image.open(shot) as drawn:
        image = drawn.convert("L")
    assert image.size[0] == pytest.approx(svg.rect["width"], abs=2)
    low, high = image.getextrema()
    assert low < 60 and high > 240  # dark text on light boxes: drawn, not blank
    # unfold every block the page folds: still nothing over anything
    browser.execute_script("""
      var api = window.archcalcDiagram;
      for (var pass = 0; pass < 3; pass++)
        document.querySelectorAll('svg.adg g.blk:not(.open)').forEach(function (g) {
          api.setOpen(g.id.slice(4), true);
        });
    """)
    assert text_problems(browser) == []
