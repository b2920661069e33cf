"""Registering questions and predictions, one at a time or from a bulk file, in one transaction."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from predtrack.errors import InputError, NotFoundError, PredtrackError
from predtrack.forecast import KINDS, ParsedForecast, infer_kind, parse_forecast
from predtrack.identity import check_name
from predtrack.store.engine import Store
from predtrack.store.ledger import format_head, next_id, record
from predtrack.store.models import Experiment, Prediction, Question
from predtrack.store.types import iso_z

# A progress callback: (done, total), for a bar on a terminal.
Progress = Callable[[int, int], None]
_SLUG_RE = re.compile(r"^(?!\d+$)[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
DEFAULT_EXPERIMENT = "default"


def check_slug(value: str, what: str) -> str:
    """An experiment name or question key: letters, digits, `_.-`, not all digits."""
    if not _SLUG_RE.match(value or ""):
        raise InputError(
            f"{what} {value!r} must be 1-100 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit and not all digits"
        )
    return value


@dataclass
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
    rule_dir: str | None = None
    where: str = ""


@dataclass
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
class RecordedPrediction:
    id: int
    question_id: int
    question: str
    kind: str
    forecaster: str
    forecast: str
    distribution: dict[str, Any]
    late: bool
    late_reason: str | None


@dataclass
class Registered:
    """What one register call wrote."""

    seq: int
    head: str
    experiments: list[str] = field(default_factory=list)
    questions: list[dict[str, Any]] = field(default_factory=list)
    predictions: list[RecordedPrediction] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _where(label: str, message: str) -> str:
    return f"{label}: {message}" if label else message


def question_label(question: Any, experiment: str) -> str:
    """`experiment/key`, or `#id` for a question without a key."""
    return f"{experiment}/{question.key}" if question.key else f"{experiment}#{question.id}"


def find_question(session: Session, ref: str, experiment: str | None = None) -> Question:
    """A question by id, `experiment/key`, or key (unique, or within `experiment`)."""
    ref = str(ref).strip()
    if ref.isdigit():
        found = session.get(Question, int(ref))
        if found is None:
            raise NotFoundError(f"no question with id {ref}")
        return found
    exp_name, sep, key = ref.rpartition("/")
    if not sep:
        exp_name, key = (experiment or ""), ref
    query = select(Question, Experiment.name).join(Experiment).where(Question.key == key)
    if exp_name:
        query = query.where(Experiment.name == exp_name)
    matches = session.exec(query).all()
    if not matches and experiment and not sep:
        matches = session.exec(
            select(Question, Experiment.name).join(Experiment).where(Question.key == key)
        ).all()
    if not matches:
        where = f" in experiment {exp_name!r}" if exp_name else ""
        raise NotFoundError(f"no question with key {key!r}{where}")
    if len(matches) > 1:
        names = ", ".join(sorted(f"{name}/{key}" for _, name in matches))
        raise InputError(f"key {key!r} is used in several experiments; write one of: {names}")
    return matches[0][0]


def _validate_question(spec: NewQuestion) -> None:
    check_slug(spec.experiment, "experiment name")
    if spec.key is not None:
        check_slug(spec.key, "question key")
    if not spec.title or not spec.title.strip():
        raise InputError(_where(spec.where, "the question title is empty"))
    if len(spec.title) > 2000:
        raise InputError(_where(spec.where, "the question title is longer than 2000 characters"))
    if spec.kind is not None and spec.kind not in KINDS:
        raise InputError(
            _where(spec.where, f"unknown kind {spec.kind!r} (expected one of: {', '.join(KINDS)})")
        )
    for tag in spec.tags:
        if not isinstance(tag, str) or not tag.strip() or "," in tag or len(tag) > 100:
            raise InputError(
                _where(spec.where, f"tag {tag!r} must be non-empty text without commas")
            )
    if spec.bounds is not None:
        lo, hi = spec.bounds
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise InputError(
                _where(spec.where, f"bounds {lo:g} {hi:g} must be finite with low < high")
            )
        if spec.kind not in (None, "quantity"):
            raise InputError(_where(spec.where, "--bounds applies to quantity questions only"))
    if spec.ordered and spec.kind not in (None, "categorical"):
        raise InputError(_where(spec.where, "--ordered applies to categorical questions only"))


def _check_rule(spec: NewQuestion, kind: str, categories: Sequence[str] | None) -> None:
    if spec.rule is None:
        return
    from predtrack.rules import check_rule_for_kind, parse_rule

    try:
        check_rule_for_kind(parse_rule(spec.rule), kind=kind, categories=categories)
    except PredtrackError as error:
        raise InputError(_where(spec.where, str(error))) from error


def _parse(
    pred: NewPrediction, kind: str | None, question: NewQuestion | Question
) -> ParsedForecast:
    bounds = None
    categories: Sequence[str] | None = None
    if isinstance(question, Question):
        if question.lower is not None and question.upper is not None:
            bounds = (question.lower, question.upper)
        categories = question.categories
    else:
        bounds = question.bounds
        categories = question.categories
    try:
        return parse_forecast(
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


def register(
    store: Store,
    questions: Sequence[NewQuestion],
    predictions: Sequence[NewPrediction],
    *,
    by: str,
    descriptions: dict[str, str] | None = None,
    progress: Progress | None = None,
) -> Registered:
    """Create questions and record predictions in one transaction with one ledger entry."""
    for spec in questions:
        _validate_question(spec)
    for pred in predictions:
        check_name(pred.forecaster)
    # Forecasts on new questions do not depend on the database: parse them before taking
    # the write lock, so a large file holds the lock only for the inserts.
    parsed: dict[int, ParsedForecast] = {}
    for index, pred in enumerate(predictions):
        if progress is not None and index % 1000 == 0:
            progress(index, len(predictions))
        if isinstance(pred.question, NewQuestion):
            spec = pred.question
            if spec.kind is None:
                spec.kind = infer_kind(pred.forecast, has_ci=pred.ci is not None)
            result = _parse(pred, spec.kind, spec)
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

    def work(session: Session) -> Registered:
        now = datetime.now(UTC)
        inserts: list[Any] = []
        experiments: dict[str, Experiment] = {}
        by_id: dict[int, Experiment] = {}
        created_experiments: list[str] = []

        def experiment(name: str) -> Experiment:
            if name not in experiments:
                found = session.exec(select(Experiment).where(Experiment.name == name)).first()
                if found is None:
                    check_slug(name, "experiment name")
                    found = Experiment(
                        id=next_id(session, Experiment) + len(created_experiments),
                        name=name,
                        description=(descriptions or {}).get(name),
                        created_at=now,
                        created_by=by,
                    )
                    inserts.append(found)
                    created_experiments.append(name)
                experiments[name] = found
                by_id[found.id] = found
            return experiments[name]

        def experiment_of(row: Question) -> Experiment:
            if row.experiment_id not in by_id:
                found = session.get(Experiment, row.experiment_id)
                if found is None:
                    raise NotFoundError(f"question {row.id} has no experiment {row.experiment_id}")
                by_id[found.id] = found
            return by_id[row.experiment_id]

        question_rows: dict[int, Question] = {}
        taken: dict[int, set[str | None]] = {}  # question keys per experiment, this batch included
        question_info: list[dict[str, Any]] = []
        next_question = next_id(session, Question)
        for spec in questions:
            exp = experiment(spec.experiment)
            if spec.key is not None:
                if exp.id not in taken:
                    taken[exp.id] = set(
                        session.exec(select(Question.key).where(Question.experiment_id == exp.id))
                    )
                clash = spec.key in taken[exp.id]
                taken[exp.id].add(spec.key)
                if clash:
                    raise InputError(
                        _where(
                            spec.where,
                            f"question {spec.experiment}/{spec.key} already exists; "
                            f"add a forecast with --question {spec.key}",
                        )
                    )
            row = Question(
                id=next_question,
                experiment_id=exp.id,
                key=spec.key,
                title=spec.title.strip(),
                kind=spec.kind or "binary",
                unit=spec.unit,
                lower=spec.bounds[0] if spec.bounds else None,
                upper=spec.bounds[1] if spec.bounds else None,
                categories=list(spec.categories) if spec.categories else None,
                ordered=spec.ordered,
                rule=spec.rule,
                rule_dir=spec.rule_dir if spec.rule else None,
                tags=[t.strip() for t in spec.tags],
                note=spec.note,
                created_at=now,
                created_by=by,
            )
            next_question += 1
            question_rows[id(spec)] = row
            inserts.append(row)
            question_info.append(
                {
                    "id": row.id,
                    "label": question_label(row, exp.name),
                    "kind": row.kind,
                    "title": row.title,
                }
            )

        def resolve_ref(ref: str, default_experiment: str | None) -> Question:
            """An existing question, or one created earlier in this same batch."""
            text = ref.strip()
            exp_name, sep, key = text.rpartition("/")
            wanted = exp_name if sep else default_experiment
            for row in question_rows.values():
                if row.key == key and (wanted is None or by_id[row.experiment_id].name == wanted):
                    return row
            return find_question(session, text, default_experiment)

        recorded: list[RecordedPrediction] = []
        warnings: list[str] = []
        next_prediction = next_id(session, Prediction)
        for index, pred in enumerate(predictions):
            if isinstance(pred.question, NewQuestion):
                row = question_rows[id(pred.question)]
                result = parsed[index]
            else:
                try:
                    row = resolve_ref(pred.question, pred.experiment)
                except PredtrackError as error:
                    raise InputError(_where(pred.where, str(error))) from error
                result = _parse(pred, row.kind, row)
            exp = experiment_of(row)
            late_reason = None
            if exp.locked_at is not None and now >= exp.locked_at:
                late_reason = f"made after {exp.name} was locked at {iso_z(exp.locked_at)}"
            # A plain row, not an ORM object: bulk files record 100,000 of them.
            values: dict[str, Any] = {
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
            next_prediction += 1
            inserts.append((Prediction, values))
            label = question_label(row, exp.name)
            recorded.append(
                RecordedPrediction(
                    values["id"],
                    row.id,
                    label,
                    row.kind,
                    pred.forecaster,
                    result.text,
                    result.distribution,
                    values["late"],
                    late_reason,
                )
            )
            warnings.extend(_where(pred.where or label, w) for w in result.warnings)
        if not inserts:
            raise InputError("nothing to record")
        entry = record(
            session,
            "register",
            at=now,
            by=by,
            inserts=inserts,
            info={"questions": len(question_rows), "predictions": len(recorded)},
        )
        return Registered(
            seq=entry.seq,
            head=format_head(entry.seq, entry.hash),
            experiments=created_experiments,
            questions=question_info,
            predictions=recorded,
            warnings=warnings,
        )

    return store.write(work)


# --- bulk files ---

_QUESTION_FIELDS = {
    "key",
    "title",
    "kind",
    "unit",
    "bounds",
    "tags",
    "note",
    "rule",
    "categories",
    "ordered",
    "experiment",
    "forecast",
    "forecasts",
    "by",
    "level",
    "ci",
    "log",
    "normalize",
}
_PREDICTION_FIELDS = {
    "question",
    "forecast",
    "by",
    "level",
    "ci",
    "log",
    "normalize",
    "note",
    "experiment",
}
_TOP_FIELDS = {
    "experiment",
    "forecaster",
    "description",
    "question",
    "questions",
    "prediction",
    "predictions",
}


def _text(value: Any, where: str, name: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InputError(f"{where}: {name} must be text, got {json.dumps(value, default=str)[:60]}")
    return value if isinstance(value, str) else repr(value)


def _optional_text(entry: dict[str, Any], name: str, where: str) -> str | None:
    value = entry.get(name)
    return None if value is None else _text(value, where, name)


def _pair(value: Any, where: str, name: str) -> tuple[Any, Any]:
    if not isinstance(value, list) or len(value) != 2:
        raise InputError(f"{where}: {name} must be a list of two numbers")
    return value[0], value[1]


def _options(entry: dict[str, Any], where: str) -> dict[str, Any]:
    ci = entry.get("ci")
    level = entry.get("level")
    if level is not None and (isinstance(level, bool) or not isinstance(level, (str, int, float))):
        raise InputError(f"{where}: level must be a number like 0.9 or text like '90%'")
    return {
        "level": level,
        "ci": tuple(_text(v, where, "ci") for v in _pair(ci, where, "ci"))
        if ci is not None
        else None,
        "log": _flag(entry, "log", where),
        "normalize": _flag(entry, "normalize", where),
    }


def _flag(entry: dict[str, Any], name: str, where: str) -> bool:
    value = entry.get(name, False)
    if not isinstance(value, bool):
        raise InputError(f"{where}: {name} must be true or false")
    return value


def read_bulk(path: Path) -> dict[str, Any]:
    """The parsed TOML or JSON document of a bulk file."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from error
    try:
        if path.suffix.lower() == ".json":
            document = json.loads(raw.decode("utf-8-sig"), parse_constant=_refuse_constant)
        else:
            import tomllib

            document = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise InputError(f"{path} is not UTF-8 text") from error
    except ValueError as error:
        raise InputError(
            f"{path} is not valid {path.suffix.lstrip('.').upper() or 'TOML'}: {error}"
        ) from error
    if not isinstance(document, dict):
        raise InputError(f"{path}: the top level must be a table/object")
    return document


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def load_bulk(
    path: Path, *, default_forecaster: str
) -> tuple[list[NewQuestion], list[NewPrediction], dict[str, str]]:
    """Questions and predictions described by a bulk file (DESIGN §3), positions kept for errors."""
    document = read_bulk(path)
    name = path.name
    unknown = set(document) - _TOP_FIELDS
    if unknown:
        raise InputError(f"{name}: unknown top-level field {sorted(unknown)[0]!r}")
    experiment = _text(document.get("experiment", DEFAULT_EXPERIMENT), name, "experiment")
    forecaster = check_name(
        _text(document.get("forecaster", default_forecaster), name, "forecaster")
    )
    descriptions = {}
    if document.get("description") is not None:
        descriptions[experiment] = _text(document["description"], name, "description")
    rule_dir = str(path.resolve().parent)
    q_entries = document.get("question", document.get("questions", []))
    p_entries = document.get("prediction", document.get("predictions", []))
    if not isinstance(q_entries, list) or not isinstance(p_entries, list):
        raise InputError(f"{name}: [[question]] and [[prediction]] must be arrays of tables")
    questions: list[NewQuestion] = []
    predictions: list[NewPrediction] = []
    for number, entry in enumerate(q_entries, start=1):
        where = f"{name}: question #{number}"
        if not isinstance(entry, dict):
            raise InputError(f"{where}: must be a table")
        if entry.get("key") is not None:
            where += f" (key {entry['key']!r})"
        extra = set(entry) - _QUESTION_FIELDS
        if extra:
            raise InputError(f"{where}: unknown field {sorted(extra)[0]!r}")
        if "title" not in entry:
            raise InputError(f"{where}: title is missing")
        tags = entry.get("tags", [])
        if isinstance(tags, str):
            tags = [tags]
        if not isinstance(tags, list):
            raise InputError(f"{where}: tags must be a list of text")
        bounds = None
        if entry.get("bounds") is not None:
            lo, hi = _pair(entry["bounds"], where, "bounds")
            if (
                isinstance(lo, bool)
                or isinstance(hi, bool)
                or not all(isinstance(v, (int, float)) for v in (lo, hi))
            ):
                raise InputError(f"{where}: bounds must be two numbers")
            bounds = (float(lo), float(hi))
        categories = entry.get("categories")
        if categories is not None and (
            not isinstance(categories, list) or not all(isinstance(c, str) for c in categories)
        ):
            raise InputError(f"{where}: categories must be a list of names")
        spec = NewQuestion(
            experiment=_text(entry.get("experiment", experiment), where, "experiment"),
            title=_text(entry["title"], where, "title"),
            kind=_optional_text(entry, "kind", where),
            key=_optional_text(entry, "key", where),
            unit=_optional_text(entry, "unit", where),
            tags=[_text(t, where, "tag") for t in tags],
            note=_optional_text(entry, "note", where),
            bounds=bounds,
            ordered=_flag(entry, "ordered", where),
            categories=categories,
            rule=_optional_text(entry, "rule", where),
            rule_dir=rule_dir,
            where=where,
        )
        questions.append(spec)
        options = _options(entry, where)
        forecasts: list[tuple[str, Any]] = []
        if entry.get("forecast") is not None:
            author = _text(entry.get("by", forecaster), where, "by")
            forecasts.append((author, entry["forecast"]))
        if entry.get("forecasts") is not None:
            if not isinstance(entry["forecasts"], dict):
                raise InputError(f'{where}: forecasts must be a table of forecaster = "forecast"')
            forecasts.extend(entry["forecasts"].items())
        for author, text in forecasts:
            at = f"{where}, forecast by {author}"
            predictions.append(
                NewPrediction(
                    question=spec,
                    forecaster=_checked_name(author, at),
                    forecast=_text(text, at, "forecast"),
                    where=at,
                    **options,
                )
            )
    for number, entry in enumerate(p_entries, start=1):
        where = f"{name}: prediction #{number}"
        if not isinstance(entry, dict):
            raise InputError(f"{where}: must be a table")
        extra = set(entry) - _PREDICTION_FIELDS
        if extra:
            raise InputError(f"{where}: unknown field {sorted(extra)[0]!r}")
        for needed in ("question", "forecast"):
            if entry.get(needed) is None:
                raise InputError(f"{where}: {needed} is missing")
        author = _text(entry.get("by", forecaster), where, "by")
        predictions.append(
            NewPrediction(
                question=_text(entry["question"], where, "question"),
                forecaster=_checked_name(author, where),
                forecast=_text(entry["forecast"], where, "forecast"),
                note=_optional_text(entry, "note", where),
                experiment=_text(entry.get("experiment", experiment), where, "experiment"),
                where=where,
                **_options(entry, where),
            )
        )
    if not questions and not predictions:
        raise InputError(f"{name}: no [[question]] or [[prediction]] entries")
    return questions, predictions, descriptions


def _checked_name(author: Any, where: str) -> str:
    try:
        return check_name(_text(author, where, "forecaster"))
    except PredtrackError as error:
        raise InputError(f"{where}: {error}") from error
