"""What is stored and scored stays the same: `score --json` and the ledger of a fixed build.

The expected documents in `tests/fixtures/same_scores.json` were computed by predtrack before
the store's write and read paths were made faster; these tests hold every later version to
them. The generated study (1,000 questions x 10 forecasters = 10,000 predictions, half from a
TOML bulk file and half from a JSON one, revisions, late predictions, an annulment) is built
with the real commands on a fixed clock, so its ledger is the same on every run; the build
folder's path (which the ledger records as a hint) is replaced by `<root>` before the chain
is hashed.

Regenerate the fixture (only when a change to what is stored or scored is intended):
    python -m tests.test_same_scores
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "same_scores.json"
QUESTIONS, FORECASTERS, PER_FILE = 1000, 10, 100
CATEGORIES = ("left", "right", "mixed")
T0 = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


class FixedClock:
    """`datetime` as the store's engine sees it: `now()` is whatever the build last set."""

    value = T0

    @classmethod
    def now(cls, tz: Any = None) -> datetime:
        return cls.value


def _forecast(rng: random.Random, kind: str, truth: Any, j: int) -> str:
    if kind == "binary":
        p = min(0.99, max(0.01, truth + rng.gauss(0, 0.1 + 0.03 * j)))
        return f"{p:.2f}"
    if kind == "fraction":
        centre = min(0.95, max(0.05, truth + rng.gauss(0, 0.08)))
        if j % 2:
            return f"{max(0.01, centre - 0.15):.1%} to {min(0.99, centre + 0.15):.1%}"
        return f"beta({1 + centre * 30:.2f}, {1 + (1 - centre) * 30:.2f})"
    if kind == "quantity":
        centre, sd = truth + rng.gauss(0, 2), 1 + 0.3 * j
        return [
            f"normal({centre:.2f}, {sd:.2f})",
            f"{centre - 1.645 * sd:.2f} to {centre + 1.645 * sd:.2f}",
            f"quantiles(0.05:{centre - 1.6 * sd:.2f}, 0.5:{centre:.2f}, 0.95:{centre + 1.6 * sd:.2f})",
        ][j % 3]
    raw = [max(0.02, t + rng.gauss(0, 0.1)) for t in truth]
    probs = [round(r / sum(raw), 3) for r in raw]
    probs[-1] = round(1 - sum(probs[:-1]), 3)
    return ", ".join(f"{c}:{p:.3f}" for c, p in zip(CATEGORIES, probs, strict=True))


def study(seed: int = 14) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """The questions (each with its forecasts) and the result files' contents."""
    rng = random.Random(seed)
    questions: list[dict[str, Any]] = []
    results: dict[str, dict[str, Any]] = {}
    for i in range(QUESTIONS):
        part = f"results/part-{i // PER_FILE:02d}.json"
        doc = results.setdefault(part, {})
        kind = ("binary", "binary", "fraction", "quantity", "categorical")[i % 5]
        key = f"q{i}"
        entry: dict[str, Any] = {"key": key, "title": f"Generated {kind} question {i}"}
        entry.update(kind=kind, rule=f"{part}#/{key}", tags=[f"t{i % 4}"])
        if kind == "binary":
            truth: Any = rng.uniform(0.05, 0.95)
            doc[key] = rng.random() < truth
        elif kind == "fraction":
            truth = rng.uniform(0.1, 0.9)
            doc[key] = {"k": sum(rng.random() < truth for _ in range(40)), "n": 40}
            entry["rule"] = f"{part}#/{key}/k/of/{key}/n"
        elif kind == "quantity":
            truth = rng.uniform(5, 50)
            doc[key] = round(truth + rng.gauss(0, 3), 3)
            entry["unit"] = "steps"
        else:
            weights = [rng.random() + 0.1 for _ in CATEGORIES]
            truth = [w / sum(weights) for w in weights]
            doc[key] = rng.choices(CATEGORIES, weights=truth)[0]
            entry["categories"] = list(CATEGORIES)
        if i % 250 == 249:  # its result file never appears: stays pending (one is annulled)
            entry["rule"] = f"results/never.json#/{key}"
        entry["forecasts"] = {f"f{j}": _forecast(rng, kind, truth, j) for j in range(FORECASTERS)}
        questions.append(entry)
    return questions, results


def _toml(questions: list[dict[str, Any]]) -> str:
    lines = ['experiment = "gen"', 'description = "Generated study for test_same_scores"']
    for q in questions:
        lines.append("\n[[question]]")
        lines += [f"{name} = {json.dumps(q[name])}" for name in q if name != "forecasts"]
        inline = ", ".join(f"{k} = {json.dumps(v)}" for k, v in q["forecasts"].items())
        lines.append(f"forecasts = {{ {inline} }}")
    return "\n".join(lines) + "\n"


