"""Anchoring the ledger head outside the store (RFC 3161 tokens, git commits), and checking the anchors.

An anchor over head N proves that entries 1..N existed when the anchor was made: an RFC 3161
token by the authority's signed clock, a git commit only by the committer's clock (worth
something once pushed somewhere trusted). The token and its certificates are kept in the
store, so `verify` checks them offline; a history rewritten after the anchor no longer has
the anchored digest at entry N, however consistently its hashes were recomputed.
"""

from __future__ import annotations

import base64
import binascii
import math
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from predtrack.errors import InputError, ProofError
from predtrack.output import Result
from predtrack.proofs import git as git_anchor
from predtrack.proofs import tsa
from predtrack.store import queries
from predtrack.store.engine import Session, Store
from predtrack.store.ledger import Problem, Replay, format_head, head_entry, next_id, record
from predtrack.store.tables import Anchor
from predtrack.store.types import iso_z
from predtrack.validate import check_name


def _second(value: datetime, *, up: bool = False) -> str:
    """A time as `YYYY-MM-DDTHH:MM:SSZ`, rounded down (or up) to the second."""
    whole = value.replace(microsecond=0)
    if up and whole != value:
        whole += timedelta(seconds=1)
    return whole.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Anchored(Result):
    """What `anchor` recorded."""

    seq: int
    head: str
    anchors: list[dict[str, Any]] = field(default_factory=list)
    entry: str | None = None

    JSON: ClassVar[dict[str, str]] = {"entry": "ledger_head"}

    def text(self) -> str:
        lines = []
        for a in self.anchors:
            if a["kind"] == "tsa":
                lines.append(
                    f"Timestamped entries 1–{self.seq} (head {self.head}): RFC 3161 token from "
                    f"{a['location']}, TSA {a['authority']}, time {_second(a['time'])}"
                )
            else:
                lines.append(
                    f"Committed head {self.head} into {a['location']} as commit {a['commit']} "
                    f"(dated {_second(a['time'])}); {git_anchor.DATE_CAVEAT}"
                )
        kinds = {a["kind"] for a in self.anchors}
        checks = [
            *(["--tsa-ca CA.pem"] if "tsa" in kinds else []),
            *(["--git REPO"] if "git" in kinds else []),
        ]
        lines.append(f"Check offline with `predtrack verify {' '.join(checks)}`.")
        lines.append(f"Ledger head {self.entry}")
        return "\n".join(lines)


def anchor(
    store: Store,
    *,
    by: str,
    tsa_url: str | None = None,
    git_repo: str | os.PathLike[str] | None = None,
    timeout: float = tsa.DEFAULT_TIMEOUT,
) -> Anchored:
    """Anchor the current head with an RFC 3161 token and/or a git commit, and record the anchors."""
    from predtrack.proofs.seals import store_identity

    by = check_name(by)
    if not tsa_url and git_repo is None:
        raise InputError("give --tsa URL, --git REPO, or both")
    if not 0 < timeout <= 600:
        raise InputError(f"--timeout {timeout:g}: give between 0 and 600 seconds")
    with store.read() as session:
        seq, digest = head_entry(session)
        sid = store_identity(session) if seq else None
    if seq == 0:
        raise InputError("the ledger is empty: there is no head to anchor yet")
    made: list[dict[str, Any]] = []
    if tsa_url:
        token = tsa.request_token(tsa_url, digest, timeout=timeout)
        info = tsa.read_token(token)
        made.append({
            "kind": "tsa", "authority": info.authority, "time": info.time, "location": tsa_url,
            "token": base64.b64encode(token).decode("ascii"),
        })  # fmt: skip
    if git_repo is not None:
        found = git_anchor.anchor_git(git_repo, seq, digest, store_id=sid)
        signed = " (signed)" if found.signed else ""
        made.append({
            "kind": "git", "authority": f"git commit {found.commit}{signed}", "time": found.date,
            "location": os.path.abspath(os.fspath(git_repo)), "token": found.commit, "commit": found.commit,
        })  # fmt: skip

    def work(session: Session) -> Anchored:
        first = next_id(session, "anchors")
        rows = [
            Anchor(
                id=first + offset,
                kind=item["kind"],
                seq=seq,
                head_hash=digest,
                created_at=session.now,
                created_by=by,
                authority=item["authority"],
                time=item["time"],
                token=item["token"],
                location=item["location"],
            )
            for offset, item in enumerate(made)
        ]
        entry = record(session, "anchor", by=by, inserts=rows, info={"seq": seq})
        return Anchored(seq, format_head(seq, digest), made, format_head(entry.seq, entry.hash))

    return store.write(work)


# --- verify ---


def _token_problem(row: Anchor, roots: list[Any] | None) -> tuple[str | None, tsa.TokenInfo | None]:
    """Why a stored token does not hold (None if it does or cannot be judged), and what it states."""
    try:
        token = base64.b64decode(row.token or "", validate=True)
    except (binascii.Error, ValueError):
        return "its token is not base64", None
    try:
        info = tsa.verify_token(token, row.head_hash, roots) if roots else tsa.read_token(token)
    except ProofError as error:
        return str(error), None
    if info.digest != row.head_hash:
        return (
            f"its token covers {info.digest[:16] or 'another digest'}…, not the anchored head",
            info,
        )
    if row.time is not None and info.time != row.time:
        return f"its recorded time {iso_z(row.time)} is not the token's {iso_z(info.time)}", info
    return None, info


def _item(row: Anchor) -> dict[str, Any]:
    return {
        "kind": row.kind, "seq": row.seq, "time": row.time, "authority": row.authority, "ok": None,
        "id": row.id, "location": row.location,
        **({"commit": row.token} if row.kind == "git" else {}),
    }  # fmt: skip


