"""Registering questions and recording predictions, one or a whole bulk file, in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from predtrack.errors import InputError, NotFoundError, PredtrackError
from predtrack.forecast import ParsedForecast, describe, infer_kind, parse_forecast
from predtrack.memory import without_gc
from predtrack.output import Progress, Result
from predtrack.paths import study_root, to_stored
from predtrack.store import queries
from predtrack.store.engine import Session, Store
from predtrack.store.ledger import Batch, format_head, next_id, record
from predtrack.store.tables import Experiment, Question
from predtrack.store.types import iso_z
from predtrack.validate import (
    check_categories,
    check_name,
    check_note,
    check_rule_text,
    check_slug,
    check_tags,
    check_title,
    check_unit,
)
from predtrack.vocabulary import IF_RUN_FAILS, KINDS

DEFAULT_EXPERIMENT = "default"


@dataclass(slots=True)
class NewQuestion:
    """A question to create, as given by the user."""

    experiment: str
    title: str
    kind: str | None = None
    key: str | None = None
    unit: str | None = None
    tags: Sequence[str] = ()
    note: str | None = None
    bounds: tuple[float, float] | None = None
    ordered: bool = False
    categories: Sequence[str] | None = None
    rule: str | None = None
    rule_dir: str | None = None  # the folder the rule's paths are relative to (absolute)
    if_run_fails: str | None = None
    where: str = ""


@dataclass(slots=True)
class NewPrediction:
    """A forecast to record, on a new question or on an existing one (`question` is a ref)."""

    question: NewQuestion | str
    forecaster: str
    forecast: str
    level: str | float | None = None
    ci: tuple[str, str] | None = None
    log: bool = False
    normalize: bool = False
    note: str | None = None
    experiment: str | None = None
    where: str = ""


@dataclass
class RecordedPrediction(Result):
    """One prediction as recorded."""

    id: int
    question_id: int
    question: str
    kind: str
    forecaster: str
    forecast: str
    distribution: dict[str, Any]
    late: bool
    late_reason: str | None
    signed_with: str | None = None  # the fingerprint of the key that signed it


class _Recorded(Sequence[RecordedPrediction]):
    """The predictions a bulk write recorded, made from its rows when asked for (a million
    result objects would cost more memory than the rows themselves)."""

    def __init__(self, rows: list[tuple[Any, ...]], labels: dict[int, tuple[str, str]]) -> None:
        self.rows, self.labels = rows, labels

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self.rows)))]
        r = self.rows[index]
        label, kind = self.labels[r[1]]
        return RecordedPrediction(r[0], r[1], label, kind, r[2], r[4], r[5], r[7], r[8])

    def late_count(self) -> int:
        return sum(1 for r in self.rows if r[7])


@dataclass
class Registered:
    """What one `predict` (or bulk file) wrote."""

    seq: int
    head: str
    experiments: list[str] = field(default_factory=list)
    questions: list[dict[str, Any]] = field(default_factory=list)
    predictions: Sequence[RecordedPrediction] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sealed: list[dict[str, Any]] = field(default_factory=list)
    openings: str | None = None  # the openings file the sealed forecasts' openings went to

    def as_dict(self) -> dict[str, Any]:
        return {**self.json_dict(), "predictions": [p.as_dict() for p in self.predictions]}

    def json_dict(self) -> dict[str, Any]:
        """`as_dict()` with the predictions left as recorded: `--json` makes each one's dict
        only as it prints it."""
        out = {
            "seq": self.seq,
            "head": self.head,
            "experiments_created": self.experiments,
            "questions": self.questions,
            "predictions": self.predictions,
            "warnings": self.warnings,
        }
        if self.openings is not None:
            out.update(sealed=self.sealed, openings_file=self.openings)
        return out

    def text(self) -> str:
        lines = [f"Created experiment {name}" for name in self.experiments]
        if len(self.questions) <= 20:
            lines += [
                f"Registered question #{q['id']} {q['label']} ({q['kind']}): {q['title']}"
                for q in self.questions
            ]
        else:
            lines.append(f"Registered {len(self.questions)} questions")
        if len(self.predictions) <= 20:
            for p in self.predictions:
                late = f"  [LATE: {p.late_reason}]" if p.late else ""
                stored = describe(p.distribution)
                same = stored.replace(" ", "") == p.forecast.replace(" ", "")
                shown = "" if same else f" (stored as {stored})"
                signed = f"  [signed {p.signed_with}]" if p.signed_with else ""
                lines.append(
                    f"Recorded prediction #{p.id} on {p.question} by {p.forecaster}: "
                    f"{p.forecast}{shown}{late}{signed}"
                )
        else:
            recorded = self.predictions
            late_count = (
                recorded.late_count()  # from the rows: a million objects cost a second
                if isinstance(recorded, _Recorded)
                else sum(p.late for p in recorded)
            )
            lines.append(
                f"Recorded {len(self.predictions)} predictions"
                + (f" ({late_count} late)" if late_count else "")
            )
        if self.openings is not None:
            from predtrack.proofs.seals import sealed_text

            lines += sealed_text(self.sealed, self.openings)
        lines.append(f"Ledger head {self.head}")
        return "\n".join(lines)


FORECAST_OPTIONS = ("level", "ci", "log", "normalize", "note")
QUESTION_OPTIONS = (
    "key",
    "kind",
    "unit",
    "tags",
    "bounds",
    "ordered",
    "categories",
    "rule",
    "if_run_fails",
)


def one(
    forecast: str,
    *,
    by: str,
    title: str | None = None,
    question: str | None = None,
    experiment: str | None = None,
    rule_dir: str | None = None,
    **options: Any,
) -> tuple[list[NewQuestion], list[NewPrediction]]:
    """What one `predict` (command or API call) asks for: a new question with its forecast, or
    (`question=`) a forecast on an existing one. `options` are the question's fields
    (QUESTION_OPTIONS) and the forecast's (FORECAST_OPTIONS)."""
    unknown = set(options) - set(FORECAST_OPTIONS) - set(QUESTION_OPTIONS)
    if unknown:
        raise InputError(f"unknown option {sorted(unknown)[0]!r}")
    fields = {
        k: v for k, v in options.items() if k in QUESTION_OPTIONS and v not in (None, (), False)
    }
    forecast_options = {k: v for k, v in options.items() if k in FORECAST_OPTIONS}
    if question is not None:
        if title is not None:
            raise InputError("a forecast on an existing question takes no title")
        if fields:
            raise InputError("question options (key, kind, rule, ...) only apply to a new question")
        return [], [
            NewPrediction(str(question), by, forecast, experiment=experiment, **forecast_options)
        ]
    if title is None:
        raise InputError("give a title and a forecast, or an existing question and a forecast")
    fields["tags"] = list(fields.get("tags", ()))
    spec = NewQuestion(
        experiment=experiment or DEFAULT_EXPERIMENT,
        title=title,
        rule_dir=str(Path(rule_dir or Path.cwd()).absolute()),
        **fields,
    )
    return [spec], [NewPrediction(spec, by, forecast, **forecast_options)]


