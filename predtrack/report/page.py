"""The page: sections built in order, rendered through their partials into one HTML file."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from predtrack.report.format import fmt
from predtrack.report.sections import Section
from predtrack.report.view import View


@dataclass
class Part:
    """A section of this page with its context."""

    section: Section
    context: dict[str, Any]

    @property
    def toc(self) -> str:
        return str(self.context.get("toc") or self.section.title)


def templates_dir() -> Path:
    """The Jinja templates: inside the wheel, or at the top of a source checkout."""
    from importlib.resources import files

    packaged = Path(str(files("predtrack"))) / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"


@cache
def environment(extra: tuple[str, ...] = ()) -> Any:
    """The Jinja environment: autoescaping on, undefined names an error."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader([str(templates_dir()), *extra]),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = fmt
    return env


def _environment(sections: Sequence[Section]) -> Any:
    return environment(tuple(dict.fromkeys(s.templates for s in sections if s.templates)))


def build(view: View, sections: Sequence[Section], step: Callable[[str], None]) -> list[Part]:
    """Every section's context, in order; a section whose `build` gives None is left out."""
    parts = []
    for section in sections:
        step(section.title.lower())
        context = section.build(view)
        if context is not None:
            parts.append(Part(section, context))
    return parts


def render(parts: Sequence[Part], page: dict[str, Any], sections: Sequence[Section]) -> str:
    """The HTML of the page."""
    template = _environment(sections).get_template("report.html.j2")
    return str(template.render(parts=parts, page=page))


@cache
def figure_css() -> str:
    """The stylesheet a figure carries on its own: the report's chart rules, with the
    palette's colours written in (a standalone SVG has no page to inherit them from)."""
    env = environment()
    palette = dict(
        re.findall(r"--([\w-]+):\s*([^;]+);", env.get_template("_palette.css.j2").render())
    )
    css = env.get_template("_svg.css.j2").render()
    css = re.sub(r"var\(--([\w-]+)\)", lambda m: palette[m[1]].strip(), css)
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    return " ".join(css.split())
