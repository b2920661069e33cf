"""The `predtrack` command line: parse, call one service, print."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from predtrack import __version__
from predtrack.errors import PredtrackError

F = TypeVar("F", bound=Callable[..., Any])


class InputFailure(click.ClickException):
    """Bad input: exit code 2."""

    exit_code = 2


class CheckFailure(click.ClickException):
    """A failed check or an unexpected failure: exit code 1."""

    exit_code = 1


class PredtrackGroup(click.Group):
    """A group that turns PredtrackError into `Error: ...` and its exit code, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PredtrackError as error:
            failure = InputFailure if error.exit_code == 2 else CheckFailure
            raise failure(str(error)) from None
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            raise click.exceptions.Abort() from None
        except Exception as error:
            if os.environ.get("PREDTRACK_DEBUG"):
                raise
            raise CheckFailure(
                f"unexpected {type(error).__name__}: {error} "
                "(set PREDTRACK_DEBUG=1 to see the traceback, and please report it)"
            ) from None


def db_option(func: F) -> F:
    return click.option(
        "--db",
        metavar="PATH_OR_URL",
        help="Database file or SQLAlchemy URL [default: $PREDTRACK_DB or ./predictions.db].",
    )(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")(func)


def by_option(func: F) -> F:
    return click.option(
        "--by",
        metavar="NAME",
        help="Who you are [default: $PREDTRACK_USER, else git user.name, else the OS user].",
    )(func)


def echo_json(value: Any) -> None:
    from predtrack.output import to_json

    click.echo(to_json(value))


def warn(message: str) -> None:
    click.echo(f"Warning: {message}", err=True)


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress callback drawing a bar on a terminal's stderr; None when piped."""
    if not sys.stderr.isatty():
        yield None
        return
    bars: list[Any] = []

    def update(done: int, total: int) -> None:
        if total < 1000:  # quick work: no bar
            return
        if not bars:
            bars.append(click.progressbar(length=total, label=label, file=sys.stderr))
            bars[0].__enter__()
        bars[0].update(done - bars[0].pos)

    try:
        yield update
    finally:
        if bars:
            bars[0].update(bars[0].length - bars[0].pos)
            bars[0].__exit__(None, None, None)


@click.group(
    "predtrack", cls=PredtrackGroup, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, prog_name="predtrack")
def cli() -> None:
    """Pre-register predictions, resolve them from experiment results, score them.

    \b
    A first session:
      predtrack init
      predtrack predict "Agent reaches the cheese at size 25" 30% -e cheese-maze --key tl25
      predtrack head            # publish this digest
      predtrack list
    """


# --- setup ---


@cli.command()
@db_option
def init(db: str | None) -> None:
    """Create the database at the newest schema.

    \b
    Example:
      predtrack init                 # ./predictions.db
      predtrack init --db team.db
    """
    from predtrack.store.schema import init_store

    result = init_store(db)
    if result.created:
        click.echo(f"Created {result.label} at schema revision {result.revision}.")
        if result.journal and result.journal != "wal":
            warn(f"WAL journal unavailable here ({result.journal}); using the rollback journal")
    else:
        click.echo(f"{result.label} is already at schema revision {result.revision}.")


@cli.group(cls=PredtrackGroup)
def db() -> None:
    """Schema revision of the database: `db current`, `db upgrade`."""


@db.command("current")
@db_option
@json_option
def db_current(db: str | None, as_json: bool) -> None:
    """Show the database's schema revision and the newest one.

    \b
    Example:
      predtrack db current
    """
    from predtrack.store.schema import revision_info

    info = revision_info(db)
    if as_json:
        echo_json(info)
        return
    state = "up to date" if info["up_to_date"] else "run `predtrack db upgrade`"
    click.echo(
        f"{info['database']}: revision {info['revision'] or 'none'} (newest {info['head']}): {state}"
    )


@db.command("upgrade")
@db_option
def db_upgrade(db: str | None) -> None:
    """Back up the database file, then migrate it to the newest schema.

    \b
    Example:
      predtrack db upgrade
    """
    from predtrack.store.schema import upgrade_store

    result = upgrade_store(db)
    if result.before == result.after:
        click.echo(f"{result.label} is already at revision {result.after}; nothing to do.")
        return
    if result.backup:
        click.echo(f"Backed up to {result.backup}")
    click.echo(f"Upgraded {result.label} from revision {result.before} to {result.after}.")


# --- writing predictions ---


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, metavar="[TITLE] FORECAST")
@click.option(
    "-q", "--question", "question_ref", metavar="ID|KEY", help="Forecast on an existing question."
)
@click.option(
    "-f",
    "--file",
    "bulk_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Register many questions and forecasts from a TOML or JSON file, all or nothing.",
)
@click.option(
    "-e",
    "--experiment",
    metavar="NAME",
    help="Experiment (created on first use) [default: default].",
)
@click.option("--key", help="Short name for the question, unique in its experiment.")
@click.option(
    "--kind",
    type=click.Choice(["binary", "fraction", "quantity", "categorical"]),
    help="Kind of question [default: inferred from the forecast].",
)
@click.option("--unit", help="Unit of a quantity, e.g. 'maze size'.")
@click.option("--tag", "tags", multiple=True, help="A tag (repeatable).")
@click.option("--note", help="Your rationale, kept with the prediction.")
@click.option(
    "--bounds", nargs=2, type=float, metavar="LO HI", help="Possible range of a quantity."
)
@click.option("--ordered", is_flag=True, help="Categories are ordered (scored with RPS too).")
@click.option(
    "--rule", metavar="FILE#SELECTOR", help="How the outcome will be read from a result file."
)
@click.option("--level", metavar="P", help="Level of an 'A to B' interval or --ci [default: 0.9].")
@click.option("--ci", nargs=2, metavar="LO HI", help="Interval around a point forecast.")
@click.option(
    "--log", "log_scale", is_flag=True, help="Fit the interval on the log scale (lognormal)."
)
@click.option("--normalize", is_flag=True, help="Rescale category probabilities to sum to 1.")
@click.option("--json", "as_json", is_flag=True, help="Print what was recorded as JSON.")
@by_option
@db_option
def predict(
    args: tuple[str, ...],
    question_ref: str | None,
    bulk_file: Path | None,
    experiment: str | None,
    key: str | None,
    kind: str | None,
    unit: str | None,
    tags: tuple[str, ...],
    note: str | None,
    bounds: tuple[float, float] | None,
    ordered: bool,
    rule: str | None,
    level: str | None,
    ci: tuple[str, str] | None,
    log_scale: bool,
    normalize: bool,
    as_json: bool,
    by: str | None,
    db: str | None,
) -> None:
    """Record a prediction; nothing is ever edited, an update is a new prediction.

    \b
    Forecasts: 0.7 or 70% (binary); "10 to 20" (90% interval), normal(14,2),
    lognormal(2.6,0.2), quantiles(0.05:10, 0.5:14, 0.95:20) (quantity);
    beta(6,4), "40% to 80%", 0.6 --ci 0.4 0.8 (fraction); "a:0.5, b:0.3, c:0.2" (categorical).

    \b
    Examples:
      predtrack predict "Reaches cheese at size 25" 30% -e cheese-maze --key tl25
      predtrack predict "Size where behaviour flips" "10 to 20" --kind quantity -e cheese-maze --key flip
      predtrack predict --question flip "12 to 18" --by bob
      predtrack predict --file prereg.toml
    """
    from predtrack.identity import current_user
    from predtrack.predict import (
        DEFAULT_EXPERIMENT,
        NewPrediction,
        NewQuestion,
        load_bulk,
        register,
    )
    from predtrack.store.schema import open_store

    for arg in args:
        # Unknown options are let through so that "-5 to 5" or -0.1 can be forecasts.
        if arg.startswith("-") and not re.match(r"^-[\d.]", arg):
            raise click.NoSuchOption(arg.split("=")[0])
    user = current_user(by)
    question_options = (key, kind, unit, tags, bounds, ordered, rule)
    if bulk_file is not None:
        if args or question_ref:
            raise click.UsageError("--file takes no TITLE/FORECAST arguments and no --question")
        questions, predictions, descriptions = load_bulk(bulk_file, default_forecaster=user)
    elif question_ref is not None:
        if len(args) != 1:
            raise click.UsageError("with --question give exactly one FORECAST")
        if any(v for v in question_options if v not in (None, (), False)):
            raise click.UsageError(
                "question options (--key, --kind, --rule, ...) only apply to a new question"
            )
        questions, descriptions = [], {}
        predictions = [
            NewPrediction(
                question_ref,
                user,
                args[0],
                level=level,
                ci=ci,
                log=log_scale,
                normalize=normalize,
                note=note,
                experiment=experiment,
            )
        ]
    else:
        if len(args) != 2:
            raise click.UsageError(
                'give a TITLE and a FORECAST, e.g. predict "Title" 70%; '
                "or --question KEY FORECAST; or --file FILE"
            )
        spec = NewQuestion(
            experiment=experiment or DEFAULT_EXPERIMENT,
            title=args[0],
            kind=kind,
            key=key,
            unit=unit,
            tags=list(tags),
            note=None,
            bounds=bounds,
            ordered=ordered,
            rule=rule,
            rule_dir=str(Path.cwd()),
        )
        questions, descriptions = [spec], {}
        predictions = [
            NewPrediction(
                spec,
                user,
                args[1],
                level=level,
                ci=ci,
                log=log_scale,
                normalize=normalize,
                note=note,
            )
        ]
    store = open_store(db)
    with progress_bar("Parsing forecasts") as progress:
        result = register(
            store, questions, predictions, by=user, descriptions=descriptions, progress=progress
        )
    for message in result.warnings:
        warn(message)
    if as_json:
        echo_json(
            {
                "seq": result.seq,
                "head": result.head,
                "experiments_created": result.experiments,
                "questions": result.questions,
                "predictions": [vars(p) for p in result.predictions],
            }
        )
        return
    from predtrack.forecast import describe

    for name in result.experiments:
        click.echo(f"Created experiment {name}")
    if len(result.questions) <= 20:
        for q in result.questions:
            click.echo(f"Registered question #{q['id']} {q['label']} ({q['kind']}): {q['title']}")
    else:
        click.echo(f"Registered {len(result.questions)} questions")
    if len(result.predictions) <= 20:
        for p in result.predictions:
            late = f"  [LATE: {p.late_reason}]" if p.late else ""
            stored = describe(p.distribution)
            shown = (
                ""
                if stored.replace(" ", "") == p.forecast.replace(" ", "")
                else f" (stored as {stored})"
            )
            click.echo(
                f"Recorded prediction #{p.id} on {p.question} by {p.forecaster}: {p.forecast}{shown}{late}"
            )
    else:
        late_count = sum(p.late for p in result.predictions)
        click.echo(
            f"Recorded {len(result.predictions)} predictions"
            + (f" ({late_count} late)" if late_count else "")
        )
    click.echo(f"Ledger head {result.head}")