def _where(label: str, message: str) -> str:
    return f"{label}: {message}" if label else message


def _validate_question(spec: NewQuestion) -> None:
    """Check a question's own fields (its forecasts are checked when parsed)."""
    try:
        check_slug(spec.experiment, "experiment name")
        if spec.key is not None:
            check_slug(spec.key, "question key")
        spec.title = check_title(spec.title)
        spec.unit = check_unit(spec.unit)
        spec.note = check_note(spec.note, "the question note")
        spec.tags = check_tags(spec.tags)
        if spec.categories is not None:
            spec.categories = check_categories(spec.categories)
            if len(spec.categories) < 2:
                raise InputError("a categorical question needs at least two categories")
        if spec.rule is not None:
            spec.rule = check_rule_text(spec.rule)
    except InputError as error:
        raise InputError(_where(spec.where, str(error))) from None
    if spec.kind is not None and spec.kind not in KINDS:
        raise InputError(
            _where(spec.where, f"unknown kind {spec.kind!r} (expected one of: {', '.join(KINDS)})")
        )
    if spec.if_run_fails is not None and spec.if_run_fails not in IF_RUN_FAILS:
        raise InputError(
            _where(
                spec.where,
                f"if_run_fails {spec.if_run_fails!r}: expected one of {', '.join(IF_RUN_FAILS)}",
            )
        )
    if spec.if_run_fails is not None and spec.rule is None:
        raise InputError(_where(spec.where, "--if-run-fails needs a --rule whose runs can fail"))
    if spec.bounds is not None:
        lo, hi = spec.bounds
        if not (_finite(lo) and _finite(hi) and lo < hi):
            raise InputError(
                _where(spec.where, f"bounds {lo!r} {hi!r} must be finite with low < high")
            )
        if spec.kind not in (None, "quantity"):
            raise InputError(_where(spec.where, "--bounds applies to quantity questions only"))
    if spec.ordered and spec.kind not in (None, "categorical"):
        raise InputError(_where(spec.where, "--ordered applies to categorical questions only"))


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and abs(value) < 1e300


