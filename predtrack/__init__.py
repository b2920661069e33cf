"""predtrack: pre-register predictions, resolve them from experiment results, score them.

The Python API (`import predtrack`) is the same as the command line's::

    with predtrack.open("predictions.db") as study:
        study.predict("Cheese rate at size 25", "30%", experiment="cheese-maze", key="tl25")
        print(study.head())

Everything is imported on first use, so `import predtrack` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

if TYPE_CHECKING:
    from predtrack.api import Study, open
    from predtrack.errors import (
        InputError,
        NotFoundError,
        PredtrackError,
        RuleError,
        StoreCorruptError,
        StoreError,
    )

__all__ = [
    "InputError",
    "NotFoundError",
    "PredtrackError",
    "RuleError",
    "StoreCorruptError",
    "StoreError",
    "Study",
    "__version__",
    "open",
]

_LAZY = {
    "Study": "predtrack.api",
    "open": "predtrack.api",
    "InputError": "predtrack.errors",
    "NotFoundError": "predtrack.errors",
    "PredtrackError": "predtrack.errors",
    "RuleError": "predtrack.errors",
    "StoreCorruptError": "predtrack.errors",
    "StoreError": "predtrack.errors",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'predtrack' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
