"""The apply report as JSON for tools: per-source outcome, detail, profiles and timings; samples only when asked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..applier import ApplyReport


def render_apply_json(report: ApplyReport, *, show_samples: bool = False, root: Path | None = None) -> str:
    def shown(path: Path) -> str:
        try:
            return path.relative_to(root).as_posix() if root else str(path)
        except ValueError:
            return str(path)

    results: list[dict[str, Any]] = []
    for r in report.results:
        entry: dict[str, Any] = {
            "name": r.name,
            "outcome": r.outcome,
            "detail": r.detail,
            "profiles": [p.model_dump(mode="json") for p in r.profiles],
            "seconds": r.seconds,
        }
        if show_samples:
            entry["samples"] = r.samples  # masked already
        results.append(entry)
    payload = {
        "results": results,
        "lineage_docs": [shown(p) for p in report.lineage_docs],
        "stories_updated": [shown(p) for p in report.stories_updated],
        "openlineage": report.events_sent_to,
        "warnings": list(report.warnings),
        "failed": sum(1 for r in report.results if r.outcome == "failed"),
    }
    return json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n"
