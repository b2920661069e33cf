"""Setting up a store: `init`, `db current`, `db upgrade`."""

from __future__ import annotations

import click

from predtrack.cli import common
from predtrack.output import shown_path

# --- setup ---


@click.command()
@common.json_option
@common.db_option
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
        common.show(result, True)
        return
    if result.created:
        click.echo(f"Created {shown_path(result.database)} at schema revision {result.revision}.")
        if result.journal and result.journal != "wal":
            common.warn(
                f"WAL journal unavailable here ({result.journal}); using the rollback journal"
            )
    else:
        click.echo(
            f"{shown_path(result.database)} is already at schema revision {result.revision}."
        )


@click.group(cls=common.PredtrackGroup)
def db() -> None:
    """Schema revision of the database: `db current`, `db upgrade`."""


@db.command("current")
@common.db_option
@common.json_option
def db_current(db: str | None, as_json: bool) -> None:
    """Show the database's schema revision and the newest one.

    \b
    Example:
      predtrack db current
    """
    from predtrack.store.schema import revision_info

    info = revision_info(db)
    if as_json:
        common.show(info, True)
        return
    state = "up to date" if info["up_to_date"] else "run `predtrack db upgrade`"
    click.echo(
        f"{info['database']}: revision {info['revision'] or 'none'} (newest {info['head']}): {state}"
    )


@db.command("upgrade")
@common.json_option
@common.db_option
def db_upgrade(as_json: bool, db: str | None) -> None:
    """Back up the database file, then migrate it to the newest schema.

    \b
    Example:
      predtrack db upgrade
    """
    from predtrack.store.schema import upgrade_store

    result = upgrade_store(db)
    if as_json:
        common.show(result, True)
    elif result.before == result.after:
        click.echo(f"{result.database} is already at revision {result.after}; nothing to do.")
    else:
        if result.backup:
            click.echo(f"Backed up to {result.backup}")
        click.echo(f"Upgraded {result.database} from revision {result.before} to {result.after}.")


COMMANDS = (init, db)
