"""Proofs on the command line: `key add|rotate|revoke|list`, `anchor`, `reveal`."""

from __future__ import annotations

from pathlib import Path

import click

from predtrack.cli import common


@click.group(cls=common.PredtrackGroup)
def key() -> None:
    """Forecasters' SSH keys that sign predictions: `key add`, `key rotate`, `key revoke`, `key list`."""


@key.command("add")
@click.argument("name")
@click.argument("pubkey", required=False)
@click.option(
    "--github-keys",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Register every key of a file in the format of https://github.com/USER.keys.",
)
@common.json_option
@common.by_option
@common.db_option
def key_add(
    name: str,
    pubkey: str | None,
    github_keys: Path | None,
    as_json: bool,
    by: str | None,
    db: str | None,
) -> None:
    """Register NAME's SSH public key (a .pub file, or the key line): it signs from now on.

    \b
    Examples:
      predtrack key add alice ~/.ssh/id_ed25519.pub
      curl -s https://github.com/alice.keys > alice.keys && predtrack key add alice --github-keys alice.keys
    """
    from predtrack.proofs.keyring import add_keys, read_key_argument
    from predtrack.proofs.keys import read_public_keys

    if (pubkey is None) == (github_keys is None):
        raise click.UsageError("give PUBKEY (a .pub file) or --github-keys FILE")
    keys = (
        [read_key_argument(pubkey)] if pubkey is not None else read_public_keys(github_keys or "")
    )
    common.show(add_keys(common.open_store(db), name, keys, by=common.user(by)), as_json)


@key.command("rotate")
@click.argument("name")
@click.argument("newpubkey")
@common.json_option
@common.by_option
@common.db_option
def key_rotate(name: str, newpubkey: str, as_json: bool, by: str | None, db: str | None) -> None:
    """Replace NAME's active keys by NEWPUBKEY: old signatures stay valid, old keys sign nothing new.

    \b
    Example:
      predtrack key rotate alice ~/.ssh/id_ed25519_2027.pub
    """
    from predtrack.proofs.keyring import read_key_argument, rotate_key

    common.show(
        rotate_key(common.open_store(db), name, read_key_argument(newpubkey), by=common.user(by)),
        as_json,
    )


@key.command("revoke")
@click.argument("name")
@click.option("--fingerprint", metavar="SHA256:...", help="Revoke only this key of NAME.")
@common.json_option
@common.by_option
@common.db_option
def key_revoke(
    name: str, fingerprint: str | None, as_json: bool, by: str | None, db: str | None
) -> None:
    """Revoke NAME's keys: a signature made with them after now fails `verify`.

    \b
    Example:
      predtrack key revoke alice
    """
    from predtrack.proofs.keyring import revoke_keys

    common.show(
        revoke_keys(common.open_store(db), name, by=common.user(by), fingerprint=fingerprint),
        as_json,
    )


@key.command("list")
@click.argument("name", required=False)
@common.json_option
@common.db_option
def key_list(name: str | None, as_json: bool, db: str | None) -> None:
    """List registered keys with their fingerprints and validity (check them against the
    keys the forecasters publish, e.g. https://github.com/USER.keys).

    \b
    Example:
      predtrack key list --json
    """
    from predtrack.proofs.keyring import list_keys

    common.show(list_keys(common.open_store(db), forecaster=name), as_json)


@click.command()
@click.option(
    "--tsa",
    "tsa_url",
    metavar="URL",
    help="Ask this RFC 3161 timestamp authority for a token over the head.",
)
@click.option(
    "--git", "git_repo", metavar="REPO", help="Commit the head digest into this git repository."
)
@click.option(
    "--timeout", type=float, default=10.0, show_default=True, help="Seconds to wait for the TSA."
)
@common.json_option
@common.by_option
@common.db_option
def anchor(
    tsa_url: str | None,
    git_repo: str | None,
    timeout: float,
    as_json: bool,
    by: str | None,
    db: str | None,
) -> None:
    """Anchor the ledger head outside the store: an RFC 3161 token, a git commit, or both.

    The token (with its certificates) is kept in the ledger, so `verify --tsa-ca CA.pem`
    checks it offline. A git commit's date is the committer's clock: it proves nothing
    unless the commit was pushed somewhere trusted.

    \b
    Examples:
      predtrack anchor --tsa http://timestamp.digicert.com
      predtrack anchor --git ../paper-repo && git -C ../paper-repo push
    """
    from predtrack.proofs.anchors import anchor as make_anchor

    common.show(
        make_anchor(
            common.open_store(db),
            by=common.user(by),
            tsa_url=tsa_url,
            git_repo=git_repo,
            timeout=timeout,
        ),
        as_json,
    )


@click.command()
@click.option(
    "-e", "--experiment", metavar="NAME", help="Reveal only the forecasts on this experiment."
)
@click.option(
    "--openings",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The openings file [default: the one `predict --sealed` printed for this store and --by].",
)
@click.option("--sign", is_flag=True, help="Sign the revealed forecasts with your registered key.")
@common.json_option
@common.by_option
@common.db_option
def reveal(
    experiment: str | None,
    openings: Path | None,
    sign: bool,
    as_json: bool,
    by: str | None,
    db: str | None,
) -> None:
    """Publish your sealed forecasts: each becomes a prediction dated by its commitment.

    An opening that does not match its commitment is refused and nothing is written.

    \b
    Examples:
      predtrack reveal -e cheese-maze --by bob
      predtrack reveal --openings backup/bob.jsonl
    """
    from predtrack.proofs.seals import reveal as publish

    result = publish(
        common.open_store(db),
        by=common.user(by),
        experiment=experiment,
        openings=openings,
        sign=sign,
    )
    for message in result.warnings:
        common.warn(message)
    common.show(result, as_json)


COMMANDS = (key, anchor, reveal)
