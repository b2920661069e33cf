"""`predtrack report`: sections, numbers equal to `predtrack score`, empty stores, escaping,
no network, atomic writes."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Run, sql

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "predictions.db.example"
SECTIONS = (
    "leaderboard",
    "head-to-head",
    "calibration-binary",
    "calibration-continuous",
    "over-time",
    "surprises",
    "questions",
    "annulled",
    "pending",
    "about",
)
INJECTION = "<img src=x onerror=\"document.title='owned'\">"


# --- helpers ---


class Page(HTMLParser):
    """The parts of a report the tests look at: elements with attributes, scripts, text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.scripts: dict[str, str] = {}
        self.text: list[str] = []
        self._script: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.elements.append((tag, values))
        if tag == "script":
            self._script = values.get("id", "")
            self.scripts[self._script] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self.scripts[self._script] += data
        else:
            self.text.append(data)

    def all(self, tag: str | None = None, **attrs: str) -> list[dict[str, str]]:
        return [
            a
            for t, a in self.elements
            if (tag is None or t == tag)
            and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def report(run: Run, tmp_path: Path, *args: str, name: str = "r.html") -> tuple[str, Page]:
    out = tmp_path / name
    result = run("report", "-o", str(out), *args)
    assert result.output.strip().splitlines()[-1] == str(out)
    html = out.read_text(encoding="utf-8")
    return html, parse(html)


def number(text: str) -> float:
    return float(text)  # "inf" parses too


def same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and a in ("inf", "-inf"):
        return isinstance(b, float) and b == float(a)
    if isinstance(b, str) and b in ("inf", "-inf"):
        return same(b, a)
    return bool(a == b)


def load_example(run: Run, tmp_path: Path) -> None:
    """The shipped example, replayed into this test's store (SQLite or PostgreSQL)."""
    copy = tmp_path / "example-copy.db"
    shutil.copyfile(EXAMPLE, copy)
    run("db", "upgrade", "--db", str(copy))  # a no-op once the shipped file is current
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_text(run("export", "--db", str(copy)).output, encoding="utf-8")
    run("import", str(ledger))


def chart_svgs(page: Page) -> list[dict[str, str]]:
    return [a for t, a in page.elements if t == "svg" and "chart" in a.get("class", "").split()]


# --- the example report ---


@pytest.fixture
def example(store_db: str, run: Run, tmp_path: Path) -> str:
    load_example(run, tmp_path)
    return store_db


@pytest.fixture
def any_spread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Draw running scores however close together the times are (the example and these
    tests' stores were resolved in one batch, which the report otherwise leaves undrawn)."""
    from predtrack.report.sections import over_time

    monkeypatch.setattr(over_time, "SPREAD", timedelta(0))


def test_example_report_has_every_section(
    example: str, run: Run, tmp_path: Path, any_spread: None
) -> None:
    html, page = report(run, tmp_path)
    ids = {a.get("id") for _, a in page.elements}
    for section in SECTIONS:
        assert section in ids, section
    text = " ".join(page.text)
    title = page.all("title")
    assert title and "<title>Predictions: cheese-maze</title>" in html
    # Header: counts, ledger head, verification, local time with its offset.
    counts = json.loads(run("score", "--json").output)["counts"]
    assert counts == {"registered": 29, "resolved": 27, "annulled": 1, "pending": 1, "late": 2}
    for value, label in zip(
        counts.values(),
        ("questions registered", "resolved", "annulled", "pending", "late predictions"),
        strict=True,
    ):
        assert re.search(rf'<span class="v">{value}</span><span class="k">{label}</span>', html)
    head = run("head").output.strip()
    assert head in html
    assert "Verified" in text and "Verification FAILED" not in text
    assert re.search(r"Generated <b>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d</b>", html)
    # Calibration charts for every forecaster and the team; PIT and coverage; running scores.
    labels = [a["aria-labelledby"] for a in chart_svgs(page)]
    titles = re.findall(r'<title id="[^"]+">([^<]+)</title>', html)
    for name in ("alice", "bob", "carol", "dan", "team"):
        assert f"Reliability diagram: {name}" in titles
        assert f"PIT histogram: {name}" in titles
    assert "Interval coverage" in titles
    assert "Running mean Brier score" in titles and "Running mean log score (nats)" in titles
    assert len(labels) == len(set(labels)) == 13
    # Every chart is an accessible image with a text alternative.
    for svg in chart_svgs(page):
        assert svg["role"] == "img" and svg["aria-describedby"].endswith("-d")
    assert html.count("<desc id=") == 13
    # Questions: all 27 resolved, with rule, source sha, late predictions flagged; the rest listed.
    assert html.count('<article class="card"') == 27
    assert "results/sweep.csv#cheese_rate[maze_size=25] &gt; 0.5" in html
    assert re.search(r"sha256 [0-9a-f]{12}…", html)
    assert html.count("late, not scored") == 2  # erin, on flip and above15
    assert "the size-31 runs crashed (out of memory)" in html  # the annulled question's reason
    assert "Cheese rate above 50% at maze size 41" in html  # the pending one
    assert "second rating pass found a labelling slip" in html  # the correction
    assert "Biggest surprises" in html and "outcomes furthest in a tail" in html


def scores_of(page: Page, script: str = "predtrack-scores") -> dict[str, Any]:
    return json.loads(page.scripts[script])


def test_numbers_equal_predtrack_score(example: str, run: Run, tmp_path: Path) -> None:
    expected = json.loads(
        run("score", "--json", "--by", "forecaster", "--baseline", "climatology").output
    )
    _, page = report(run, tmp_path)
    embedded = scores_of(page)
    assert embedded == expected
    groups = {g["group"]: g for g in expected["groups"]}
    assert set(groups) == {"alice", "bob", "carol", "dan", "team", "climatology"}
    checked = 0
    # Every leaderboard cell with a data-key carries the document's number at full precision.
    current = None
    for tag, attrs in page.elements:
        if tag == "tr" and "data-group" in attrs:
            current = groups[attrs["data-group"]]
        if tag == "td" and current is not None and "data-key" in attrs and attrs.get("data-value"):
            key = attrs["data-key"]
            value = (
                (current.get("skill") or {}).get(key[6:])
                if key.startswith("skill.")
                else current.get(key)
            )
            assert same(value, number(attrs["data-value"])), (current["group"], key)
            if "data-lo" in attrs:
                ci = current["ci"][key]
                assert (number(attrs["data-lo"]), number(attrs["data-hi"])) == (ci[0], ci[1])
            checked += 1
        if tag == "table":
            current = None
    assert checked >= 6 * 5
    # Head to head: each computed cell is `score --compare A B` for the Brier score.
    cells = 0
    names = ["alice", "bob", "carol", "dan", "team"]
    row_name = None
    for tag, attrs in page.elements:
        if tag == "tr" and "data-a" in attrs:
            row_name = attrs["data-a"]
        if tag == "td" and "data-b" in attrs and "data-diff" in attrs and row_name is not None:
            a, b = row_name, attrs["data-b"]
            if names.index(a) < names.index(b):
                compared = json.loads(run("score", "--json", "--compare", a, b).output)[
                    "comparison"
                ]
                brier = next(r for r in compared["scores"] if r["score"] == "brier")
                assert int(attrs["data-n"]) == brier["n"]
                assert number(attrs["data-diff"]) == brier["mean_diff"]
                assert [number(attrs["data-lo"]), number(attrs["data-hi"])] == brier["ci"]
                cells += 1
    assert cells == 10


def test_report_options_reach_the_scores(example: str, run: Run, tmp_path: Path) -> None:
    args = ("--include-late", "--baseline", "naive", "--seed", "7", "-e", "cheese-maze")
    expected = json.loads(run("score", "--json", "--by", "forecaster", *args).output)
    html, page = report(run, tmp_path, *args, "--title", "Cheese-maze pre-registration")
    assert scores_of(page) == expected
    assert "erin" in {g["group"] for g in expected["groups"]}
    assert "<title>Cheese-maze pre-registration</title>" in html
    assert "late, not scored" not in html and ">late</span>" in html  # scored, still flagged
    # --by adds a table (and its document) grouped another way.
    by_tag = json.loads(run("score", "--json", "--by", "tag", "--baseline", "climatology").output)
    html, page = report(run, tmp_path, "--by", "tag", name="tags.html")
    assert scores_of(page, "predtrack-scores-by") == by_tag
    assert 'id="by-group"' in html and "Scores by tag" in html


def test_questions_limit_summarises_the_rest(example: str, run: Run, tmp_path: Path) -> None:
    html, _ = report(run, tmp_path, "--questions", "2")
    assert html.count('<article class="card"') == 2
    assert "2 of 27 resolved questions are shown in full" in html
    assert "predtrack report --questions all" in html
    assert "Not shown in full: 25 resolved questions" in html
    html, _ = report(run, tmp_path, "--questions", "all", name="all.html")
    assert html.count('<article class="card"') == 27 and "shown in full" not in html
    assert "--questions" in run("report", "--questions", "many", code=2).output


def test_no_network_requests_in_the_file(example: str, run: Run, tmp_path: Path) -> None:
    html, page = report(run, tmp_path)
    assert not re.search(r"https?://", html)
    for tag, attrs in page.elements:
        for name in ("src", "href", "srcset", "data", "action", "xlink:href", "poster"):
            value = attrs.get(name, "")
            assert not re.match(r"\s*(https?:)?//", value), (tag, name, value)
        assert tag not in ("img", "iframe", "link", "object", "embed", "video", "audio")
    assert "@import" not in html and "url(" not in html
    # The only scripts: the embedded JSON documents and the inline table sorter.
    assert all(a.get("src") is None for a in page.all("script"))


# --- the store in other states ---


def test_empty_store(store_db: str, run: Run, tmp_path: Path) -> None:
    html, page = report(run, tmp_path)
    assert chart_svgs(page) == []
    assert "Nothing scored yet" in html
    assert "No resolved binary questions yet." in html
    assert "No resolved fraction or quantity questions yet." in html
    assert "No resolved questions yet." in html and "No pending questions" in html
    assert "No scored forecasts yet." in html  # biggest surprises
    assert scores_of(page)["groups"] == []
    assert "<title>Pre-registered predictions</title>" in html
    assert "Verified" in " ".join(page.text)


def test_only_pending_questions(store_db: str, run: Run, tmp_path: Path) -> None:
    run("predict", "Runs finish on time", "0.7", "-e", "later", "--key", "ontime")
    run("predict", "Flip size", "10 to 20", "--kind", "quantity", "-e", "later", "--key", "flip")
    html, page = report(run, tmp_path)
    assert chart_svgs(page) == []
    assert "No resolved binary questions yet (2 pending)." in html
    assert "No resolved fraction or quantity questions yet (2 pending)." in html
    assert "No resolved questions yet (2 pending, 0 annulled)." in html
    assert html.count("<li><b>Runs finish on time</b>") == 1 and "Flip size" in html
    assert "no resolution rule: resolve it by hand" in html
    # Forecasts on open questions are not shown (no anchoring).
    assert "10 to 20" not in html


def test_single_question(store_db: str, run: Run, tmp_path: Path) -> None:
    run("predict", "The only question", "0.8", "--key", "only")
    run("resolve", "only", "--yes")
    html, page = report(run, tmp_path)
    titles = re.findall(r'<title id="[^"]+">([^<]+)</title>', html)
    assert titles == [
        "Reliability diagram: alice"
    ]  # one binary forecast: one diagram, nothing else
    assert "No resolved fraction or quantity questions yet." in html
    assert "Not drawn: a running score needs at least 10 resolved binary questions" in html
    assert "a head-to-head needs at least two forecasters" in html
    assert html.count('<article class="card"') == 1
    assert len(page.all("tr")) > 3


# --- safety ---


def test_user_text_is_escaped_everywhere(store_db: str, run: Run, tmp_path: Path) -> None:
    run(
        "predict",
        INJECTION,
        "0.7",
        "-e",
        "exp",
        "--key",
        "inj",
        "--tag",
        "<script>alert(1)</script>",
        "--rule",
        "r<b>x</b>.json#/a<i>",
        "--note",
        "<u>note</u>",
    )
    run("predict", "--question", "inj", "0.4", "--by", "<b>bob</b>")
    run("predict", "Which <em>one</em>", "<s>a</s>:0.5, b&c:0.5", "--key", "cat", "-e", "exp")
    run("predict", "--question", "cat", "<s>a</s>:0.2, b&c:0.8", "--by", "<b>bob</b>")
    run("resolve", "inj", "--yes")
    run("resolve", "cat", "--category", "<s>a</s>")
    for args in ((), ("--by", "tag"), ("--baseline", "<b>bob</b>")):
        html, page = report(run, tmp_path, *args, "--title", "<i>Title</i>")
        for raw in (
            INJECTION,
            "<img",
            "<b>bob",
            "<script>alert",
            "<u>note",
            "<s>a",
            "<em>one",
            "<i>Title",
            "<b>x",
        ):
            assert raw not in html, (args, raw)
        assert "&lt;img src=x onerror=" in html
        assert "&lt;b&gt;bob&lt;/b&gt;" in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<title>&lt;i&gt;Title&lt;/i&gt;</title>" in html
        assert not page.all("img")
        # The embedded JSON cannot close its script tag, and parses back to the same names.
        assert "</script>" not in page.scripts["predtrack-scores"]
        names = {g["group"] for g in scores_of(page)["groups"]}
        assert "<b>bob</b>" in names
        # Only the sorter and the JSON documents are scripts.
        assert len(page.all("script")) == (3 if args[:1] == ("--by",) else 2)


# --- writing the file ---


def test_default_output_and_atomic_write(
    store_db: str, run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("predict", "Q", "0.6", "--key", "q")
    result = run("report")
    assert result.output.strip() == "report.html"
    assert (tmp_path / "report.html").is_file()
    # Replaced through a temporary file in the same folder, never written in place.
    replaced: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src: Any, dst: Any) -> None:
        replaced.append((str(src), str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    out = tmp_path / "sub" / "r.html"
    out.parent.mkdir()
    out.write_text("old", encoding="utf-8")
    assert run("report", "-o", str(out)).output.strip() == str(out)
    assert len(replaced) == 1
    src, dst = replaced[0]
    assert dst == str(out) and Path(src).parent == out.parent and src != dst
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in out.parent.iterdir()) == ["r.html"]  # no temporary left
    # A failing report leaves the old file alone and no temporary behind.
    out.write_text("old", encoding="utf-8")
    assert (
        "Error: --baseline 'zed'"
        in run("report", "-o", str(out), "--baseline", "zed", code=2).output
    )
    assert "Error: no experiment" in run("report", "-o", str(out), "-e", "nope", code=2).output
    assert out.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in out.parent.iterdir()) == ["r.html"]
    assert (
        "does not exist" in run("report", "-o", str(tmp_path / "missing" / "r.html"), code=2).output
    )
    assert "is a directory" in run("report", "-o", str(out.parent), code=2).output


def test_failed_verification_is_a_red_banner(store_db: str, run: Run, tmp_path: Path) -> None:
    run("predict", "Q", "0.6", "--key", "q")
    run("resolve", "q", "--yes")
    sql(store_db, "UPDATE predictions SET forecast = '0.99' WHERE id = 1")
    out = tmp_path / "r.html"
    result = run("report", "-o", str(out))
    assert "verification FAILED" in result.output
    html = out.read_text(encoding="utf-8")
    assert 'class="banner bad" role="alert"' in html and "Verification FAILED: 1 problem" in html
    assert "predictions.forecast" in html


def test_verification_in_a_child_process_agrees(
    store_db: str, run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a large ledger verification runs in another process; the result is the same."""
    from predtrack.report import verification as report_module
    from predtrack.store.schema import open_store

    load_example(run, tmp_path)
    store = open_store(store_db)
    inline = report_module.Verifier(store, 0).result()
    monkeypatch.setattr(report_module, "PARALLEL_VERIFY_MIN", 0)
    verifier = report_module.Verifier(store, 1)
    assert verifier.future is not None  # really in another process
    try:
        parallel = verifier.result()
    finally:
        verifier.close()
    assert parallel == inline and parallel["ok"]


def test_svg_helper_escapes_and_ticks() -> None:
    from predtrack.report.draw import Plot, nice_ticks

    assert nice_ticks(0, 1, 5) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(1, 16, 8, integer=True) == [2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0]
    assert all(float(t).is_integer() for t in nice_ticks(0, 3, 8, integer=True))
    plot = Plot(100, 100, x=(0, 1), y=(0, 1))
    plot.axes(xticks=[0, 1], yticks=[0, 1], xlabel="<x>", ylabel="y & z")
    plot.marker(0.5, 0.5, cls="pt", tip="</title><script>")
    svg = str(plot.render(ident="t", title="<t>", desc='d"d'))
    assert "<script>" not in svg and "&lt;/title&gt;&lt;script&gt;" in svg
    assert "&lt;x&gt;" in svg and "y &amp; z" in svg and "&lt;t&gt;" in svg
    assert not math.isnan(float(re.findall(r'cx="([^"]+)"', svg)[0]))


def test_infinite_log_scores_are_reported_honestly(
    store_db: str, run: Run, tmp_path: Path, any_spread: None
) -> None:
    for i in range(12):  # all predicted before the first resolution locks the experiment
        run("predict", f"Q{i}", "1" if i == 3 else "0.7", "--key", f"q{i}")
    for i in range(12):
        run("resolve", f"q{i}", "--no" if i in (3, 5) else "--yes")
    expected = json.loads(
        run("score", "--json", "--by", "forecaster", "--baseline", "climatology").output
    )
    html, page = report(run, tmp_path)
    assert scores_of(page) == expected
    alice = next(a for a in page.all("td", data_key="log") if a.get("data-value") == "inf")
    assert alice
    assert "turned out wrong" in html and "∞" in html
    # The running log score stops where it becomes infinite, and says so.
    assert "infinite from question 4 on" in html
    assert "Running mean Brier score" in html
