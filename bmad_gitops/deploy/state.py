"""Deploy state: which Airbyte objects this tool created, keyed by source name, committed beside state/.

Committed (state/deploy/airbyte-<workspace>.json) rather than kept in .bmad-gitops/, because the ids are what
make a source ours: a teammate or CI job without them would see our sources as someone else's, and a source
renamed in the file keeps its id (an update, not a delete and a create). No secret values, no timestamps:
a second apply with nothing to do writes no byte.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text
from ..errors import StateError

DEPLOY_STATE_VERSION = 1


@dataclass(frozen=True)
class ConnectionRecord:
    remote_id: str
    fingerprint: str  # of the connection body we sent


@dataclass(frozen=True)
class SourceRecord:
    remote_id: str
    remote_name: str
    source_type: str
    fingerprint: str  # sha256 of the sent config without secret values (secrets as ${NAME})
    config: dict[str, Any] = field(default_factory=dict)  # that config, flattened to dotted paths
    secret_refs: tuple[str, ...] = ()
    connection: ConnectionRecord | None = None


@dataclass(frozen=True)
class DeployState:
    workspace_id: str
    sources: dict[str, SourceRecord] = field(default_factory=dict)

    def with_source(self, name: str, record: SourceRecord | None) -> DeployState:
        sources = dict(self.sources)
        if record is None:
            sources.pop(name, None)
        else:
            sources[name] = record
        return replace(self, sources=sources)


def deploy_state_path(state_dir: Path, workspace_id: str) -> Path:
    # A sub-folder: read_all_states globs state/*.json only, so these files never look like source states.
    return state_dir / "deploy" / f"airbyte-{workspace_id}.json"


def render_deploy_state(state: DeployState) -> str:
    sources: dict[str, Any] = {}
    for name, record in sorted(state.sources.items()):
        entry: dict[str, Any] = {
            "remote_id": record.remote_id,
            "remote_name": record.remote_name,
            "source_type": record.source_type,
            "fingerprint": record.fingerprint,
            "config": record.config,
            "secret_refs": list(record.secret_refs),
        }
        if record.connection is not None:
            entry["connection"] = {"remote_id": record.connection.remote_id, "fingerprint": record.connection.fingerprint}
        sources[name] = entry
    payload = {"version": DEPLOY_STATE_VERSION, "workspace_id": state.workspace_id, "sources": sources}
    return json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def read_deploy_state(path: Path, workspace_id: str) -> DeployState:
    """The recorded state, or an empty one when the file does not exist yet."""
    again = f"restore it from git (`git checkout -- {path}`); deleting it makes bmad-gitops forget what it created"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return DeployState(workspace_id)
    except (OSError, ValueError):
        raise StateError(f"{path}: cannot be read as a deploy state", again) from None
    try:
        if data["version"] != DEPLOY_STATE_VERSION or data["workspace_id"] != workspace_id:
            raise StateError(f"{path}: written for another version or workspace", again)
        sources = {str(name): _record(entry) for name, entry in dict(data["sources"]).items()}
    except (KeyError, TypeError, ValueError, AttributeError):
        raise StateError(f"{path}: is not a deploy state this version of bmad-gitops wrote", again) from None
    return DeployState(workspace_id, sources)


def _record(entry: dict[str, Any]) -> SourceRecord:
    connection = entry.get("connection")
    return SourceRecord(
        remote_id=str(entry["remote_id"]),
        remote_name=str(entry["remote_name"]),
        source_type=str(entry["source_type"]),
        fingerprint=str(entry["fingerprint"]),
        config=dict(entry.get("config") or {}),
        secret_refs=tuple(str(s) for s in entry.get("secret_refs") or ()),
        connection=ConnectionRecord(str(connection["remote_id"]), str(connection["fingerprint"])) if connection else None,
    )


def write_deploy_state(path: Path, state: DeployState, *, root: Path) -> bool:
    """Write atomically; False (and nothing touched) when the bytes would not change."""
    text = render_deploy_state(state)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    atomic_write_text(path, text, root=root)
    return True
