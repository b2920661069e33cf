"""The report's parts: the section tuple, the experiment figure, exported figures, unit-free
CRPS, surprises by the score that applies, the over-time fallback, labels that wrap."""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.conftest import Run
from tests.test_report import load_example, report

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "examples" / "cheese_maze" / "results"
SVG = "{http://www.w3.org/2000/svg}"
Z90 = 1.6448536269514722  # standard normal 95% quantile: a central 90% interval


# --- a reader of the example's sweep, written for these tests ---


@dataclass
class Point:
    x: float
    y: float
    lo: float
    hi: float
    n: int


@dataclass
class Sweep:
    x: str
    y: str
    points: list[Point]


def wilson(k: int, n: int) -> tuple[float, float]:
    p = k / n
    centre = (p + Z90**2 / (2 * n)) / (1 + Z90**2 / n)
    half = Z90 * math.sqrt(p * (1 - p) / n + Z90**2 / (4 * n * n)) / (1 + Z90**2 / n)
    return centre - half, centre + half


def example_sweep_points(rule: Any, base_dir: str | None) -> Sweep | None:
    """The observed cheese rate per maze size of the example's sweep.csv, with a 90% Wilson
    interval from its successes and episodes (the shipped runs folder stands in for the
    study's results folder, which only existed where the example was built)."""
    sel = rule.selector
    x = getattr(sel, "x", None) or sel.filters[0].column
    y = getattr(sel, "y", None) or sel.name
    path = RUNS / Path(rule.file).name
    if path.suffix != ".csv" or not path.exists():
        return None
    points = []
    with path.open(encoding="utf-8") as stream:
        for row in csv.DictReader(stream):
            k, n = int(row["successes"]), int(row["episodes"])
            points.append(Point(float(row[x]), float(row[y]), *wilson(k, n), n))
    return Sweep(x, y, points)


# --- the page is its section tuple ---


def test_every_section_is_a_module_a_partial_and_a_line() -> None:
    from predtrack.report import page
    from predtrack.report.sections import SECTIONS, Section

    folder = ROOT / "predtrack" / "report" / "sections"
    names = [s.name for s in SECTIONS]
    assert len(names) == len(set(names))
    modules = set()
    for section in SECTIONS:
        assert isinstance(section, Section)
        module = type(section).__module__
        assert module.startswith("predtrack.report.sections.")
        modules.add(module)
        assert (page.templates_dir() / section.template).is_file(), section.template
        assert section.template.startswith("sections/")
    assert len(modules) == len(SECTIONS)  # one module each
    assert {f"predtrack.report.sections.{p.stem}" for p in folder.glob("*.py")} - modules == {
        "predtrack.report.sections.__init__",
        "predtrack.report.sections.base",
    }
    # The page template knows no section: it only walks the tuple.
    text = (page.templates_dir() / "report.html.j2").read_text(encoding="utf-8")
    for name in names:
        assert f'id="{name}"' not in text


