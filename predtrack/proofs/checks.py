"""The proof checks every `verify` runs: signatures, anchors of the head, sealed forecasts."""

from __future__ import annotations

from predtrack.integrity import register_check
from predtrack.proofs.anchors import check_anchors
from predtrack.proofs.seals import check_sealed
from predtrack.proofs.signing import check_signatures

for _check in (check_signatures, check_anchors, check_sealed):
    register_check(_check)
