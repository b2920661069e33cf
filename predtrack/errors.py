"""User-facing errors: the CLI prints them as one line `Error: ...` and exits 2 (or 1)."""


class PredtrackError(Exception):
    """An error the user can act on; its message is shown as is, never a traceback."""

    exit_code = 2


class InputError(PredtrackError):
    """Bad input: a forecast, an option, a file entry."""


class ForecastError(InputError):
    """A forecast string that cannot be parsed or is out of range."""


class RuleSyntaxError(InputError):
    """A resolution rule whose text is malformed."""


class RuleError(PredtrackError):
    """A rule that is well-formed but cannot be evaluated on the artifact it names."""

    exit_code = 1


class StoreError(PredtrackError):
    """The database cannot be opened, is at the wrong revision, or refused a write."""


class NotFoundError(InputError):
    """A question, experiment or forecaster that does not exist."""


class ScoringInputError(InputError):
    """Arrays given to the scoring core are invalid (NaN, out of range, mismatched)."""
