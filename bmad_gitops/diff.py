"""The planner: config × applied state × live catalog → a SourcePlan. Pure: values in, values out, no I/O.

Three comparisons, as the README explains: config vs state (what the user changed), live vs state (upstream
drift, column by column) and config vs live (declared streams and columns the source does not have).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .catalog import Catalog, Stream
from .model import Action, AppliedState, ColumnChange, ConfigChange, Location, Message, SourcePlan


@dataclass(frozen=True)
class Expectation:
    """One declared stream from a definition's `streams:` list, with where each part was written."""

    name: str
    where: Location
    primary_key: tuple[str, ...] = ()
    cursor: str | None = None
    columns: Mapping[str, tuple[str, Location]] = field(default_factory=dict)
    columns_only: bool = False  # select just the declared columns (what apply reads and state records)


@dataclass(frozen=True)
class Desired:
    """What the definition asks for, resolved and fingerprinted (no secret values)."""

    name: str
    type: str
    connector: str
    path: str
    sha: str
    fingerprint: str
    public_config: dict[str, Any]
    secret_refs: tuple[str, ...]
    on_drift: str
    stories: tuple[str, ...]
    expectations: tuple[Expectation, ...] | None  # None: select every stream
    # Every other recorded definition key (owner, description, on_drift, tags, extraction, streams:, ...).
    declared: Mapping[str, Any] = field(default_factory=dict)
    # Where a change without a more precise place is reported: the `streams:` key, else `type:`.
    anchor: Location | None = None


def plan_source(
    name: str,
    desired: Desired | None,
    state: AppliedState | None,
    live: Catalog | None,
    *,
    state_sha: str | None = None,
    connector_version: str | None = None,
    secret_keys: frozenset[str] = frozenset(),
) -> SourcePlan:
    if desired is None:
        assert state is not None
        return SourcePlan(name=name, type=state.type, connector=state.connector, action="delete", state_sha=state_sha)
    version = connector_version or (state.connector_version if state else None)
    catalog, messages = _select(desired, live) if live is not None else (state.streams if state else (), [])
    config_changes = _config_changes(desired, state, version, secret_keys) if state else ()
    stream_changes: tuple[ColumnChange, ...] = ()
    drift: tuple[ColumnChange, ...] = ()
    if state is not None and live is not None:
        # A stream that appears or goes away because the definition changed is the user's selection, not drift.
        stream_changes, drift = _stream_diff(
            desired,
            state,
            catalog,
            live,
            selection_changed=any(c.field.startswith(("config.", "streams")) for c in config_changes),
        )
        messages += _drift_messages(desired, drift)
    action: Action
    if state is None:
        action = "create"
    elif config_changes or stream_changes or drift:
        action = "update"
    else:
        action = "no-op"
    return SourcePlan(
        name=name,
        type=desired.type,
        connector=desired.connector,
        action=action,
        definition_path=desired.path,
        definition_sha=desired.sha,
        state_sha=state_sha,
        connector_version=version,
        on_drift=desired.on_drift,
        config_changes=config_changes,
        stream_changes=stream_changes,
        drift=drift,
        messages=tuple(messages),
        stories=desired.stories,
        catalog=tuple(catalog),
    )


def failed_source(
    name: str, desired: Desired | None, message: Message, *, type_: str = "", connector: str = ""
) -> SourcePlan:
    """A source whose discovery or resolution failed: it is reported, and the others go on."""
    return SourcePlan(
        name=name,
        type=desired.type if desired else type_,
        connector=desired.connector if desired else connector,
        action="error",
        definition_path=desired.path if desired else None,
        definition_sha=desired.sha if desired else None,
        on_drift=desired.on_drift if desired else "warn",
        messages=(message,),
        stories=desired.stories if desired else (),
    )


