"""What Airbyte should hold for each definition: the source body in the connector's own shape, and its connection.

Pure over values (definitions, applied states, environment): the registry's `map_config` gives the shape,
`resolve` fills `${VAR}`s and wraps secrets, which stay wrapped until the client encodes the request.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..definitions import Definition
from ..diagnostics import Diagnostic
from ..errors import BmadGitopsError
from ..model import AppliedState
from ..resolve import Secret, resolve
from .model import DeployChange, Note
from .settings import AirbyteSettings
from .state import ConnectionRecord, SourceRecord

# connector -> the `sourceType` the public API's SourceConfiguration names it by (its oneOf discriminator)
SOURCE_TYPES = {"source-file": "file", "source-mysql": "mysql", "source-postgres": "postgres", "source-s3": "s3"}
_NOT_DEPLOYABLE = {
    "source-declarative-manifest": "the public API has no sourceType for a low-code manifest (it needs a custom "
    "connector definition in the workspace first)",
}


@dataclass(frozen=True)
class StreamSetting:
    name: str
    sync_mode: str  # ConnectionSyncModeEnum
    cursor: tuple[str, ...] = ()
    primary_key: tuple[str, ...] = ()

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "syncMode": self.sync_mode}
        if self.cursor and self.sync_mode.startswith("incremental"):
            out["cursorField"] = list(self.cursor)
        if self.primary_key:
            out["primaryKey"] = [[column] for column in self.primary_key]
        return out


@dataclass(frozen=True)
class DesiredConnection:
    name: str
    destination_id: str
    streams: tuple[StreamSetting, ...] | None  # None: every stream the source offers (Airbyte's default)
    cron: str | None = None  # None: manual

    def patch_body(self) -> dict[str, Any]:
        """The fields we own: name, streams, schedule (ConnectionPatchRequest)."""
        out: dict[str, Any] = {"name": self.name, "schedule": self.schedule()}
        if self.streams is not None:
            out["configurations"] = {"streams": [s.body() for s in self.streams]}
        return out

    def create_body(self, source_id: str) -> dict[str, Any]:
        return {**self.patch_body(), "sourceId": source_id, "destinationId": self.destination_id}

    def schedule(self) -> dict[str, str]:
        return {"scheduleType": "cron", "cronExpression": self.cron} if self.cron else {"scheduleType": "manual"}

    @property
    def fingerprint(self) -> str:
        return _sha({**self.patch_body(), "destinationId": self.destination_id})


@dataclass(frozen=True)
class DesiredSource:
    source: str
    remote_name: str
    source_type: str
    configuration: dict[str, Any]  # as sent: connector shape + sourceType, Secret values still wrapped
    public: dict[str, Any]  # flattened dotted paths; secrets as ${NAME}: safe to show and to store
    secret_paths: frozenset[str]
    secret_refs: tuple[str, ...]
    fingerprint: str
    connection: DesiredConnection | None = None
    notes: tuple[Note, ...] = ()

    def create_body(self, workspace_id: str) -> dict[str, Any]:
        return {"name": self.remote_name, "workspaceId": workspace_id, "configuration": self.configuration}

    def patch_body(self) -> dict[str, Any]:
        # The whole configuration, secrets included: Airbyte only ever returns them masked, so a partial
        # patch could not be checked, and a full one leaves nothing stale behind.
        return {"name": self.remote_name, "configuration": self.configuration}

    def record(self, remote_id: str, connection: ConnectionRecord | None) -> SourceRecord:
        return SourceRecord(
            remote_id, self.remote_name, self.source_type, self.fingerprint, dict(self.public), self.secret_refs,
            connection,
        )


@dataclass(frozen=True)
class DesiredSet:
    sources: tuple[DesiredSource, ...]
    failed: tuple[DeployChange, ...]  # definitions that cannot be deployed as they are: shown, never deleted
    known: frozenset[str]  # every source name with a definition file, valid or not


def desired_sources(
    definitions: Sequence[Definition],
    diagnostics: Iterable[Diagnostic],
    states: Mapping[str, AppliedState],
    env: Mapping[str, str],
    settings: AirbyteSettings,
) -> DesiredSet:
    from ..checks.names import source_name

    sources: list[DesiredSource] = []
    failed: list[DeployChange] = []
    broken: dict[str, Diagnostic] = {}
    for d in diagnostics:
        if d.severity == "error" and d.path.endswith((".yaml", ".yml")):
            broken.setdefault(source_name(Path(d.path)), d)
    for name, d in sorted(broken.items()):
        text = f"{d.path}:{d.line}:{d.col}: {d.message} (run `bmad-gitops validate`)"
        failed.append(DeployChange("source", name, "error", settings.remote_name(name), notes=(Note("error", text),)))
    for definition in definitions:
        try:
            sources.append(_desired(definition, states.get(definition.name), env, settings))
        except _NotDeployable as exc:
            failed.append(
                DeployChange(
                    "source", definition.name, "skip", settings.remote_name(definition.name),
                    notes=(Note("info", f"skipped: {exc}"),),
                )
            )
        except BmadGitopsError as exc:
            failed.append(
                DeployChange(
                    "source", definition.name, "error", settings.remote_name(definition.name),
                    notes=(Note("error", exc.message + (f" ({exc.hint})" if exc.hint else "")),),
                )
            )
    known = frozenset({d.name for d in definitions} | set(broken))
    return DesiredSet(tuple(sources), tuple(failed), known)


class _NotDeployable(Exception):
    pass


def _desired(
    definition: Definition, applied: AppliedState | None, env: Mapping[str, str], settings: AirbyteSettings
) -> DesiredSource:
    connector = str(definition.data["connector"])
    if connector in _NOT_DEPLOYABLE:
        raise _NotDeployable(f"{connector}: {_NOT_DEPLOYABLE[connector]}")
    source_type = SOURCE_TYPES.get(connector)
    if source_type is None:
        raise _NotDeployable(f"{connector} has no Airbyte sourceType mapping yet")
    resolved = resolve(definition, env)
    configuration = {**resolved.config, "sourceType": source_type}
    public = flatten({**resolved.public_values, "sourceType": source_type})
    secret_paths = frozenset(path for path, value in flatten(configuration).items() if isinstance(value, Secret))
    notes: list[Note] = []
    provider = configuration.get("provider")
    url = str(configuration.get("url", ""))
    if isinstance(provider, dict) and provider.get("storage") == "local" and not url.startswith("/local/"):
        notes.append(Note("warning", f"Airbyte reads local files under its /local mount; url '{url}' is sent as written"))
    connection = None
    if settings.destination_id is not None:
        streams, stream_notes = _streams(definition, applied)
        notes.extend(stream_notes)
        schedule = definition.data.get("schedule")
        cron = schedule if isinstance(schedule, str) and schedule != "manual" else None
        connection = DesiredConnection(settings.remote_name(definition.name), settings.destination_id, streams, cron)
    fingerprint = _sha({"public": public, "secrets": sorted(secret_paths), "refs": list(resolved.secret_refs)})
    return DesiredSource(
        definition.name, settings.remote_name(definition.name), source_type, configuration, public, secret_paths,
        resolved.secret_refs, fingerprint, connection, tuple(notes),
    )


def _streams(definition: Definition, applied: AppliedState | None) -> tuple[tuple[StreamSetting, ...] | None, list[Note]]:
    """The selected streams: those the applied state recorded, else those the definition lists, else all (None).
    Incremental where a cursor is declared and the connector offers it; deduplicated when a key is known too."""
    declared = {str(s["name"]): s for s in definition.data.get("streams") or [] if isinstance(s, dict)}
    notes: list[Note] = []
    if applied is not None and applied.streams:
        found = [(s.name, tuple(s.cursor), tuple(s.primary_key), tuple(s.sync_modes)) for s in applied.streams]
    elif declared:
        found = [(name, (), (), ()) for name in sorted(declared)]
    else:
        return None, notes
    settings: list[StreamSetting] = []
    for name, cursor, key, modes in found:
        mine = declared.get(name, {})
        cursor = (str(mine["cursor"]),) if mine.get("cursor") else cursor
        key = tuple(str(k) for k in mine.get("primary_key") or ()) or key
        mode = "full_refresh_overwrite"
        if mine.get("cursor"):
            if modes and "incremental" not in modes:
                notes.append(Note("warning", f"stream {name}: cursor declared, but the connector reads it only in full"))
            else:
                mode = "incremental_deduped_history" if key else "incremental_append"
        settings.append(StreamSetting(name, mode, cursor, key))
    return tuple(sorted(settings, key=lambda s: s.name)), notes


def flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted paths; lists and scalars are leaves."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        path = f"{prefix}{key}"
        if isinstance(item, Mapping) and item:
            out.update(flatten(item, path + "."))
        else:
            out[path] = item
    return out


def _sha(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()
