"""Writing: `predict`, `lock`, `experiment add|list`, `link`, `resolve`."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import click

from predtrack.cli import common
from predtrack.vocabulary import KINDS

# --- writing predictions ---


@click.command(context_settings={"ignore_unknown_options": True})
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
@click.option("--log", is_flag=True, help="Fit the interval on the log scale (lognormal).")
@click.option("--normalize", is_flag=True, help="Rescale category probabilities to sum to 1.")
@click.option("--sign", is_flag=True, help="Sign with your SSH key (agent or $PREDTRACK_SSH_KEY).")
@click.option(
    "--sealed",
    is_flag=True,
    help="Store only a commitment; the forecast stays in your openings file until `reveal`.",
)
@common.json_option
@common.by_option
@common.db_option
def predict(
    args: tuple[str, ...],
    question_ref: str | None,
    bulk_file: Path | None,
    sign: bool,
    sealed: bool,
    as_json: bool,
    by: str | None,
    db: str | None,
    **options: Any,
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
    from predtrack.predict import one, register

    for arg in args:
        # Unknown options are let through so that "-5 to 5" or -0.1 can be forecasts.
        if arg.startswith("-") and not re.match(r"^-[\d.]", arg):
            raise click.NoSuchOption(arg.split("=")[0])
    user = common.user(by)
    descriptions: dict[str, str] = {}
    if bulk_file is not None:
        if args or question_ref:
            raise click.UsageError("--file takes no TITLE/FORECAST arguments and no --question")
        from predtrack.bulk import load_bulk

        questions, predictions, descriptions = load_bulk(bulk_file, default_forecaster=user)
    elif question_ref is not None:
        if len(args) != 1:
            raise click.UsageError("with --question give exactly one FORECAST")
        questions, predictions = one(args[0], by=user, question=question_ref, **options)
    else:
        if len(args) != 2:
            raise click.UsageError(
                'give a TITLE and a FORECAST, e.g. predict "Title" 70%; '
                "or --question KEY FORECAST; or --file FILE"
            )
        questions, predictions = one(args[1], by=user, title=args[0], **options)
    with common.progress_bar("Parsing forecasts") as progress:
        result = register(
            common.open_store(db), questions, predictions, by=user, descriptions=descriptions,
            progress=progress, sign=sign, sealed=sealed,
        )  # fmt: skip
    for message in result.warnings:
        common.warn(message)
    common.show(result, as_json)


@click.command()
@click.argument("name")
@common.json_option
@common.by_option
@common.db_option
def lock(name: str, as_json: bool, by: str | None, db: str | None) -> None:
    """Lock an experiment: predictions made after this are recorded as late.

    \b
    Example:
      predtrack lock cheese-maze
    """
    from predtrack.experiments import lock_experiment

    common.show(lock_experiment(common.open_store(db), name, by=common.user(by)), as_json)


@click.group(cls=common.PredtrackGroup)
def experiment() -> None:
    """Experiments: `experiment add`, `experiment list`."""


@experiment.command("add")
@click.argument("name")
@click.option("--description", "-d", help="What the experiment is about.")
@common.json_option
@common.by_option
@common.db_option
def experiment_add(
    name: str, description: str | None, as_json: bool, by: str | None, db: str | None
) -> None:
    """Create an experiment (predict -e NAME also creates it on first use).

    \b
    Example:
      predtrack experiment add cheese-maze -d "Does the policy generalise to larger mazes?"
    """
    from predtrack.experiments import add_experiment

    row = add_experiment(common.open_store(db), name, description=description, by=common.user(by))
    if as_json:
        common.show({"name": row.name, "id": row.id, "created_at": row.created_at}, True)
    else:
        click.echo(f"Created experiment {name}")


@experiment.command("list")
@common.json_option
@common.db_option
def experiment_list(as_json: bool, db: str | None) -> None:
    """List experiments with their counts and lock times.

    \b
    Example:
      predtrack experiment list --json
    """
    from predtrack.experiments import list_experiments
    from predtrack.render import experiment_list as render

    rows = list_experiments(common.open_store(db))
    if as_json:
        common.show(rows, True)
    else:
        click.echo(render(rows))


# --- after the runs ---


@click.command()
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
@common.json_option
@common.by_option
@common.db_option
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
      predtrack link mlflow:mlruns -e cheese-maze             # every file of the tracker store
    """
    from predtrack.link import link as link_artifacts

    result = link_artifacts(
        common.open_store(db),
        list(locations),
        experiment=experiment,
        by=common.user(by),
        supersede=supersede,
    )
    common.show(result, as_json)


@click.command()
@click.argument("question", required=False)
@click.option(
    "-e",
    "--experiment",
    metavar="NAME",
    help="Only this experiment (or where to look up QUESTION).",
)
@click.option("--dry-run", is_flag=True, help="Show what would be resolved; write nothing.")
@click.option("--final", is_flag=True, help="The runs are complete: missing runs count as failed.")
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
@common.json_option
@common.by_option
@common.db_option
def resolve(
    question: str | None, as_json: bool, by: str | None, db: str | None, **options: Any
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
    from predtrack.resolve import ResolveRun
    from predtrack.resolve import resolve as run_resolve

    with common.progress_bar("Reading results") as progress:
        result = run_resolve(
            common.open_store(db), question, by=common.user(by), progress=progress, **options
        )
    common.show(result, as_json)
    if isinstance(result, ResolveRun) and result.failed:
        sys.exit(1)


COMMANDS = (predict, lock, experiment, link, resolve)