@cli.command()
@click.argument("name")
@by_option
@db_option
def lock(name: str, by: str | None, db: str | None) -> None:
    """Lock an experiment: predictions made after this are recorded as late.

    \b
    Example:
      predtrack lock cheese-maze
    """
    from predtrack.experiments import lock_experiment
    from predtrack.identity import current_user
    from predtrack.output import local_time
    from predtrack.store.schema import open_store

    experiment, changed = lock_experiment(open_store(db), name, by=current_user(by))
    when = local_time(experiment.locked_at)
    if changed:
        click.echo(f"Locked {name} at {when}: later predictions on it are marked late.")
    else:
        click.echo(f"{name} was already locked at {when} ({experiment.lock_reason}).")


@cli.group(cls=PredtrackGroup)
def experiment() -> None:
    """Experiments: `experiment add`, `experiment list`."""


@experiment.command("add")
@click.argument("name")
@click.option("--description", "-d", help="What the experiment is about.")
@by_option
@db_option
def experiment_add(name: str, description: str | None, by: str | None, db: str | None) -> None:
    """Create an experiment (predict -e NAME also creates it on first use).

    \b
    Example:
      predtrack experiment add cheese-maze -d "Does the policy generalise to larger mazes?"
    """
    from predtrack.experiments import add_experiment
    from predtrack.identity import current_user
    from predtrack.store.schema import open_store

    add_experiment(open_store(db), name, description=description, by=current_user(by))
    click.echo(f"Created experiment {name}")


