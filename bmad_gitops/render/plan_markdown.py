"""The pull-request view of a Plan: a summary table, then one collapsible block per source with the detail as a diff.

Uses the same detail lines as the text view, with each sign moved to column 0 so GitHub colours `+` and `-`.
"""

from __future__ import annotations

import re

from ..model import Plan, SourcePlan
from .plan_text import (
    NO_CHANGES,
    DetailLine,
    action_label,
    has_something_to_say,
    layout_detail,
    message_line,
    source_detail,
    source_title,
    summary_line,
)

HEADING = "### bmad-gitops plan"


def render_plan_markdown(plan: Plan, *, color: bool = False) -> str:
    """`color` is accepted for a uniform signature; Markdown gets its colour from the ```diff block."""
    shown = [s for s in plan.sources if has_something_to_say(s)]
    if not shown:
        return f"{HEADING}\n\n{NO_CHANGES}\n"
    lines = [HEADING, "", f"**{_escape_cell(summary_line(plan))}**", ""]
    lines.append("| Source | Action | Drift | Breaking | Stories |")
    lines.append("| --- | --- | ---: | ---: | --- |")
    for s in shown:
        cells = [s.name, action_label(s), str(len(s.drift)), str(len(s.breaking_drift)), ", ".join(s.stories)]
        lines.append("| " + " | ".join(_escape_cell(c) for c in cells) + " |")
    for source in shown:
        lines.extend(_source_block(source))
    return "\n".join(lines) + "\n"


def _source_block(source: SourcePlan) -> list[str]:
    detail = source_detail(source)
    if not detail and not source.messages:
        return []  # the table row already says everything (e.g. a plain destroy)
    is_open = " open" if source.breaking_drift or source.has_errors else ""
    out = ["", f"<details{is_open}><summary>{_escape_summary(_summary_text(source))}</summary>", ""]
    if detail:
        body = _diff_lines(detail)
        fence = _fence(body)
        out.extend([f"{fence}diff", *body, fence, ""])
    for message in source.messages:
        out.append(f"- {_escape_html(message_line(message))}")
    if source.messages:
        out.append("")
    out.append("</details>")
    return out


def _summary_text(source: SourcePlan) -> str:
    parts = [f"{source_title(source)}: {action_label(source)}"]
    if source.drift:
        parts.append(f"drift {len(source.drift)} ({len(source.breaking_drift)} breaking)")
    for level in ("error", "warning"):
        n = sum(1 for m in source.messages if m.level == level)
        if n:
            parts.append(f"{n} {level}" + ("" if n == 1 else "s"))
    return ", ".join(parts)


def _diff_lines(detail: tuple[DetailLine, ...]) -> list[str]:
    def prefix(line: DetailLine) -> str:
        return (line.sign or " ") + " " + " " * (4 * line.depth)

    return [
        start + body + (f"({line.note})" if line.note else "") for start, body, line in layout_detail(detail, prefix)
    ]


def _fence(body: list[str]) -> str:
    longest = max((len(run) for line in body for run in re.findall(r"`+", line)), default=0)
    return "`" * max(3, longest + 1)


def _escape_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def _escape_summary(text: str) -> str:
    # Inside an HTML block a backslash escape would print literally; an entity renders as the character.
    return _escape_html(text).replace("|", "&#124;")


def _escape_cell(text: str) -> str:
    return _escape_html(text).replace("|", "\\|")
