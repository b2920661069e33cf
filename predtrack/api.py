"""The Python API: a `Study` over one store, for experiment scripts and notebooks.

Every method calls the same service as the matching command and returns the same result
(whose `as_dict()` is what the command's `--json` prints); errors raise the `PredtrackError`
subclasses the command line turns into exit codes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from predtrack.errors import InputError


class Table(list[Any]):
    """Rows (dicts) that a notebook shows as an HTML table; `pandas` gives a DataFrame instead.

    `table["brier"]` is a column (a list), as on a DataFrame.
    """

    def __getitem__(self, item: Any) -> Any:
        if isinstance(item, str):
            return [row.get(item) for row in self]
        return super().__getitem__(item)

    def _repr_html_(self) -> str:
        from predtrack.notebook import rows_html

        return rows_html(self)


class View(dict[str, Any]):
    """A question view (as `show --json`) that a notebook shows as HTML."""

    def _repr_html_(self) -> str:
        from predtrack.notebook import question_html

        return question_html(self)


def _frame(rows: list[dict[str, Any]]) -> Any:
    """A pandas DataFrame of the rows when pandas is installed, else a `Table` of dicts."""
    try:
        import pandas
    except ImportError:
        return Table(rows)
    return pandas.DataFrame(rows)


def _flat(group: Mapping[str, Any]) -> dict[str, Any]:
    """A score group as one flat row: `brier`, `brier_lo`, `brier_hi`, `skill_brier`, ..."""
    row = {k: v for k, v in group.items() if k not in ("ci", "skill")}
    for key, interval in (group.get("ci") or {}).items():
        if interval:
            row[f"{key}_lo"], row[f"{key}_hi"] = interval
    for key, value in (group.get("skill") or {}).items():
        row[f"skill_{key}"] = value
    return row


class _Opened:
    """A store opened for a script, with the acting user (the base of `Study`)."""

    def __init__(
        self,
        db: str | os.PathLike[str] | None = None,
        *,
        create: bool = True,
        user: str | None = None,
    ) -> None:
        from predtrack.identity import current_user
        from predtrack.store.schema import init_store, open_store

        where = None if db is None else os.fspath(db)
        if create:
            init_store(where)  # a no-op on a store at the newest revision
        self.store = open_store(where)
        self.user = current_user(user)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<predtrack.Study {self.store.label}>"

    def close(self) -> None:
        """Close the connection to the store."""
        self.store.dispose()

    def _by(self, by: str | None) -> str:
        from predtrack.identity import current_user

        return self.user if by is None else current_user(by)


class _Proofs(_Opened):
    """Study's proof commands: keys, anchors, reveals (the `key`, `anchor`, `reveal` CLI)."""

    def key_add(
        self,
        name: str,
        pubkey: str | os.PathLike[str] | None = None,
        *,
        github_keys: str | os.PathLike[str] | None = None,
        by: str | None = None,
    ) -> Any:
        """Register `name`'s SSH public key (a .pub file or key line), or every key of a GitHub
        `USER.keys` file."""
        from predtrack.proofs.keyring import add_keys, read_key_argument
        from predtrack.proofs.keys import read_public_keys

        if (pubkey is None) == (github_keys is None):
            raise InputError("give pubkey (a .pub file) or github_keys=FILE")
        if pubkey is not None:
            keys = [read_key_argument(pubkey)]
        else:
            keys = read_public_keys(github_keys or "")
        return add_keys(self.store, name, keys, by=self._by(by))

    def key_rotate(
        self, name: str, pubkey: str | os.PathLike[str], *, by: str | None = None
    ) -> Any:
        """Replace `name`'s active keys by a new one (old signatures stay valid for their time)."""
        from predtrack.proofs.keyring import read_key_argument, rotate_key

        return rotate_key(self.store, name, read_key_argument(pubkey), by=self._by(by))

    def key_revoke(
        self, name: str, *, fingerprint: str | None = None, by: str | None = None
    ) -> Any:
        """Revoke `name`'s keys (or the one with `fingerprint`): they sign nothing from now on."""
        from predtrack.proofs.keyring import revoke_keys

        return revoke_keys(self.store, name, by=self._by(by), fingerprint=fingerprint)

    def key_list(self, name: str | None = None) -> Table:
        """Registered keys as `key list --json` gives them."""
        from predtrack.proofs.keyring import list_keys

        return Table(list_keys(self.store, forecaster=name).rows)

    def anchor(
        self,
        *,
        tsa: str | None = None,
        git: str | os.PathLike[str] | None = None,
        timeout: float = 10.0,
        by: str | None = None,
    ) -> Any:
        """Anchor the ledger head: an RFC 3161 token from the TSA at `tsa`, a commit in `git`."""
        from predtrack.proofs.anchors import anchor

        return anchor(self.store, by=self._by(by), tsa_url=tsa, git_repo=git, timeout=timeout)

    def reveal(
        self,
        *,
        experiment: str | None = None,
        openings: str | os.PathLike[str] | None = None,
        sign: bool = False,
        by: str | None = None,
    ) -> Any:
        """Publish your sealed forecasts (from your openings file, or `openings`) as predictions
        dated by their commitments."""
        from predtrack.proofs.seals import reveal

        path = None if openings is None else Path(openings)
        return reveal(self.store, by=self._by(by), experiment=experiment, openings=path, sign=sign)