@experiment.command("list")
@json_option
@db_option
def experiment_list(as_json: bool, db: str | None) -> None:
    """List experiments with their counts and lock times.

    \b
    Example:
      predtrack experiment list --json
    """
    from predtrack.experiments import list_experiments
    from predtrack.render import experiment_list as render
    from predtrack.store.schema import open_store

    rows = list_experiments(open_store(db))
    if as_json:
        echo_json(rows)
    else:
        click.echo(render(rows))


# --- after the runs ---


@cli.command()
@click.argument("locations", nargs=-1, required=True, metavar="FILE_OR_URI...")
@click.option(
    "-e",
    "--experiment",
    metavar="NAME",
    required=True,
    help="The experiment the results belong to.",
)
@by_option
@db_option
def link(locations: tuple[str, ...], experiment: str, by: str | None, db: str | None) -> None:
    """Record result files (path, sha256, size, time) or run URIs; locks the experiment.

    \b
    Examples:
      predtrack link results.json sweep.csv -e cheese-maze
      predtrack link mlflow://runs/3f2a9c -e cheese-maze
    """
    from predtrack.identity import current_user
    from predtrack.resolve import link as link_artifacts
    from predtrack.store.schema import open_store

    result = link_artifacts(
        open_store(db), list(locations), experiment=experiment, by=current_user(by)
    )
    for item in result.artifacts:
        digest = (
            f"sha256 {item['sha256'][:16]}…, {item['size']} bytes"
            if item["sha256"]
            else "URI, no hash"
        )
        click.echo(f"Linked {item['location']} ({digest})")
    for location in result.already:
        click.echo(f"Already linked with the same content: {location}")
    if result.locked:
        click.echo(f"Locked {result.experiment}: predictions made from now on are marked late.")
    if result.head:
        click.echo(f"Ledger head {result.head}")