def _check_git(
    session: Session,
    repo: str,
    replay: Replay,
    items: list[dict[str, Any]],
    problems: list[Problem],
    result: Any,
) -> None:
    """Every anchor commit of this store in `repo` must hold the digest the chain has at its seq."""
    from predtrack.proofs.seals import store_identity

    sid = store_identity(session) if replay.entries else None
    found = git_anchor.find_anchors(repo)
    mine = [a for a in found if a.store == sid]
    recorded = {item["commit"]: item for item in items if item["kind"] == "git"}
    for a in mine:
        chain = replay.hashes.get(a.seq)
        item = recorded.pop(a.commit, None)
        if item is None:
            item = {"kind": "git", "seq": a.seq, "time": a.date, "authority": f"git commit {a.commit}",
                    "ok": None, "id": None, "location": repo, "commit": a.commit}  # fmt: skip
            items.append(item)
        item["ok"] = chain == a.digest and item.get("ok") is not False
        if chain != a.digest:
            now = f"{chain[:16]}…" if chain else "missing"
            problems.append(Problem(
                a.seq, "anchors", "git",
                f"git commit {a.commit[:12]} in {repo} anchors entry {a.seq} as {a.digest[:16]}…, "
                f"but the ledger's entry {a.seq} is {now}: history was rewritten after it was anchored",
            ))  # fmt: skip
    for item in recorded.values():
        result.warnings.append(
            f"git anchor of entry {item['seq']} (commit {item['commit'][:12]}) is not in {repo}"
        )
    if not mine:
        others = len(found)
        problems.append(Problem(
            None, "anchors", "git",
            f"{repo} holds no anchor of this store"
            + (f" ({others} anchor(s) of another store, or of this one before its first entry was rewritten)" if others else ""),
        ))  # fmt: skip


def _statements(
    items: list[dict[str, Any]], accuracy: dict[int, float | None]
) -> list[dict[str, Any]]:
    """The strongest claims the checked anchors support: no claim another one implies."""
    claims = []
    for item in items:
        if item["ok"] is not True or item["time"] is None:
            continue
        bound: datetime = item["time"]
        if item["kind"] == "tsa":
            bound += timedelta(seconds=math.ceil(accuracy.get(item["id"]) or 0))
        claims.append(
            {
                "kind": item["kind"],
                "entries": [1, item["seq"]],
                "before": bound,
                "authority": item["authority"],
            }
        )
    kept: list[dict[str, Any]] = []
    for kind in ("tsa", "git"):
        earliest: datetime | None = None
        for claim in sorted(
            (c for c in claims if c["kind"] == kind), key=lambda c: (-c["entries"][1], c["before"])
        ):
            if earliest is None or claim["before"] < earliest:
                kept.append(claim)
                earliest = claim["before"]
    return kept


def _claim_text(claim: dict[str, Any]) -> str:
    span = f"entries 1–{claim['entries'][1]}"
    if claim["kind"] == "tsa":
        return f"{span} existed before {_second(claim['before'], up=True)} (RFC 3161, TSA: {claim['authority']})"
    return (
        f"{span} were committed in {claim['authority']} dated {_second(claim['before'])} "
        "(a git date proves nothing unless the commit was pushed somewhere trusted)"
    )


def check_anchors(session: Session, replay: Replay, result: Any) -> None:
    """`verify`: each anchor against the chain, tokens against `--tsa-ca`, commits in `--git`."""
    options = getattr(result, "options", {}) or {}
    roots = tsa.load_trust_roots(options["tsa_ca"]) if options.get("tsa_ca") else None
    rows = queries.anchors(session=session)
    items: list[dict[str, Any]] = []
    problems: list[Problem] = []
    accuracy: dict[int, float | None] = {}
    unchecked = 0
    for row in rows:
        item = _item(row)
        items.append(item)
        reasons = []
        if replay.hashes.get(row.seq) != row.head_hash:
            now = replay.hashes.get(row.seq)
            reasons.append(
                f"the ledger's entry {row.seq} is {now[:16] + '…' if now else 'missing'}, not the anchored "
                f"{row.head_hash[:16]}…: history was rewritten after it was anchored"
            )
        if row.kind == "tsa":
            try:
                reason, info = _token_problem(row, roots)
            except InputError as error:  # no proofs extra to read tokens with
                reason, info = None, None
                result.warnings.append(f"anchor #{row.id}: {error}")
            if reason:
                reasons.append(reason)
            if info is not None:
                accuracy[row.id] = info.accuracy
            if roots is None:
                unchecked += 1
            elif not reasons:
                item["ok"] = True
        if reasons:
            item["ok"] = False
            seq = replay.inserted_at.get(("anchors", row.id))
            problems.append(Problem(seq, "anchors", "head_hash" if "rewritten" in reasons[0] else "token",
                                    f"anchor #{row.id} ({row.kind}) over entry {row.seq}: {'; '.join(reasons)}"))  # fmt: skip
    if options.get("git"):
        _check_git(session, os.fspath(options["git"]), replay, items, problems, result)
    if unchecked:
        result.warnings.append(
            f"{unchecked} timestamp token(s) not checked against a CA: give --tsa-ca FILE"
        )
    result.problems.extend(problems)
    claims = _statements(items, accuracy)
    if claims:
        summary = "; ".join(_claim_text(c) for c in claims)
    elif items:
        summary = f"{len(items)} anchor(s), none checked" + (
            " (give --tsa-ca FILE, --git REPO)" if not problems else ""
        )
    else:
        summary = ""
    result.sections["anchors"] = items
    result.sections["anchored"] = {
        "summary": summary,
        "claims": claims,
        **({"caveat": git_anchor.DATE_CAVEAT} if any(i["kind"] == "git" for i in items) else {}),
    }
