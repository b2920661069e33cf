"""What every ledger entry must say, checked as the command that would have written it.

`verify` runs these checks over the whole chain and `import` refuses an export that fails any
of them, so a well-formed chain forged outside predtrack (a prediction after its experiment's
lock marked pre-registered, a probability of 7.5, a kind `banana`) cannot pass for a real store.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from itertools import pairwise
from typing import Any

from predtrack.errors import InputError
from predtrack.store.tables import DOMAIN
from predtrack.validate import check_name, check_slug, check_text
from predtrack.vocabulary import FAMILIES, KINDS

ID_MAX = 2**31 - 1  # integer ids are 32-bit on PostgreSQL
COUNT_MAX = 2**63 - 1
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
BODY_KEYS = {"kind", "at", "by", "insert", "update", "info", "clock"}
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
    if not isinstance(value, str) or not TIME_RE.match(value):
        raise Bad(
            table, field, f"{field} {value!r} is not a UTC time like 2026-01-01T00:00:00.000000Z"
        )


def _int(
    value: Any, table: str, field: str, *, optional: bool = False, top: int = ID_MAX, low: int = 1
) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= top:
        raise Bad(table, field, f"{field} {value!r} is not an integer in [{low}, {top}]")


def _num(value: Any, table: str, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Bad(table, field, f"{field} {value!r} is not a finite number")
    return float(value)


def _user_text(check: Callable[[Any], Any], value: Any, table: str, field: str) -> None:
    try:
        check(value)
    except InputError as error:
        raise Bad(table, field, str(error)) from None


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
        self.rows: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in DOMAIN}
        self.locked: set[int] = set()  # experiment ids locked by an earlier entry
        self.resolved: set[int] = set()  # question ids resolved or annulled by an earlier entry

    def entry(self, body: Mapping[str, Any]) -> None:
        """Check one entry's payload (and then remember what it inserted and changed)."""
        unknown = set(body) - BODY_KEYS
        if unknown:
            raise Bad("ledger", "payload", f"unknown payload field {sorted(unknown)[0]!r}")
        _time(body.get("at"), "ledger", "at")
        _user_text(check_name, body.get("by"), "ledger", "by")
        inserts, updates = body.get("insert", {}), body.get("update", {})
        if not isinstance(inserts, dict) or not isinstance(updates, dict):
            raise Bad("ledger", "payload", "insert and update must be objects")
        for name in list(inserts) + list(updates):
            if name not in DOMAIN:
                raise Bad("ledger", "payload", f"unknown table {name!r}")
        locked_now: set[int] = set()
        for name in DOMAIN:  # parents before children, as written
            rows = inserts.get(name, [])
            if not isinstance(rows, list):
                raise Bad(name, None, f"rows of {name} must be a list")
            for row in rows:
                self._insert(name, row, body)
        for name, changes in updates.items():
            if not isinstance(changes, list):
                raise Bad(name, None, f"updates of {name} must be a list")
            for change in changes:
                self._update(name, change, locked_now)
        for row in inserts.get("resolutions", []):
            self.resolved.add(row["question_id"])
        self.locked |= locked_now

    def _insert(self, table: str, row: Any, body: Mapping[str, Any]) -> None:
        if not isinstance(row, dict):
            raise Bad(table, None, f"a row of {table} must be an object")
        columns = {c.name: c for c in DOMAIN[table].columns}
        unknown = set(row) - set(columns)
        if unknown:
            raise Bad(table, sorted(unknown)[0], f"unknown column {sorted(unknown)[0]!r}")
        missing = [
            n
            for n, c in columns.items()
            if not c.nullable
            and row.get(n) is None
            and n not in ("ordered", "late", "is_uri", "tags")
        ]
        if missing:
            raise Bad(table, missing[0], f"{missing[0]} is missing")
        _int(row.get("id"), table, "id")
        if row["id"] in self.rows[table]:
            raise Bad(table, "id", f"id={row['id']} inserted twice")
        for name, column in columns.items():
            if column.kind == "time":
                _time(row.get(name), table, name, optional=column.nullable)
        getattr(self, f"_{table}", lambda r, b: None)(row, body)
        # Nothing reads a prediction back but its updates: an empty dict each, not a copy
        # (a million copies were most of verify's memory).
        self.rows[table][row["id"]] = {} if table == "predictions" else dict(row)

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
        _user_text(
            lambda v: check_slug(v, "experiment name"), row.get("name"), "experiments", "name"
        )
        if any(e["name"] == row["name"] for e in self.rows["experiments"].values()):
            raise Bad("experiments", "name", f"experiment {row['name']!r} exists already")
        _user_text(check_name, row.get("created_by"), "experiments", "created_by")

    def _questions(self, row: dict[str, Any], body: Mapping[str, Any]) -> None:
        t = "questions"
        self._refers(t, "experiment_id", "experiments", row.get("experiment_id"))
        if row.get("kind") not in KINDS:
            raise Bad(t, "kind", f"unknown kind {row.get('kind')!r}")
        _user_text(lambda v: check_text(v, "title", limit=2000), row.get("title"), t, "title")
        if row.get("key") is not None:
            _user_text(lambda v: check_slug(v, "question key"), row["key"], t, "key")
        lo, hi = row.get("lower"), row.get("upper")
        if (lo is None) != (hi is None) or (
            lo is not None and not _num(lo, t, "lower") < _num(hi, t, "upper")
        ):
            raise Bad(t, "lower", "bounds must be two finite numbers with lower < upper")
        categories = row.get("categories")
        if row["kind"] == "categorical":
            if (
                not isinstance(categories, list)
                or len(categories) < 2
                or len(set(categories)) != len(categories)
                or not all(isinstance(c, str) and c.strip() for c in categories)
            ):
                raise Bad(
                    t,
                    "categories",
                    "a categorical question needs two or more distinct, non-empty category names",
                )
        elif categories is not None:
            raise Bad(t, "categories", f"a {row['kind']} question has no categories")
        if not isinstance(row.get("tags", []), list):
            raise Bad(t, "tags", "tags must be a list")

    def _predictions(self, row: dict[str, Any], body: Mapping[str, Any]) -> None:
        t = "predictions"
        question = self._refers(t, "question_id", "questions", row.get("question_id"))
        assert question is not None
        _user_text(check_name, row.get("forecaster"), t, "forecaster")
        check_distribution(row.get("distribution"), question["kind"], question.get("categories"))
        committed = row.get("commitment_id") is not None
        if not committed and row.get("made_at") != body.get("at"):
            raise Bad(
                t,
                "made_at",
                f"made_at {row.get('made_at')!r} is not the time of its entry ({body.get('at')!r})",
            )
        after = question["experiment_id"] in self.locked or question["id"] in self.resolved
        if after and not committed and not row.get("late"):
            raise Bad(
                t,
                "late",
                f"prediction id={row['id']} was recorded after its experiment was locked or its question resolved, but is not marked late",
            )

    def _resolutions(self, row: dict[str, Any], body: Mapping[str, Any]) -> None:
        t = "resolutions"
        question = self._refers(t, "question_id", "questions", row.get("question_id"))
        assert question is not None
        status, outcome = row.get("status"), row.get("outcome")
        if status not in ("resolved", "annulled") or row.get("source") not in ("rule", "manual"):
            raise Bad(t, "status", f"status {status!r} / source {row.get('source')!r} unknown")
        if status == "annulled":
            return
        kind = question["kind"]
        if kind == "binary" and not isinstance(outcome, bool):
            raise Bad(t, "outcome", f"a binary outcome is true or false, not {outcome!r}")
        if kind == "categorical" and outcome not in (question.get("categories") or []):
            raise Bad(t, "outcome", f"outcome {outcome!r} is not a category of the question")
        if kind in ("fraction", "quantity"):
            value = _num(outcome, t, "outcome")
            lo, hi = (
                (0.0, 1.0) if kind == "fraction" else (question.get("lower"), question.get("upper"))
            )
            if lo is not None and hi is not None and not lo <= value <= hi:
                raise Bad(t, "outcome", f"outcome {value!r} is outside [{lo}, {hi}]")
        k, n = row.get("k"), row.get("n")
        if k is not None or n is not None:
            _int(k, t, "k", top=COUNT_MAX, low=0)
            _int(n, t, "n", top=COUNT_MAX)
            if k > n:  # type: ignore[operator]  # both checked integers above
                raise Bad(t, "k", f"k={k} exceeds n={n}")

    def _artifacts(self, row: dict[str, Any], body: Mapping[str, Any]) -> None:
        self._refers("artifacts", "experiment_id", "experiments", row.get("experiment_id"))
        if row.get("sha256") is not None and not HEX64.match(str(row["sha256"])):
            raise Bad("artifacts", "sha256", "sha256 must be 64 lowercase hex digits")
        _int(row.get("size"), "artifacts", "size", optional=True, top=COUNT_MAX, low=0)

    def _update(self, table: str, change: Any, locked_now: set[int]) -> None:
        if not isinstance(change, dict):
            raise Bad(table, None, f"an update of {table} must be an object")
        target = self._refers(table, "id", table, change.get("id"))
        fields = set(change) - {"id"}
        allowed = UPDATABLE.get(table, set())
        if fields - allowed:
            raise Bad(
                table,
                sorted(fields - allowed)[0],
                f"{table}.{sorted(fields - allowed)[0]} is never changed after it is written",
            )
        for name in fields:
            if name.endswith("_at"):
                _time(change[name], table, name, optional=True)
        assert target is not None
        target.update(change)
        if table == "experiments" and change.get("locked_at") is not None:
            locked_now.add(target["id"])
