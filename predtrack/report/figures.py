"""The report's figures as files: the registry, the "save SVG" frames, `--figures DIR`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from markupsafe import Markup, escape

from predtrack.errors import InputError
from predtrack.output import write_file
from predtrack.report.draw import Key, Plot, figure_frame, num, standalone_svg

PDF_TOOL = "rsvg-convert"  # Debian's librsvg2-bin
PDF_TIMEOUT = 60


@dataclass
class Figure:
    """One chart of the report: its SVG, what it shows, and the file it is saved as."""

    section: str
    name: str  # file name without extension, unique in the report
    title: str
    svg: Markup
    width: float
    height: float
    legend: tuple[Key, ...]
    ident: str

    def standalone(self, css: str) -> str:
        """The figure as a file of its own (valid XML, stylesheet inline, legend drawn in)."""
        return standalone_svg(str(self.svg), self.width, self.height, self.title, self.legend, css)

    @property
    def html(self) -> Markup:
        """The chart, its "save SVG" link and the frame the page's script wraps it in."""
        head, x, y, tail = figure_frame(self.title, self.width, self.height, self.legend)
        slot = f'<g class="chart-slot" data-x="{num(x)}" data-y="{num(y)}"></g>'
        return Markup(
            f'{self.svg}<a class="save-svg" href="#" download="{escape(self.name)}.svg" '
            f'data-chart="{self.ident}" data-frame="{self.ident}-frame">save SVG</a>'
            f'<template id="{self.ident}-frame">{head}{slot}{tail}</template>'
        )


def slug(text: str) -> str:
    """A file-name part: lower-case letters, digits and hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "figure"


@dataclass
class FigureSet:
    """Every figure of one report, in page order, with unique file names."""

    figures: list[Figure] = field(default_factory=list)
    names: set[str] = field(default_factory=set)

    def add(
        self,
        section: str,
        subject: str,
        plot: Plot,
        *,
        ident: str,
        title: str,
        desc: str,
        legend: Sequence[Key] = (),
    ) -> Figure:
        """Render `plot` and register it as `SECTION-SUBJECT`."""
        base = slug(f"{section}-{subject}" if subject else section)
        name, count = base, 1
        while name in self.names:
            count += 1
            name = f"{base}-{count}"
        self.names.add(name)
        figure = Figure(
            section=section,
            name=name,
            title=title,
            svg=plot.render(ident=ident, title=title, desc=desc),
            width=plot.width,
            height=plot.height,
            legend=tuple(legend),
            ident=ident,
        )
        self.figures.append(figure)
        return figure

    def write(self, folder: Path, css: str) -> list[Path]:
        """Write every figure as FOLDER/NAME.svg, and NAME.pdf when rsvg-convert is there."""
        if folder.exists() and not folder.is_dir():
            raise InputError(f"--figures {str(folder)!r} is a file; give a folder")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise InputError(
                f"--figures {str(folder)!r}: cannot create it ({error.strerror})"
            ) from None
        tool = shutil.which(PDF_TOOL)
        written: list[Path] = []
        for figure in self.figures:
            path = folder / f"{figure.name}.svg"
            _write_atomic(path, figure.standalone(css).encode("utf-8"))
            written.append(path)
            if tool is not None:
                written.append(_pdf(tool, path))
        return written


def _write_atomic(path: Path, data: bytes) -> None:
    write_file(path, [data], option="--figures")


def _pdf(tool: str, svg: Path) -> Path:
    """`rsvg-convert -f pdf`: the figure as a PDF beside its SVG."""
    pdf = svg.with_suffix(".pdf")
    temporary = svg.with_name(f".{pdf.name}.tmp")
    try:
        done = subprocess.run(
            [tool, "-f", "pdf", "-o", str(temporary), str(svg)],
            capture_output=True,
            text=True,
            timeout=PDF_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        temporary.unlink(missing_ok=True)
        raise InputError(f"--figures: {PDF_TOOL} failed on {svg.name} ({error})") from None
    if done.returncode != 0:
        temporary.unlink(missing_ok=True)
        message = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise InputError(f"--figures: {PDF_TOOL} failed on {svg.name}: {message}")
    os.replace(temporary, pdf)
    return pdf
