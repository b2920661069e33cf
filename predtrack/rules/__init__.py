"""Resolution rules: parse `[SCHEME:]PATH#SELECTOR[ OP NUMBER]`, check it, and evaluate it on records.

Layout: `grammar` (the rule text and its nodes), `check` (registration checks), `base` (the
Source interface and registry), `files` (hashed reads), `sources/` (one module per source,
and `runs` for globs and run folders), `access`/`select`/`aggregate` (selectors over
records), `convert` (values by kind, comparisons), `crossing` (where a sweep crosses a
level), `evaluate` (evidence, data time), `sweep` (the observed series a rule reads).

Parsing stays light - `predtrack predict` imports this package - so the evaluation modules
are imported on first use of their names, and numpy/scipy only inside the logistic fit
and the sweep's intervals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from predtrack.rules import nodes
from predtrack.rules.base import OutsideFolder, RulePending, RunFailed, register_source
from predtrack.rules.check import check_rule, check_rule_for_kind, parse_rule
from predtrack.rules.nodes import *  # noqa: F403  (the rule's node types)

if TYPE_CHECKING:
    from predtrack.rules.base import Evidence
    from predtrack.rules.evaluate import Evaluation, ReadCache, evaluate_rule, evidence_digest
    from predtrack.rules.files import files_of, scheme_of, sha256_file
    from predtrack.rules.sweep import Sweep, SweepPoint, sweep_points

__all__ = [
    "Evaluation",
    "Evidence",
    "OutsideFolder",
    "ReadCache",
    "RulePending",
    "RunFailed",
    "Sweep",
    "SweepPoint",
    "check_rule",
    "check_rule_for_kind",
    "evaluate_rule",
    "evidence_digest",
    "files_of",
    "parse_rule",
    "register_source",
    "scheme_of",
    "sha256_file",
    "sweep_points",
]
__all__ += nodes.__all__

_LAZY = {
    "Evidence": "predtrack.rules.base",
    "Evaluation": "predtrack.rules.evaluate",
    "ReadCache": "predtrack.rules.evaluate",
    "evaluate_rule": "predtrack.rules.evaluate",
    "evidence_digest": "predtrack.rules.evaluate",
    "files_of": "predtrack.rules.files",
    "scheme_of": "predtrack.rules.files",
    "sha256_file": "predtrack.rules.files",
    "Sweep": "predtrack.rules.sweep",
    "SweepPoint": "predtrack.rules.sweep",
    "sweep_points": "predtrack.rules.sweep",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'predtrack.rules' has no attribute {name!r}")
