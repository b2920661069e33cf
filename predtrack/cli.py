"""The `predtrack` command line: parse, call one service, print its result (text or `--json`)."""

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
KINDS = ("binary", "fraction", "quantity", "categorical")  # click.Choice: kept light, tested equal
GROUPINGS = ("forecaster", "experiment", "tag", "kind")


class InputFailure(click.ClickException):
    """Bad input: exit code 2."""

    exit_code = 2


class CheckFailure(click.ClickException):
    """A failed check or an unexpected failure: exit code 1."""

    exit_code = 1


def _quiet_exit() -> None:
    # Output to a closed pipe (`predtrack export | head -1`): stop quietly, as Unix tools do.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    raise SystemExit(0)


class PredtrackGroup(click.Group):
    """A group that turns PredtrackError into `Error: ...` and its exit code, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PredtrackError as error:
            failure = InputFailure if error.exit_code == 2 else CheckFailure
            raise failure(str(error).replace("\n", " ")) from None
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:
            _quiet_exit()
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


def show(result: Any, as_json: bool) -> None:
    """Print a service's result: its `as_dict()` as JSON, or its text."""
    if as_json:
        from predtrack.output import to_json

        click.echo(to_json(result.as_dict() if hasattr(result, "as_dict") else result))
    else:
        click.echo(result.text() if hasattr(result, "text") else str(result))


def warn(message: str) -> None:
    from predtrack.validate import display

    click.echo(f"Warning: {display(message)}", err=True)


def _store(db: str | None) -> Any:
    from predtrack.store.schema import open_store

    return open_store(db)


def _user(by: str | None) -> str:
    from predtrack.identity import current_user

    return current_user(by)


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
@json_option
@db_option
def init(as_json: bool, db: str | None) -> None:
    """Create the database at the newest schema.

    \b
    Example:
      predtrack init                 # ./predictions.db
      predtrack init --db team.db
    """
    from predtrack.store.schema import init_store

    result = init_store(db)
    if as_json:
        show(result, True)
        return
    if result.created:
        click.echo(f"Created {result.database} at schema revision {result.revision}.")
        if result.journal and result.journal != "wal":
            warn(f"WAL journal unavailable here ({result.journal}); using the rollback journal")
    else:
        click.echo(f"{result.database} is already at schema revision {result.revision}.")


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
        show(info, True)
        return
    state = "up to date" if info["up_to_date"] else "run `predtrack db upgrade`"
    click.echo(
        f"{info['database']}: revision {info['revision'] or 'none'} (newest {info['head']}): {state}"
    )


