"""Secrets must be `${ENV_VAR}` references, and every reference must be well-formed.

A field is a secret when a connector spec marks it `airbyte_secret: true` or when its name says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from ..diagnostics import Finding
from ..envrefs import is_pure_ref, malformed_refs
from ..packaged import packaged

_SECRET_NAME = re.compile(
    r"pass(word|wd|phrase)?$|secret|token|api_?key|private_?key|credential|access_key|auth_key|session_key", re.I
)
_NOT_SECRET = re.compile(r"(_url|_uri|_path|_param|_header|_type|_method)$", re.I)


@cache
def spec_secret_names() -> frozenset[str]:
    """Every property name that any vendored connector spec marks as a secret."""
    names: set[str] = set()
    folder = packaged("schemas", "connectors")
    if not folder.is_dir():
        return frozenset()
    for entry in folder.iterdir():
        if entry.name.endswith(".json"):
            _collect_secrets(json.loads(entry.read_text(encoding="utf-8")), names)
    return frozenset(names)


def _collect_secrets(schema: Any, names: set[str]) -> None:
    if isinstance(schema, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if isinstance(sub, dict) and sub.get("airbyte_secret") is True:
                names.add(key)
        for value in schema.values():
            _collect_secrets(value, names)
    elif isinstance(schema, list):
        for item in schema:
            _collect_secrets(item, names)


def is_secret_key(key: str) -> bool:
    return key in spec_secret_names() or (_SECRET_NAME.search(key) is not None and not _NOT_SECRET.search(key))


def secret_findings(data: dict[str, Any]) -> list[Finding]:
    return list(_walk(data, ()))


def _walk(value: Any, where: tuple[str | int, ...]) -> Iterator[Finding]:
    if isinstance(value, dict):
        for key, sub in value.items():
            path = (*where, key)
            malformed = isinstance(sub, str) and bool(malformed_refs(sub))
            plain = (
                not isinstance(sub, (dict, list)) and sub not in ("", None) and not is_pure_ref(sub) and not malformed
            )
            if plain and isinstance(key, str) and is_secret_key(key):
                var = re.sub(r"[^A-Z0-9]+", "_", f"{key}".upper()).strip("_")
                yield Finding(
                    "BG200",
                    path,
                    f"'{key}' holds a plaintext secret",
                    f'write `{key}: "${{{var}}}"` and set {var} in the environment or .env',
                )
                continue
            yield from _walk(sub, path)
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _walk(sub, (*where, index))
    elif isinstance(value, str) and "$" in value:
        for problem in malformed_refs(value):
            yield Finding(
                "BG201",
                where,
                f"malformed env var reference: {problem}",
                "write ${NAME} with letters, digits and underscores; $$ for a literal $",
            )