def build(folder: Path, invoke: Any) -> None:
    """The generated study through predtrack's own commands, each at a fixed time."""
    questions, results = study()
    half = len(questions) // 2
    (folder / "first.toml").write_text(_toml(questions[:half]), encoding="utf-8")
    (folder / "second.json").write_text(
        json.dumps({"experiment": "gen2", "forecaster": "f0", "questions": questions[half:]}),
        encoding="utf-8",
    )

    def at(minutes: int, *args: str) -> None:
        FixedClock.value = T0.replace(minute=minutes)
        invoke(*args)

    at(0, "init")
    at(1, "predict", "--file", "first.toml", "--by", "f0")
    at(2, "predict", "--file", "second.json", "--by", "f0")
    for i in range(0, 40, 5):  # revisions of binary forecasts later on
        at(10, "predict", "--question", f"q{i}", f"0.{i % 9 + 1}", "--by", "f1", "-e", "gen")
    at(10, "predict", "--question", "q1", "0.35", "--by", "f2", "-e", "gen")
    at(10, "predict", "--question", "q1", "0.45", "--by", "f2", "-e", "gen")  # a typo fixed
    at(30, "predict", "--question", "q6", "0.4", "--by", "f9", "-e", "gen")
    (folder / "results").mkdir()
    stamp = T0.replace(minute=40).timestamp()
    for name, doc in results.items():
        path = folder / name
        path.write_text(json.dumps(doc, sort_keys=True), encoding="utf-8")
        os.utime(path, (stamp, stamp))
    # Made after the result files were written but before resolve: resolve marks them late.
    at(45, "predict", "--question", "q5", "0.6", "--by", "latecomer", "-e", "gen")
    at(46, "predict", "--question", "q501", "0.2", "--by", "latecomer", "-e", "gen2")
    at(50, "resolve")
    at(51, "resolve", "gen/q249", "--annul", "the run crashed")
    at(55, "predict", "--question", "q10", "0.7", "--by", "latecomer", "-e", "gen")


def ledger_digest(db: Path, folder: Path) -> dict[str, Any]:
    """The chain re-hashed with the build folder written as `<root>`, and the row counts."""
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        prev = "0" * 64
        entries = 0
        for (payload,) in conn.execute("SELECT payload FROM ledger ORDER BY seq"):
            text = payload.replace(str(folder.resolve()), "<root>").replace(str(folder), "<root>")
            prev = hashlib.sha256((prev + text).encode("utf-8")).hexdigest()
            entries += 1
        counts = {
            table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("questions", "predictions", "resolutions", "artifacts")
        }
    finally:
        conn.close()
    return {"entries": entries, "digest": prev, "rows": counts}


def documents(folder: Path, invoke: Any) -> dict[str, Any]:
    """Everything compared: the scores, the verdict of verify and the normalised ledger."""
    score = json.loads(invoke("score", "--json").output)
    by = json.loads(
        invoke("score", "--json", "--by", "forecaster", "--baseline", "climatology").output
    )
    late = json.loads(invoke("score", "--json", "--include-late", "--by", "kind").output)
    verify = json.loads(invoke("verify", "--json").output)
    return {
        "score": score,
        "score_by_forecaster": by,
        "score_late_by_kind": late,
        "verify_ok": verify["ok"],
        "ledger": ledger_digest(folder / "predictions.db", folder),
    }


# Tampering after the build: what verify reports must not change either (the comparison of
# stored rows with the ledger streams now; before, it held every row).
TAMPERING = {
    "distribution": ["UPDATE predictions SET distribution = '{\"family\":\"bernoulli\",\"p\":0.5}' "
                     "WHERE id = 7003"],
    "late": ["UPDATE predictions SET late = 0, late_reason = NULL WHERE late = 1"],
    "deleted": ["DELETE FROM predictions WHERE id IN (2500, 9999)"],
    "extra": ["INSERT INTO predictions (id, question_id, forecaster, made_at, forecast, distribution,"
              " late) SELECT 20000, question_id, 'mallory', made_at, forecast, distribution, 0 "
              "FROM predictions WHERE id = 12"],
    "title": ["UPDATE questions SET title = 'edited' WHERE id = 600",
              "UPDATE resolutions SET outcome = 'false' WHERE id = 3"],
}  # fmt: skip


def tampered(folder: Path, invoke: Any) -> dict[str, list[list[Any]]]:
    """verify's problems (sorted) after each tampering of a copy of the built store."""
    import sqlite3

    out = {}
    for name, statements in TAMPERING.items():
        copy = folder / f"tampered-{name}.db"
        # The backup API copies what is committed, in the write-ahead log too.
        source, conn = sqlite3.connect(folder / "predictions.db"), sqlite3.connect(copy)
        source.backup(conn)
        source.close()
        for statement in statements:
            conn.execute(statement)
        conn.commit()
        conn.close()
        result = CliRunner().invoke(
            _cli(), ["verify", "--json", "--db", str(copy)], env={"PREDTRACK_USER": "builder"}
        )
        assert result.exit_code == 1, result.output
        problems = json.loads(result.output)["problems"]
        out[name] = sorted(
            [p["seq"] or 0, p["table"], p["field"] or "", p["message"]] for p in problems
        )
    return out


