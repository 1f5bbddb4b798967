"""Views of one DeployPlan, in the look of `plan`'s: text for people, JSON for tools, Markdown for a pull request,
GitHub workflow annotations. `DEPLOY_RENDERERS` feeds both `--format` and the lookup.

Sensitive fields print as `(sensitive)` in every view, whatever the plan holds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, Protocol

from ..render.diagnostics import github_escape, github_property
from ..render.plan_text import SENSITIVE
from .applier import DeployReport, Outcome
from .model import DeployChange, DeployPlan, FieldChange, Note

NO_CHANGES = "No changes. The Airbyte workspace matches your sources."
HEADING = "### bmad-gitops deploy plan"

_SIGN = {"create": "+", "update": "~", "delete": "-", "error": "!", "no-op": " ", "skip": "·"}
_GREEN, _YELLOW, _RED, _RESET = "\x1b[32m", "\x1b[33m", "\x1b[31m", "\x1b[0m"
_COLOR = {"+": _GREEN, "~": _YELLOW, "-": _RED, "!": _RED, "error": _RED, "warning": _YELLOW}

Paint = Callable[[str, str], str]


class DeployView(Protocol):
    def __call__(self, plan: DeployPlan, *, color: bool = False) -> str: ...


def shown(plan: DeployPlan) -> list[DeployChange]:
    """Changes with something to say: a quiet no-op is left out of every view."""
    return [c for c in plan.changes if c.action in ("create", "update", "delete", "error") or (c.action == "no-op" and c.notes)]


def title(change: DeployChange) -> str:
    what = f"source, {change.source_type}" if change.kind == "source" and change.source_type else change.kind
    return f"{change.source} ({what})"


def action_label(change: DeployChange) -> str:
    return {"delete": "destroy", "no-op": "no changes", "skip": "skipped"}.get(change.action, change.action)


def summary_line(plan: DeployPlan) -> str:
    s = plan.summary()
    line = f"Deploy: {s.add} to add, {s.change} to change, {s.destroy} to destroy."
    if s.skipped:
        line += f" {s.skipped} skipped."
    if s.unmanaged:
        line += f" {s.unmanaged} left alone."
    if s.errors:
        line += f" Errors: {s.errors}."
    return line


def field_line(change: FieldChange) -> tuple[str, str]:
    """(sign, text) of one field change; sensitive values never shown."""
    if change.old is None and change.new is not None:
        sign, value = "+", change.new
    elif change.new is None and change.old is not None:
        sign, value = "-", change.old
    else:
        sign, value = "~", f"{change.old} -> {change.new}"
    return sign, f"{change.field}: {SENSITIVE if change.sensitive else value}"


def note_line(note: Note) -> str:
    return f"{note.level}: {note.text}"


def trailer_lines(plan: DeployPlan) -> list[str]:
    """Skipped definitions and sources left alone: after the plan, so they never hide a change."""
    lines = [f"Skipped {c.source}: {c.notes[0].text.removeprefix('skipped: ')}" for c in plan.changes if c.action == "skip" and c.notes]
    lines.extend(
        f"Left alone (not created by bmad-gitops): '{u.name}' ({u.source_type}, {u.remote_id})" for u in plan.unmanaged
    )
    return lines


def render_deploy_text(plan: DeployPlan, *, color: bool = False) -> str:
    paint = _painter(color)
    changes = shown(plan)
    trailer = trailer_lines(plan)
    if not changes:
        head = NO_CHANGES if not trailer else summary_line(plan)
        return "\n".join([head, *trailer]) + "\n"
    lines = [
        f"bmad-gitops will perform the following actions in Airbyte workspace {plan.workspace_id}:"
        if plan.has_changes
        else "bmad-gitops has no changes to deploy, but found the following:",
        "",
    ]
    width = max(len(title(c)) for c in changes) + 4
    for change in changes:
        sign = _SIGN[change.action]
        lines.append(f"  {paint(sign, _COLOR.get(sign, ''))} {title(change).ljust(width)}<- {action_label(change)}")
        for field in change.fields:
            fsign, text = field_line(field)
            lines.append(f"      {paint(fsign, _COLOR[fsign])} {text}")
        lines.extend(f"      {paint(n.level + ':', _COLOR.get(n.level, ''))} {n.text}" for n in change.notes)
    lines.extend(["", summary_line(plan), *trailer])
    return "\n".join(lines) + "\n"


def render_deploy_json(plan: DeployPlan, *, color: bool = False) -> str:
    """`color` is accepted for a uniform signature and ignored."""
    payload: dict[str, Any] = asdict(plan)
    for change in payload["changes"]:
        for field in change["fields"]:
            if field["sensitive"]:  # mask defensively: a plan lands in CI logs
                field["old"] = None if field["old"] is None else SENSITIVE
                field["new"] = None if field["new"] is None else SENSITIVE
    payload["summary"] = asdict(plan.summary())
    payload["has_changes"] = plan.has_changes
    return json.dumps(payload, indent=2, sort_keys=True) + "\n"


def render_deploy_markdown(plan: DeployPlan, *, color: bool = False) -> str:
    """`color` is accepted for a uniform signature; Markdown gets its colour from the ```diff block."""
    changes = shown(plan)
    trailer = trailer_lines(plan)
    if not changes and not trailer:
        return f"{HEADING}\n\n{NO_CHANGES}\n"
    lines = [HEADING, "", f"**{_escape(summary_line(plan))}**", ""]
    if changes:
        lines += ["| Source | Object | Action | Airbyte name |", "| --- | --- | --- | --- |"]
        for c in changes:
            cells = [c.source, c.kind, action_label(c), c.remote_name]
            lines.append("| " + " | ".join(_escape(x).replace("|", "\\|") for x in cells) + " |")
    for c in changes:
        if not c.fields and not c.notes:
            continue
        lines += ["", f"<details{' open' if c.has_errors else ''}><summary>{_escape(title(c))}: {action_label(c)}</summary>", ""]
        if c.fields:
            body = ["{} {}".format(*field_line(f)) for f in c.fields]
            fence = "````" if any("```" in b for b in body) else "```"
            lines += [f"{fence}diff", *body, fence, ""]
        if c.notes:
            lines += [*(f"- {_escape(note_line(n))}" for n in c.notes), ""]
        lines.append("</details>")
    if trailer:
        lines += ["", *[f"- {_escape(t)}" for t in trailer]]
    return "\n".join(lines) + "\n"


def render_deploy_github(plan: DeployPlan, *, color: bool = False) -> str:
    """`color` is accepted for a uniform signature and ignored."""
    command = {"error": "error", "warning": "warning", "info": "notice"}
    lines = []
    for change in plan.changes:
        for note in change.notes:
            label = github_property(f"bmad-gitops deploy: {change.source}")
            lines.append(f"::{command[note.level]} title={label}::{github_escape(note.text)}")
    for u in plan.unmanaged:
        lines.append(f"::notice title=bmad-gitops deploy::{github_escape(f'left alone: {u.name} ({u.remote_id})')}")
    lines.append(f"::notice title=bmad-gitops deploy::{github_escape(summary_line(plan))}")
    return "\n".join(lines) + "\n"


DEPLOY_RENDERERS: dict[str, DeployView] = {
    "text": render_deploy_text,
    "json": render_deploy_json,
    "markdown": render_deploy_markdown,
    "github": render_deploy_github,
}


def render_report_line(outcome: Outcome) -> str:
    """One line per carried-out change, as it finishes."""
    c = outcome.change
    verb = {"create": "created", "update": "updated", "delete": "destroyed"}[c.action]
    if outcome.error is not None:
        return f"failed: {c.kind} {c.source}: {outcome.error}"
    return f"{verb} {c.kind} {c.source} ('{c.remote_name}', {outcome.remote_id})"


def render_report_summary(report: DeployReport) -> str:
    done = [o for o in report.outcomes if o.error is None]
    counts = {verb: sum(1 for o in done if o.change.action == action) for action, verb in
              (("create", "added"), ("update", "changed"), ("delete", "destroyed"))}
    line = "Deploy complete! " if not report.failed else "Deploy stopped at the first failure. "
    line += f"Resources: {counts['added']} added, {counts['changed']} changed, {counts['destroyed']} destroyed."
    if report.not_attempted:
        line += f" {report.not_attempted} not attempted."
    return line


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def _painter(color: bool) -> Paint:
    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if color and code else text

    return paint