@db.command("upgrade")
@json_option
@db_option
def db_upgrade(as_json: bool, db: str | None) -> None:
    """Back up the database file, then migrate it to the newest schema.

    \b
    Example:
      predtrack db upgrade
    """
    from predtrack.store.schema import upgrade_store

    result = upgrade_store(db)
    if as_json:
        show(result, True)
    elif result.before == result.after:
        click.echo(f"{result.database} is already at revision {result.after}; nothing to do.")
    else:
        if result.backup:
            click.echo(f"Backed up to {result.backup}")
        click.echo(f"Upgraded {result.database} from revision {result.before} to {result.after}.")


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
    type=click.Choice(KINDS),
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
    "--rule", metavar="FILE#SELECTOR", help="How the outcome will be read from result files."
)
@click.option(
    "--if-run-fails",
    type=click.Choice(["pending", "annul"]),
    help="When the runs the rule reads failed: stay pending [default] or annul the question.",
)
@click.option("--level", metavar="P", help="Level of an 'A to B' interval or --ci [default: 0.9].")
@click.option("--ci", nargs=2, metavar="LO HI", help="Interval around a point forecast.")
@click.option(
    "--log", "log_scale", is_flag=True, help="Fit the interval on the log scale (lognormal)."
)
@click.option("--normalize", is_flag=True, help="Rescale category probabilities to sum to 1.")
@click.option(
    "--sign",
    is_flag=True,
    help="Sign your forecasts with your registered SSH key (ssh-agent or $PREDTRACK_SSH_KEY).",
)
@click.option(
    "--sealed",
    is_flag=True,
    help="Store only a commitment; the forecast stays in your openings file until `reveal`.",
)
@json_option
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
    if_run_fails: str | None,
    level: str | None,
    ci: tuple[str, str] | None,
    log_scale: bool,
    normalize: bool,
    sign: bool,
    sealed: bool,
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
      predtrack predict --file prereg.toml --sign
      predtrack predict --question flip "12 to 18" --sealed --by bob
    """
    from predtrack.predict import DEFAULT_EXPERIMENT, NewPrediction, NewQuestion, register

    for arg in args:
        # Unknown options are let through so that "-5 to 5" or -0.1 can be forecasts.
        if arg.startswith("-") and not re.match(r"^-[\d.]", arg):
            raise click.NoSuchOption(arg.split("=")[0])
    user = _user(by)
    options = {"level": level, "ci": ci, "log": log_scale, "normalize": normalize, "note": note}
    question_options = (key, kind, unit, tags, bounds, ordered, rule, if_run_fails)
    if bulk_file is not None:
        if args or question_ref:
            raise click.UsageError("--file takes no TITLE/FORECAST arguments and no --question")
        from predtrack.bulk import load_bulk

        questions, predictions, descriptions = load_bulk(bulk_file, default_forecaster=user)
    elif question_ref is not None:
        if len(args) != 1:
            raise click.UsageError("with --question give exactly one FORECAST")
        if any(v for v in question_options if v not in (None, (), False)):
            raise click.UsageError(
                "question options (--key, --kind, --rule, ...) only apply to a new question"
            )
        questions, descriptions = [], {}
        predictions = [NewPrediction(question_ref, user, args[0], experiment=experiment, **options)]
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
            bounds=bounds,
            ordered=ordered,
            rule=rule,
            rule_dir=str(Path.cwd()),
            if_run_fails=if_run_fails,
        )
        questions, descriptions = [spec], {}
        predictions = [NewPrediction(spec, user, args[1], **options)]
    store = _store(db)
    with progress_bar("Parsing forecasts") as progress:
        result = register(
            store, questions, predictions, by=user, descriptions=descriptions, progress=progress,
            sign=sign, sealed=sealed,
        )  # fmt: skip
    for message in result.warnings:
        warn(message)
    show(result, as_json)


@cli.command()
@click.argument("name")
@json_option
@by_option
@db_option
def lock(name: str, as_json: bool, by: str | None, db: str | None) -> None:
    """Lock an experiment: predictions made after this are recorded as late.

    \b
    Example:
      predtrack lock cheese-maze
    """
    from predtrack.experiments import lock_experiment

    show(lock_experiment(_store(db), name, by=_user(by)), as_json)


@cli.group(cls=PredtrackGroup)
def experiment() -> None:
    """Experiments: `experiment add`, `experiment list`."""


@experiment.command("add")
@click.argument("name")
@click.option("--description", "-d", help="What the experiment is about.")
@json_option
@by_option
@db_option
def experiment_add(
    name: str, description: str | None, as_json: bool, by: str | None, db: str | None
) -> None:
    """Create an experiment (predict -e NAME also creates it on first use).

    \b
    Example:
      predtrack experiment add cheese-maze -d "Does the policy generalise to larger mazes?"
    """
    from predtrack.experiments import add_experiment

    row = add_experiment(_store(db), name, description=description, by=_user(by))
    if as_json:
        show({"name": row.name, "id": row.id, "created_at": row.created_at}, True)
    else:
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

    rows = list_experiments(_store(db))
    if as_json:
        show(rows, True)
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
@click.option(
    "--supersede",
    is_flag=True,
    help="A file linked before has changed: record it as replacing the old one.",
)
@json_option
@by_option
@db_option
def link(
    locations: tuple[str, ...],
    experiment: str,
    supersede: bool,
    as_json: bool,
    by: str | None,
    db: str | None,
) -> None:
    """Record result files (path, sha256, size, time) or run URIs; locks the experiment.

    \b
    Examples:
      predtrack link results.json sweep.csv -e cheese-maze
      predtrack link sweep.csv -e cheese-maze --supersede     # after a legitimate re-run
    """
    from predtrack.link import link as link_artifacts

    result = link_artifacts(
        _store(db), list(locations), experiment=experiment, by=_user(by), supersede=supersede
    )
    show(result, as_json)


@cli.command()
@click.argument("question", required=False)
@click.option(
    "-e",
    "--experiment",
    metavar="NAME",
    help="Only this experiment (or where to look up QUESTION).",
)
@click.option("--dry-run", is_flag=True, help="Show what would be resolved; write nothing.")
@click.option(
    "--final",
    is_flag=True,
    help="Declare the experiment's runs complete: missing runs count as failed.",
)
@click.option(
    "--allow-outside",
    is_flag=True,
    help="Read rule files outside the folder each rule was registered from.",
)
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
@click.option(
    "--rerun",
    is_flag=True,
    help="With --correct: evaluate the question's rule again on today's files.",
)
@json_option
@by_option
@db_option
def resolve(
    question: str | None,
    experiment: str | None,
    dry_run: bool,
    final: bool,
    allow_outside: bool,
    value: float | None,
    yes: bool | None,
    category: str | None,
    successes: int | None,
    trials: int | None,
    annul: str | None,
    correct: str | None,
    rerun: bool,
    as_json: bool,
    by: str | None,
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
      predtrack resolve --final -e sparse    # the sweep is complete: missing runs failed
      predtrack resolve flip --value 16.5
      predtrack resolve half25 --yes
      predtrack resolve behaviour --category top-right-first
      predtrack resolve frac25 --successes 37 --trials 50
      predtrack resolve flip --annul "sweep crashed at size 19"
      predtrack resolve flip --value 16.0 --correct "re-ran with the fixed seed"
      predtrack resolve rate32 --rerun --correct "seed 7 re-run after the node crash"
    """
    from predtrack.manual import ManualOutcome

    user = _user(by)
    given = ManualOutcome(value, yes, category, successes, trials, annul, correct, rerun)
    if question is None:
        if given.has_value() or annul or correct or rerun:
            raise click.UsageError("manual outcomes need the QUESTION they resolve")
        from predtrack.resolve import resolve_pending

        with progress_bar("Reading results") as progress:
            run = resolve_pending(
                _store(db),
                by=user,
                experiment=experiment,
                dry_run=dry_run,
                final=final,
                allow_outside=allow_outside,
                progress=progress,
            )
        show(run, as_json)
        if run.failed:
            sys.exit(1)
        return
    if dry_run or final:
        raise click.UsageError(
            "--dry-run and --final apply to resolving all pending rules (no QUESTION)"
        )
    from predtrack.resolve import resolve_manual

    show(
        resolve_manual(
            _store(db), question, given, by=user, experiment=experiment, allow_outside=allow_outside
        ),
        as_json,
    )