def test_a_new_section_is_one_class_one_partial_one_line(
    store_db: str, run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from predtrack.report import sections
    from predtrack.report.sections import Section
    from predtrack.report.view import View

    partials = tmp_path / "partials"
    (partials / "sections").mkdir(parents=True)
    (partials / "sections" / "count.j2").write_text(
        '<section class="major" id="{{ section.name }}"><h2>{{ section.title }}</h2>'
        "<p>{{ ctx.n }} scored forecasts</p></section>\n",
        encoding="utf-8",
    )

    class Count(
        Section, name="forecast-count", title="Forecast count", template="sections/count.j2"
    ):
        templates: ClassVar[str | None] = str(partials)

        def build(self, view: View) -> dict[str, Any]:
            return {"n": len(view.board.entries)}

    monkeypatch.setattr(sections, "SECTIONS", (*sections.SECTIONS, Count()))
    run("predict", "Q", "0.6", "--key", "q")
    run("resolve", "q", "--yes")
    html, _page = report(run, tmp_path)
    assert '<section class="major" id="forecast-count"><h2>Forecast count</h2>' in html
    assert "<p>1 scored forecasts</p>" in html
    nav = html[html.index('<nav class="toc"') : html.index("</nav>")]
    links = re.findall(r'href="(#[^"]+)"', nav)
    assert links[0] == "#leaderboard" and links[-1] == "#forecast-count"
    # A section whose build gives None is in neither the page nor the contents.
    assert "#experiment" not in links and 'id="experiment"' not in html


def test_only_data_reads_the_store() -> None:
    folder = ROOT / "predtrack" / "report"
    for path in folder.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if path.name != "data.py":
            for needle in ("sqlalchemy", "sqlmodel", ".read()", "session"):
                assert needle not in text, (path.name, needle)
        assert len(text.splitlines()) <= 600, path.name


# --- the experiment figure ---


def _board() -> Any:
    from predtrack.score import Board

    return Board([], {}, False, None, {"registered": 0, "resolved": 0})


def _view(board: Any = None) -> Any:
    from predtrack.report import ReportOptions
    from predtrack.report.data import QuestionSet
    from predtrack.report.view import View

    board = board or _board()
    questions = QuestionSet([], [], [], 0, [], 0, [])
    return View(board, {"groups": []}, questions, ReportOptions())


def _svg(markup: Any) -> ET.Element:
    return ET.fromstring(str(markup))


def test_experiment_figure_from_hand_made_sweep() -> None:
    from predtrack.report.sections.experiment import draw_sweep
    from predtrack.report.sweeps import Mark, Observed, SweepFigure

    xs = [5.0, 10.0, 15.0, 20.0, 25.0]
    sweep = SweepFigure(
        experiment="maze",
        x_label="maze_size",
        y_label="cheese_rate",
        level=0.5,
        observed=[
            Observed(x, y, y - 0.1, y + 0.05, 50)
            for x, y in zip(xs, (0.9, 0.8, 0.4, 0.1, 0.05), strict=True)
        ],
        forecasts={
            "alice": [
                Mark(
                    "alice",
                    "maze/flip",
                    "crossing",
                    14.0,
                    14.0,
                    (13.0, 15.0),
                    (11.0, 17.0),
                    level=0.5,
                ),
                Mark("alice", "maze/frac10", "fraction", 10.0, 0.7, (0.6, 0.8), (0.5, 0.9)),
            ],
            "<b>bob</b>": [
                Mark(
                    "<b>bob</b>",
                    "maze/flip",
                    "crossing",
                    18.0,
                    18.0,
                    (16.0, 20.0),
                    (12.0, 24.0),
                    level=0.5,
                ),
                Mark(
                    "<b>bob</b>", "maze/above20", "binary", 20.0, p=0.3, event="cheese_rate > 0.5"
                ),
            ],
        },
        crossings=[("maze/flip", 13.75)],
    )
    figure = draw_sweep(_view(), sweep)
    svg = _svg(figure.svg)
    observed = [e for e in svg.iter() if e.get("class") == "obs"]
    assert sorted(float(e.get("data-x", "nan")) for e in observed) == xs  # one point per x
    px = {float(e.get("data-x", "nan")): float(e.get("cx", "nan")) for e in observed}
    marks = {
        (g.get("data-forecaster"), g.get("data-kind")): g
        for g in svg.iter()
        if g.get("data-forecaster")
    }
    assert set(marks) == {
        ("alice", "crossing"),
        ("alice", "fraction"),
        ("<b>bob</b>", "crossing"),
        ("<b>bob</b>", "binary"),
    }

    def at(x: float) -> float:  # the pixel of x, from the observed points' pixels
        return px[5.0] + (x - 5.0) * (px[25.0] - px[5.0]) / 20.0

    for name, lo, median, hi in (("alice", 11.0, 14.0, 17.0), ("<b>bob</b>", 12.0, 18.0, 24.0)):
        g = marks[(name, "crossing")]
        assert float(g.get("data-x", "nan")) == median
        line = next(e for e in g if e.get("class") == "i90")
        assert abs(float(line.get("x1", "nan")) - at(lo)) <= 0.1
        assert abs(float(line.get("x2", "nan")) - at(hi)) <= 0.1
        assert line.get("y1") == line.get("y2")  # lying: an interval on the x axis
        tick = next(e for e in g if e.get("class") == "med")
        assert abs(float(tick.get("x1", "nan")) - at(median)) <= 0.1
        assert name in (g.findtext(f"{SVG}title") or g.findtext("title") or "")
    fraction = marks[("alice", "fraction")]
    upright = next(e for e in fraction if e.get("class") == "i90")
    assert (
        upright.get("x1") == upright.get("x2")
        and abs(float(upright.get("x1", "nan")) - at(10.0)) <= 8
    )
    assert "P(cheese_rate &gt; 0.5) = 30%" in str(figure.svg)
    assert "&lt;b&gt;bob&lt;/b&gt;" in str(figure.svg) and "<b>bob" not in str(figure.svg)
    assert figure.name == "experiment-maze-maze-size-cheese-rate"
    labels = [k.label for k in figure.legend]
    assert labels[-3:] == [
        "<b>bob</b>",
        "alice",
        "binary question: its probability (shape per forecaster)",
    ]


def test_experiment_sweeps_from_the_example(example_store: str, run: Run) -> None:
    from predtrack import score
    from predtrack.report import data
    from predtrack.report.sweeps import sweep_figures
    from predtrack.store.schema import open_store

    store = open_store(example_store)
    board = score.collect(store)
    questions = data.load_questions(store, None, None)
    assert sweep_figures(board, questions.resolved, None) == []
    figures = sweep_figures(board, questions.resolved, example_sweep_points)
    assert len(figures) == 1
    sweep = figures[0]
    assert (sweep.experiment, sweep.x_label, sweep.y_label, sweep.level) == (
        "cheese-maze",
        "maze_size",
        "cheese_rate",
        0.5,
    )
    sizes = [5.0, 7.0, 9.0, 11.0, 13.0, 15.0, 17.0, 19.0, 21.0, 23.0, 25.0]
    assert [p.x for p in sweep.observed] == sizes  # one observed point per maze size
    assert [p.y for p in sweep.observed][:3] == [0.96, 0.98, 0.84] and sweep.observed[0].n == 50
    assert sorted(sweep.forecasts) == ["alice", "bob", "carol", "dan"]
    crossing = {(m.forecaster, m.question): m for m in sweep.marks() if m.kind == "crossing"}
    assert set(crossing) == {
        (f, q)
        for f in ("alice", "bob", "carol", "dan")
        for q in ("cheese-maze/flip", "cheese-maze/flip_fit")
    }
    # Medians of the stored forecasts: quantiles(0.05:11, 0.5:12, 0.95:13.5), normal(14, 4),
    # normal(12, 0.6); a range "12 to 17" is a central 90% interval.
    assert crossing[("bob", "cheese-maze/flip")].x == pytest.approx(12.0)
    assert crossing[("carol", "cheese-maze/flip")].x == pytest.approx(14.0)
    assert crossing[("bob", "cheese-maze/flip_fit")].x == pytest.approx(12.0)
    alice = crossing[("alice", "cheese-maze/flip")]
    assert alice.i90 == pytest.approx((12.0, 17.0), abs=1e-6) and 12 < alice.x < 17
    assert all(m.level == 0.5 for m in crossing.values())
    fractions = {(m.forecaster, m.x) for m in sweep.marks() if m.kind == "fraction"}
    assert fractions == {
        (f, x) for f in ("alice", "bob", "carol", "dan") for x in (5, 9, 13, 17, 21, 25)
    }
    binaries = [m for m in sweep.marks() if m.kind == "binary"]
    assert sorted({m.x for m in binaries}) == sizes and len(binaries) == 4 * 11
    assert all(m.event == "cheese_rate > 0.5" for m in binaries)
    assert [q for q, _ in sweep.crossings] == ["cheese-maze/flip", "cheese-maze/flip_fit"]
    # Questions outside the sweep (the probe, retargeting, steps) are not on it.
    assert not {m.question for m in sweep.marks()} & {
        "cheese-maze/retarget15",
        "cheese-maze/steps15",
    }


@pytest.fixture
def example_store(store_db: str, run: Run, tmp_path: Path) -> str:
    load_example(run, tmp_path)
    return store_db


# --- figures as files ---


def test_figures_are_standalone_svg_files(example_store: str, run: Run, tmp_path: Path) -> None:
    folder = tmp_path / "figures"
    _html, page = report(run, tmp_path, "--figures", str(folder))
    charts = [a for t, a in page.elements if t == "svg" and "chart" in a.get("class", "").split()]
    svgs = sorted(folder.glob("*.svg"))
    assert len(svgs) == len(charts) == 11  # no running score: the example resolved in one batch
    names = {p.stem for p in svgs}
    assert {
        "calibration-binary-alice",
        "calibration-continuous-pit-team",
        "calibration-continuous-coverage",
    } <= names
    for path in svgs:
        text = path.read_text(encoding="utf-8")
        root = ET.fromstring(text.encode("utf-8"))  # well-formed XML
        assert root.tag == f"{SVG}svg" and root.get("width") and root.get("viewBox")
        assert root.find(f"{SVG}style") is not None  # colours and fonts travel with it
        assert "var(--" not in text and "#0072B2" in text
        for external in ('href="http', "url(http", "@import", "xlink:href", "<image"):
            assert external not in text, (path.name, external)
        labels = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "key"]
        assert labels, path.name  # the legend is in the file
        chart = next(e for e in root.iter(f"{SVG}svg") if "chart" in (e.get("class") or ""))
        assert chart.findtext(f"{SVG}title") == root.findtext(f"{SVG}text")  # the title shown
    # Each chart in the page has its "save SVG" link, named like its file.
    links = [a for a in page.all("a") if a.get("class") == "save-svg"]
    assert sorted(a["download"] for a in links) == sorted(p.name for p in svgs)
    assert all(a["href"] == "#" for a in links)
    pdfs = sorted(folder.glob("*.pdf"))
    if shutil.which("rsvg-convert"):
        assert [p.stem for p in pdfs] == [p.stem for p in svgs]
        assert all(p.read_bytes().startswith(b"%PDF-") for p in pdfs)
    else:
        assert pdfs == []
    # A folder that is a file is refused before anything is written.
    (tmp_path / "taken").write_text("x", encoding="utf-8")
    out = run(
        "report", "-o", str(tmp_path / "b.html"), "--figures", str(tmp_path / "taken"), code=2
    )
    assert "--figures" in out.output and not (tmp_path / "b.html").exists()
    assert "rsvg-convert" in run("report", "--help").output


