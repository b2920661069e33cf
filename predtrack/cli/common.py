"""What every command shares: error handling, the common options, printing a result."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from predtrack.errors import PredtrackError

F = TypeVar("F", bound=Callable[..., Any])


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
        except MemoryError:
            pass  # reported below, once the frames holding the input are released
        except Exception as error:
            if os.environ.get("PREDTRACK_DEBUG"):
                raise
            raise CheckFailure(
                f"unexpected {type(error).__name__}: {error} "
                "(set PREDTRACK_DEBUG=1 to see the traceback, and please report it)"
            ) from None
        raise InputFailure(
            "out of memory: the input is too large for the memory allowed (split it)"
        )


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
        from predtrack.output import json_chunks

        # Written in pieces of about 1 MB: a million predictions never make one string.
        pieces: list[str] = []
        size = 0
        for chunk in json_chunks(result):
            pieces.append(chunk)
            size += len(chunk)
            if size > 1 << 20:
                click.echo("".join(pieces), nl=False)
                pieces, size = [], 0
        click.echo("".join(pieces))
    else:
        click.echo(result.text() if hasattr(result, "text") else str(result))


def warn(message: str) -> None:
    from predtrack.validate import display

    click.echo(f"Warning: {display(message)}", err=True)


def open_store(db: str | None) -> Any:
    """The store named by --db (or its defaults), checked to be at the newest schema; closed
    when the command ends (run in-process, its connection would otherwise linger)."""
    from predtrack.store import schema

    store = schema.open_store(db)
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(store.dispose)
    return store


def user(by: str | None) -> str:
    """Who is acting: --by, else PREDTRACK_USER, git or the OS user."""
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
