"""The report's sections, in page order: this tuple drives the page and its contents.

A new section is a module here (a `Section` with its name, title, partial and `build`), a
partial in templates/sections/, and one line in `SECTIONS`.
"""

from __future__ import annotations

from predtrack.report.sections.about import About
from predtrack.report.sections.annulled import Annulled
from predtrack.report.sections.base import Section
from predtrack.report.sections.by_group import ByGroup
from predtrack.report.sections.calibration_binary import BinaryCalibration
from predtrack.report.sections.calibration_continuous import ContinuousCalibration
from predtrack.report.sections.experiment import Experiment
from predtrack.report.sections.head_to_head import HeadToHead
from predtrack.report.sections.header import Header
from predtrack.report.sections.leaderboard import Leaderboard
from predtrack.report.sections.over_time import OverTime
from predtrack.report.sections.pending import Pending
from predtrack.report.sections.questions import Questions
from predtrack.report.sections.surprises import Surprises

SECTIONS: tuple[Section, ...] = (
    Header(),
    Leaderboard(),
    HeadToHead(),
    ByGroup(),
    Experiment(),
    BinaryCalibration(),
    ContinuousCalibration(),
    OverTime(),
    Surprises(),
    Questions(),
    Annulled(),
    Pending(),
    About(),
)

__all__ = ["SECTIONS", "Section"]