# --- the leaderboard's CRPS ---


def _document_with_scaled(board: Any) -> dict[str, Any]:
    from predtrack import score

    document = score.summarize(board, by="forecaster", baseline="climatology")
    for g in document["groups"]:
        if g.get("crps") is not None:  # added by hand until the scoring service emits it
            g["crps_scaled"] = g["crps"] / 10.0
            g["ci"]["crps_scaled"] = [g["crps_scaled"] * 0.8, g["crps_scaled"] * 1.2]
    return document


def test_leaderboard_uses_crps_scaled_across_units(example_store: str) -> None:
    from predtrack import score
    from predtrack.report import ReportOptions, data
    from predtrack.report.sections.leaderboard import board_table
    from predtrack.report.view import View
    from predtrack.store.schema import open_store

    store = open_store(example_store)
    board = score.collect(store)
    questions = data.load_questions(store, None, None)
    document = _document_with_scaled(board)
    view = View(board, document, questions, ReportOptions())
    assert view.continuous_units == {"fraction", "maze size", "steps"}
    table = board_table(view, document, virtual=True)
    keys = [c["key"] for c in table["columns"]]
    assert "crps_scaled" in keys and "crps" not in keys and not table["mixed_raw"]
    alice = next(r for r in table["rows"] if r["name"] == "alice")
    cell = next(c for c in alice["cells"] if c["key"] == "crps_scaled")
    group = next(g for g in document["groups"] if g["group"] == "alice")
    assert float(cell["value"]) == group["crps_scaled"] and cell["ci"]
    # A document without the field (an older scoring service): the raw mean, with a warning.
    plain = score.summarize(board, by="forecaster", baseline="climatology")
    for g in plain["groups"]:
        g.pop("crps_scaled", None)
        (g.get("skill") or {}).pop("crps_scaled", None)
    table = board_table(View(board, plain, questions, ReportOptions()), plain, virtual=True)
    assert "crps" in [c["key"] for c in table["columns"]] and table["mixed_raw"]


