"""The human view of a Plan, Terraform-like: one block per source with something to say, then a summary line.

The detail lines are built as data first (`source_detail`) so the Markdown view can lay out the same detail in a
```diff block without repeating how each change reads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..catalog import Stream
from ..model import ColumnChange, ConfigChange, Message, Plan, SourcePlan

NO_CHANGES = "No changes. Your sources match the applied state and the live schemas."
SENSITIVE = "(sensitive)"

_SIGN = {"create": "+", "update": "~", "delete": "-", "error": "!", "no-op": " ", "skip": "·"}
_KIND_SIGN = {"expansion": "+", "contraction": "-", "amendment": "~"}

_GREEN, _YELLOW, _RED, _RESET = "\x1b[32m", "\x1b[33m", "\x1b[31m", "\x1b[0m"
_SIGN_COLOR = {"+": _GREEN, "~": _YELLOW, "-": _RED, "!": _RED}
_LEVEL_COLOR = {"error": _RED, "warning": _YELLOW, "info": ""}

Paint = Callable[[str, str], str]  # (text, ANSI code) -> text, a no-op when colour is off


@dataclass(frozen=True)
class DetailLine:
    """One line under a source header: `depth` nests it, `note` is a right-hand remark aligned within the source."""

    depth: int
    sign: str
    body: str
    note: str = ""
    alarm: bool = False  # the note reports something breaking


def render_plan_text(plan: Plan, *, color: bool = False) -> str:
    shown = [s for s in plan.sources if s.action != "skip" and has_something_to_say(s)]
    skipped = _skipped_lines(plan)
    if not shown and not skipped:
        return NO_CHANGES + "\n"
    if not shown:  # nothing to apply, but skipped definitions are not "No changes.": they were never applied
        return summary_line(plan) + "\n" + "".join(line + "\n" for line in skipped)
    paint = _painter(color)
    lines = [
        "bmad-gitops will perform the following actions:"
        if plan.has_changes
        else "bmad-gitops has no changes to apply, but found the following:",
        "",
    ]
    width = max(len(source_title(s)) for s in shown) + 4
    for source in shown:
        sign = _SIGN[source.action]
        title = source_title(source).ljust(width)
        lines.append(f"  {paint(sign, _SIGN_COLOR.get(sign, ''))} {title}<- {action_label(source)}")
        lines.extend(_text_detail(source_detail(source), paint))
        lines.extend(" " * 6 + message_line(m, paint) for m in source.messages)
    lines.append("")
    lines.append(summary_line(plan, paint))
    lines.extend(skipped)
    return "\n".join(lines) + "\n"


def _skipped_lines(plan: Plan) -> list[str]:
    """Sources with no live backend: one line each after the plan, so they never hide a real change."""
    lines = []
    for source in plan.sources:
        if source.action == "skip":
            reason = source.messages[0].text.removeprefix("skipped: ") if source.messages else "no live backend"
            lines.append(f"Skipped {source.name} ({source.connector}): {reason}")
    return lines


def has_something_to_say(source: SourcePlan) -> bool:
    """A no-op source with no drift, no messages and no pending edits is left out of every view."""
    return bool(
        source.action != "no-op" or source.drift or source.messages or source.config_changes or source.stream_changes
    )


def source_title(source: SourcePlan) -> str:
    connector = f"{source.connector} {source.connector_version}" if source.connector_version else source.connector
    return f"{source.name} ({source.type}, {connector})"


def action_label(source: SourcePlan) -> str:
    if source.action == "delete":
        return "destroy"
    if source.action == "no-op":
        return "drift only" if source.drift else "no changes"
    if source.action == "skip":
        return "skipped"
    return source.action


def summary_line(plan: Plan, paint: Paint | None = None) -> str:
    paint = paint or _painter(False)
    s = plan.summary()
    drift = f"Drift: {_count(s.drift, 'change')} ({s.breaking} breaking)." if s.drift else "Drift: none."
    line = f"Plan: {s.add} to add, {s.change} to change, {s.destroy} to destroy. {drift}"
    if s.skipped:
        line += f" {s.skipped} skipped."
    if s.errors:
        line += " " + paint(f"Errors: {s.errors}.", _RED)
    return line


def message_line(message: Message, paint: Paint | None = None) -> str:
    paint = paint or _painter(False)
    where = f"{message.where.path}:{message.where.line}:{message.where.col}: " if message.where else ""
    return paint(f"{message.level}:", _LEVEL_COLOR[message.level]) + f" {where}{message.text}"


def source_detail(source: SourcePlan) -> tuple[DetailLine, ...]:
    """Everything about one source except its messages, in reading order: config, streams, drift, stories."""
    lines = [_config_line(c) for c in source.config_changes]
    if source.action == "create" and source.catalog:
        for stream in source.catalog:
            lines.append(DetailLine(0, "+", f"stream {stream.name}"))
            lines.extend(_column_lines(stream, "+", 1))
    else:
        catalog = {s.name: s for s in source.catalog}
        for change in source.stream_changes:
            lines.append(_change_line(change, 0, note="BREAKING" if change.breaking else ""))
            added = catalog.get(change.stream) if change.kind == "expansion" and change.column is None else None
            if added is not None:
                lines.extend(_column_lines(added, "+", 1))
    if source.drift:
        lines.append(DetailLine(0, "", f"drift (on_drift: {source.on_drift}):"))
        for change in source.drift:
            note = f"{change.kind}, BREAKING" if change.breaking else change.kind
            lines.append(_change_line(change, 1, note=note))
    if source.stories and source.breaking_drift:
        lines.append(DetailLine(0, "", "affects stories " + ", ".join(source.stories)))
    return tuple(lines)


def layout_detail(
    lines: Sequence[DetailLine], prefix: Callable[[DetailLine], str]
) -> list[tuple[str, str, DetailLine]]:
    """Pair each line with its prefix and padded body so notes line up; shared by the text and Markdown views."""
    widths = [len(prefix(line)) + len(line.body) for line in lines if line.note]
    column = max(widths, default=0) + 4
    out = []
    for line in lines:
        start = prefix(line)
        body = line.body.ljust(column - len(start)) if line.note else line.body
        out.append((start, body, line))
    return out


def _text_detail(lines: Sequence[DetailLine], paint: Paint) -> list[str]:
    def prefix(line: DetailLine) -> str:
        return " " * (6 + 4 * line.depth) + (f"{line.sign} " if line.sign else "")

    out = []
    for start, body, line in layout_detail(lines, prefix):
        if line.sign:
            start = start[:-2] + paint(line.sign, _SIGN_COLOR.get(line.sign, "")) + " "
        note = paint(f"({line.note})", _RED if line.alarm else "") if line.note else ""
        out.append(start + body + note)
    return out


def _config_line(change: ConfigChange) -> DetailLine:
    if change.old is None and change.new is not None:
        sign = "+"
    elif change.new is None and change.old is not None:
        sign = "-"
    else:
        sign = "~"
    if change.sensitive:
        value = SENSITIVE
    elif sign == "+":
        value = str(change.new)
    elif sign == "-":
        value = str(change.old)
    else:
        value = f"{change.old} -> {change.new}"
    return DetailLine(0, sign, f"{change.field}: {value}")


def _change_line(change: ColumnChange, depth: int, *, note: str) -> DetailLine:
    target = f"{change.stream}.{change.column}" if change.column else f"stream {change.stream}"
    if change.column == "(foreign key)":
        target += f"  {change.new or change.old}"
    elif change.kind == "amendment":
        target += f"  {change.old} -> {change.new}"
    elif change.kind == "expansion" and change.new and change.column:
        target += f"  {change.new}"
    return DetailLine(depth, _KIND_SIGN[change.kind], target, note=note, alarm=change.breaking)


def _column_lines(stream: Stream, sign: str, depth: int) -> list[DetailLine]:
    width = max((len(c.name) for c in stream.columns), default=0) + 2
    return [DetailLine(depth, sign, c.name.ljust(width) + c.type) for c in stream.columns]


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _painter(color: bool) -> Paint:
    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if color and code else text

    return paint