def _cli() -> Any:
    from predtrack.cli import cli

    return cli


def example_documents(folder: Path, invoke: Any) -> dict[str, Any]:
    """The shipped example: its scores and its head (the file is fixed, so is the head)."""
    db = folder / "example.db"
    shutil.copy(ROOT / "predictions.db.example", db)
    return {
        "score": json.loads(invoke("score", "--json", "--db", str(db)).output),
        "score_by_forecaster": json.loads(
            invoke("score", "--json", "--by", "forecaster", "--db", str(db)).output
        ),
        "head": invoke("head", "--db", str(db)).output.strip(),
    }


def same(got: Any, want: Any, where: str = "$") -> Iterator[str]:
    """Where two JSON documents differ (floats within 1e-9 relative: numpy's last bits)."""
    if isinstance(want, float) and isinstance(got, float):
        if not (math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12) or got == want):
            yield f"{where}: {got!r} != {want!r}"
    elif isinstance(want, dict) and isinstance(got, dict):
        for key in sorted(set(want) | set(got)):
            if key not in got or key not in want:
                yield f"{where}.{key}: only in {'the fixture' if key in want else 'this run'}"
            else:
                yield from same(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        for index, (g, w) in enumerate(zip(got, want, strict=True)):
            yield from same(g, w, f"{where}[{index}]")
    elif got != want or type(got) is not type(want):
        yield f"{where}: {json.dumps(got)[:200]} != {json.dumps(want)[:200]}"


def _invoker(folder: Path) -> Any:
    from predtrack.cli import cli

    runner = CliRunner()
    env = {"PREDTRACK_DB": str(folder / "predictions.db"), "PREDTRACK_USER": "builder"}

    def invoke(*args: str) -> Any:
        result = runner.invoke(cli, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, f"predtrack {' '.join(args)}: {result.output}"
        return result

    return invoke


def build_on_fixed_clock(folder: Path) -> Any:
    """Build the generated study in `folder` with the store's clock fixed; the invoker."""
    import predtrack.store.engine as engine

    invoke = _invoker(folder)
    real = engine.datetime
    engine.datetime = FixedClock  # type: ignore[misc]
    try:
        build(folder, invoke)
    finally:
        engine.datetime = real  # type: ignore[misc]
    return invoke


def compute(folder: Path) -> dict[str, Any]:
    """Build the generated study in `folder` and compute every compared document."""
    invoke = build_on_fixed_clock(folder)
    return {
        "generated": documents(folder, invoke),
        "example": example_documents(folder, invoke),
        "tampered": tampered(folder, invoke),
    }


@pytest.fixture(scope="module")
def computed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("same-scores")
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        return compute(folder)
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    return dict(json.loads(FIXTURE.read_text(encoding="utf-8")))


@pytest.mark.parametrize("name", ["score", "score_by_forecaster"])
def test_the_example_scores_as_before(computed: Any, expected: Any, name: str) -> None:
    differences = list(same(computed["example"][name], expected["example"][name]))
    assert not differences, "\n".join(differences[:20])
    assert computed["example"]["head"] == expected["example"]["head"]


@pytest.mark.parametrize("name", ["score", "score_by_forecaster", "score_late_by_kind"])
def test_the_generated_store_scores_as_before(computed: Any, expected: Any, name: str) -> None:
    differences = list(same(computed["generated"][name], expected["generated"][name]))
    assert not differences, "\n".join(differences[:20])


def test_the_generated_store_is_stored_as_before(computed: Any, expected: Any) -> None:
    assert computed["generated"]["verify_ok"] is True
    assert computed["generated"]["ledger"] == expected["generated"]["ledger"]


@pytest.mark.parametrize("name", sorted(TAMPERING))
def test_verify_names_the_same_problems_as_before(computed: Any, expected: Any, name: str) -> None:
    assert computed["tampered"][name] == expected["tampered"][name]
    assert computed["tampered"][name], "the tampering went unnoticed"


def test_the_build_is_deterministic(tmp_path: Path, computed: Any) -> None:
    """A second build in another folder gives the same ledger (so the comparison can fail
    only when what is stored changes)."""
    os.chdir(tmp_path)
    build_on_fixed_clock(tmp_path)
    assert ledger_digest(tmp_path / "predictions.db", tmp_path) == computed["generated"]["ledger"]


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)
        FIXTURE.write_text(json.dumps(compute(Path(scratch)), indent=1, sort_keys=True) + "\n")
    print(f"wrote {FIXTURE}")
