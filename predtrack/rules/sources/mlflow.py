"""MLflow runs as records, read directly from a file store (`mlruns/`) or a SQLite store (`mlflow.db`).

The MLflow client is not used: it refuses `file:` stores unless MLFLOW_ALLOW_FILE_STORE is
set, writes a `.trash/` folder into the store even to read it, and costs about a second
to import. Both layouts are plain: a file store holds `<experiment>/meta.yaml` and
`<experiment>/<run>/{meta.yaml, params/KEY, tags/KEY, metrics/KEY}` with metric lines
`timestamp value step` (timestamps in milliseconds); a SQLite store has the tables
`experiments`, `runs`, `params`, `tags` and `metrics`, opened read-only.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from predtrack.errors import RuleError, RuleSyntaxError
from predtrack.rules.base import Chunk, Run, Status, StoreSource, latest_values, points

# meta.yaml stores RunStatus as its protobuf number; mlflow.db stores the name.
STATUS_NAMES = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
FIELDS = ("experiment", "run", "run_id", "status")
PREFIXES = ("params.", "tags.")
DB_TABLES = {"experiments", "runs", "params", "tags", "metrics"}
_DB_CACHE: dict[tuple[str, str, tuple[str, ...]], list[dict[str, Any]]] = {}


def parse_flat_yaml(text: str, file: str) -> dict[str, Any]:
    """The top-level `key: scalar` lines of an MLflow meta.yaml (the only shape MLflow writes)."""
    out: dict[str, Any] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line[0] in " \t-#":
            continue  # nested lines (lists, mappings) carry nothing a rule reads
        key, sep, raw = line.partition(":")
        if not sep:
            raise RuleError(f"{file} line {n} is not `key: value` MLflow YAML: {line[:60]!r}")
        out[key.strip()] = _yaml_scalar(raw.strip())
    return out


def _yaml_scalar(raw: str) -> Any:
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        return raw[1:-1].replace("''", "'")
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if raw in ("", "null", "~"):
        return None
    try:
        return int(raw)
    except ValueError:
        return raw


def parse_metric_lines(data: bytes, file: str) -> list[tuple[int, float, float]]:
    """Points `(step, time in seconds, value)` of an MLflow metric file (`timestamp value [step]`)."""
    points = []
    for n, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        try:
            if len(parts) not in (2, 3):
                raise ValueError
            ts, value = int(parts[0]), float(parts[1])
            step = int(parts[2]) if len(parts) == 3 else 0
        except ValueError:
            raise RuleError(
                f"{file} line {n} is not an MLflow metric line `timestamp value step`: "
                f"{line[:60]!r}"
            ) from None
        points.append((step, ts / 1000.0, value))
    return points


def status_name(raw: Any) -> str:
    """The RunStatus name of a meta.yaml or mlflow.db status."""
    if isinstance(raw, int) or (isinstance(raw, str) and raw.isdigit()):
        return STATUS_NAMES.get(int(raw), f"status {raw}")
    return str(raw).upper()


def is_file_store(path: Path) -> bool:
    """True for a folder that holds at least one MLflow experiment (`<id>/meta.yaml`)."""
    try:
        return any(
            (p / "meta.yaml").is_file() for p in path.iterdir() if not p.name.startswith(".")
        )
    except OSError:
        return False


def is_sqlite_store(path: Path) -> str | None:
    """None when `path` is an MLflow SQLite store, else why not."""
    try:
        with path.open("rb") as f:
            if f.read(16) != b"SQLite format 3\x00":
                return "not a SQLite database"
        con = connect_ro(path)
        try:
            names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            con.close()
    except (OSError, sqlite3.Error) as e:
        return f"cannot be opened read-only ({e})"
    missing = DB_TABLES - names
    return f"has no MLflow tables {', '.join(sorted(missing))}" if missing else None


def connect_ro(path: Path) -> sqlite3.Connection:
    """A read-only connection: never creates a journal or any other file next to the store."""
    uri = "file:" + Path(path).resolve().as_posix().replace("?", "%3f").replace("#", "%23")
    return sqlite3.connect(uri + "?mode=ro", uri=True)


def read_db(path: Path, metrics: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Every active run of a SQLite store, with its params, tags and the named metrics' histories."""
    con = connect_ro(path)
    try:
        runs: dict[str, dict[str, Any]] = {}
        q = (
            "SELECT r.run_uuid, r.name, r.status, r.start_time, e.name FROM runs r "
            "JOIN experiments e ON e.experiment_id = r.experiment_id "
            "WHERE r.lifecycle_stage = 'active' AND e.lifecycle_stage = 'active' "
            "ORDER BY r.start_time, r.run_uuid"
        )
        for rid, name, status, start, exp in con.execute(q):
            runs[rid] = _run(exp, rid, name, status_name(status), start)
        for table in ("params", "tags"):
            for key, value, rid in con.execute(f"SELECT key, value, run_uuid FROM {table}"):
                if rid in runs:
                    runs[rid]["fields"][f"{table}.{key}"] = value
                    if table == "tags" and key == "mlflow.runName" and not runs[rid]["run"]:
                        runs[rid]["run"] = runs[rid]["fields"]["run"] = value
        wanted = None if metrics is None else sorted(set(metrics))
        q = "SELECT key, value, timestamp, step, is_nan, run_uuid FROM metrics"
        args: list[str] = []
        if wanted is not None:
            q += f" WHERE key IN ({', '.join('?' * len(wanted))})"
            args = wanted
        for key, value, ts, step, is_nan, rid in con.execute(q + " ORDER BY step, timestamp", args):
            if rid in runs:
                v = math.nan if is_nan else float(value)
                runs[rid]["series"].setdefault(key, []).append((int(step), ts / 1000.0, v))
    except sqlite3.Error as e:
        raise RuleError(f"cannot read the MLflow store {path.name}: {e}") from None
    finally:
        con.close()
    return list(runs.values())


