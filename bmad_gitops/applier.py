"""`apply`: carry out a plan source by source, with a test extraction before any state is written.

A source that fails keeps its old state; the others are applied. Nothing is written for a plan that is stale
(a definition or state file changed since it was made).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .catalog import Stream
from .connectors.errors import ConnectorError
from .definitions import Definition, load_definitions
from .model import AppliedState, ChangeLogEntry, Plan, SourcePlan, StreamProfile
from .project import Project
from .resolve import ResolveError, load_env, resolve
from .state import apply_lock, delete_state, file_sha, read_state, state_path, write_state

Outcome = Literal["applied", "unchanged", "deleted", "failed", "skipped"]


class StalePlanError(Exception):
    """The plan no longer matches the files it was made from."""


class PlanFileError(Exception):
    """A saved plan cannot be read."""


@dataclass(frozen=True)
class SourceResult:
    name: str
    outcome: Outcome
    detail: str = ""
    profiles: tuple[StreamProfile, ...] = ()
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass(frozen=True)
class ApplyOptions:
    sample: int = 100
    today: str = ""  # YYYY-MM-DD for the change log


def read_plan_file(path: Path) -> Plan:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PlanFileError(
            f"{path}: cannot be read as a saved plan ({exc}); make one with `bmad-gitops plan --out {path}`"
        ) from None
    if not isinstance(data, dict):
        raise PlanFileError(f"{path}: is not a saved plan; make one with `bmad-gitops plan --out {path}`")
    data.pop("summary", None)
    data.pop("has_changes", None)
    try:
        return Plan.model_validate(data)
    except ValueError:
        raise PlanFileError(
            f"{path}: is not a plan this version of bmad-gitops wrote; run `bmad-gitops plan --out {path}` again"
        ) from None


def check_fresh(project: Project, plan: Plan) -> None:
    for source in plan.sources:
        if source.definition_path is not None:
            current = file_sha(project.root / source.definition_path)
            if current != source.definition_sha:
                raise StalePlanError(
                    f"plan is stale: {source.definition_path} changed since the plan was made; run `bmad-gitops plan` again"
                )
        if file_sha(state_path(project.state_dir, source.name)) != source.state_sha:
            raise StalePlanError(
                f"plan is stale: the applied state of '{source.name}' changed since the plan was made; run `bmad-gitops plan` again"
            )


def apply_plan(
    project: Project,
    plan: Plan,
    options: ApplyOptions,
    progress: Callable[[str], None] = lambda _: None,
) -> list[SourceResult]:
    with apply_lock(project.root / ".bmad-gitops"):
        check_fresh(project, plan)
        definitions = {d.name: d for d in load_definitions(project)[0]}
        env = load_env(project.root)
        results = []
        for source in plan.sources:
            progress(source.name)
            results.append(_apply_one(project, source, definitions.get(source.name), env, options))
        return results


def _apply_one(
    project: Project, source: SourcePlan, definition: Definition | None, env: dict[str, str], options: ApplyOptions
) -> SourceResult:
    if source.action in ("no-op",):
        return SourceResult(source.name, "unchanged")
    if source.action == "skip":
        return SourceResult(
            source.name, "skipped", source.messages[0].text.removeprefix("skipped: ") if source.messages else ""
        )
    if source.has_errors:
        first = next((m.text for m in source.messages if m.level == "error"), "plan has errors")
        return SourceResult(source.name, "failed", f"not applied: {first}")
    if source.action == "delete":
        delete_state(project.state_dir, source.name)
        return SourceResult(source.name, "deleted")
    if definition is None:
        return SourceResult(source.name, "failed", "definition disappeared after planning")
    try:
        resolved = resolve(definition, env)
        profiles, samples = _extract(project, definition, resolved, source.catalog, options.sample)
    except (ResolveError, ConnectorError) as exc:
        return SourceResult(source.name, "failed", str(exc))
    limit = float((definition.data.get("extraction") or {}).get("max_violation_rate", 0.0))
    over = [p for p in profiles if p.records and p.violations / p.records > limit]
    if over:
        worst = over[0]
        return SourceResult(
            source.name,
            "failed",
            f"test extraction: {worst.violations} of {worst.records} records in stream {worst.stream} break the discovered schema "
            f"(max_violation_rate {limit}); old state kept",
            profiles,
            samples,
        )
    old = read_state(project.state_dir, source.name)
    state = AppliedState(
        source=source.name,
        type=source.type,
        connector=source.connector,
        connector_version=source.connector_version or "unknown",
        config_fingerprint=resolved.fingerprint,
        secret_refs=resolved.secret_refs,
        config=resolved.public_config,
        streams=source.catalog,
        profiles=profiles,
        stories=source.stories,
        changelog=(*(old.changelog if old else ()), *changelog_entries(source, options.today)),
    )
    changed = write_state(project.state_dir, state)
    return SourceResult(source.name, "applied" if changed else "unchanged", "", profiles, samples)


def _extract(
    project: Project, definition: Definition, resolved: Any, streams: Sequence[Stream], sample: int
) -> tuple[tuple[StreamProfile, ...], dict[str, list[dict[str, Any]]]]:
    from .connectors.registry import backend_for
    from .discovery import connector_config
    from .extraction import mask_record, profile_records, sensitive_columns

    backend = backend_for(resolved.call.connector)
    config = connector_config(resolved, project.root)
    declared = {str(s["name"]): tuple(s.get("sensitive") or ()) for s in definition.data.get("streams") or []}
    profiles = []
    samples = {}
    for stream in streams:
        records = backend.read(config, stream.name, sample, sheets=resolved.call.sheets)
        profiles.append(profile_records(stream, records))
        hidden = sensitive_columns(stream, declared.get(stream.name, ()))
        samples[stream.name] = [mask_record(r, hidden) for r in records[:3]]
    return tuple(profiles), samples


def changelog_entries(source: SourcePlan, today: str) -> list[ChangeLogEntry]:
    stories = source.stories
    if source.action == "create":
        names = ", ".join(s.name for s in source.catalog) or "no streams"
        return [ChangeLogEntry(date=today, change=f"created ({names})", stories=stories)]
    entries = [
        ChangeLogEntry(date=today, change=f"drift accepted: {c.describe()}", stories=stories) for c in source.drift
    ]
    for change in source.stream_changes:
        verb = "selected" if change.kind == "expansion" else "deselected"
        entries.append(ChangeLogEntry(date=today, change=f"stream {change.stream} {verb}", stories=stories))
    fields = [c.field for c in source.config_changes]
    if fields:
        entries.append(ChangeLogEntry(date=today, change="config changed: " + ", ".join(fields), stories=stories))
    return entries
