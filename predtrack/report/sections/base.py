"""The shape every report section has: a name, a title, a template partial and `build`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from predtrack.report.view import View


class Section:
    """One part of the page and of its table of contents, declared as
    `class Pending(Section, name="pending", title="Pending")`.

    `build` returns the partial's context, or None to leave the section out of the page and
    of the contents. The context may name `toc`, the contents entry, when it depends on the
    report (default: `title`)."""

    name: ClassVar[str]  # the anchor in the page (`#name`) and the figures' file-name prefix
    title: ClassVar[str]  # its entry in the table of contents
    template: ClassVar[str]  # its partial: sections/MODULE.j2 under templates/ by default
    toc: ClassVar[bool] = True
    templates: ClassVar[str | None] = None  # a folder of its own for the partial (a plugin's)

    def __init_subclass__(
        cls, *, name: str, title: str, toc: bool = True, template: str | None = None
    ) -> None:
        super().__init_subclass__()
        cls.name, cls.title, cls.toc = name, title, toc
        cls.template = template or f"sections/{cls.__module__.rsplit('.', 1)[-1]}.j2"

    def build(self, view: View) -> dict[str, Any] | None:
        raise NotImplementedError
