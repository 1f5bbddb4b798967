"""One table of views per model: each table feeds both a command's `--format` choices and the lookup.

A new format is one row here and one module beside this one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..model import Plan

if TYPE_CHECKING:
    from ..applier import ApplyReport
from .plan_github import render_plan_github
from .plan_json import render_plan_json
from .plan_markdown import render_plan_markdown
from .plan_text import render_plan_text


class PlanView(Protocol):
    def __call__(self, plan: Plan, *, color: bool = False) -> str: ...


PLAN_RENDERERS: dict[str, PlanView] = {
    "text": render_plan_text,
    "json": render_plan_json,
    "markdown": render_plan_markdown,
    "github": render_plan_github,
}


class ApplyView(Protocol):
    def __call__(self, report: ApplyReport, *, show_samples: bool = False, root: Path | None = None) -> str: ...


def apply_renderers() -> dict[str, ApplyView]:
    """The apply report's views (imported on use: they load the applier)."""
    from .apply_json import render_apply_json
    from .apply_text import render_apply_text

    return {"text": render_apply_text, "json": render_apply_json}
