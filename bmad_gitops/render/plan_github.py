"""The plan as GitHub Actions workflow commands: one annotation per message at its file:line, then a notice."""

from __future__ import annotations

from ..model import Plan
from .diagnostics import github_escape, github_property
from .plan_text import summary_line

_COMMAND = {"error": "error", "warning": "warning", "info": "notice"}


def render_plan_github(plan: Plan, *, color: bool = False) -> str:
    """`color` is accepted for a uniform signature and ignored."""
    lines = []
    for source in plan.sources:
        for message in source.messages:
            where = message.where
            place = (
                f" file={github_property(where.path)},line={where.line},col={where.col},"
                if where is not None
                else " "
            )
            title = f"title={github_property(f'bmad-gitops plan: {source.name}')}"
            lines.append(f"::{_COMMAND[message.level]}{place}{title}::{github_escape(message.text)}")
    lines.append(f"::notice title=bmad-gitops plan::{github_escape(summary_line(plan))}")
    return "\n".join(lines) + "\n"
