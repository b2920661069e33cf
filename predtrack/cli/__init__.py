"""The `predtrack` command line: parse, call one service, print its result (text or `--json`).

One module per part of the day (`setup`, `write`, `read`, `proofs`); `common` holds what they
share. Nothing outside this package imports it.
"""

from __future__ import annotations

import click

from predtrack import __version__
from predtrack.cli import proofs, read, setup, write
from predtrack.cli.common import PredtrackGroup, _quiet_exit


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


for _module in (setup, write, read, proofs):
    for _command in _module.COMMANDS:
        cli.add_command(_command)


def main() -> None:
    """Console-script entry point."""
    from predtrack.memory import freeze_after_pauses

    freeze_after_pauses()  # this process ends with its command
    try:
        cli(prog_name="predtrack")
    except BrokenPipeError:
        _quiet_exit()
