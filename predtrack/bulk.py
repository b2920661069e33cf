"""Bulk files: a whole pre-registration in TOML or JSON, read into questions and predictions.

All or nothing: every entry is checked before anything is written, and an error names the
entry's position (`prereg.toml: question #3 (key 'flip'), forecast by bob: ...`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from predtrack.errors import InputError, PredtrackError
from predtrack.predict import DEFAULT_EXPERIMENT, NewPrediction, NewQuestion
from predtrack.validate import check_name

MAX_BYTES = 512 * 1024 * 1024  # parsed whole: a limit keeps /dev/zero from eating the memory

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
    "if_run_fails",
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
    if path.exists() and not path.is_file():
        raise InputError(f"{path} is not a regular file")
    raw = bytearray()
    limit = f"{path} is over {MAX_BYTES // 2**20} MiB: split it into several files"
    try:
        with path.open("rb") as handle:
            if os.fstat(handle.fileno()).st_size > MAX_BYTES:
                raise InputError(limit)
            # In chunks: one read of the whole limit would reserve all of it up front.
            while chunk := handle.read(1 << 20):
                raw += chunk
                if len(raw) > MAX_BYTES:
                    raise InputError(limit)
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from error
    except MemoryError:
        raise InputError(f"{path} does not fit in memory") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"{path} is not UTF-8 text") from error
    if "\x00" in text:
        raise InputError(f"{path} contains a NUL byte: not a text file")
    try:
        if path.suffix.lower() == ".json":
            document = json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_unique)
        else:
            import tomllib

            document = tomllib.loads(text)
    except RecursionError:
        raise InputError(f"{path} nests too deeply to be a bulk file") from None
    except MemoryError:
        raise InputError(f"{path} does not fit in memory") from None
    except ValueError as error:
        raise InputError(
            f"{path} is not valid {path.suffix.lstrip('.').upper() or 'TOML'}: {error}"
        ) from error
    if not isinstance(document, dict):
        raise InputError(f"{path}: the top level must be a table/object")
    return document


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different (JSON readers disagree on duplicates)."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key!r}")
            seen.add(key)
    return out


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


Parsed = tuple[list[NewQuestion], list[NewPrediction], dict[str, str]]


def load_bulk(path: Path, *, default_forecaster: str) -> Parsed:
    """Questions and predictions described by a bulk file; rules are relative to its folder."""
    from predtrack.memory import without_gc

    try:
        large = path.stat().st_size > 1_000_000
    except OSError:
        large = False  # read_bulk says why it cannot be read
    with without_gc(large):
        return load_document(
            read_bulk(path),
            name=path.name,
            rule_dir=str(path.resolve().parent),
            default_forecaster=default_forecaster,
        )


def load_document(
    document: dict[str, Any], *, name: str, rule_dir: str, default_forecaster: str
) -> Parsed:
    """Questions and predictions of a bulk document (parsed TOML/JSON, or a dict from Python)."""
    if not isinstance(document, dict):
        raise InputError(f"{name}: the top level must be a table/object")
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
            try:
                bounds = (float(lo), float(hi))
            except OverflowError:
                raise InputError(f"{where}: bounds are too large to be stored") from None
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
            if_run_fails=_optional_text(entry, "if_run_fails", where),
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


_NAMES: dict[str, str] = {}  # forecaster names already checked: a file repeats a few of them


def _checked_name(author: Any, where: str) -> str:
    if author.__class__ is str and author in _NAMES:
        return _NAMES[author]
    try:
        name = check_name(_text(author, where, "forecaster"))
    except PredtrackError as error:
        raise InputError(f"{where}: {error}") from error
    if author.__class__ is str and len(_NAMES) < 10_000:
        _NAMES[author] = name
    return name