def _select(desired: Desired, live: Catalog) -> tuple[tuple[Stream, ...], list[Message]]:
    """The live streams the definition selects, with declared keys applied, and config-vs-live errors."""
    if desired.expectations is None:
        return live.streams, []
    chosen: list[Stream] = []
    messages: list[Message] = []
    for exp in desired.expectations:
        stream = live.stream(exp.name)
        if stream is None:
            available = ", ".join(s.name for s in live.streams) or "none"
            messages.append(
                Message(
                    level="error",
                    text=f"declared stream '{exp.name}' does not exist in the source (it has: {available})",
                    where=exp.where,
                )
            )
            continue
        for column, (expected, where) in sorted(exp.columns.items()):
            found = stream.column(column)
            if found is None:
                messages.append(
                    Message(
                        level="error", text=f"declared column '{column}' is missing from stream {exp.name}", where=where
                    )
                )
            elif expected != "any" and not _type_matches(expected, found.type):
                hint = (
                    "; this connector reports every numeric column as number (CSV files carry no integer type), "
                    "so declare it as number"
                    if expected == "integer" and found.type == "number"
                    else ""
                )
                messages.append(
                    Message(
                        level="error",
                        text=f"declared column '{column}' is {expected}, but the source has {found.type}{hint}",
                        where=where,
                    )
                )
        for key in (*exp.primary_key, *([exp.cursor] if exp.cursor else [])):
            if stream.column(key) is None:
                messages.append(
                    Message(
                        level="error", text=f"key column '{key}' is missing from stream {exp.name}", where=exp.where
                    )
                )
        if exp.primary_key and stream.primary_key and tuple(stream.primary_key) != tuple(exp.primary_key):
            # A declared key stands in where the source has none; one that contradicts the source's is upstream
            # drift the definition must follow.
            messages.append(
                Message(
                    level="error",
                    text=(
                        f"declared primary key ({', '.join(exp.primary_key)}) differs from the source's "
                        f"({', '.join(stream.primary_key)}) in stream {exp.name}"
                    ),
                    where=exp.where,
                )
            )
        updates: dict[str, Any] = {}
        if exp.columns_only and exp.columns:
            updates["columns"] = tuple(c for c in stream.columns if c.name in exp.columns)
        if exp.primary_key:
            updates["primary_key"] = exp.primary_key
        if exp.cursor:
            updates["cursor"] = (exp.cursor,)
        chosen.append(dataclasses.replace(stream, **updates) if updates else stream)
    return tuple(sorted(chosen, key=lambda s: s.name)), messages


def _type_matches(expected: str, actual: str) -> bool:
    if expected == actual:
        return True
    # An integer column satisfies `number`; a string column holding ISO dates may be typed as either.
    return (expected == "number" and actual == "integer") or (expected in ("date", "date-time") and actual == "string")


def _config_changes(
    desired: Desired, state: AppliedState, version: str | None, secret_keys: frozenset[str]
) -> tuple[ConfigChange, ...]:
    changes: list[ConfigChange] = []
    if state.connector != desired.connector:
        changes.append(ConfigChange(field="connector", old=state.connector, new=desired.connector))
    if version and state.connector_version != version:
        changes.append(ConfigChange(field="connector_version", old=state.connector_version, new=version))
    old_flat, new_flat = _flatten(state.config), _flatten(desired.public_config)
    for key in sorted(set(old_flat) | set(new_flat)):
        if old_flat.get(key) != new_flat.get(key):
            sensitive = key.rsplit(".", 1)[-1] in secret_keys
            changes.append(
                ConfigChange(field=f"config.{key}", old=old_flat.get(key), new=new_flat.get(key), sensitive=sensitive)
            )
    if state.config_fingerprint != desired.fingerprint and not any(c.field.startswith("config.") for c in changes):
        # Same text, other values: an env var that feeds a non-secret field changed.
        changes.append(
            ConfigChange(field="config_fingerprint", old=state.config_fingerprint[:12], new=desired.fingerprint[:12])
        )
    if tuple(sorted(state.secret_refs)) != desired.secret_refs:
        changes.append(
            ConfigChange(
                field="secret_refs",
                old=", ".join(state.secret_refs) or None,
                new=", ".join(desired.secret_refs) or None,
            )
        )
    if tuple(state.stories) != desired.stories:
        changes.append(
            ConfigChange(field="stories", old=", ".join(state.stories) or None, new=", ".join(desired.stories) or None)
        )
    old_declared, new_declared = _flatten(state.declared), _flatten(dict(desired.declared))
    for key in sorted(set(old_declared) | set(new_declared)):
        if old_declared.get(key) != new_declared.get(key):
            changes.append(ConfigChange(field=key, old=old_declared.get(key), new=new_declared.get(key)))
    return tuple(changes)


