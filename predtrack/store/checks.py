"""What every ledger entry must say, checked as the command that would have written it.

`verify` runs these checks over the whole chain and `import` refuses an export that fails any
of them, so a well-formed chain forged outside predtrack (a prediction after its experiment's
lock marked pre-registered, a probability of 7.5, a kind `banana`) cannot pass for a real store.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from itertools import pairwise
from typing import Any

from predtrack import validate
from predtrack.errors import InputError
from predtrack.store.tables import BOOL, DOMAIN, INT, REAL, TEXT, TIME, Column
from predtrack.vocabulary import FAMILIES, IF_RUN_FAILS, KINDS

ID_MAX = 2**31 - 1  # integer ids are 32-bit on PostgreSQL
COUNT_MAX = 2**63 - 1
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
BODY_KEYS = {"kind", "at", "by", "insert", "update", "info", "clock"}
# What each command calls its entries.
ENTRY_KINDS = frozenset({
    "experiment", "lock", "link", "register", "resolve", "correct", "annul",
    "seal", "reveal", "key-add", "key-rotate", "key-revoke", "anchor",
})  # fmt: skip
CLOCKS = ("local, clamped to the previous entry", "server, clamped to the previous entry")
# VARCHAR sizes of the PostgreSQL columns (a test keeps them equal to store/models.py).
SIZES = {
    "experiments": {"name": 200, "created_by": 200},
    "questions": {"key": 200, "kind": 20, "unit": 200, "created_by": 200, "if_run_fails": 20},
    "keys": {"forecaster": 200, "fingerprint": 100, "added_by": 200},
    "commitments": {"forecaster": 200, "digest": 64},
    "predictions": {"forecaster": 200},
    "artifacts": {"sha256": 64, "linked_by": 200},
    "resolutions": {
        "status": 20, "source": 20, "resolved_by": 200, "sha256": 64,
        "evidence_digest": 64, "data_time_source": 20,
    },
    "anchors": {"kind": 20, "head_hash": 64, "created_by": 200},
}  # fmt: skip
BIG = {("resolutions", "k"), ("resolutions", "n"), ("artifacts", "size")}  # 64-bit counts
# Columns naming a row of another table, which an earlier row (or entry) must have written.
REFERENCES = {
    ("questions", "experiment_id"): "experiments",
    ("keys", "supersedes"): "keys",
    ("commitments", "question_id"): "questions",
    ("predictions", "question_id"): "questions",
    ("predictions", "key_id"): "keys",
    ("predictions", "commitment_id"): "commitments",
    ("artifacts", "experiment_id"): "experiments",
    ("artifacts", "supersedes"): "artifacts",
    ("resolutions", "question_id"): "questions",
    ("resolutions", "artifact_id"): "artifacts",
    ("resolutions", "supersedes"): "resolutions",
}
# The time a row is written: always its entry's time (a prediction's, unless it was sealed).
WRITTEN_AT = {
    "experiments": "created_at",
    "questions": "created_at",
    "keys": "added_at",
    "commitments": "committed_at",
    "artifacts": "linked_at",
    "resolutions": "resolved_at",
    "anchors": "created_at",
}
# What an update may change, per table: nothing else is ever edited.
UPDATABLE = {
    "experiments": {"locked_at", "lock_reason"},
    "predictions": {"late", "late_reason"},
    "commitments": {"revealed_at"},
    "keys": {"revoked_at"},
}
_TOLERANCE = 1e-6


class Bad(Exception):
    """One check that failed: which field, and why."""

    def __init__(self, table: str, field: str | None, message: str) -> None:
        super().__init__(message)
        self.table, self.field, self.message = table, field, message


def _time(value: Any, table: str, field: str, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, str) and TIME_RE.match(value):
        try:
            datetime.fromisoformat(value)
            return
        except ValueError:
            pass
    raise Bad(
        table, field, f"{field} {_clip(value)} is not a UTC time like 2026-01-01T00:00:00.000000Z"
    )


def _clip(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _int(
    value: Any, table: str, field: str, *, optional: bool = False, top: int = ID_MAX, low: int = 1
) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= top:
        raise Bad(table, field, f"{field} {_clip(value)} is not an integer in [{low}, {top}]")


def _num(value: Any, table: str, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Bad(table, field, f"{field} {_clip(value)} is not a finite number")
    return float(value)


def _user_text(check: Callable[[Any], Any], value: Any, table: str, field: str) -> None:
    try:
        check(value)
    except InputError as error:
        raise Bad(table, field, str(error)) from None


def check_column(table: str, column: Column, value: Any) -> None:
    """A value of the type its column stores, as predtrack writes it (the same on both backends).

    JSON columns are checked whole by the commands' own checks (a distribution, an outcome)
    and, on import, by refusing a payload JSON cannot store again (NaN, invalid text).
    """
    name = column.name
    if value is None:
        if not column.nullable:
            raise Bad(table, name, f"{name} is missing")
        return
    if column.kind == INT:
        big = (table, name) in BIG
        _int(value, table, name, top=COUNT_MAX if big else ID_MAX, low=0 if big else 1)
    elif column.kind == REAL:
        if not isinstance(value, float) or not math.isfinite(value):
            raise Bad(table, name, f"{name} {_clip(value)} is not a finite decimal number")
    elif column.kind == BOOL:
        if not isinstance(value, bool):
            raise Bad(table, name, f"{name} {_clip(value)} is not true or false")
    elif column.kind == TEXT:
        limit = SIZES.get(table, {}).get(name)
        if not isinstance(value, str):
            raise Bad(table, name, f"{name} must be text, got {type(value).__name__}")
        if "\x00" in value:
            raise Bad(table, name, f"{name} contains the control character U+0000")
        if limit is not None and len(value) > limit:
            raise Bad(table, name, f"{name} is longer than {limit} characters ({len(value)})")
    elif column.kind == TIME:
        _time(value, table, name)


def _valid(kind: str, value: Any, nullable: bool, limit: int, low: int, top: int) -> bool:
    """The common case of check_column, without building any message."""
    if value is None:
        return nullable
    if kind is TEXT:
        return type(value) is str and len(value) <= limit and "\x00" not in value
    if kind is INT:
        return type(value) is int and low <= value <= top
    if kind is TIME:
        return type(value) is str and TIME_RE.match(value) is not None and _parses(value)
    if kind is BOOL:
        return type(value) is bool
    if kind is REAL:
        return type(value) is float and math.isfinite(value)
    return True


def _parses(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


# Per table: its columns with what `_valid` needs, and the columns naming other rows.
_PLANS: dict[str, tuple[tuple[Column, int, int, int], ...]] = {
    name: tuple(
        (
            c,
            SIZES.get(name, {}).get(c.name, 1 << 62),
            0 if (name, c.name) in BIG else 1,
            COUNT_MAX if (name, c.name) in BIG else ID_MAX,
        )
        for c in table.columns
    )
    for name, table in DOMAIN.items()
}
_NAMES = {name: frozenset(table.names) for name, table in DOMAIN.items()}
_TIMES_KEPT = 4096  # times already checked: a bulk write's rows share their entry's time


def _time_ok(value: str, times: set[str]) -> bool:
    """A stored time (remembered in `times` once it passed)."""
    if TIME_RE.match(value) is None or not _parses(value):
        return False
    if len(times) >= _TIMES_KEPT:
        times.clear()
    times.add(value)
    return True


def _fast_valid(name: str) -> Callable[[dict[str, Any], set[str]], bool]:
    """A function (row, times already checked) -> True when every column holds what `_valid`
    accepts, its tests inlined (a million rows would make 15 million calls); a False sends the
    row through `_valid` and `check_column`, column by column, for the message."""
    lines = ["def valid(row, times):", "    g = row.get"]
    for column, limit, low, top in _PLANS[name]:
        kind = column.kind
        if kind is TEXT:
            test = 'v.__class__ is str and "\\x00" not in v'
            test += f" and len(v) <= {limit}" if limit < 1 << 62 else ""
        elif kind is INT:
            test = f"v.__class__ is int and {low} <= v <= {top}"
        elif kind is TIME:
            test = "v.__class__ is str and (v in times or _time_ok(v, times))"
        elif kind is BOOL:
            test = "v.__class__ is bool"
        elif kind is REAL:
            test = "v.__class__ is float and _isfinite(v)"
        elif column.nullable:
            continue  # JSON: checked whole by the table's own checks
        else:
            test = "v is not None"
        if column.nullable:
            test = f"v is None or ({test})"
        lines += [f"    v = g({column.name!r})", f"    if not ({test}):", "        return False"]
    lines.append("    return True")
    namespace: dict[str, Any] = {"_time_ok": _time_ok, "_isfinite": math.isfinite}
    exec(compile("\n".join(lines) + "\n", f"<valid {name}>", "exec"), namespace)
    return namespace["valid"]


_FAST = {name: _fast_valid(name) for name in DOMAIN}
# The fields kept of each table's rows (None: all of them, for tables later rows look into).
_KEPT: dict[str, tuple[str, ...]] = {
    "predictions": ("id", "late", "late_reason"),
    "artifacts": ("id",),
    "resolutions": ("id",),
    "anchors": ("id",),
}
_REFERS = {
    name: tuple((field, target) for (source, field), target in REFERENCES.items() if source == name)
    for name in DOMAIN
}


def check_distribution(dist: Any, kind: str, categories: list[str] | None) -> None:
    """A stored distribution is one a forecast of this kind can have."""
    t = "predictions"
    if not isinstance(dist, dict) or dist.get("family") not in FAMILIES:
        raise Bad(t, "distribution", f"unknown distribution {str(dist)[:60]!r}")
    family = dist["family"]
    if kind not in FAMILIES[family]:
        raise Bad(t, "distribution", f"a {family} forecast cannot forecast a {kind} question")
    if family == "bernoulli":
        if not 0.0 <= _num(dist.get("p"), t, "distribution.p") <= 1.0:
            raise Bad(t, "distribution", f"probability {dist['p']!r} is outside [0, 1]")
    elif family in ("normal", "lognormal"):
        _num(dist.get("mu"), t, "distribution.mu")
        if _num(dist.get("sigma"), t, "distribution.sigma") <= 0:
            raise Bad(t, "distribution", "sigma must be > 0")
    elif family == "beta":
        if (
            _num(dist.get("alpha"), t, "distribution.alpha") <= 0
            or _num(dist.get("beta"), t, "distribution.beta") <= 0
        ):
            raise Bad(t, "distribution", "beta parameters must be > 0")
    elif family == "quantiles":
        levels, values = dist.get("levels"), dist.get("values")
        if (
            not isinstance(levels, list)
            or not isinstance(values, list)
            or len(levels) != len(values)
            or len(levels) < 2
        ):
            raise Bad(t, "distribution", "quantiles need matching lists of levels and values")
        lv = [_num(v, t, "distribution.levels") for v in levels]
        vv = [_num(v, t, "distribution.values") for v in values]
        if (
            not all(0 < x < 1 for x in lv)
            or any(b <= a for a, b in pairwise(lv))
            or any(b <= a for a, b in pairwise(vv))
        ):
            raise Bad(
                t, "distribution", "quantile levels and values must increase, levels inside (0, 1)"
            )
    elif family == "categorical":
        names, probs = dist.get("categories"), dist.get("probs")
        if not isinstance(names, list) or not isinstance(probs, list) or len(names) != len(probs):
            raise Bad(t, "distribution", "categories and probs must be lists of the same length")
        if categories is not None and names != categories:
            raise Bad(t, "distribution", "the forecast's categories are not the question's")
        ps = [_num(p, t, "distribution.probs") for p in probs]
        if any(not 0 <= p <= 1 for p in ps) or abs(math.fsum(ps) - 1.0) > _TOLERANCE:
            raise Bad(t, "distribution", "category probabilities must lie in [0, 1] and sum to 1")


class Checker:
    """Checks entries in chain order against what the earlier entries established."""

    def __init__(self) -> None:
        # What later entries look up: every row's id, and the fields they read or may update.
        self.rows: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in DOMAIN}
        self.experiment_names: set[str] = set()
        self.question_keys: set[tuple[int, str]] = set()
        self.good_names: set[str] = set()  # names already checked (they repeat a lot)
        self.locked: set[int] = set()  # experiment ids locked by an earlier entry
        self.resolved: set[int] = set()  # question ids resolved or annulled by an earlier entry
        self.seq = 0  # the entry being checked
        self.times: set[str] = set()  # times that passed their check (see `_fast_valid`)

    def entry(self, body: Mapping[str, Any]) -> None:
        """Check one entry's payload (and then remember what it inserted and changed)."""
        self.seq += 1
        unknown = set(body) - BODY_KEYS
        if unknown:
            raise Bad("ledger", "payload", f"unknown payload field {_clip(sorted(unknown)[0])}")
        if body.get("kind") not in ENTRY_KINDS:
            raise Bad("ledger", "kind", f"kind {_clip(body.get('kind'))} is no command's entry")
        _time(body.get("at"), "ledger", "at")
        self._name(body.get("by"), "ledger", "by")
        if body.get("clock", CLOCKS[0]) not in CLOCKS:
            raise Bad("ledger", "clock", f"clock {_clip(body.get('clock'))} is not a known clock")
        if not isinstance(body.get("info", {}), dict):
            raise Bad("ledger", "info", "info must be an object")
        inserts, updates = body.get("insert", {}), body.get("update", {})
        if not isinstance(inserts, dict) or not isinstance(updates, dict):
            raise Bad("ledger", "payload", "insert and update must be objects")
        for name in list(inserts) + list(updates):
            if name not in DOMAIN:
                raise Bad("ledger", "payload", f"unknown table {_clip(name)}")
        locked_now: set[int] = set()
        for name in DOMAIN:  # parents before children, as written
            rows = inserts.get(name, [])
            if not isinstance(rows, list):
                raise Bad(name, None, f"rows of {name} must be a list")
            if rows:
                self._insert(name, rows, body)
        for name, changes in updates.items():
            if not isinstance(changes, list):
                raise Bad(name, None, f"updates of {name} must be a list")
            for change in changes:
                self._update(name, change, body, locked_now)
        for row in inserts.get("resolutions", []):
            self.resolved.add(row["question_id"])
        self.locked |= locked_now

    def _insert(self, table: str, rows: list[Any], body: Mapping[str, Any]) -> None:
        """Check one entry's rows of a table, in order (an earlier row may be a later one's
        parent), and remember each."""
        names, fast, times, at = _NAMES[table], _FAST[table], self.times, body["at"]
        stored = self.rows[table]
        refers = [(field, target, self.rows[target]) for field, target in _REFERS[table]]
        written = WRITTEN_AT.get(table)
        own = getattr(self, f"_{table}")  # the table's own checks
        kept = _KEPT.get(table)
        for row in rows:
            if not isinstance(row, dict):
                raise Bad(table, None, f"a row of {table} must be an object")
            if not row.keys() <= names:
                unknown = sorted(set(row) - names)
                raise Bad(table, None, f"unknown column {_clip(unknown[0])}")
            if not fast(row, times):
                for column, limit, low, top in _PLANS[table]:
                    value = row.get(column.name)
                    if not _valid(column.kind, value, column.nullable, limit, low, top):
                        check_column(table, column, value)  # raises, naming the column
            row_id = row["id"]
            if row_id in stored:
                raise Bad(table, "id", f"id={row_id} inserted twice")
            for field, target, known in refers:
                value = row.get(field)
                if value is not None and value not in known:
                    self._refers(table, field, target, value)  # raises
            if written is not None and row[written] != at:
                raise Bad(
                    table,
                    written,
                    f"{written} {row[written]!r} is not the time of its entry ({at!r})",
                )
            own(row, body)
            stored[row_id] = dict(row) if kept is None else {name: row.get(name) for name in kept}

    def _name(self, value: Any, table: str, field: str) -> None:
        if type(value) is not str or value not in self.good_names:
            _user_text(validate.check_name, value, table, field)
            self.good_names.add(value)

    def _refers(
        self, table: str, field: str, target: str, value: Any, *, optional: bool = False
    ) -> dict[str, Any] | None:
        if value is None and optional:
            return None
        _int(value, table, field)
        found = self.rows[target].get(value)
        if found is None:
            raise Bad(table, field, f"{field}={value} names no {target} row written before")
        return found

    def _experiments(self, row: dict[str, Any], body: Mapping[str, Any]) -> None:
        t = "experiments"
        _user_text(lambda v: validate.check_slug(v, "experiment name"), row["name"], t, "name")
        if row["name"] in self.experiment_names:
            raise Bad(t, "name", f"experiment {row['name']!r} exists already")
        self.experiment_names.add(row["name"])
        self._name(row["created_by"], t, "created_by")
        _user_text(validate.check_note, row.get("description"), t, "description")
        if row.get("locked_at") is not None:
            raise Bad(t, "locked_at", "an experiment is created unlocked; `lock` locks it")

    def _questions(self, row: dict[str, Any], body: Mapping[str, Any]) -> None:
        t = "questions"
        if row["kind"] not in KINDS:
            raise Bad(t, "kind", f"unknown kind {_clip(row['kind'])}")
        _user_text(lambda v: validate.check_text(v, "title", limit=2000), row["title"], t, "title")
        self._name(row["created_by"], t, "created_by")
        if row.get("key") is not None:
            _user_text(lambda v: validate.check_slug(v, "question key"), row["key"], t, "key")
            if (row["experiment_id"], row["key"]) in self.question_keys:
                raise Bad(t, "key", f"question key {row['key']!r} exists already")
            self.question_keys.add((row["experiment_id"], row["key"]))
        for field, check in (("unit", validate.check_unit), ("note", validate.check_note)):
            _user_text(check, row.get(field), t, field)
        if row.get("rule") is not None:
            _user_text(validate.check_rule_text, row["rule"], t, "rule")
        if row.get("if_run_fails") not in (None, *IF_RUN_FAILS):
            raise Bad(t, "if_run_fails", f"if_run_fails {_clip(row['if_run_fails'])} is unknown")
        lo, hi = row.get("lower"), row.get("upper")
        if (lo is None) != (hi is None) or (lo is not None and not lo < hi):
            raise Bad(t, "lower", "bounds must be two finite numbers with lower < upper")
        categories = row.get("categories")
        if row["kind"] == "categorical":
            if not isinstance(categories, list) or len(categories) < 2:
                raise Bad(t, "categories", "a categorical question needs two or more categories")
            _user_text(validate.check_categories, categories, t, "categories")
            if [c.strip() for c in categories] != categories:
                raise Bad(t, "categories", "category names are stored without surrounding spaces")
        elif categories is not None:
            raise Bad(t, "categories", f"a {row['kind']} question has no categories")
        tags = row["tags"]
        if not isinstance(tags, list):
            raise Bad(t, "tags", "tags must be a list")
        _user_text(validate.check_tags, tags, t, "tags")

    def _keys(self, row: dict[str, Any], body: Mapping[str, Any]) -> None:
        from predtrack.proofs.keys import parse_public_key

        t = "keys"
        self._name(row["forecaster"], t, "forecaster")
        self._name(row["added_by"], t, "added_by")
        try:
            key = parse_public_key(row["public_key"])
        except InputError as error:
            raise Bad(t, "public_key", str(error)) from None
        if key.openssh != row["public_key"]:
            raise Bad(t, "public_key", "public_key is not stored as `TYPE BASE64`")
        if key.fingerprint != row["fingerprint"]:
            raise Bad(t, "fingerprint", f"fingerprint {_clip(row['fingerprint'])} is not its key's")
        if row.get("revoked_at") is not None:
            raise Bad(t, "revoked_at", "a key is registered unrevoked; `key revoke` revokes it")

    def _commitments(self, row: dict[str, Any], body: Mapping[str, Any]) -> None:
        t = "commitments"
        self._name(row["forecaster"], t, "forecaster")
        if not HEX64.match(row["digest"]):
            raise Bad(t, "digest", "digest must be 64 lowercase hex digits")
        if row.get("revealed_at") is not None:
            raise Bad(t, "revealed_at", "a commitment is sealed unrevealed; `reveal` reveals it")

    def _predictions(self, row: dict[str, Any], body: Mapping[str, Any]) -> None:
        t = "predictions"
        question = self.rows["questions"][row["question_id"]]
        forecaster = row["forecaster"]
        if forecaster not in self.good_names:  # the valid check made it a string
            self._name(forecaster, t, "forecaster")
        if row.get("note") is not None:
            _user_text(validate.check_note, row["note"], t, "note")
        dist, kind = row["distribution"], question["kind"]
        # The common forecast, a probability as a float, passes at once; any other the full way.
        if not (
            kind == "binary"
            and dist.__class__ is dict
            and dist.get("family") == "bernoulli"
            and dist.get("p").__class__ is float
            and 0.0 <= dist["p"] <= 1.0
        ):
            check_distribution(dist, kind, question.get("categories"))
        committed = row.get("commitment_id") is not None
        if not committed and row["made_at"] != body["at"]:
            raise Bad(
                t,
                "made_at",
                f"made_at {row['made_at']!r} is not the time of its entry ({body['at']!r})",
            )
        if (row.get("signature") is None) != (row.get("key_id") is None):
            raise Bad(t, "signature", "a signature and its key_id go together")
        after = question["experiment_id"] in self.locked or question["id"] in self.resolved
        if after and not committed and not row["late"]:
            raise Bad(
                t,
                "late",
                f"prediction id={row['id']} was recorded after its experiment was locked or its question resolved, but is not marked late",
            )

    def _resolutions(self, row: dict[str, Any], body: Mapping[str, Any]) -> None:
        t = "resolutions"
        question = self.rows["questions"][row["question_id"]]
        self._name(row["resolved_by"], t, "resolved_by")
        status, outcome = row["status"], row.get("outcome")
        if status not in ("resolved", "annulled") or row["source"] not in ("rule", "manual"):
            raise Bad(
                t, "status", f"status {_clip(status)} / source {_clip(row['source'])} unknown"
            )
        evidence = row.get("evidence")
        if evidence is not None:
            if not isinstance(evidence, list):
                raise Bad(t, "evidence", "evidence must be a list of artifact ids")
            for item in evidence:
                self._refers(t, "evidence", "artifacts", item)
        if row.get("evidence_digest") is not None and not HEX64.match(row["evidence_digest"]):
            raise Bad(t, "evidence_digest", "evidence_digest must be 64 lowercase hex digits")
        if status == "annulled":
            if outcome is not None or row.get("k") is not None or row.get("n") is not None:
                raise Bad(t, "outcome", "an annulled question has no outcome")
            return
        kind = question["kind"]
        if kind == "binary" and not isinstance(outcome, bool):
            raise Bad(t, "outcome", f"a binary outcome is true or false, not {_clip(outcome)}")
        if kind == "categorical" and outcome not in (question.get("categories") or []):
            raise Bad(t, "outcome", f"outcome {_clip(outcome)} is not a category of the question")
        if kind in ("fraction", "quantity"):
            value = _num(outcome, t, "outcome")
            lo, hi = (0.0, 1.0) if kind == "fraction" else (question["lower"], question["upper"])
            if lo is not None and hi is not None and not lo <= value <= hi:
                raise Bad(t, "outcome", f"outcome {value!r} is outside [{lo}, {hi}]")
        k, n = row.get("k"), row.get("n")
        if k is not None or n is not None:
            _int(k, t, "k", top=COUNT_MAX, low=0)
            _int(n, t, "n", top=COUNT_MAX)
            if k > n:  # type: ignore[operator]  # both checked integers above
                raise Bad(t, "k", f"k={k} exceeds n={n}")

    def _artifacts(self, row: dict[str, Any], body: Mapping[str, Any]) -> None:
        self._name(row["linked_by"], "artifacts", "linked_by")
        if row["is_uri"]:
            if row.get("sha256") is not None or row.get("size") is not None:
                raise Bad("artifacts", "sha256", "a URI is recorded without a sha256 or size")
        elif row.get("sha256") is None or row.get("size") is None:
            raise Bad("artifacts", "sha256", "a file is recorded with its sha256 and size")
        if row.get("sha256") is not None and not HEX64.match(row["sha256"]):
            raise Bad("artifacts", "sha256", "sha256 must be 64 lowercase hex digits")

    def _anchors(self, row: dict[str, Any], body: Mapping[str, Any]) -> None:
        t = "anchors"
        self._name(row["created_by"], t, "created_by")
        if row["kind"] not in ("tsa", "git"):
            raise Bad(t, "kind", f"anchor kind {_clip(row['kind'])} is neither tsa nor git")
        if not HEX64.match(row["head_hash"]):
            raise Bad(t, "head_hash", "head_hash must be 64 lowercase hex digits")
        if not row["seq"] < self.seq:
            raise Bad(t, "seq", f"seq {row['seq']} is not an entry before this one")

    def _update(
        self, table: str, change: Any, body: Mapping[str, Any], locked_now: set[int]
    ) -> None:
        if not isinstance(change, dict):
            raise Bad(table, None, f"an update of {table} must be an object")
        target = self._refers(table, "id", table, change.get("id"))
        fields = set(change) - {"id"}
        allowed = UPDATABLE.get(table, set())
        if fields - allowed:
            name = sorted(fields - allowed)[0]
            raise Bad(table, name, f"{table}.{name} is never changed after it is written")
        if fields != allowed:
            raise Bad(
                table, None, f"an update of {table} sets {' and '.join(sorted(allowed))} together"
            )
        assert target is not None
        columns = {c.name: c for c in DOMAIN[table].columns}
        for name in sorted(fields):
            value = change[name]
            if value is None or target.get(name) not in (None, False):
                raise Bad(
                    table, name, f"{table} id={target['id']}: {name} is set once, never changed"
                )
            check_column(table, columns[name], value)
            if name.endswith("_at") and value != body["at"]:
                raise Bad(
                    table, name, f"{name} {value!r} is not the time of its entry ({body['at']!r})"
                )
            if name in ("lock_reason", "late_reason"):
                _user_text(validate.check_note, value, table, name)
            if name == "late" and value is not True:
                raise Bad(table, name, "an update only ever marks a prediction late")
        target.update(change)
        if table == "experiments" and change.get("locked_at") is not None:
            locked_now.add(target["id"])