@cli.command()
@click.argument("question", required=False)
@click.option(
    "-e",
    "--experiment",
    metavar="NAME",
    help="Only this experiment (or where to look up QUESTION).",
)
@click.option("--dry-run", is_flag=True, help="Show what would be resolved; write nothing.")
@click.option("--value", type=float, help="Manual outcome of a quantity or fraction question.")
@click.option("--yes/--no", "yes", default=None, help="Manual outcome of a binary question.")
@click.option("--category", help="Manual outcome of a categorical question.")
@click.option(
    "--successes", type=int, metavar="K", help="Manual outcome of a fraction: K successes ..."
)
@click.option("--trials", type=int, metavar="N", help="... out of N trials.")
@click.option("--annul", metavar="REASON", help="Annul the question: it is never scored.")
@click.option(
    "--correct",
    metavar="REASON",
    help="Replace an earlier resolution; the old one stays in the history.",
)
@by_option
@json_option
@db_option
def resolve(
    question: str | None,
    experiment: str | None,
    dry_run: bool,
    value: float | None,
    yes: bool | None,
    category: str | None,
    successes: int | None,
    trials: int | None,
    annul: str | None,
    correct: str | None,
    by: str | None,
    as_json: bool,
    db: str | None,
) -> None:
    """Resolve every pending question from its rule, or one question by hand.

    Without QUESTION, every pending rule is evaluated: a missing file leaves the question
    pending, a failing selector is reported for that question (exit 1) and others still
    resolve.

    \b
    Examples:
      predtrack resolve                      # all pending rules
      predtrack resolve --dry-run
      predtrack resolve flip --value 16.5
      predtrack resolve half25 --yes
      predtrack resolve behaviour --category top-right-first
      predtrack resolve frac25 --successes 37 --trials 50
      predtrack resolve flip --annul "sweep crashed at size 19"
      predtrack resolve flip --value 16.0 --correct "re-ran with the fixed seed"
    """
    from predtrack.identity import current_user
    from predtrack.store.schema import open_store

    user = current_user(by)
    manual = (value, yes, category, successes, trials, annul, correct)
    if question is None:
        if any(v is not None for v in manual):
            raise click.UsageError("manual outcomes need the QUESTION they resolve")
        from predtrack.render import resolve_run
        from predtrack.resolve import resolve_pending

        with progress_bar("Reading results") as progress:
            run = resolve_pending(
                open_store(db), by=user, experiment=experiment, dry_run=dry_run, progress=progress
            )
        if as_json:
            echo_json(
                {
                    "dry_run": dry_run,
                    "head": run.head,
                    "already_resolved": run.already,
                    "without_rule": run.without_rule,
                    "questions": [o.as_dict() for o in run.outcomes],
                }
            )
        else:
            click.echo(resolve_run(run))
        if run.failed:
            sys.exit(1)
        return
    if dry_run:
        raise click.UsageError("--dry-run applies to resolving all pending rules (no QUESTION)")
    from predtrack.resolve import ManualOutcome, resolve_manual

    given = ManualOutcome(
        value=value,
        yes=yes,
        category=category,
        successes=successes,
        trials=trials,
        annul=annul,
        correct=correct,
    )
    row, old, head = resolve_manual(open_store(db), question, given, by=user, experiment=experiment)
    if as_json:
        echo_json(
            {
                "id": row.id,
                "status": row.status,
                "outcome": row.outcome,
                "k": row.k,
                "n": row.n,
                "reason": row.reason,
                "supersedes": row.supersedes,
                "head": head,
            }
        )
        return
    from predtrack.render import outcome_text

    shown = {
        "status": row.status,
        "resolution": {"value": row.outcome, "k": row.k, "n": row.n, "reason": annul},
    }
    click.echo(
        f"Question {question} {'annulled' if row.status == 'annulled' else 'resolved'}: "
        f"{outcome_text(shown).removeprefix('annulled: ')}"
    )
    if old is not None:
        click.echo(
            f"Corrected resolution #{old.id} ({old.status} {old.outcome!r}); it stays in the history."
        )
    click.echo(f"Ledger head {head}")


