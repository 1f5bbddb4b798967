"""Secrets must be `${ENV_VAR}` references, and every reference must be well-formed.

A field is a secret when a connector spec marks it `airbyte_secret: true` or when its name says so.
"""

from __future__ import annotations

import json
import re
from functools import cache, lru_cache
from typing import Any

from ..diagnostics import Finding
from ..envrefs import is_pure_ref, malformed_refs
from ..packaged import packaged

_SECRET_NAME = re.compile(
    r"pass(word|wd|phrase)?$|secret|token|api[_-]?key|private[_-]?key|credential|access[_-]?key|auth[_-]?key"
    r"|session[_-]?key|^authorization$|^proxy-authorization$|^cookie$|^set-cookie$",
    re.I,
)
# Credentials hiding inside a value: `user:password@` in a URL, `password=`/`token=` in a connection string or
# a query. A `${VAR}` in that place is a reference, not a secret.
_URL_USERINFO = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@?#]*:(?P<secret>[^/\s@?#]+)@", re.I)
_PAIR = re.compile(
    r"(?:^|[;&?\s])(?P<name>password|passwd|pwd|token|access_token|api[_-]?key|apikey|secret|sig|signature|key)"
    r"=(?P<secret>[^;&\s#]+)",
    re.I,
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


@lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    return key in spec_secret_names() or (_SECRET_NAME.search(key) is not None and not _NOT_SECRET.search(key))


def secret_hint(key: str) -> str:
    """How to write a secret field: an env reference named after the key (`api_key` -> `${API_KEY}`)."""
    var = re.sub(r"[^A-Z0-9]+", "_", key.upper()).strip("_") or "SECRET"
    return f'write `{key}: "${{{var}}}"` and set {var} in the environment or .env'


# A whole value `$NAME`: shells read it as a reference, bmad-gitops as literal text. Only the whole value, because
# a real password may contain `$` and a message must never echo part of a secret.
_UNBRACED = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)\Z")


def secret_finding(where: tuple[str | int, ...], key: str | int | None, value: Any) -> Finding | None:
    """BG200 for a plaintext value under a secret key; BG201 for a malformed reference anywhere.

    In a secret field `$NAME` is BG201 too: the user meant a reference, and the fix is braces, not a vault.
    """
    if isinstance(value, str):
        if "$" in value and (problems := malformed_refs(value)):
            return Finding(
                "BG201",
                where,
                f"malformed env var reference: {problems[0]}",
                "write ${NAME} with letters, digits and underscores; $$ for a literal $",
            )
        if value == "" or is_pure_ref(value):
            return None
    elif value is None:
        return None
    if isinstance(value, str) and not (isinstance(key, str) and is_secret_key(key)):
        hidden = embedded_credential(value)
        if hidden is not None:
            name = key if isinstance(key, str) else "this value"
            return Finding(
                "BG200",
                where,
                f"'{name}' holds a plaintext credential ({hidden})",
                "move it to an env var and write its reference in that place, e.g. `password=${DB_PASSWORD}` or "
                "`https://user:${API_PASSWORD}@host`",
            )
    if isinstance(key, str) and is_secret_key(key):
        bare = _UNBRACED.match(value.strip()) if isinstance(value, str) else None
        if bare is not None:
            var = bare.group(1)
            return Finding(
                "BG201",
                where,
                f"'${var}' is not an env var reference: references need braces",
                f'write `{key}: "${{{var}}}"`; $$ for a literal $',
            )
        return Finding("BG200", where, f"'{key}' holds a plaintext secret", secret_hint(key))
    return None


def embedded_credential(value: str) -> str | None:
    """What kind of credential a plain value carries inside it, or None (a `${VAR}` in its place is fine)."""
    if "@" not in value and "=" not in value:  # the common case, for every value of every file: no regex
        return None
    found = _URL_USERINFO.search(value)
    if found and not _is_reference(found.group("secret")):
        return "a password in a URL's user:password@"
    for pair in _PAIR.finditer(value):
        if not _is_reference(pair.group("secret")):
            return f"a `{pair.group('name')}=` value"
    return None


def _is_reference(text: str) -> bool:
    return text.startswith("${") and text.endswith("}") and is_pure_ref(text)


def credential_ref_names(template: str) -> set[str]:
    """Names of the `${VAR}`s that stand in a credential's place inside a value (a URL's password, a
    `password=` pair): their values are secrets even though the field's name is not."""
    names: set[str] = set()
    for found in (_URL_USERINFO.search(template), *_PAIR.finditer(template)):
        if found is not None and _is_reference(found.group("secret")):
            names.add(found.group("secret")[2:-1])
    return names
