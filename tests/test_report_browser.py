"""The report in a real browser: Debian's headless Chromium through Playwright (never a
browser download). Skipped when Chromium is missing, except in CI (CI=true), where that fails."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Run
from tests.test_report import any_spread  # noqa: F401 (a fixture)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
# Elements sticking out on the right, outside the horizontal scrollers (tables, wide charts).
WIDE_ELEMENTS = """(() => {
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    if (el.getBoundingClientRect().right > window.innerWidth + 1 && !el.closest(".scroll")) {
      out.push(el.tagName + " " + (el.textContent || "").slice(0, 40));
    }
  }
  return out.slice(0, 10);
})()"""
INJECTION = "<img src=x onerror=\"document.title='owned'\">"


def _chromium() -> str:
    path = os.environ.get("PREDTRACK_TEST_CHROMIUM") or "/usr/bin/chromium"
    problem = None
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        problem = (
            f"no Chromium at {path} (apt-get install chromium, or set PREDTRACK_TEST_CHROMIUM)"
        )
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is not installed (pip install -e '.[test]')"
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {problem}: the browser tests must run in CI")
        pytest.skip(problem)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


class Visit:
    """One page load in a fresh context, with every request and console error recorded."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.url = path.resolve().as_uri()
        self.context = browser.new_context(viewport={"width": 1200, "height": 900})
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on(
            "console",
            lambda message: self.errors.append(message.text) if message.type == "error" else None,
        )
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(self.url, wait_until="load")
        self.page.wait_for_timeout(300)  # anything late (a favicon, a font) would show up now

    def close(self) -> None:
        self.context.close()


def example_report(run: Run, tmp_path: Path, *args: str) -> Path:
    db = tmp_path / "example.db"
    shutil.copyfile(ROOT / "predictions.db.example", db)
    run("db", "upgrade", "--db", str(db))  # a no-op once the shipped file is current
    out = tmp_path / "example.html"
    run("report", "--db", str(db), "-o", str(out), *args)
    return out


@pytest.mark.usefixtures("any_spread")
def test_example_report_in_chromium(browser: Any, run: Run, tmp_path: Path) -> None:
    visit = Visit(browser, example_report(run, tmp_path))
    try:
        page = visit.page
        assert visit.errors == []
        assert visit.requests == [visit.url]  # the file itself, nothing else
        assert page.title() == "Predictions: cheese-maze"
        charts = page.locator("svg.chart")
        assert charts.count() == 13
        for i in range(charts.count()):
            chart = charts.nth(i)
            chart.scroll_into_view_if_needed()
            assert chart.is_visible()
            box = chart.bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 100, i
        minis = page.locator("svg.mini[role=img]")
        assert minis.count() > 100
        box = minis.first.bounding_box()
        assert box is not None and box["width"] > 0 and box["height"] > 0
        # The embedded document parses in the browser too.
        groups = page.evaluate(
            "JSON.parse(document.getElementById('predtrack-scores').textContent).groups.length"
        )
        assert groups == 6
        # Sorting a column (optional script) works without errors.
        page.locator("#board-forecaster th", has_text="Brier").first.click()
        first = page.locator("#board-forecaster tbody tr").first.get_attribute("data-group")
        assert first == "bob"  # the lowest Brier score
        assert visit.errors == []
        shot = tmp_path / "report-full.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 50_000
        # Phone width: nothing wider than the screen except inside horizontal scrollers.
        page.set_viewport_size({"width": 390, "height": 800})
        page.wait_for_timeout(100)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, page.evaluate(WIDE_ELEMENTS)
        page.screenshot(path=str(tmp_path / "report-phone.png"), full_page=False)
    finally:
        visit.close()


