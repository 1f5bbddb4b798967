"""View of an apply's per-source results: one line each, then the profile of what was sampled."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from ..applier import ApplyReport, SourceResult

_MARK = {"applied": "✓", "unchanged": "=", "deleted": "-", "failed": "✗", "skipped": "·"}


def render_apply_text(report: ApplyReport, *, show_samples: bool = False, root: Path | None = None) -> str:
    lines = _result_lines(report.results, show_samples)
    shown = [_relative(p, root) for p in report.lineage_docs]
    if shown:
        lines.append(f"Lineage docs updated: {', '.join(shown)}")
    if report.stories_updated:
        lines.append(f"Stories updated: {', '.join(_relative(p, root) for p in report.stories_updated)}")
    if report.events_sent_to:
        lines.append(f"OpenLineage events: {report.events_sent_to}")
    lines.extend(f"warning: {w}" for w in report.warnings)
    return "\n".join(lines) + "\n"


def _relative(path: Path, root: Path | None) -> str:
    try:
        return path.relative_to(root).as_posix() if root else str(path)
    except ValueError:
        return str(path)


def _result_lines(results: Sequence[SourceResult], show_samples: bool) -> list[str]:
    lines = []
    for r in results:
        line = f"{_MARK[r.outcome]} {r.name}: {r.outcome}"
        lines.append(line + (f" ({r.detail})" if r.detail else ""))
        for p in r.profiles:
            lines.append(
                f"    {p.stream}: {p.records} records sampled, {p.violations} with type violations, completeness {p.completeness:.0%}"
                + _speed(p.records, r.seconds.get(p.stream))
            )
            if show_samples:
                lines.extend(
                    f"      {json.dumps(rec, sort_keys=True, default=str)}" for rec in r.samples.get(p.stream, [])
                )
    counts = {k: sum(1 for r in results if r.outcome == k) for k in _MARK}
    lines.append(
        f"Apply complete: {counts['applied']} applied, {counts['deleted']} deleted, {counts['unchanged']} unchanged, "
        f"{counts['skipped']} skipped, {counts['failed']} failed."
    )
    return lines


def _speed(records: int, seconds: float | None) -> str:
    if seconds is None:
        return ""
    rate = f", {records / seconds:,.0f} records/s" if seconds > 0 and records else ""
    return f" ({seconds:.2f} s{rate})"