def _run(exp: str, rid: str, name: str | None, status: str, start: int | None) -> dict[str, Any]:
    fields = {"experiment": exp, "run": name, "run_id": rid, "status": status}
    return {
        "label": f"run {name or rid}",
        "run": name,
        "fields": fields,
        "series": {},
        "start": None if start is None else start / 1000.0,
        "failed": None if status == "FINISHED" else f"MLflow run {name or rid} has status {status}",
        "files": [],
    }


def store_kind(path: Path) -> str:
    """`db` or `files` for an existing MLflow store; RuleError naming why otherwise."""
    if path.is_dir():
        if is_file_store(path):
            return "files"
        raise RuleError(
            f"{path.name} is not an MLflow file store: no <experiment>/meta.yaml inside it"
        )
    why = is_sqlite_store(path)
    if why:
        raise RuleError(f"{path.name} is not an MLflow store: it {why}")
    return "db"


def _status(name: str) -> Status:
    if name == "FINISHED":
        return "finished"
    return "running" if name in ("RUNNING", "SCHEDULED") else "failed"


class MlflowSource(StoreSource, name="mlflow", store="MLflow store"):
    """An MLflow store: each active run is a record (finished, running or failed).

    A store without runs yet has no records: nothing matches yet.
    """

    axes = ("params.",)
    uses_names = True  # reads only the params, tags and metrics the rule names

    def units(self, path: Path) -> Sequence[dict[str, Any]]:
        names = self.target.names
        metrics = sorted(n for n in names if n not in FIELDS and not n.startswith(PREFIXES))
        if store_kind(path) == "files":
            return list(self._file_runs(path, names, metrics))
        ev = self.reader.hash_file(path)
        # One parse per database state and metric set: 100 questions on one store read it once.
        key = (ev.path, ev.sha256, tuple(metrics))
        runs = _DB_CACHE.get(key)
        if runs is None:
            runs = read_db(path, metrics)
            _DB_CACHE.clear()
            _DB_CACHE[key] = runs
        return runs

    def record(self, unit: dict[str, Any]) -> Chunk:
        series = points(unit["series"])
        record, when = latest_values(series, unit["start"])
        run = Run(
            name=unit["run"] or unit["fields"]["run_id"],
            where=f"{unit['label']} in {self.target.shown}",
            fields=unit["fields"],
            status=_status(unit["fields"]["status"]),
            reason=unit["failed"] or "",
            series=series,
            order=(unit["start"] or 0.0, unit["fields"]["run_id"]),
        )
        return Chunk.one(run, record, time=when, text=True)

    def _file_runs(
        self, root: Path, names: frozenset[str], metrics: Sequence[str]
    ) -> Iterator[dict[str, Any]]:
        for exp_dir in sorted(root.iterdir(), key=lambda p: p.name):
            meta = exp_dir / "meta.yaml"
            if exp_dir.name.startswith(".") or not meta.is_file():
                continue
            info = parse_flat_yaml(
                self.reader.read_bytes(meta).decode("utf-8", "replace"), str(meta)
            )
            if info.get("lifecycle_stage", "active") != "active":
                continue
            exp = str(info.get("name", exp_dir.name))
            for run_dir in sorted(exp_dir.iterdir(), key=lambda p: p.name):
                if (run_dir / "meta.yaml").is_file():
                    run = self._file_run(exp, run_dir, names, metrics)
                    if run is not None:
                        yield run

    def _file_run(
        self, exp: str, run_dir: Path, names: frozenset[str], metrics: Sequence[str]
    ) -> dict[str, Any] | None:
        meta_path = run_dir / "meta.yaml"
        text = self.reader.read_bytes(meta_path).decode("utf-8", "replace")
        meta = parse_flat_yaml(text, f"{run_dir.name}/meta.yaml")
        if meta.get("lifecycle_stage", "active") != "active":
            return None
        rid = str(meta.get("run_id") or meta.get("run_uuid") or run_dir.name)
        name = meta.get("run_name")
        run = _run(exp, rid, None if name is None else str(name), status_name(meta.get("status")),
                   meta.get("start_time"))  # fmt: skip
        wanted = set(names) | {"tags.mlflow.runName"}
        for key in sorted(wanted):
            kind, dot, rest = key.partition(".")
            if dot and kind in ("params", "tags"):
                f = _inside(run_dir / kind, rest)
                if f is not None:
                    run["fields"][key] = self.reader.read_bytes(f).decode("utf-8", "replace")
        if not run["run"] and "tags.mlflow.runName" in run["fields"]:
            run["run"] = run["fields"]["run"] = run["fields"]["tags.mlflow.runName"]
            run["label"] = f"run {run['run']}"
        for key in metrics:
            f = _inside(run_dir / "metrics", key)
            if f is not None:
                data = self.reader.read_bytes(f)
                run["series"][key] = parse_metric_lines(data, f"{run_dir.name}/metrics/{key}")
        return run

    @classmethod
    def files(cls, path: Path) -> list[Path]:
        if store_kind(path) == "db":
            return [path]
        out = []
        for exp_dir in sorted(p for p in path.iterdir() if not p.name.startswith(".")):
            if not (exp_dir / "meta.yaml").is_file():
                continue
            out.append(exp_dir / "meta.yaml")
            for run_dir in sorted(p for p in exp_dir.iterdir() if (p / "meta.yaml").is_file()):
                out.append(run_dir / "meta.yaml")
                for kind in ("params", "tags", "metrics"):
                    out += sorted(f for f in (run_dir / kind).rglob("*") if f.is_file())
        return out

    @classmethod
    def check_layout(cls, path: Path, names: frozenset[str]) -> None:
        for n in names:
            if n.startswith(PREFIXES) and n.partition(".")[2] == "":
                raise RuleSyntaxError(f"mlflow: {n!r} names no param or tag (write params.NAME)")
            if n.startswith(("metrics.", "param.", "tag.")):
                raise RuleSyntaxError(
                    f"mlflow: no field {n!r}; metrics are named as logged (cheese_rate), "
                    "params and tags as params.NAME and tags.NAME"
                )
        if path.exists():
            try:
                store_kind(path)
            except RuleError as e:
                raise RuleSyntaxError(str(e)) from None


def _inside(folder: Path, key: str) -> Path | None:
    """The file for a param, tag or metric key (which may hold `/`), never outside `folder`."""
    if not key or ".." in Path(key).parts or Path(key).is_absolute():
        return None
    f = folder / key
    return f if f.is_file() else None
