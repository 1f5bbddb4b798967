"""One walk over every value of a definition, for the checks that look at each value: secrets and placeholders.

A single walk with one growing path list: the checks run on every file of every commit, and walking each
document once instead of once per check is a fifth of validate's time.
"""

from __future__ import annotations

import math
from typing import Any

from ..diagnostics import Finding
from .placeholders import is_placeholder, placeholder_finding
from .secrets import is_secret_key, secret_finding, secret_hint


def value_findings(data: dict[str, Any]) -> list[Finding]:
    found: list[Finding] = []
    path: list[str | int] = []

    def leaf(key: str | int | None, value: Any) -> None:
        if is_placeholder(value):
            # One problem, one diagnostic: `password: <password>` is an unfilled placeholder, not also a
            # plaintext secret; its hint says what a secret field takes.
            hint = secret_hint(key) if isinstance(key, str) and is_secret_key(key) else ""
            found.append(placeholder_finding(tuple(path), value, hint))
            return
        if type(value) is float and not math.isfinite(value):
            # `.nan` compares false with every bound, so a schema minimum/maximum never sees it: refuse it here,
            # or `max_violation_rate: .nan` would switch the quality gate off.
            found.append(
                Finding("BG104", tuple(path), f"{value} is not a finite number", "write a real number, such as 0.05")
            )
            return
        finding = secret_finding(tuple(path), key, value)
        if finding is not None:
            found.append(finding)

    def walk(value: Any) -> None:
        items = value.items() if type(value) is dict else enumerate(value)
        for key, sub in items:
            path.append(key)
            if type(sub) is dict or type(sub) is list:
                walk(sub)
            elif sub is not None and sub != "":
                leaf(key if type(value) is dict else None, sub)
            path.pop()

    walk(data)
    return found
