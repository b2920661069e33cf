"""One validation layer for user text: names, keys, titles, units, tags, categories, notes.

The same rules on SQLite and PostgreSQL: no NUL or other control characters (a stored title
must not be able to drive a colleague's terminal), lengths within the PostgreSQL column sizes,
no bidirectional overrides or zero-width characters in names and keys, valid UTF-8 only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from predtrack.errors import InputError
from predtrack.vocabulary import RESERVED

NAME_MAX = 200  # VARCHAR(200) columns: forecaster, experiment and key names, unit
TITLE_MAX = 2000
NOTE_MAX = 20_000
TAG_MAX = 100
RULE_MAX = 4000

# C0 and C1 control characters (tab and newline allowed only where a text may have lines).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Bidirectional overrides/isolates and zero-width characters: invisible, or reorder what is shown.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_SLUG_RE = re.compile(r"^(?!\d+$)[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def _describe(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def check_text(
    value: object, what: str, *, limit: int, lines: bool = False, empty: bool = False
) -> str:
    """A text field: a string, valid UTF-8, no control characters, at most `limit` characters."""
    if not isinstance(value, str):
        raise InputError(f"{what} must be text, got {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InputError(f"{what} is not valid Unicode text ({error.reason})") from None
    bad = (_CONTROL if lines else _CONTROL_LINE).search(value)
    if bad:
        raise InputError(f"{what} contains the control character {_describe(bad.group())}")
    if not empty and not value.strip():
        raise InputError(f"{what} is empty")
    if len(value) > limit:
        raise InputError(f"{what} is longer than {limit} characters ({len(value)})")
    return value


def check_visible(value: str, what: str) -> str:
    """A name or key that shows as what it is: no bidi overrides or zero-width characters."""
    bad = _INVISIBLE.search(value)
    if bad:
        raise InputError(
            f"{what} {value!r} contains the invisible or reordering character {_describe(bad.group())}"
        )
    return value


def check_name(name: object, what: str = "forecaster") -> str:
    """A usable forecaster name: one visible line of 1 to 200 characters, not reserved."""
    clean = check_text(name, f"{what} name", limit=NAME_MAX).strip()
    if clean[:1] in ("/", "\\") or "\t" in clean:
        raise InputError(f"{what} name {clean!r} must not start with a slash")
    check_visible(clean, f"{what} name")
    if clean.lower() in RESERVED:
        raise InputError(f"{what} name {clean!r} is reserved for a virtual forecaster")
    return clean


def check_slug(value: object, what: str) -> str:
    """An experiment name or question key: letters, digits, `_.-`, not all digits."""
    if not isinstance(value, str) or not _SLUG_RE.match(value):
        shown = value if isinstance(value, str) else type(value).__name__
        raise InputError(
            f"{what} {shown!r} must be 1-100 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit and not all digits"
        )
    return value


def check_title(value: object, what: str = "the question title") -> str:
    """A question title: one line of visible text."""
    return check_text(value, what, limit=TITLE_MAX).strip()


def check_note(value: object, what: str = "the note") -> str | None:
    """An optional free text with lines (rationale, description, reason)."""
    if value is None:
        return None
    return check_text(value, what, limit=NOTE_MAX, lines=True, empty=True)


def check_unit(value: object) -> str | None:
    """An optional unit, e.g. `maze size`."""
    if value is None:
        return None
    return check_visible(check_text(value, "unit", limit=NAME_MAX).strip(), "unit")


def check_tags(values: Iterable[object]) -> list[str]:
    """Tags: visible text without commas, at most 100 characters each."""
    out = []
    for value in values:
        tag = check_text(value, "tag", limit=TAG_MAX).strip()
        if "," in tag:
            raise InputError(f"tag {tag!r} must not contain commas")
        out.append(check_visible(tag, "tag"))
    return out


def check_categories(values: Sequence[object]) -> list[str]:
    """Category names: non-empty, visible, unique."""
    out: list[str] = []
    for value in values:
        name = check_visible(
            check_text(value, "category name", limit=NAME_MAX).strip(), "category name"
        )
        if name in out:
            raise InputError(f"category {name!r} appears twice")
        out.append(name)
    return out


def check_rule_text(value: object) -> str:
    """The text of a resolution rule (its grammar is checked by the rules package)."""
    return check_text(value, "rule", limit=RULE_MAX).strip()


def display(text: object) -> str:
    """Stored text made safe for a terminal: control characters shown as escapes."""
    value = "" if text is None else str(text)
    return _CONTROL_LINE.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
