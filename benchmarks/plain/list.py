"""Plain baseline of `predtrack list`: `sqlite3` + `click`, one query, an aligned table.

Usage: python plain/list.py --db DB
"""

from __future__ import annotations

import sqlite3

import click

SQL = """
SELECT q.id, e.name, q."key", q.kind, q.title,
       COALESCE((SELECT r.status FROM resolutions r WHERE r.question_id = q.id
                 ORDER BY r.id DESC LIMIT 1), 'pending'),
       (SELECT COUNT(*) FROM predictions p WHERE p.question_id = q.id)
FROM questions q JOIN experiments e ON e.id = q.experiment_id ORDER BY q.id
"""


@click.command()
@click.option("--db", required=True)
def main(db: str) -> None:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = conn.execute(SQL).fetchall()
    click.echo(f"{'id':>4}  {'question':30} {'kind':12} {'status':9} {'n':>3}  title")
    for qid, experiment, key, kind, title, status, n in rows:
        label = f"{experiment}/{key}" if key else f"{experiment}#{qid}"
        click.echo(f"{qid:>4}  {label:30} {kind:12} {status:9} {n:>3}  {title}")


if __name__ == "__main__":
    main()