class Study(_Proofs):
    """One predtrack store, opened for a script or a notebook (`predtrack.open`)."""

    # --- writing ---

    def predict(
        self,
        title: str | None = None,
        forecast: str | None = None,
        *,
        question: str | int | None = None,
        experiment: str | None = None,
        key: str | None = None,
        kind: str | None = None,
        unit: str | None = None,
        tags: Sequence[str] = (),
        note: str | None = None,
        bounds: tuple[float, float] | None = None,
        ordered: bool = False,
        categories: Sequence[str] | None = None,
        rule: str | None = None,
        rule_dir: str | os.PathLike[str] | None = None,
        if_run_fails: str | None = None,
        level: str | float | None = None,
        ci: tuple[str, str] | None = None,
        log: bool = False,
        normalize: bool = False,
        by: str | None = None,
        sign: bool = False,
        sealed: bool = False,
    ) -> Any:
        """Register a question with a forecast, or (`question=`) forecast on an existing one.

        `rule` paths are relative to `rule_dir`, by default the current directory. `sign`:
        sign it with your registered SSH key; `sealed`: store only a commitment (`reveal` later).
        """
        from predtrack.predict import one, register

        user = self._by(by)
        if question is not None and forecast is None:
            title, forecast = None, title
        if forecast is None:
            raise InputError("give a title and a forecast, or question= and a forecast")
        questions, predictions = one(
            forecast, by=user, title=title, question=None if question is None else str(question),
            experiment=experiment, rule_dir=None if rule_dir is None else os.fspath(rule_dir),
            key=key, kind=kind, unit=unit, tags=tags, bounds=bounds, ordered=ordered,
            categories=categories, rule=rule, if_run_fails=if_run_fails, level=level, ci=ci,
            log=log, normalize=normalize, note=note,
        )  # fmt: skip
        return register(self.store, questions, predictions, by=user, sign=sign, sealed=sealed)

    def register(
        self,
        source: str | os.PathLike[str] | Mapping[str, Any],
        *,
        by: str | None = None,
        rule_dir: str | os.PathLike[str] | None = None,
        sign: bool = False,
        sealed: bool = False,
    ) -> Any:
        """Register a bulk file (TOML or JSON), or the same structure as a dict, all or nothing
        (`sign`/`sealed` as for `predict`, applied to your own forecasts)."""
        from predtrack.bulk import load_bulk, load_document
        from predtrack.predict import register

        user = self._by(by)
        if isinstance(source, Mapping):
            folder = str(Path(rule_dir or os.getcwd()).absolute())
            parsed = load_document(
                dict(source), name="the registration", rule_dir=folder, default_forecaster=user
            )
        else:
            parsed = load_bulk(Path(source), default_forecaster=user)
        questions, predictions, descriptions = parsed
        return register(
            self.store, questions, predictions, by=user, descriptions=descriptions, sign=sign,
            sealed=sealed,
        )  # fmt: skip

    def link(
        self,
        paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        experiment: str,
        supersede: bool = False,
        by: str | None = None,
    ) -> Any:
        """Record result files for an experiment (locks it)."""
        from predtrack.link import link

        items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
        return link(
            self.store,
            [os.fspath(p) for p in items],
            experiment=experiment,
            by=self._by(by),
            supersede=supersede,
        )

    def lock(self, experiment: str, *, by: str | None = None) -> Any:
        """Lock an experiment: later predictions on it are late."""
        from predtrack.experiments import lock_experiment

        return lock_experiment(self.store, experiment, by=self._by(by))

    def resolve(
        self, question: str | int | None = None, *, by: str | None = None, **options: Any
    ) -> Any:
        """Resolve every pending rule — what resolved, what is pending, what failed, and why — or
        one question by hand.

        Options as `predtrack resolve`: `experiment`, `dry_run`, `final`, `allow_outside`; for
        one question `value`, `yes`, `category`, `successes` and `trials`, `annul`, `correct`,
        `rerun`.
        """
        from predtrack.resolve import resolve

        return resolve(
            self.store, None if question is None else str(question), by=self._by(by), **options
        )

    # --- reading ---

    def questions(
        self,
        *,
        experiment: str | None = None,
        status: str | None = None,
        kind: str | None = None,
        tag: str | None = None,
        reveal: bool = False,
        by: str | None = None,
    ) -> Table:
        """Questions as `list --json` gives them (blind by default on open questions)."""
        from predtrack.questions import list_questions

        views = list_questions(
            self.store,
            viewer=self._by(by),
            reveal=reveal,
            experiment=experiment,
            status=status,
            kind=kind,
            tag=tag,
        )
        return Table(View(v) for v in views)

    def question(
        self,
        ref: str | int,
        *,
        reveal: bool = False,
        by: str | None = None,
        experiment: str | None = None,
    ) -> View:
        """One question as `show --json` gives it."""
        from predtrack.questions import show_question

        return View(
            show_question(
                self.store, str(ref), viewer=self._by(by), reveal=reveal, experiment=experiment
            )
        )

    def experiments(self) -> Table:
        """Experiments with their counts and lock times."""
        from predtrack.experiments import list_experiments

        return Table(list_experiments(self.store))

    def score_document(self, **options: Any) -> dict[str, Any]:
        """The whole `score --json` document (options as `scores`)."""
        from predtrack.score import score_report

        return score_report(self.store, **options)

    def scores(self, *, by: str | None = None, **options: Any) -> Any:
        """One row per group, as `score --json` (CIs as `_lo`/`_hi` columns, skill as `skill_*`).

        Options as `predtrack score`: `baseline`, `include_late`, `bits`, `seed`,
        `experiment`, `signed_only`.
        """
        document = self.score_document(by=by, **options)
        return _frame([_flat(g) for g in document["groups"]])

    def scored_predictions(
        self, *, include_late: bool = False, experiment: str | None = None
    ) -> Any:
        """One row per scored prediction: the columns of `export --format csv --scored`."""
        from predtrack.score import collect, scored_rows

        return _frame(
            scored_rows(collect(self.store, include_late=include_late, experiment=experiment))
        )

    def compare(
        self,
        a: str,
        b: str,
        *,
        include_late: bool = False,
        seed: int = 0,
        bits: bool = False,
        experiment: str | None = None,
    ) -> Any:
        """Paired differences between two forecasters, as `score --compare A B`."""
        from predtrack.score import collect, comparison

        board = collect(self.store, include_late=include_late, experiment=experiment)
        return Table(comparison(board, a, b, seed=seed, bits=bits)["scores"])

    def report(self, path: str | os.PathLike[str] = "report.html", **options: Any) -> Any:
        """Write the HTML report (options as `predtrack report`: title, experiment, by, ...)."""
        from predtrack.report import ReportOptions, write_report

        return write_report(self.store, Path(path), ReportOptions(**options))

    def verify(
        self,
        *,
        against: str | None = None,
        tsa_ca: str | os.PathLike[str] | None = None,
        git: str | os.PathLike[str] | None = None,
    ) -> Any:
        """Check the chain, every row, the guards, the evidence files, the signatures, the anchors
        (tokens against the CA file `tsa_ca`, commits in the repository `git`) and the sealed
        forecasts (`.ok`, `.problems`, `.sections`)."""
        from predtrack.integrity import verify

        return verify(
            self.store,
            against=against,
            tsa_ca=None if tsa_ca is None else Path(tsa_ca),
            git=None if git is None else os.fspath(git),
        )

    def head(self, *, full: bool = False) -> str:
        """The ledger head `SEQ:HEX16` to publish."""
        from predtrack.integrity import head

        return head(self.store, full=full)


def open(
    db: str | os.PathLike[str] | None = None, *, create: bool = True, user: str | None = None
) -> Study:
    """Open (creating it if needed) the store at `db`, else `PREDTRACK_DB`, else ./predictions.db."""
    return Study(db, create=create, user=user)