def test_leaderboard_keeps_raw_crps_within_one_unit(
    store_db: str, run: Run, tmp_path: Path
) -> None:
    from predtrack import score
    from predtrack.report import ReportOptions, data
    from predtrack.report.sections.leaderboard import board_table
    from predtrack.report.view import View
    from predtrack.store.schema import open_store

    for key, value in (("a", "16"), ("b", "30")):
        run(
            "predict",
            f"Steps {key}",
            "10 to 20",
            "--kind",
            "quantity",
            "--unit",
            "steps",
            "--key",
            key,
        )
        run("predict", "--question", key, "normal(15, 5)", "--by", "bob")
        run("resolve", key, "--value", value)
    store = open_store(store_db)
    board = score.collect(store)
    document = _document_with_scaled(board)
    view = View(board, document, data.load_questions(store, None, None), ReportOptions())
    assert view.continuous_units == {"steps"}
    keys = [c["key"] for c in board_table(view, document, virtual=True)["columns"]]
    assert "crps" in keys and "crps_scaled" not in keys
    html, _ = report(run, tmp_path)
    assert "Here they share one unit, so the raw mean CRPS is shown." in html
    assert "the median width of the forecasts' central 90% intervals" in html


def test_example_report_says_which_crps(example_store: str, run: Run, tmp_path: Path) -> None:
    html, _ = report(run, tmp_path)
    assert "are in 3 different units, so the table shows CRPS/scale" in html
    assert '<th scope="col" class="num sortable">CRPS/scale</th>' in html
    assert '<th scope="col" class="num sortable">CRPS</th>' not in html
    assert "the width of its bounds when it has bounds (fractions use [0, 1])" in html
    assert "unchanged when a question's unit is rescaled" in html