# --- reading ---


@cli.command("list")
@click.option("-e", "--experiment", metavar="NAME", help="Only this experiment.")
@click.option(
    "--status", type=click.Choice(["pending", "resolved", "annulled"]), help="Only this status."
)
@click.option("--kind", type=click.Choice(["binary", "fraction", "quantity", "categorical"]))
@click.option("--tag", help="Only questions with this tag.")
@click.option("--reveal", is_flag=True, help="Show others' predictions on open questions too.")
@by_option
@json_option
@db_option
def list_command(
    experiment: str | None,
    status: str | None,
    kind: str | None,
    tag: str | None,
    reveal: bool,
    by: str | None,
    as_json: bool,
    db: str | None,
) -> None:
    """List questions with their status and outcome.

    \b
    Example:
      predtrack list -e cheese-maze --status pending
      predtrack list --json
    """
    from predtrack.identity import current_user
    from predtrack.questions import list_questions
    from predtrack.render import question_list
    from predtrack.store.schema import open_store

    views = list_questions(
        open_store(db),
        viewer=current_user(by),
        reveal=reveal,
        experiment=experiment,
        status=status,
        kind=kind,
        tag=tag,
    )
    if as_json:
        echo_json(views)
    else:
        click.echo(question_list(views))


@cli.command()
@click.argument("question")
@click.option("-e", "--experiment", metavar="NAME", help="Look the key up in this experiment.")
@click.option(
    "--reveal", is_flag=True, help="Show others' predictions even if you have not predicted."
)
@by_option
@json_option
@db_option
def show(
    question: str,
    experiment: str | None,
    reveal: bool,
    by: str | None,
    as_json: bool,
    db: str | None,
) -> None:
    """Show one question (by id, key or EXPERIMENT/KEY) with its predictions.

    Others' predictions on an open question stay hidden until you have predicted on it:
    a courtesy against anchoring, not access control (--reveal shows them).

    \b
    Example:
      predtrack show flip
      predtrack show cheese-maze/flip --json
    """
    from predtrack.identity import current_user
    from predtrack.questions import show_question
    from predtrack.render import question_detail
    from predtrack.store.schema import open_store

    view = show_question(
        open_store(db), question, viewer=current_user(by), reveal=reveal, experiment=experiment
    )
    if as_json:
        echo_json(view)
    else:
        click.echo(question_detail(view))


@cli.command()
@click.option("--full", is_flag=True, help="All 64 hex digits instead of 16.")
@json_option
@db_option
def head(full: bool, as_json: bool, db: str | None) -> None:
    """Print the ledger head digest SEQ:HEX to publish.

    Posting it anywhere public proves later that nothing registered before it changed
    (check with `predtrack verify --against SEQ:HEX`).

    \b
    Example:
      predtrack head
    """
    from predtrack.integrity import head as ledger_head
    from predtrack.store.schema import open_store

    value = ledger_head(open_store(db), full=full)
    if as_json:
        seq, digest = value.split(":")
        echo_json({"head": value, "seq": int(seq), "hash": digest})
    else:
        click.echo(value)


