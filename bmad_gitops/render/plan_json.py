"""The machine view of a Plan: the model as JSON, plus its summary, with sensitive config values masked."""

from __future__ import annotations

import json
from typing import Any

from ..model import Plan
from .plan_text import SENSITIVE


def render_plan_json(plan: Plan, *, color: bool = False) -> str:
    """`color` is accepted for a uniform signature and ignored."""
    payload: dict[str, Any] = plan.model_dump(mode="json")
    for source in payload["sources"]:
        for change in source["config_changes"]:
            # The planner should never hand us a secret, but a plan file may land in CI logs: mask defensively.
            if change["sensitive"]:
                change["old"] = None if change["old"] is None else SENSITIVE
                change["new"] = None if change["new"] is None else SENSITIVE
    payload["summary"] = plan.summary().model_dump(mode="json")
    payload["has_changes"] = plan.has_changes
    return json.dumps(payload, indent=2, sort_keys=True) + "\n"