def _check_rule(spec: NewQuestion, kind: str, categories: Sequence[str] | None) -> None:
    if spec.rule is None:
        return
    from predtrack.rules import check_rule, parse_rule

    try:
        check_rule(parse_rule(spec.rule), kind, categories, base_dir=spec.rule_dir)
    except PredtrackError as error:
        raise InputError(_where(spec.where, str(error))) from error


# Parsed forecasts by everything that decides them: a bulk file repeats many forecasts, and
# fitting a distribution to an interval costs a quarter of a millisecond. Results are shared.
_Parses = dict[tuple[Any, ...], ParsedForecast]


def _parse(
    pred: NewPrediction,
    kind: str | None,
    question: NewQuestion | Question,
    memo: _Parses | None = None,
) -> ParsedForecast:
    bounds = question.bounds
    categories: Sequence[str] | None = question.categories
    key = (
        pred.forecast, kind, pred.level, pred.ci, pred.log, pred.normalize,
        None if categories is None else tuple(categories), bounds,
    )  # fmt: skip
    if memo is not None and key in memo:
        return memo[key]
    try:
        result = parse_forecast(
            pred.forecast,
            kind=kind,
            level=pred.level,
            ci=pred.ci,
            log=pred.log,
            normalize=pred.normalize,
            categories=categories,
            bounds=bounds,
        )
    except PredtrackError as error:
        raise InputError(_where(pred.where, str(error))) from error
    if memo is not None:
        memo[key] = result
    return result


def _prepare(
    questions: Sequence[NewQuestion],
    predictions: Sequence[NewPrediction],
    progress: Progress | None,
    memo: _Parses,
) -> list[Any]:
    """Validate everything that does not need the store, before the write lock is taken."""
    for spec in questions:
        _validate_question(spec)
    names: dict[str, str] = {}  # a bulk file names the same few forecasters many times
    for pred in predictions:
        try:
            name = names.get(pred.forecaster)
            if name is None:
                name = names[pred.forecaster] = check_name(pred.forecaster)
            pred.forecaster = name
            if pred.note is not None:
                pred.note = check_note(pred.note)
        except InputError as error:
            raise InputError(_where(pred.where, str(error))) from None
    parsed: list[Any] = [None] * len(predictions)  # by index: forecasts on new questions
    for index, pred in enumerate(predictions):
        if progress is not None and index % 1000 == 0:
            progress(index, len(predictions))
        if isinstance(pred.question, NewQuestion):
            spec = pred.question
            if spec.kind is None:
                spec.kind = infer_kind(pred.forecast, has_ci=pred.ci is not None)
            result = _parse(pred, spec.kind, spec, memo)
            if spec.kind == "categorical" and not spec.categories:
                spec.categories = list(result.categories or ())
            parsed[index] = result
    for spec in questions:
        if spec.kind is None:
            raise InputError(_where(spec.where, "give --kind, or a forecast to infer it from"))
        _validate_question(spec)
        if spec.kind == "categorical" and not spec.categories:
            raise InputError(
                _where(spec.where, "a categorical question needs its categories or a forecast")
            )
        _check_rule(spec, spec.kind, spec.categories)
    return parsed