# --- head to head: the one verdict rule ---


def test_head_to_head_cells_follow_the_verdict() -> None:
    from predtrack.report.sections.head_to_head import _cell

    row = {"score": "brier", "n": 12, "mean_diff": -0.1, "ci": [-0.2, -0.01], "p_value": 0.2}
    disagree = _cell("alice", "bob", {**row, "verdict": "none"}, False, 0.9, 10)
    assert (disagree["cls"], disagree["text"]) == ("tie", "no clear diff.")
    assert (
        "p = 0.2" in disagree["tip"]
        and "excludes 0 but the Wilcoxon test does not" in disagree["tip"]
    )
    agree = {**row, "p_value": 0.01, "verdict": "a"}
    assert _cell("alice", "bob", agree, False, 0.9, 10)["text"] == "better"
    flipped = _cell("bob", "alice", agree, True, 0.9, 10)  # the same row, seen from bob
    assert (flipped["text"], flipped["data"]["diff"]) == ("worse", "0.1")
    few = _cell("alice", "bob", {**row, "n": 4, "verdict": "few"}, False, 0.9, 10)
    assert few["text"] == "too few" and "not ranked" in few["tip"]


# --- surprises: the score that applies ---


def test_counted_fraction_surprise_uses_the_beta_binomial(
    store_db: str, run: Run, tmp_path: Path
) -> None:
    run("predict", "All eight runs succeed", "beta(9, 1.5)", "--kind", "fraction", "--key", "all8")
    run("predict", "Three of eight", "beta(9, 1.5)", "--kind", "fraction", "--key", "three")
    run("predict", "Seven of ten", "beta(2, 2)", "--kind", "fraction", "--key", "seven")
    run("resolve", "all8", "--successes", "8", "--trials", "8")
    run("resolve", "three", "--successes", "3", "--trials", "8")
    run("resolve", "seven", "--successes", "7", "--trials", "10")
    html, _page = report(run, tmp_path)
    assert "outside the forecast's support" not in html and "zero density" not in html
    table = html[html.index('id="surprises-counted"') :]
    table = table[: table.index("</table>")]
    order = re.findall(r"<small class=\"mono\">([^<]+)</small>", table)
    assert order == ["default/three", "default/seven", "default/all8"]
    values = [float(v) for v in re.findall(r'data-value="([^"]+)"', table)]
    # −ln P(k | n) under Beta(α, β): for k = n it is −ln Π (α + i) / (α + β + i), i < n.
    assert values[2] == pytest.approx(0.9354333541376317, rel=1e-12)
    assert values[0] == pytest.approx(4.296289626116881, rel=1e-9)
    assert values[1] == pytest.approx(2.190255908020126, rel=1e-9)
    assert ">39%<" in table  # the probability it gave to exactly 8 of 8
    assert "outcomes furthest in a tail" not in html  # every fraction here is a count