def _flatten(value: Any, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    if isinstance(value, dict):
        for key in sorted(value, key=str):
            flat.update(_flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
    else:
        flat[prefix] = value if isinstance(value, str) else _canonical(value)
    return flat


def _canonical(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True)


def _stream_diff(
    desired: Desired, state: AppliedState, selected: Sequence[Stream], live: Catalog, *, selection_changed: bool
) -> tuple[tuple[ColumnChange, ...], tuple[ColumnChange, ...]]:
    before = {s.name: s for s in state.streams}
    after = {s.name: s for s in selected}
    selection: list[ColumnChange] = []
    drift: list[ColumnChange] = []
    if desired.expectations is None:
        into = selection if selection_changed else drift
        for name in sorted(set(after) - set(before)):
            into.append(ColumnChange(stream=name, kind="expansion", breaking=False))
        for name in sorted(set(before) - set(after)):
            into.append(ColumnChange(stream=name, kind="contraction", breaking=not selection_changed))
    else:
        declared = {e.name for e in desired.expectations}
        for name in sorted(declared - set(before)):
            if name in after:
                selection.append(ColumnChange(stream=name, kind="expansion", breaking=False))
        for name in sorted(set(before) - declared):
            selection.append(ColumnChange(stream=name, kind="contraction", breaking=False))
        for name in sorted((declared & set(before)) - {s.name for s in live.streams}):
            drift.append(ColumnChange(stream=name, kind="contraction", breaking=True))
    old_streams, new_streams = _declared_streams(state.declared), _declared_streams(desired.declared)
    for name in sorted(set(before) & set(after)):
        changes = column_drift(before[name], after[name])
        if old_streams.get(name) != new_streams.get(name):
            # The user changed this stream's declaration (columns_only, keys, cursor): what follows from that is
            # their selection, never breaking upstream drift.
            selection.extend(c.model_copy(update={"breaking": False}) for c in changes)
        else:
            drift.extend(changes)
    return tuple(selection), tuple(drift)


def _declared_streams(declared: Mapping[str, Any]) -> dict[str, Any]:
    streams = declared.get("streams")
    return dict(streams) if isinstance(streams, dict) else {}


def column_drift(old: Stream, new: Stream) -> list[ColumnChange]:
    """Column-level differences between two versions of one stream, in a stable order."""
    changes: list[ColumnChange] = []
    old_cols = {c.name: c for c in old.columns}
    new_cols = {c.name: c for c in new.columns}
    for col in sorted(set(old_cols) | set(new_cols)):
        a, b = old_cols.get(col), new_cols.get(col)
        if a is None and b is not None:
            changes.append(ColumnChange(stream=old.name, column=col, kind="expansion", breaking=False, new=b.type))
        elif b is None and a is not None:
            changes.append(ColumnChange(stream=old.name, column=col, kind="contraction", breaking=True, old=a.type))
        elif a is not None and b is not None and a.type != b.type:
            changes.append(
                ColumnChange(stream=old.name, column=col, kind="amendment", breaking=True, old=a.type, new=b.type)
            )
    old_fks = {fk.describe() for fk in old.foreign_keys}
    new_fks = {fk.describe() for fk in new.foreign_keys}
    for described in sorted(new_fks - old_fks):  # relationships move with the schema, but break no reader
        changes.append(
            ColumnChange(stream=old.name, column="(foreign key)", kind="expansion", breaking=False, new=described)
        )
    for described in sorted(old_fks - new_fks):
        changes.append(
            ColumnChange(stream=old.name, column="(foreign key)", kind="contraction", breaking=False, old=described)
        )
    for label, before, after in (
        ("(primary key)", old.primary_key, new.primary_key),
        ("(cursor)", old.cursor, new.cursor),
    ):
        if tuple(before) != tuple(after):
            changes.append(
                ColumnChange(
                    stream=old.name,
                    column=label,
                    kind="amendment",
                    breaking=True,
                    old=",".join(before) or "none",
                    new=",".join(after) or "none",
                )
            )
    return changes


def _drift_messages(desired: Desired, drift: Sequence[ColumnChange]) -> list[Message]:
    breaking = [c for c in drift if c.breaking]
    if not breaking:
        return []
    plural = len(breaking) > 1
    count = f"{len(breaking)} breaking drift change{'s' if plural else ''}"
    where = _drift_location(desired, breaking[0])
    if desired.on_drift == "freeze":
        return [
            Message(
                level="error",
                text=f"{count} under on_drift: freeze; update the definition or set on_drift: evolve",
                where=where,
            )
        ]
    if desired.on_drift == "warn":
        return [
            Message(
                level="warning",
                text=f"{count}; apply will accept {'them' if plural else 'it'} (on_drift: warn)",
                where=where,
            )
        ]
    return [Message(level="info", text=f"{count} accepted at apply (on_drift: evolve)", where=where)]


def _drift_location(desired: Desired, change: ColumnChange) -> Location:
    """The most relevant line: the column's entry, else the stream's, else `streams:`, else `type:`."""
    for exp in desired.expectations or ():
        if exp.name == change.stream:
            if change.column is not None and change.column in exp.columns:
                return exp.columns[change.column][1]
            return exp.where
    return desired.anchor or Location(path=desired.path)
