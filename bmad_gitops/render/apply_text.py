"""View of an apply's per-source results: one line each, then the profile of what was sampled."""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..applier import SourceResult

_MARK = {"applied": "✓", "unchanged": "=", "deleted": "-", "failed": "✗", "skipped": "·"}


def render_apply_text(results: Sequence[SourceResult], *, show_samples: bool = False) -> str:
    lines = []
    for r in results:
        line = f"{_MARK[r.outcome]} {r.name}: {r.outcome}"
        lines.append(line + (f" ({r.detail})" if r.detail else ""))
        for p in r.profiles:
            lines.append(
                f"    {p.stream}: {p.records} records sampled, {p.violations} with type violations, completeness {p.completeness:.0%}"
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
    return "\n".join(lines) + "\n"