@cli.command()
@click.option(
    "--against", metavar="SEQ:HEX", help="A published head that must still be in the chain."
)
@json_option
@db_option
def verify(against: str | None, as_json: bool, db: str | None) -> None:
    """Recompute the hash chain and check every row against it; exit 1 on any problem.

    \b
    Example:
      predtrack verify
      predtrack verify --against 7:1a2b3c4d5e6f7a8b
    """
    from predtrack.integrity import verify as run_verify
    from predtrack.store.schema import open_store

    result = run_verify(open_store(db), against=against)
    if as_json:
        echo_json(
            {
                "ok": result.ok,
                "entries": result.entries,
                "head": result.head,
                "problems": [p.as_dict() for p in result.problems],
                "warnings": result.warnings,
            }
        )
    else:
        for message in result.warnings:
            warn(message)
        for p in result.problems:
            where = f"seq {p.seq}" if p.seq is not None else "no ledger entry"
            field = f".{p.field}" if p.field else ""
            click.echo(f"PROBLEM {where}: {p.table}{field}: {p.message}")
        if result.ok:
            suffix = f"; contains {against}" if against else ""
            click.echo(f"OK: {result.entries} ledger entries, head {result.head or '0'}{suffix}")
        else:
            click.echo(
                f"FAILED: {len(result.problems)} problem(s) in {result.entries} ledger entries"
            )
    if not result.ok:
        sys.exit(1)


@cli.command()
@click.option(
    "--by",
    type=click.Choice(["forecaster", "experiment", "tag", "kind"]),
    help="One row per group.",
)
@click.option(
    "--baseline", metavar="NAME", help="Skill against climatology, naive, team, or a forecaster."
)
@click.option(
    "--compare",
    "compare_pair",
    nargs=2,
    metavar="A B",
    help="Paired differences between two forecasters.",
)
@click.option(
    "--include-late",
    is_flag=True,
    help="Score late predictions too (default: pre-registered only).",
)
@click.option("--bits", is_flag=True, help="Log scores in bits instead of nats.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap CIs.")
@click.option("-e", "--experiment", metavar="NAME", help="Only this experiment.")
@json_option
@db_option
def score(
    by: str | None,
    baseline: str | None,
    compare_pair: tuple[str, str] | None,
    include_late: bool,
    bits: bool,
    seed: int,
    experiment: str | None,
    as_json: bool,
    db: str | None,
) -> None:
    """Score resolved questions: Brier, log, CORP MCB/DSC/UNC, CRPS, coverage, skill.

    Per forecaster and question the latest pre-registered prediction counts; annulled
    questions never count.

    \b
    Examples:
      predtrack score
      predtrack score --by forecaster --baseline climatology
      predtrack score --compare alice bob
      predtrack score --include-late --json
    """
    from predtrack.render import comparison_table, score_table
    from predtrack.score import score_report
    from predtrack.store.schema import open_store

    document = score_report(
        open_store(db),
        by=by,
        baseline=baseline,
        include_late=include_late,
        bits=bits,
        seed=seed,
        experiment=experiment,
        compare_pair=compare_pair,
    )
    if as_json:
        echo_json(document)
        return
    click.echo(score_table(document))
    if "comparison" in document:
        click.echo("")
        click.echo(comparison_table(document["comparison"]))


@cli.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv"]),
    default="jsonl",
    show_default=True,
    help="jsonl: the full ledger, replayable by `import`; csv: one row per scored prediction.",
)
@click.option(
    "--scored", is_flag=True, help="With --format csv: the scored predictions (required for csv)."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Write to a file, not stdout.",
)
@click.option("--include-late", is_flag=True, help="With --scored: score late predictions too.")
@db_option
def export_command(
    fmt: str, scored: bool, output: str | None, include_late: bool, db: str | None
) -> None:
    """Export the ledger as JSON lines (one event per line), or scored predictions as CSV.

    \b
    Examples:
      predtrack export > ledger.jsonl
      predtrack import ledger.jsonl --db copy.db      # same head digest
      predtrack export --format csv --scored > scored.csv
    """
    from predtrack.store.schema import open_store

    store = open_store(db)
    if fmt == "csv":
        if not scored:
            raise click.UsageError("--format csv exports scored predictions: add --scored")
        from predtrack.score import scored_rows_csv

        lines = scored_rows_csv(store, include_late=include_late)
    else:
        if scored:
            raise click.UsageError("--scored goes with --format csv")
        from predtrack.transfer import export_lines

        lines = export_lines(store)
    handle = click.open_file(output or "-", "w", encoding="utf-8")
    with handle:
        for line in lines:
            handle.write(line + "\n")


