"""One table of views per model: each table feeds both a command's `--format` choices and the lookup.

A new format is one row here and one module beside this one.
"""

from __future__ import annotations

from typing import Protocol

from ..model import Plan
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
