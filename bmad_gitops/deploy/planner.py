"""Desired × remote × deploy state → DeployPlan: pure, no I/O, deterministic order.

Ownership is the point: a remote source is ours when the deploy state records its id, or (when a name prefix
is set) its name carries the prefix. Only ours are ever updated or deleted; anything else is reported and
left alone. Configs are compared without secrets, since Airbyte returns them masked: the sent secret-free
config's fingerprint lives in the deploy state, and the non-secret values are checked against the remote too,
so an edit made in Airbyte's UI shows up as an update.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .desired import DesiredConnection, DesiredSet, DesiredSource, flatten
from .model import Action, DeployChange, DeployPlan, FieldChange, Note, Unmanaged
from .settings import AirbyteSettings
from .state import DeployState, SourceRecord

_MISSING = object()


@dataclass(frozen=True)
class RemoteSource:
    remote_id: str
    name: str
    source_type: str
    config: dict[str, Any]  # flattened; secret values masked by Airbyte


@dataclass(frozen=True)
class RemoteConnection:
    remote_id: str
    name: str
    source_id: str
    destination_id: str
    schedule: tuple[str, str | None]
    streams: tuple[tuple[str, str], ...] | None  # (name, syncMode); None when the response lists none


def remote_source(item: Mapping[str, Any]) -> RemoteSource:
    config = item.get("configuration")
    return RemoteSource(
        str(item.get("sourceId")), str(item.get("name")), str(item.get("sourceType")),
        flatten(config) if isinstance(config, Mapping) else {},
    )


def remote_connection(item: Mapping[str, Any]) -> RemoteConnection:
    schedule = item.get("schedule") if isinstance(item.get("schedule"), Mapping) else {}
    assert isinstance(schedule, Mapping)
    configurations = item.get("configurations")
    listed = configurations.get("streams") if isinstance(configurations, Mapping) else None
    streams = (
        tuple(sorted((str(s.get("name")), str(s.get("syncMode"))) for s in listed if isinstance(s, Mapping)))
        if isinstance(listed, list) and listed
        else None
    )
    cron = schedule.get("cronExpression")
    return RemoteConnection(
        str(item.get("connectionId")), str(item.get("name")), str(item.get("sourceId")),
        str(item.get("destinationId")), (str(schedule.get("scheduleType")), str(cron) if cron else None), streams,
    )


@dataclass(frozen=True)
class Pairing:
    """Which deploy-state record each desired source continues, renames included."""

    records: dict[str, SourceRecord]  # desired source name -> the record it continues
    renamed: dict[str, str]  # desired source name -> the old source name it was renamed from
    orphans: dict[str, SourceRecord]  # records with no definition any more: ours to delete


def pair_records(desired: DesiredSet, state: DeployState) -> Pairing:
    wanted = {d.source for d in desired.sources}
    records = {name: r for name, r in state.sources.items() if name in wanted}
    orphans = {name: r for name, r in state.sources.items() if name not in desired.known}
    renamed: dict[str, str] = {}
    # A definition file renamed with its config unchanged continues the old remote source: an update of the
    # name, not a delete and a create (which would lose the connection's sync history).
    by_fingerprint: dict[str, list[str]] = {}
    for name, record in orphans.items():
        by_fingerprint.setdefault(record.fingerprint, []).append(name)
    for d in desired.sources:
        olds = by_fingerprint.get(d.fingerprint, [])
        if d.source not in records and len(olds) == 1:
            old = olds.pop()
            records[d.source] = orphans.pop(old)
            renamed[d.source] = old
    return Pairing(records, renamed, orphans)


def plan_deploy(
    settings: AirbyteSettings,
    desired: DesiredSet,
    state: DeployState,
    remote_sources: Sequence[Mapping[str, Any]],
    remote_connections: Sequence[Mapping[str, Any]] = (),
) -> DeployPlan:
    sources = {r.remote_id: r for r in map(remote_source, remote_sources)}
    connections = {c.remote_id: c for c in map(remote_connection, remote_connections)}
    pairing = pair_records(desired, state)
    claimed = {r.remote_id for r in state.sources.values()}  # failed definitions keep theirs too
    by_name = {r.name: r for r in sources.values() if r.remote_id not in claimed}
    changes: list[DeployChange] = list(desired.failed)
    for d in desired.sources:
        record = pairing.records.get(d.source)
        remote = sources.get(record.remote_id) if record else None
        notes = list(d.notes)
        if record is not None and remote is None:
            notes.append(Note("warning", f"source {record.remote_id} is gone from Airbyte; it will be created again"))
        if remote is None and _prefixed(settings, d.remote_name) and d.remote_name in by_name:
            remote = by_name.pop(d.remote_name)  # ours by name: the deploy state was lost or not committed
            claimed.add(remote.remote_id)
            notes.append(Note("info", f"adopting existing source {remote.remote_id} by its name"))
        if d.source in pairing.renamed:
            notes.append(Note("info", f"renamed from {pairing.renamed[d.source]}"))
        changes.append(_source_change(d, record, remote, tuple(notes)))
        connection = _connection_change(settings, d, record, remote, connections)
        if connection is not None:
            changes.append(connection)
    for name, record in sorted(pairing.orphans.items()):
        remote = sources.get(record.remote_id)
        if record.connection is not None and record.connection.remote_id in connections:
            changes.append(
                DeployChange("connection", name, "delete", record.remote_name, record.connection.remote_id)
            )
        note = () if remote else (Note("info", "already gone from Airbyte; only the deploy state forgets it"),)
        changes.append(DeployChange("source", name, "delete", record.remote_name, record.remote_id, record.source_type, notes=note))
    unmanaged: list[Unmanaged] = []
    for remote in sorted(sources.values(), key=lambda r: (r.name, r.remote_id)):
        if remote.remote_id in claimed:
            continue
        if _prefixed(settings, remote.name):
            text = f"recognised as ours by the name prefix '{settings.name_prefix}'"
            changes.append(
                DeployChange(
                    "source", remote.name.removeprefix(settings.name_prefix), "delete", remote.name, remote.remote_id,
                    remote.source_type, notes=(Note("info", text),),
                )
            )
        else:
            unmanaged.append(Unmanaged(remote.name, remote.source_type, remote.remote_id))
    # Reading order is doing order: a connection after its source, but before it when both go.
    changes.sort(key=lambda c: (c.source, (c.kind == "connection") != (c.action == "delete")))
    return DeployPlan(settings.workspace_id, tuple(changes), tuple(unmanaged))


def _prefixed(settings: AirbyteSettings, name: str) -> bool:
    return bool(settings.name_prefix) and name.startswith(settings.name_prefix)


def _source_change(
    d: DesiredSource, record: SourceRecord | None, remote: RemoteSource | None, notes: tuple[Note, ...]
) -> DeployChange:
    if remote is None:
        created = tuple(FieldChange(p, None, _show(v), p in d.secret_paths) for p, v in sorted(d.public.items()))
        return DeployChange("source", d.source, "create", d.remote_name, None, d.source_type, created, notes)
    if remote.source_type != d.source_type:
        text = f"Airbyte source {remote.remote_id} is a {remote.source_type} source, not {d.source_type}: delete it in Airbyte"
        return DeployChange("source", d.source, "error", d.remote_name, remote.remote_id, d.source_type, (), (*notes, Note("error", text)))
    fields = list(_config_fields(d, record, remote))
    if remote.name != d.remote_name:
        fields.insert(0, FieldChange("name", remote.name, d.remote_name))
    stale = record is None or record.fingerprint != d.fingerprint
    action: Action = "update" if fields or stale else "no-op"
    if action == "no-op":  # the desired notes are about what is sent; nothing is, so they would be noise
        notes = tuple(n for n in notes if n not in d.notes)
    return DeployChange("source", d.source, action, d.remote_name, remote.remote_id, d.source_type, tuple(fields), notes)


def _config_fields(d: DesiredSource, record: SourceRecord | None, remote: RemoteSource) -> list[FieldChange]:
    sent = record.config if record else {}
    out: list[FieldChange] = []
    for path, value in sorted(d.public.items()):
        if path in d.secret_paths:
            # Masked remotely: only the variable names we sent can differ.
            if record is None or sent.get(path) != value:
                old_ref = sent.get(path) if record is not None else None
                out.append(FieldChange(path, None if old_ref is None else _show(old_ref), _show(value), sensitive=True))
            continue
        old = remote.config.get(path, _MISSING)
        if old != value:
            out.append(FieldChange(path, None if old is _MISSING else _show(old), _show(value)))
    for path in sorted(set(sent) - set(d.public)):
        old = remote.config.get(path, _MISSING)
        if old is not _MISSING:
            was_secret = isinstance(sent[path], str) and sent[path].startswith("${")
            out.append(FieldChange(path, _show(old), None, sensitive=was_secret))
    return out


def _connection_change(
    settings: AirbyteSettings,
    d: DesiredSource,
    record: SourceRecord | None,
    remote: RemoteSource | None,
    connections: Mapping[str, RemoteConnection],
) -> DeployChange | None:
    had = record.connection if record is not None else None
    existing = connections.get(had.remote_id) if had is not None else None
    if d.connection is None:
        if existing is None:
            return None
        return DeployChange("connection", d.source, "delete", existing.name, existing.remote_id)
    want = d.connection
    if existing is None and remote is not None:  # adopt ours by its pair of ends, as with sources
        existing = next(
            (
                c for c in sorted(connections.values(), key=lambda c: c.remote_id)
                if c.source_id == remote.remote_id and c.destination_id == want.destination_id
            ),
            None,
        )
    fields = _connection_fields(want, existing)
    if existing is None:
        return DeployChange("connection", d.source, "create", want.name, None, "", tuple(fields))
    stale = had is None or had.fingerprint != want.fingerprint or existing.remote_id != had.remote_id
    action: Action = "update" if fields or stale else "no-op"
    return DeployChange("connection", d.source, action, want.name, existing.remote_id, "", tuple(fields))


def _connection_fields(want: DesiredConnection, existing: RemoteConnection | None) -> list[FieldChange]:
    out: list[FieldChange] = []
    schedule = want.cron or "manual"
    if existing is None:
        out.append(FieldChange("destination", None, want.destination_id))
        out.append(FieldChange("schedule", None, schedule))
        streams = ["(every stream)"] if want.streams is None else [f"{s.name} ({s.sync_mode})" for s in want.streams]
        out.extend(FieldChange("stream", None, s) for s in streams)
        return out
    if existing.name != want.name:
        out.append(FieldChange("name", existing.name, want.name))
    remote_schedule = existing.schedule[1] if existing.schedule[0] == "cron" else existing.schedule[0]
    if remote_schedule != schedule:
        out.append(FieldChange("schedule", remote_schedule, schedule))
    if want.streams is not None and existing.streams is not None:
        mine = {s.name: s.sync_mode for s in want.streams}
        theirs = dict(existing.streams)
        for name in sorted(set(mine) | set(theirs)):
            if mine.get(name) != theirs.get(name):
                old = f"{name} ({theirs[name]})" if name in theirs else None
                new = f"{name} ({mine[name]})" if name in mine else None
                out.append(FieldChange("stream", old, new))
    return out


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
