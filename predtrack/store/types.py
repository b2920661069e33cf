"""Column types whose stored form is identical on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.types import String, Text, TypeDecorator

ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def iso_z(value: datetime) -> str:
    """Format an aware datetime as UTC ISO-8601 with microseconds and a `Z`."""
    if value.tzinfo is None or value.utcoffset() is None:
        # Naive datetimes are ambiguous (SQLite hands them back naive): refuse them.
        raise ValueError(f"naive datetime {value!r}: predtrack stores aware UTC times only")
    return value.astimezone(UTC).strftime(ISO_FORMAT)


def parse_iso_z(text: str) -> datetime:
    """Parse the stored `...Z` form back into an aware UTC datetime."""
    # fromisoformat reads the `Z` suffix since Python 3.11 and is 25x faster than strptime.
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"stored time {text!r} has no UTC marker")
    return value


def canonical_json(value: Any) -> str:
    """The canonical JSON of DESIGN §6: sorted keys, no whitespace, UTF-8, floats in repr form."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as ISO-8601 UTC text (`2026-11-25T12:00:00.000000Z`)."""

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return iso_z(value)

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return parse_iso_z(value)


class JSONText(TypeDecorator[Any]):
    """A JSON value stored as canonical JSON text."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return canonical_json(value)

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        return json.loads(value)
