"""Fill `${VAR}` references from the environment and `.env`, keeping secret values wrapped.

A `Secret` prints as `(sensitive)` everywhere; only `reveal()` at the connector edge sees the value.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from .checks.secrets import credential_ref_names, is_secret_key
from .connectors.registry import entry
from .definitions import Definition
from .envrefs import ref_names, substitute
from .errors import BmadGitopsError, EnvError


class Secret:
    """A secret value that refuses to be shown."""

    __slots__ = ("_parts", "_value", "name", "template")

    def __init__(self, value: str, name: str, *, template: str | None = None, parts: tuple[str, ...] = ()) -> None:
        self._value = value
        self.name = name
        self.template = template  # a value with a secret inside it (`https://u:${PW}@host`) shows as written
        self._parts = parts  # the secret pieces of such a value, hidden wherever they appear on their own

    def pieces(self) -> tuple[str, ...]:
        return (self._value, *self._parts)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "(sensitive)"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled or serialised")


@dataclass(frozen=True)
class ResolvedSource:
    definition: Definition
    connector: str
    config: dict[str, Any]  # in the connector's own shape, secret values wrapped
    secret_refs: tuple[str, ...]
    public_config: dict[str, Any]  # as written: `${VAR}` references kept (what state records)
    fingerprint: str
    public_values: dict[str, Any] = field(default_factory=dict)  # references filled, secrets as ${NAME} (naming)


def load_env(root: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` over the project's `.env` (the environment wins, as with docker compose)."""
    from dotenv import dotenv_values

    try:
        values = (
            {k: v for k, v in dotenv_values(root / ".env").items() if v is not None}
            if (root / ".env").is_file()
            else {}
        )
    except UnicodeDecodeError:
        raise EnvError(f"{root / '.env'}: is not UTF-8 text", "save .env as UTF-8 (KEY=value lines)") from None
    values.update(environ)
    return values


def resolve(definition: Definition, env: Mapping[str, str]) -> ResolvedSource:
    connector = str(definition.data["connector"])
    shaped = entry(connector).map_config(definition.data.get("config") or {})
    missing = _missing(definition.data.get("config", {}), env, ("config",))
    if missing:
        name, where = missing
        line, col = definition.position(where)
        raise EnvError(
            f"{definition.display}:{line}:{col}: environment variable {name} is not set",
            f"export it or add {name}=... to .env",
        )
    secrets: set[str] = set()
    config = _fill(shaped, env, secrets, secret=False)
    public = _public(shaped)
    values = _public(config)
    fingerprint = hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()
    return ResolvedSource(definition, connector, config, tuple(sorted(secrets)), public, fingerprint, values)


def reveal(value: Any) -> Any:
    """The config with every Secret opened, for handing to a connector and nothing else."""
    if isinstance(value, Secret):
        return value.reveal()
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


def _missing(
    value: Any, env: Mapping[str, str], where: tuple[str | int, ...]
) -> tuple[str, tuple[str | int, ...]] | None:
    if isinstance(value, dict):
        for key, sub in value.items():
            found = _missing(sub, env, (*where, key))
            if found:
                return found
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            found = _missing(sub, env, (*where, index))
            if found:
                return found
    elif isinstance(value, str):
        for name in ref_names(value):
            if name not in env:
                return name, where
    return None


def _fill(value: Any, env: Mapping[str, str], secrets: set[str], *, secret: bool) -> Any:
    if isinstance(value, dict):
        return {
            k: _fill(v, env, secrets, secret=secret or (isinstance(k, str) and is_secret_key(k)))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_fill(v, env, secrets, secret=secret) for v in value]
    if isinstance(value, str) and "$" in value:
        names = ref_names(value)
        filled = substitute(value, dict(env))
        if secret:
            secrets.update(names)
            return Secret(filled, ",".join(names))
        embedded = credential_ref_names(value)
        if embedded:
            secrets.update(embedded)
            parts = tuple(env[name] for name in sorted(embedded) if env.get(name))
            return Secret(filled, ",".join(sorted(embedded)), template=value, parts=parts)
        return filled
    return value


def _public(value: Any) -> Any:
    """A config safe to store and show: secrets as `${NAME}`, references kept as written."""
    if isinstance(value, Secret):
        if value.template is not None:
            return value.template
        return "${" + value.name + "}" if value.name else "(sensitive)"
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_public(v) for v in value]
    return value


def _secret_values(value: Any) -> Iterator[str]:
    if isinstance(value, Secret):
        yield from value.pieces()
    elif isinstance(value, dict):
        for item in value.values():
            yield from _secret_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from _secret_values(item)


def hide_secrets(text: str, config: Mapping[str, Any]) -> str:
    """`text` with every secret value in `config` (as written, URL-encoded or decoded) replaced."""
    for secret in sorted(set(_secret_values(dict(config))), key=len, reverse=True):
        for form in sorted({secret, quote(secret, safe=""), unquote(secret)}, key=len, reverse=True):
            if form:
                text = text.replace(form, "(sensitive)")
    return text


@contextmanager
def secrets_hidden(config: Mapping[str, Any]) -> Iterator[None]:
    """Around every backend call: whatever a backend says, no secret value of this config leaves here."""
    try:
        yield
    except BmadGitopsError as exc:
        raise type(exc)(hide_secrets(exc.message, config), hide_secrets(exc.hint, config)) from None
