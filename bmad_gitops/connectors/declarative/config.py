"""A `type: api` definition's `config` -> the source-declarative-manifest connector config. Pure and import-light.

The connector config is `{"__injected_declarative_manifest": manifest, **values}`: the manifest holds structure,
the values hold everything a user typed that may be a `${VAR}` or a secret, passed through untouched (strings at
validate time, Secret objects at run time). Credentials sit under `token`, `api_key`, `username` and `password`,
names every secret check recognises.

Three ways to give the manifest:
- the short form (`base_url`, `auth`, `pagination`, `endpoints`), compiled here;
- `manifest:` an embedded hand-written manifest, with `values:` the config keys it reads;
- `manifest_file:` a YAML or JSON manifest relative to the project root, with `values:`. This module does no I/O:
  the file's path goes under `__manifest_file`; the engine makes it absolute with `api_localize` (the registry's
  `localize` hook) and the backend reads it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from ...errors import ConfigError
from .manifest import compile_manifest

MANIFEST_KEY = "__injected_declarative_manifest"
MANIFEST_FILE_KEY = "__manifest_file"

_CREDENTIALS = {"bearer": ("token",), "api_key": ("api_key",), "basic": ("username", "password")}


def _short_form_values(config: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {"base_url": config["base_url"]}
    auth = config.get("auth") or {}
    for key in _CREDENTIALS.get(auth.get("type", "none"), ()):
        if key in auth:
            values[key] = auth[key]
        elif key == "password":
            values[key] = ""  # basic auth with a user name only
    if config.get("headers"):
        values["headers"] = dict(config["headers"])
    params = {e["name"]: dict(e["params"]) for e in config.get("endpoints") or [] if e.get("params")}
    if params:
        values["params"] = params
    return values


def api_config(definition_config: Mapping[str, Any]) -> dict[str, Any]:
    """The connector config for a definition's `config`; raises ConfigError when its shape is unusable."""
    values = dict(definition_config.get("values") or {})
    if "manifest" in definition_config:
        manifest = definition_config["manifest"]
        if not isinstance(manifest, Mapping):
            raise ConfigError("api config: `manifest` must be a mapping (a declarative manifest)")
        return {MANIFEST_KEY: copy.deepcopy(dict(manifest)), **values}
    if "manifest_file" in definition_config:
        return {MANIFEST_FILE_KEY: definition_config["manifest_file"], **values}
    try:
        manifest = compile_manifest(definition_config)
        return {MANIFEST_KEY: manifest, **_short_form_values(definition_config)}
    except (KeyError, TypeError, AttributeError, ValueError) as exc:  # validate's schema check names the place
        raise ConfigError(
            f"api config cannot be compiled ({type(exc).__name__}: {exc})",
            "give base_url and endpoints (each with name and path), or manifest / manifest_file",
        ) from None


def api_local_paths(config: Mapping[str, Any]) -> list[str]:
    """The manifest file a connector config reads, as written in the definition (none for the other forms)."""
    path = config.get(MANIFEST_FILE_KEY)
    return [path] if isinstance(path, str) else []


def api_localize(config: Mapping[str, Any], absolute: Callable[[str], str]) -> dict[str, Any]:
    """The connector config with its manifest file path made absolute (the backend reads the file)."""
    out = dict(config)
    for raw in api_local_paths(config):
        out[MANIFEST_FILE_KEY] = absolute(raw)
    return out