def test_injection_is_shown_as_text(browser: Any, run: Run, tmp_path: Path) -> None:
    run("init")
    run(
        "predict",
        INJECTION,
        "0.7",
        "-e",
        "exp",
        "--key",
        "inj",
        "--tag",
        "<script>document.title='tag'</script>",
    )
    run("predict", "--question", "inj", "0.4", "--by", "<b>bob</b>")
    run("resolve", "inj", "--yes")
    out = tmp_path / "inj.html"
    run("report", "-o", str(out), "--title", "Injection check")
    visit = Visit(browser, out)
    try:
        page = visit.page
        assert visit.errors == []
        assert visit.requests == [visit.url]
        assert page.title() == "Injection check"
        assert page.locator("img").count() == 0
        assert page.locator('img[src="x"]').count() == 0
        title = page.get_by_text(INJECTION, exact=True).first
        assert title.is_visible()
        assert page.get_by_text("<b>bob</b>").first.is_visible()
        assert page.locator("b", has_text="bob").filter(has_text="<b>").count() == 0
        page.wait_for_timeout(200)
        assert page.title() == "Injection check"
    finally:
        visit.close()


def test_experiment_figure_and_saved_figures_in_chromium(
    browser: Any, example_store: str, tmp_path: Path
) -> None:
    """The experiment figure is drawn and its marks name their forecaster; "save SVG" gives
    the file `--figures` writes; every written figure opens on its own, with no request."""
    import xml.etree.ElementTree as ET

    from predtrack.report import ReportOptions, write_report
    from predtrack.store.schema import open_store
    from tests.test_report_sections import example_sweep_points

    out, folder = tmp_path / "sweep.html", tmp_path / "figures"
    write_report(
        open_store(example_store),
        out,
        ReportOptions(figures=folder),
        sweep_points=example_sweep_points,
    )
    visit = Visit(browser, out)
    try:
        page = visit.page
        assert visit.errors == [] and visit.requests == [visit.url]
        figure = page.locator("#experiment svg.chart")
        assert figure.count() == 1
        figure.scroll_into_view_if_needed()
        assert figure.is_visible()
        box = figure.bounding_box()
        assert box is not None and box["width"] > 500 and box["height"] > 200
        assert page.locator("#experiment svg.chart .obs").count() == 11
        for name in ("alice", "bob", "carol", "dan"):
            marks = page.locator(f'#experiment g.fc[data-forecaster="{name}"]')
            assert marks.count() >= 2 + 6  # two crossings, six fractions
            crossing = page.locator(
                f'#experiment g.fc[data-forecaster="{name}"][data-kind="crossing"]'
            ).first
            mark_box = crossing.bounding_box()
            assert mark_box is not None and mark_box["width"] > 2
            assert (
                box["x"] <= mark_box["x"]
                and mark_box["x"] + mark_box["width"] <= box["x"] + box["width"]
            )
            tooltip = crossing.locator("title").text_content() or ""
            assert tooltip.startswith(f"{name} — cheese-maze/flip")
            crossing.hover()
        # "save SVG" makes, in the page, the file that --figures wrote.
        link = page.locator("#experiment a.save-svg")
        with page.expect_download() as info:
            link.click()
        download = info.value
        saved = Path(download.path()).read_text(encoding="utf-8")
        assert download.suggested_filename == "experiment-cheese-maze-maze-size-cheese-rate.svg"
        written = (folder / download.suggested_filename).read_text(encoding="utf-8")

        def shape(text: str) -> list[tuple[str, str]]:
            root = ET.fromstring(text.encode("utf-8"))
            return [(e.tag, (e.text or "").strip()) for e in root.iter() if e.tag[-5:] != "style"]

        assert shape(saved) == shape(written)
        assert visit.errors == [] and visit.requests[0] == visit.url
        assert all(r.startswith(("file:", "blob:")) for r in visit.requests)
    finally:
        visit.close()
    files = sorted(folder.glob("*.svg"))
    assert len(files) == 12
    for path in files:
        alone = Visit(browser, path)
        try:
            assert alone.errors == [] and alone.requests == [alone.url]
            root = alone.page.locator("svg").first
            size = root.bounding_box()
            assert size is not None and size["width"] > 300 and size["height"] > 200, path.name
            chart = alone.page.locator("svg.chart")
            assert chart.count() == 1 and chart.is_visible()
            # The stylesheet came along: marks are coloured, not the default black.
            fill = alone.page.evaluate("getComputedStyle(document.querySelector('.paper')).fill")
            assert fill == "rgb(255, 255, 255)"
        finally:
            alone.close()


@pytest.fixture
def example_store(store_db: str, run: Run, tmp_path: Path) -> str:
    from tests.test_report import load_example

    load_example(run, tmp_path)
    return store_db
