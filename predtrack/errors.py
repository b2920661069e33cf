"""One exception family: bad input exits 2, a failed check exits 1; each is one line `Error: ...`."""


class PredtrackError(Exception):
    """An error the user can act on; its message is shown as is, never a traceback."""

    exit_code = 2


class InputError(PredtrackError):
    """Bad input: a forecast, an option, a file entry, a path."""


class ForecastError(InputError):
    """A forecast string that cannot be parsed or is out of range."""


class RuleSyntaxError(InputError):
    """A resolution rule whose text is malformed, or that cannot work for its source."""


class NotFoundError(InputError):
    """A question, experiment or forecaster that does not exist."""


class ScoringInputError(InputError):
    """Arrays given to the scoring core are invalid (NaN, out of range, mismatched)."""


class StoreError(PredtrackError):
    """The database cannot be opened, is at the wrong revision, or refused a write."""


class RuleError(PredtrackError):
    """A rule that is well-formed but cannot be evaluated on the data it names."""

    exit_code = 1


class StoreCorruptError(PredtrackError):
    """Stored data that fails a check: a ledger or row that does not say what it should."""

    exit_code = 1


class ProofError(PredtrackError):
    """A proof that does not verify: a signature, a timestamp token, a sealed opening."""

    exit_code = 1