class _Batch:
    """The rows one register call creates, with the lookups it needs inside the transaction."""

    def __init__(
        self, session: Session, by: str, descriptions: dict[str, str], root: Path | None
    ) -> None:
        self.session, self.by, self.descriptions, self.root = session, by, descriptions, root
        self.inserts: list[Any] = []
        self.by_name: dict[str, Experiment] = {}
        self.by_id: dict[int, Experiment] = {}
        self.created: list[str] = []
        self.taken: dict[int, set[str | None]] = {}
        self.new_ids: set[int] = set()
        self.resolved: dict[int, bool] = {}
        self.dirs: dict[str, str] = {}

    def stored_dir(self, folder: str) -> str:
        """A rule folder as stored (every question of a bulk file has the same one)."""
        if folder not in self.dirs:
            self.dirs[folder] = to_stored(folder, self.root)
        return self.dirs[folder]

    def experiment(self, name: str) -> Experiment:
        if name not in self.by_name:
            found = queries.experiment_named(name, session=self.session)
            if found is None:
                found = Experiment(
                    id=next_id(self.session, "experiments") + len(self.created),
                    name=name,
                    description=check_note(self.descriptions.get(name), "the description"),
                    created_at=self.session.now,
                    created_by=self.by,
                )
                self.inserts.append(found)
                self.created.append(name)
            self.by_name[name] = found
            self.by_id[found.id] = found
        return self.by_name[name]

    def experiment_of(self, question: Question) -> Experiment:
        if question.experiment_id not in self.by_id:
            found = queries.experiments(session=self.session, ids=[question.experiment_id])
            if not found:
                raise NotFoundError(
                    f"question {question.id} has no experiment {question.experiment_id}"
                )
            self.by_id.update(found)
        return self.by_id[question.experiment_id]

    def add_question(self, spec: NewQuestion, question_id: int) -> Question:
        exp = self.experiment(spec.experiment)
        if spec.key is not None:
            if exp.id not in self.taken:
                self.taken[exp.id] = queries.question_keys(exp.id, session=self.session)
            if spec.key in self.taken[exp.id]:
                raise InputError(
                    _where(
                        spec.where,
                        f"question {spec.experiment}/{spec.key} already exists; "
                        f"add a forecast with --question {spec.key}",
                    )
                )
            self.taken[exp.id].add(spec.key)
        row = Question(
            id=question_id,
            experiment_id=exp.id,
            key=spec.key,
            title=spec.title,
            kind=spec.kind or "binary",
            unit=spec.unit,
            lower=float(spec.bounds[0]) if spec.bounds else None,
            upper=float(spec.bounds[1]) if spec.bounds else None,
            categories=list(spec.categories) if spec.categories else None,
            ordered=spec.ordered,
            rule=spec.rule,
            rule_dir=self.stored_dir(spec.rule_dir) if spec.rule and spec.rule_dir else None,
            rule_hint=str(spec.rule_dir) if spec.rule and spec.rule_dir and self.root else None,
            if_run_fails=spec.if_run_fails,
            tags=list(spec.tags),
            note=spec.note,
            created_at=self.session.now,
            created_by=self.by,
        )
        self.inserts.append(row)
        self.new_ids.add(row.id)
        return row

    def find(self, ref: str, default_experiment: str | None, made: dict[int, Question]) -> Question:
        """An existing question, or one created earlier in this same batch."""
        exp_name, sep, key = ref.strip().rpartition("/")
        wanted = exp_name if sep else default_experiment
        for row in made.values():
            if row.key == key and (wanted is None or self.by_id[row.experiment_id].name == wanted):
                return row
        return queries.find_question(ref, session=self.session, experiment=default_experiment)

    def late_reason(self, question: Question) -> str | None:
        """Why a prediction recorded now is late: its experiment is locked, or it is resolved."""
        exp = self.experiment_of(question)
        if exp.locked_at is not None:
            return f"made after {exp.name} was locked at {iso_z(exp.locked_at)}"
        if question.id not in self.resolved:
            if question.id in self.new_ids:
                return None
            states = queries.resolution_states(session=self.session, question_ids=[question.id])
            self.resolved[question.id] = question.id in states
        if self.resolved[question.id]:
            return f"made after {question.label(exp.name)} was resolved"
        return None