# --- reading ---


@cli.command("list")
@click.option("-e", "--experiment", metavar="NAME", help="Only this experiment.")
@click.option(
    "--status", type=click.Choice(["pending", "resolved", "annulled"]), help="Only this status."
)
@click.option("--kind", type=click.Choice(KINDS))
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
    from predtrack.questions import list_questions
    from predtrack.render import question_list

    views = list_questions(
        _store(db),
        viewer=_user(by),
        reveal=reveal,
        experiment=experiment,
        status=status,
        kind=kind,
        tag=tag,
    )
    if as_json:
        show(views, True)
    else:
        click.echo(question_list(views))


@cli.command("show")
@click.argument("question")
@click.option("-e", "--experiment", metavar="NAME", help="Look the key up in this experiment.")
@click.option(
    "--reveal", is_flag=True, help="Show others' predictions even if you have not predicted."
)
@by_option
@json_option
@db_option
def show_command(
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
    from predtrack.questions import show_question
    from predtrack.render import question_detail

    view = show_question(
        _store(db), question, viewer=_user(by), reveal=reveal, experiment=experiment
    )
    if as_json:
        show(view, True)
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

    value = ledger_head(_store(db), full=full)
    if as_json:
        seq, digest = value.split(":")
        show({"head": value, "seq": int(seq), "hash": digest}, True)
    else:
        click.echo(value)


@cli.command()
@click.option(
    "--against", metavar="SEQ:HEX", help="A published head that must still be in the chain."
)
@click.option(
    "--tsa-ca", type=click.Path(path_type=Path), help="CA certificates (PEM) of the TSAs."
)
@click.option("--git", "git_repo", metavar="REPO", help="A repository with anchor commits.")
@json_option
@db_option
def verify(
    against: str | None, tsa_ca: Path | None, git_repo: str | None, as_json: bool, db: str | None
) -> None:
    """Recompute the hash chain and check every row against it, and the signatures, timestamp
    tokens, git anchors and sealed forecasts; exit 1 on any problem.

    \b
    Example:
      predtrack verify
      predtrack verify --against 7:1a2b3c4d5e6f7a8b
      predtrack verify --tsa-ca tsa-ca.pem --git ../paper-repo
    """
    from predtrack.integrity import verify as run_verify

    result = run_verify(_store(db), against=against, tsa_ca=tsa_ca, git=git_repo)
    if not as_json:
        for message in result.warnings:
            warn(message)
    show(result, as_json)
    if not result.ok:
        sys.exit(1)


@cli.command()
@click.option("--by", type=click.Choice(GROUPINGS), help="One row per group.")
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
@click.option(
    "--signed-only", is_flag=True, help="Score only predictions signed with the forecaster's key."
)
@click.option("--bits", is_flag=True, help="Log scores in bits instead of nats.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap CIs.")
@click.option("--wide", is_flag=True, help="Every column and CI, however wide the terminal.")
@click.option("-e", "--experiment", metavar="NAME", help="Only this experiment.")
@json_option
@db_option
def score(
    by: str | None,
    baseline: str | None,
    compare_pair: tuple[str, str] | None,
    include_late: bool,
    signed_only: bool,
    bits: bool,
    seed: int,
    wide: bool,
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

    document = score_report(
        _store(db),
        by=by,
        baseline=baseline,
        include_late=include_late,
        bits=bits,
        seed=seed,
        experiment=experiment,
        compare_pair=compare_pair,
        signed_only=signed_only,
    )
    if as_json:
        show(document, True)
        return
    click.echo(score_table(document, wide=wide))
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
    "--raw",
    is_flag=True,
    help="With csv: cells exactly as stored (no guard against spreadsheet formulas).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to a file, not stdout.",
)
@click.option("--include-late", is_flag=True, help="With --scored: score late predictions too.")
@db_option
def export_command(
    fmt: str, scored: bool, raw: bool, output: Path | None, include_late: bool, db: str | None
) -> None:
    """Export the ledger as JSON lines (one event per line), or scored predictions as CSV.

    CSV cells starting with = + - @ (formulas for a spreadsheet) are prefixed with ' unless --raw.

    \b
    Examples:
      predtrack export > ledger.jsonl
      predtrack import ledger.jsonl --db copy.db      # same head digest
      predtrack export --format csv --scored > scored.csv
    """
    from predtrack.output import write_lines

    store = _store(db)
    if fmt == "csv":
        if not scored:
            raise click.UsageError("--format csv exports scored predictions: add --scored")
        from predtrack.score import scored_rows_csv

        lines = scored_rows_csv(store, include_late=include_late, raw=raw)
    else:
        if scored or raw:
            raise click.UsageError("--scored and --raw go with --format csv")
        from predtrack.transfer import export_lines

        lines = export_lines(store)
    write_lines(lines, output)


@cli.command("import")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True))
@json_option
@db_option
def import_command(source: Path, as_json: bool, db: str | None) -> None:
    """Rebuild an empty store from `predtrack export` output, checking the chain line by line.

    The database is created if it does not exist. A tampered export is refused, naming
    its first bad line; nothing is written then.

    \b
    Example:
      predtrack import ledger.jsonl --db fresh.db
    """
    from predtrack.store.schema import init_store
    from predtrack.transfer import import_ledger, read_export_file

    entries = read_export_file(source)  # checked before anything is created
    init_store(db)
    show(import_ledger(_store(db), entries), as_json)


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
    type=click.Choice(GROUPINGS),
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
@json_option
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
    as_json: bool,
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

    text = questions.strip().lower()
    if text == "all":
        limit: int | None = None
    elif text.isdigit() and len(text) < 10:
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
    store = _store(db)
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
    if as_json:
        show({"path": str(result.path), "size": result.size, "verified": result.verified}, True)
    else:
        click.echo(str(result.path))


# The proof commands live with the proofs; they use the helpers above.
from predtrack.proofs.commands import COMMANDS  # noqa: E402

for _command in COMMANDS:
    cli.add_command(_command)


def main() -> None:
    """Console-script entry point."""
    try:
        cli(prog_name="predtrack")
    except BrokenPipeError:
        _quiet_exit()
