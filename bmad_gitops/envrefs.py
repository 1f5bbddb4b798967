"""`${ENV_VAR}` references: the only way a definition may carry a secret.

`$${` writes a literal `${`. Names follow POSIX shell rules: a letter or underscore, then letters, digits and
underscores.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\$\$|\$\{([^}]*)\}|\$\{")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
PURE_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}\Z")


def ref_names(value: str) -> list[str]:
    """Names referenced by `value`, in order, well-formed ones only."""
    return [m.group(1) for m in _TOKEN.finditer(value) if m.group(1) is not None and _NAME.match(m.group(1))]


def malformed_refs(value: str) -> list[str]:
    """A message for each reference in `value` that cannot be resolved as written."""
    problems = []
    for m in _TOKEN.finditer(value):
        token = m.group(0)
        if token == "$$":
            continue
        if m.group(1) is None:
            problems.append("'${' is not closed with '}'")
        elif not _NAME.match(m.group(1)):
            problems.append(f"'{token}' is not a valid variable name")
    return problems


def is_pure_ref(value: object) -> bool:
    return isinstance(value, str) and PURE_REF.match(value) is not None


def substitute(value: str, lookup: dict[str, str]) -> str:
    """Replace each reference with `lookup[name]`; the caller has checked that every name is present."""

    def one(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        return lookup[m.group(1)]

    return _TOKEN.sub(one, value)
