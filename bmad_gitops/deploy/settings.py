"""Deploy settings from bmad-gitops.yaml: `deploy: {airbyte: {api_url, workspace_id, destination_id, name_prefix}}`.

Credentials never live here: they come from the environment (AIRBYTE_CLIENT_ID/AIRBYTE_CLIENT_SECRET or
AIRBYTE_API_TOKEN), so the file can be committed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..project import CONFIG_FILE, ProjectConfigError

DEFAULT_API_URL = "https://api.airbyte.com/v1"
DEFAULT_PREFIX = "bmad-gitops:"
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_EXAMPLE = "deploy: {airbyte: {workspace_id: <uuid>}}"


@dataclass(frozen=True)
class AirbyteSettings:
    workspace_id: str
    api_url: str = DEFAULT_API_URL
    destination_id: str | None = None  # set: every source also gets a connection to this destination
    name_prefix: str = DEFAULT_PREFIX  # remote names are prefix + source name; also how orphans are recognised

    def remote_name(self, source: str) -> str:
        return f"{self.name_prefix}{source}"


def read_settings(root: Path) -> AirbyteSettings:
    """The `deploy.airbyte` block of the project's bmad-gitops.yaml, or a ProjectConfigError saying what to add."""
    import yaml

    path = root / CONFIG_FILE
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except FileNotFoundError:
        data = None
    except (OSError, yaml.YAMLError) as exc:
        raise ProjectConfigError(f"{CONFIG_FILE}: cannot be read ({type(exc).__name__})", "fix the file") from None
    block = _mapping(_mapping(data, "").get("deploy"), "deploy").get("airbyte")
    if block is None:
        raise ProjectConfigError(f"{CONFIG_FILE}: no `deploy.airbyte` settings", f"add {_EXAMPLE}")
    airbyte = _mapping(block, "deploy.airbyte")
    workspace = _text(airbyte, "workspace_id", required=True)
    assert workspace is not None
    destination = _text(airbyte, "destination_id")
    for key, value in (("workspace_id", workspace), ("destination_id", destination)):
        if value is not None and not _UUID.match(value):
            raise ProjectConfigError(f"{CONFIG_FILE}: deploy.airbyte.{key} is not a UUID", "copy it from Airbyte's URL")
    api_url = (_text(airbyte, "api_url") or DEFAULT_API_URL).rstrip("/")
    if not api_url.startswith(("https://", "http://")):
        raise ProjectConfigError(f"{CONFIG_FILE}: deploy.airbyte.api_url must be an http(s) URL", DEFAULT_API_URL)
    prefix = _text(airbyte, "name_prefix", allow_empty=True)
    return AirbyteSettings(workspace, api_url, destination, DEFAULT_PREFIX if prefix is None else prefix)


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProjectConfigError(f"{CONFIG_FILE}: {where or 'the file'} must be a mapping", f"use {_EXAMPLE}")
    return value


def _text(block: dict[str, Any], key: str, *, required: bool = False, allow_empty: bool = False) -> str | None:
    value = block.get(key)
    if value is None:
        if required:
            raise ProjectConfigError(f"{CONFIG_FILE}: deploy.airbyte.{key} is missing", f"add {_EXAMPLE}")
        return None
    if not isinstance(value, str) or (not value and not allow_empty):
        raise ProjectConfigError(f"{CONFIG_FILE}: deploy.airbyte.{key} must be a non-empty string", f"use {_EXAMPLE}")
    return value
