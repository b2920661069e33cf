"""Linking result files to an experiment: path, sha256, size, time; the first link locks it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from predtrack.errors import InputError
from predtrack.experiments import LOCK_FIELDS, lock_row
from predtrack.output import Result
from predtrack.paths import study_root, to_stored
from predtrack.store import queries
from predtrack.store.engine import Session, Store
from predtrack.store.ledger import format_head, next_id, record
from predtrack.store.tables import Artifact
from predtrack.validate import check_name

SHOWN = 6  # a store of a thousand runs is listed as its first files and a count


def file_mtime(path: Path) -> datetime:
    """A file's modification time as an aware UTC datetime."""
    return datetime.fromtimestamp(path.stat().st_mtime_ns / 1e9, tz=UTC)


@dataclass
class Linked(Result):
    """What `link` recorded."""

    experiment: str
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    locked: bool = False
    head: str | None = None

    def text(self) -> str:
        lines = []
        for item in _first(self.artifacts):
            digest = (
                f"sha256 {item['sha256'][:16]}…, {item['size']} bytes"
                if item["sha256"]
                else "URI, no hash"
            )
            superseded = f"; supersedes #{item['supersedes']}" if item.get("supersedes") else ""
            lines.append(f"Linked {item['location']} ({digest}{superseded})")
        if len(self.artifacts) > SHOWN:
            rest = self.artifacts[SHOWN - 1 :]
            lines.append(
                f"... and {len(rest)} more files ({sum(i['size'] or 0 for i in rest)} bytes), "
                "each hashed"
            )
        lines += [f"Already linked with the same content: {loc}" for loc in _first(self.already)]
        if len(self.already) > SHOWN:
            lines.append(f"... and {len(self.already) - SHOWN + 1} more already linked")
        if self.locked:
            lines.append(f"Locked {self.experiment}: predictions made from now on are marked late.")
        if self.head:
            lines.append(f"Ledger head {self.head}")
        return "\n".join(lines)


def _first(items: list[Any]) -> list[Any]:
    return items if len(items) <= SHOWN else items[: SHOWN - 1]


def _describe(location: str, root: Path | None) -> list[dict[str, Any]]:
    """What linking `location` records: one file, a URI, or every file of a tracker store."""
    from predtrack.rules import files_of, scheme_of, sha256_file

    if "://" in location:
        return [{"location": location, "path": location, "is_uri": True}]
    if scheme_of(location):
        return [_row(e.path, e.sha256, e.size, e.mtime, root) for e in files_of(location, ".")]
    path = Path(location).expanduser().absolute()
    if not path.exists():
        raise InputError(f"cannot link {location}: no such file")
    if not path.is_file():
        raise InputError(f"cannot link {location}: not a regular file")
    try:
        path = path.resolve()
        digest, size = sha256_file(path)
        mtime = file_mtime(path)
    except OSError as error:
        raise InputError(f"cannot read {location}: {error.strerror}") from error
    return [_row(str(path), digest, size, mtime, root, location)]


def _row(
    path: str,
    digest: str,
    size: int,
    mtime: datetime,
    root: Path | None,
    location: str | None = None,
) -> dict[str, Any]:
    """An artifact row's fields for a file (`location`: as the user named it; else its path)."""
    stored = to_stored(Path(path), root)
    return {
        "location": location or stored,
        "path": stored,
        "path_hint": path if stored != path else None,
        "is_uri": False,
        "sha256": digest,
        "size": size,
        "mtime": mtime,
    }


def link(
    store: Store, locations: Sequence[str], *, experiment: str, by: str, supersede: bool = False
) -> Linked:
    """Record result files (or URIs) for an experiment; `supersede` replaces a changed file."""
    by = check_name(by)
    if not locations:
        raise InputError("give at least one file or URI to link")
    for location in locations:
        if "\x00" in location:
            raise InputError("a linked path contains a NUL byte")
    root = study_root(store.path)
    found = [item for location in locations for item in _describe(location, root)]

    def work(session: Session) -> Linked:
        exp = queries.get_experiment(experiment, session=session)
        existing = queries.artifacts(session=session, experiment_id=exp.id)
        known = {(a.path, a.sha256) for a in existing}
        latest = {a.path: a for a in existing}  # the newest row per path (id order)
        result = Linked(exp.name)
        rows: list[Artifact] = []
        next_artifact = next_id(session, "artifacts")
        for item in found:
            if (item["path"], item.get("sha256")) in known:
                result.already.append(item["location"])
                continue
            previous = latest.get(item["path"])
            if previous is not None and not supersede and not item["is_uri"]:
                raise InputError(
                    f"{item['location']} was linked before with other content (sha256 "
                    f"{(previous.sha256 or '')[:16]}…); add --supersede to record the new file "
                    "as replacing it (the old one stays in the history)"
                )
            known.add((item["path"], item.get("sha256")))
            row = Artifact(
                id=next_artifact,
                experiment_id=exp.id,
                linked_at=session.now,
                linked_by=by,
                supersedes=previous.id if previous is not None else None,
                **item,
            )
            latest[item["path"]] = row
            rows.append(row)
            next_artifact += 1
        if not rows:
            return result
        result.locked = lock_row(
            exp, at=session.now, reason=f"first artifact linked: {rows[0].location}"
        )
        entry = record(
            session,
            "link",
            by=by,
            inserts=rows,
            updates=[(exp, LOCK_FIELDS)] if result.locked else [],
        )
        result.artifacts = [
            {
                "id": r.id,
                "location": r.location,
                "path": r.path,
                "sha256": r.sha256,
                "size": r.size,
                "supersedes": r.supersedes,
            }
            for r in rows
        ]
        result.head = format_head(entry.seq, entry.hash)
        return result

    return store.write(work)