def register(
    store: Store,
    questions: Sequence[NewQuestion],
    predictions: Sequence[NewPrediction],
    *,
    by: str,
    descriptions: dict[str, str] | None = None,
    progress: Progress | None = None,
    sign: bool = False,
    sealed: bool = False,
) -> Registered:
    """Create questions and record predictions in one transaction (and its ledger entries).

    `sign`: sign `by`'s forecasts with `by`'s registered SSH key, inside the transaction so
    that the signed time is the recorded one (others' forecasts stay unsigned, with a warning).
    `sealed`: record only commitments to the forecasts (all must be `by`'s), their openings
    going to `by`'s openings file first.
    """
    with without_gc(len(predictions) > 10_000):
        by = check_name(by)
        memo: _Parses = {}
        parsed = _prepare(questions, predictions, progress, memo)
        root = study_root(store.path)
        if sealed:
            from predtrack.proofs.seals import check_sealable

            check_sealable(by, [p.forecaster for p in predictions], sign=sign)

        def work(session: Session) -> Registered:
            batch = _Batch(session, by, descriptions or {}, root)
            made: dict[int, Question] = {}
            next_question = next_id(session, "questions")
            for spec in questions:
                made[id(spec)] = batch.add_question(spec, next_question)
                next_question += 1
            now = iso_z(session.now)
            recorded: list[RecordedPrediction] = []
            warnings: list[str] = []
            proofs: list[Any] = []  # what to sign or to seal (predtrack.proofs), in order
            next_prediction = next_id(session, "predictions")
            # Plain tuples in column order, not objects or dicts: bulk files record a million.
            rows: list[tuple[Any, ...]] = []
            per_question: dict[int, tuple[str, str | None, str]] = {}  # label, why late, kind
            for index, pred in enumerate(predictions):
                if isinstance(pred.question, NewQuestion):
                    row, result = made[id(pred.question)], parsed[index]
                else:
                    try:
                        row = batch.find(pred.question, pred.experiment, made)
                    except PredtrackError as error:
                        raise InputError(_where(pred.where, str(error))) from error
                    result = _parse(pred, row.kind, row, memo)
                known = per_question.get(row.id)
                if known is None:
                    label = row.label(batch.experiment_of(row).name)
                    known = per_question[row.id] = (label, batch.late_reason(row), row.kind)
                label, late_reason, _ = known
                if sealed or sign:
                    from predtrack.proofs.signing import proof_of

                    values = {
                        "id": next_prediction,
                        "question_id": row.id,
                        "forecaster": pred.forecaster,
                        "made_at": now,
                        "forecast": result.text,
                        "distribution": result.distribution,
                        "note": pred.note,
                        "late": late_reason is not None,
                        "late_reason": late_reason,
                    }
                    proofs.append(proof_of(values, row, label, sealed=sealed, late=late_reason))
                    if sealed:
                        warnings.extend(_where(pred.where or label, w) for w in result.warnings)
                        continue
                    batch.inserts.append(("predictions", values))  # signed inside the transaction
                    recorded.append(
                        RecordedPrediction(
                            next_prediction,
                            row.id,
                            label,
                            row.kind,
                            pred.forecaster,
                            result.text,
                            result.distribution,
                            late_reason is not None,
                            late_reason,
                        )
                    )
                else:
                    rows.append((
                        next_prediction, row.id, pred.forecaster, now, result.text,
                        result.distribution, pred.note, late_reason is not None, late_reason,
                        None, None, None,
                    ))  # fmt: skip
                next_prediction += 1
                if result.warnings:
                    warnings.extend(_where(pred.where or label, w) for w in result.warnings)
            if rows:
                batch.inserts.append(Batch("predictions", rows))
                labels = {q: (label, kind) for q, (label, _, kind) in per_question.items()}
                recorded = _Recorded(rows, labels)  # type: ignore[assignment]
            if not batch.inserts and not proofs:
                raise InputError("nothing to record")
            if sign and proofs:
                from predtrack.proofs.signing import sign_rows

                signer, unsigned = sign_rows(session, by, proofs)
                warnings += [unsigned] if unsigned else []
                for item in recorded:
                    item.signed_with = (
                        signer.fingerprint if item.forecaster == by and signer else None
                    )
            if batch.inserts:
                entry = record(
                    session,
                    "register",
                    by=by,
                    inserts=batch.inserts,
                    info={"questions": len(made), "predictions": len(recorded)},
                )
            sealed_info: list[dict[str, Any]] = []
            openings = None
            if sealed:
                from predtrack.proofs.seals import commit

                entry, sealed_info, path = commit(session, by, proofs)
                openings = str(path)
            question_info = [
                {
                    "id": q.id,
                    "label": q.label(batch.by_id[q.experiment_id].name),
                    "kind": q.kind,
                    "title": q.title,
                }
                for q in made.values()
            ]
            return Registered(
                entry.seq,
                format_head(entry.seq, entry.hash),
                batch.created,
                question_info,
                recorded,
                warnings,
                sealed_info,
                openings,
            )

        return store.write(work)
