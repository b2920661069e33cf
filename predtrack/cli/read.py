"""Reading: `list`, `show`, `head`, `verify`, `score`, `export`, `import`, `report`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from predtrack.cli import common
from predtrack.vocabulary import GROUPINGS, KINDS

# --- reading ---


@click.command("list")
@click.option("-e", "--experiment", metavar="NAME", help="Only this experiment.")
@click.option(
    "--status", type=click.Choice(["pending", "resolved", "annulled"]), help="Only this status."
)
@click.option("--kind", type=click.Choice(KINDS))
@click.option("--tag", help="Only questions with this tag.")
@click.option("--reveal", is_flag=True, help="Show others' predictions on open questions too.")
@common.by_option
@common.json_option
@common.db_option
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
        common.open_store(db),
        viewer=common.user(by),
        reveal=reveal,
        experiment=experiment,
        status=status,
        kind=kind,
        tag=tag,
    )
    if as_json:
        common.show(views, True)
    else:
        click.echo(question_list(views))


@click.command("show")
@click.argument("question")
@click.option("-e", "--experiment", metavar="NAME", help="Look the key up in this experiment.")
@click.option(
    "--reveal", is_flag=True, help="Show others' predictions even if you have not predicted."
)
@common.by_option
@common.json_option
@common.db_option
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
        common.open_store(db),
        question,
        viewer=common.user(by),
        reveal=reveal,
        experiment=experiment,
    )
    if as_json:
        common.show(view, True)
    else:
        click.echo(question_detail(view))


@click.command()
@click.option("--full", is_flag=True, help="All 64 hex digits instead of 16.")
@common.json_option
@common.db_option
def head(full: bool, as_json: bool, db: str | None) -> None:
    """Print the ledger head digest SEQ:HEX to publish.

    Posting it anywhere public proves later that nothing registered before it changed
    (check with `predtrack verify --against SEQ:HEX`).

    \b
    Example:
      predtrack head
    """
    from predtrack.integrity import head as ledger_head

    value = ledger_head(common.open_store(db), full=full)
    if as_json:
        seq, digest = value.split(":")
        common.show({"head": value, "seq": int(seq), "hash": digest}, True)
    else:
        click.echo(value)


@click.command()
@click.option(
    "--against", metavar="SEQ:HEX", help="A published head that must still be in the chain."
)
@click.option(
    "--tsa-ca", type=click.Path(path_type=Path), help="CA certificates (PEM) of the TSAs."
)
@click.option("--git", "git_repo", metavar="REPO", help="A repository with anchor commits.")
@common.json_option
@common.db_option
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

    result = run_verify(common.open_store(db), against=against, tsa_ca=tsa_ca, git=git_repo)
    if not as_json:
        for message in result.warnings:
            common.warn(message)
    common.show(result, as_json)
    if not result.ok:
        sys.exit(1)


@click.command()
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
@common.json_option
@common.db_option
def score(wide: bool, as_json: bool, db: str | None, **options: Any) -> None:
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

    document = score_report(common.open_store(db), **options)
    if as_json:
        common.show(document, True)
        return
    click.echo(score_table(document, wide=wide))
    if "comparison" in document:
        click.echo("")
        click.echo(comparison_table(document["comparison"]))


@click.command("export")
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
@common.db_option
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

    store = common.open_store(db)
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


@click.command("import")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True))
@common.json_option
@common.db_option
def import_command(source: Path, as_json: bool, db: str | None) -> None:
    """Rebuild an empty store from `predtrack export` output, checking the chain line by line.

    The database is created if it does not exist. A tampered export is refused, naming
    its first bad line; nothing is written then.

    \b
    Example:
      predtrack import ledger.jsonl --db fresh.db
    """
    from predtrack.transfer import import_export, read_export_file

    entries = read_export_file(source)  # checked before anything is created
    common.show(import_export(db, entries), as_json)


@click.command()
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
@common.json_option
@common.db_option
def report(output: Path, questions: str, as_json: bool, db: str | None, **options: Any) -> None:
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
    chosen = ReportOptions(questions=limit, **options)
    store = common.open_store(db)
    progress = None
    if sys.stderr.isatty():

        def progress(step: str) -> None:
            click.echo(f"\r\033[K{step}…", nl=False, err=True)

    result = write_report(store, output, chosen, progress=progress)
    if progress is not None:
        click.echo("\r\033[K", nl=False, err=True)
    if not result.verified:
        common.warn(
            f"verification FAILED ({result.problems} problem(s)); the report says so in red. "
            "Run `predtrack verify` for details."
        )
    if as_json:
        common.show(
            {"path": str(result.path), "size": result.size, "verified": result.verified}, True
        )
    else:
        click.echo(str(result.path))


COMMANDS = (list_command, show_command, head, verify, score, export_command, import_command, report)