# --- over time ---


def test_over_time_left_out_when_neither_time_spreads(
    store_db: str, run: Run, tmp_path: Path
) -> None:
    for i in range(12):
        run("predict", f"Q{i}", "0.7", "--key", f"q{i}")
    for i in range(12):
        run("resolve", f"q{i}", "--yes" if i % 3 else "--no")
    html, _page = report(run, tmp_path)
    assert 'id="over-time"' in html
    assert re.search(
        r"Not drawn: every binary question was resolved within \d+ s and every prediction on "
        r"them made within \d+ s, so a running score has no order in time to show",
        html,
    )
    assert "Running mean Brier score" not in html


def test_over_time_by_prediction_time_when_resolved_in_one_batch(store_db: str, run: Run) -> None:
    from predtrack import score
    from predtrack.report import ReportOptions, data
    from predtrack.report.sections.over_time import OverTime
    from predtrack.report.view import View
    from predtrack.store.schema import open_store

    for i in range(12):
        run("predict", f"Q{i}", "0.7", "--key", f"q{i}")
    for i in range(12):
        run("resolve", f"q{i}", "--no" if i == 11 else "--yes")
    store = open_store(store_db)
    board = score.collect(store)
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    for e in board.entries:  # the last question was predicted first, a day before the others
        e.made_at = start + timedelta(hours=0 if e.label.endswith("q11") else 24 + e.question_id)
    document = score.summarize(board, by="forecaster", baseline="climatology")
    view = View(board, document, data.load_questions(store, None, None), ReportOptions())
    ctx = OverTime().build(view)
    assert ctx["message"] is None
    assert ctx["order"].startswith("in the order they were predicted")
    brier = ctx["figures"][0]
    assert brier.title == "Running mean Brier score" and "in the order they were predicted" in str(
        brier.svg
    )
    line = next(e for e in _svg(brier.svg).iter() if (e.get("class") or "").startswith("run"))
    ys = [float(p.split(",")[1]) for p in (line.get("points") or "").split()]
    # The wrong forecast (Brier 0.49) comes first, then eleven of 0.09: the mean falls.
    assert ys[0] < ys[-1]


# --- categories and RPS ---


def test_category_labels_wrap_and_rps_is_shown(store_db: str, run: Run, tmp_path: Path) -> None:
    cats = (
        "support-vector-machine",
        "wrong-supervision-signal",
        "low",
        "overwhelmingly-large-margin",
    )
    run(
        "predict",
        "Which failure",
        ", ".join(f"{c}:{p}" for c, p in zip(cats, (0.4, 0.3, 0.2, 0.1), strict=True)),
        "--key",
        "which",
        "--ordered",
    )
    run("predict", "--question", "which", ", ".join(f"{c}:0.25" for c in cats), "--by", "bob")
    run("resolve", "which", "--category", "low")
    expected = json.loads(
        run("score", "--json", "--by", "forecaster", "--baseline", "climatology").output
    )
    html, page = report(run, tmp_path)
    axis = re.search(r'<svg class="mini axis"[^>]*role="img".*?</svg>', html, re.S)
    assert axis is not None and "…" not in axis.group(0)
    root = _svg(axis.group(0).replace("<svg ", f'<svg xmlns="{SVG[1:-1]}" ', 1))
    for text in root.iter(f"{SVG}text"):
        shown = "".join(t.text or "" for t in text.iter(f"{SVG}tspan")) or (text.text or "")
        assert shown == text.findtext(f"{SVG}title")  # every character of the name, on lines
    assert sorted(t.findtext(f"{SVG}title") for t in root.iter(f"{SVG}text")) == sorted(cats)
    assert max(len(list(t.iter(f"{SVG}tspan"))) for t in root.iter(f"{SVG}text")) >= 2
    # RPS: a leaderboard column with the document's value, and a column of the card.
    rps = {g["group"]: g["rps"] for g in expected["groups"] if g.get("rps") is not None}
    assert set(rps) >= {"alice", "bob"}
    cells = [a for a in page.all("td", data_key="rps") if a.get("data-value")]
    assert sorted(float(a["data-value"]) for a in cells) == sorted(rps.values())
    assert '<th class="num">RPS</th>' in html