@cli.command("import")
@click.argument("source", type=click.File("r", encoding="utf-8"))
@db_option
def import_command(source: Any, db: str | None) -> None:
    """Rebuild an empty store from `predtrack export` output, checking the chain line by line.

    The database is created if it does not exist. A tampered export is refused, naming
    its first bad line; nothing is written then.

    \b
    Example:
      predtrack import ledger.jsonl --db fresh.db
    """
    from predtrack.store.schema import init_store, open_store
    from predtrack.transfer import import_ledger, read_export

    entries = read_export(source)  # checked before anything is created
    init_store(db)
    result = import_ledger(open_store(db), entries)
    click.echo(f"Imported {result.entries} ledger entries; head {result.head}")


@cli.command()
@click.option(
    "-o",
    "--output",
    default="report.html",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The HTML file to write (replaced atomically).",
)
@click.option("-e", "--experiment", metavar="NAME", help="Only this experiment.")
@click.option("--title", help="Title of the report [default: from the experiment].")
@click.option(
    "--by",
    type=click.Choice(["forecaster", "experiment", "tag", "kind"]),
    default="forecaster",
    show_default=True,
    help="Besides the leaderboard per forecaster, a table of scores per experiment, tag or kind.",
)
@click.option(
    "--include-late",
    is_flag=True,
    help="Score late predictions too (default: shown, but not scored).",
)
@click.option(
    "--baseline",
    default="climatology",
    show_default=True,
    metavar="NAME",
    help="Skill against climatology, naive, team, or a forecaster.",
)
@click.option(
    "--questions",
    "questions",
    default="200",
    show_default=True,
    metavar="N|all",
    help="How many resolved questions to show in full; the rest are summarised.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstraps.")
@click.option(
    "--figures",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write every figure into DIR as a standalone SVG file (legend and colours "
    "inline), and as a PDF when rsvg-convert (Debian: librsvg2-bin) is on PATH.",
)
@db_option
def report(
    output: Path,
    experiment: str | None,
    title: str | None,
    by: str,
    include_late: bool,
    baseline: str,
    questions: str,
    seed: int,
    figures: Path | None,
    db: str | None,
) -> None:
    """Write the HTML calibration and resolution report, one self-contained file.

    Leaderboard with bootstrap intervals and head-to-head comparisons, CORP reliability
    diagrams, PIT histograms and interval coverage, every question with its forecasts,
    and the ledger verified at generation time. Prints the path of the file written.

    \b
    Examples:
      predtrack report                             # ./report.html
      predtrack report -o cheese.html -e cheese-maze --title "Cheese-maze pre-registration"
      predtrack report --by tag --include-late --baseline team
      predtrack report --db predictions.db.example -o example.html
    """
    from predtrack.errors import InputError
    from predtrack.report import ReportOptions, write_report
    from predtrack.store.schema import open_store

    text = questions.strip().lower()
    if text == "all":
        limit: int | None = None
    elif text.isdigit():
        limit = int(text)
    else:
        raise InputError(f"--questions {questions!r}: expected a number >= 0 or 'all'")
    options = ReportOptions(
        title=title,
        experiment=experiment,
        by=by,
        include_late=include_late,
        baseline=baseline,
        questions=limit,
        seed=seed,
        figures=figures,
    )
    store = open_store(db)
    progress = None
    if sys.stderr.isatty():

        def progress(step: str) -> None:
            click.echo(f"\r\033[K{step}…", nl=False, err=True)

    result = write_report(store, output, options, progress=progress)
    if progress is not None:
        click.echo("\r\033[K", nl=False, err=True)
    if not result.verified:
        warn(
            f"verification FAILED ({result.problems} problem(s)); the report says so in red. "
            "Run `predtrack verify` for details."
        )
    click.echo(str(result.path))


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="predtrack")
