"""`apply`: carry out a plan source by source, with a test extraction before any state is written.

A source that fails keeps its old state; the others are applied. Nothing is written for a plan that is stale
(a definition or state file changed since it was made).
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .catalog import Stream
from .definitions import Definition
from .errors import BmadGitopsError, ConnectorError, LineageError
from .model import AppliedState, ChangeLogEntry, Plan, SourcePlan, StreamProfile
from .planner import Inputs, declared_settings
from .project import Project
from .resolve import ResolvedSource, resolve, secrets_hidden
from .state import delete_state, read_state, remove_leftover_temp_files, state_path, write_state

Outcome = Literal["applied", "unchanged", "deleted", "failed", "skipped"]


@dataclass(frozen=True)
class SourceResult:
    name: str
    outcome: Outcome
    detail: str = ""
    profiles: tuple[StreamProfile, ...] = ()
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    events: tuple[Any, ...] = ()  # OpenLineage RunEvents of the test extraction
    seconds: dict[str, float] = field(default_factory=dict)  # extraction time per stream (report only: it moves)


@dataclass(frozen=True)
class ApplyReport:
    results: list[SourceResult]
    lineage_docs: tuple[Path, ...] = ()
    stories_updated: tuple[Path, ...] = ()
    events_sent_to: str = ""
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApplyOptions:
    sample: int | None = None  # None: the definition's extraction.sample, else 100
    today: str = ""  # YYYY-MM-DD for the change log
    update_stories: bool = False
    parallelism: int = 4


def apply_plan(
    project: Project,
    inputs: Inputs,
    plan: Plan,
    options: ApplyOptions,
    progress: Callable[[SourceResult], None] = lambda _: None,
) -> ApplyReport:
    """Apply `plan`; the caller holds the apply lock and has checked that the plan is fresh."""
    remove_leftover_temp_files(project.state_dir)
    by_name = {d.name: d for d in inputs.definitions}

    def one(source: SourcePlan) -> SourceResult:
        try:
            result = _apply_one(project, source, by_name.get(source.name), inputs.env, options)
        except BmadGitopsError as exc:
            result = SourceResult(source.name, "failed", str(exc))
        except OSError as exc:  # a read-only state folder, a full disk: this source fails, the others go on
            where = project.display(state_path(project.state_dir, source.name))
            result = SourceResult(source.name, "failed", f"cannot write {where} ({exc.strerror or exc}); old state kept")
        progress(result)
        return result

    # Sources are independent (one state file each), and each extraction is its own connector process.
    with ThreadPoolExecutor(max_workers=max(1, options.parallelism)) as pool:
        results = list(pool.map(one, plan.sources))
    return _publish(project, inputs, results, options)


def _publish(project: Project, inputs: Inputs, results: list[SourceResult], options: ApplyOptions) -> ApplyReport:
    """After the state is written: OpenLineage events, then lineage docs. Neither can undo an applied source."""
    from .lineage.openlineage import emit
    from .lineage.refresh import refresh_lineage

    warnings = []
    sent_to = ""
    events = [e for r in results for e in r.events]
    if events:
        try:
            sent_to = emit(events, project.root)
        except LineageError as exc:
            warnings.append(f"OpenLineage events not sent: {exc}")
    try:
        lineage = refresh_lineage(
            project, list(inputs.definitions), inputs.stories, update_stories=options.update_stories
        )
    except LineageError as exc:
        warnings.append(f"lineage docs not written: {exc}")
        return ApplyReport(results, events_sent_to=sent_to, warnings=tuple(warnings))
    return ApplyReport(results, lineage.docs, lineage.stories, sent_to, (*warnings, *lineage.warnings))


def _apply_one(
    project: Project,
    source: SourcePlan,
    definition: Definition | None,
    env: Mapping[str, str],
    options: ApplyOptions,
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
    resolved = resolve(definition, env)
    started = _now()
    try:
        sample = options.sample or int((definition.data.get("extraction") or {}).get("sample", 100))
        with secrets_hidden(resolved.config):
            profiles, samples, seconds = _extract(project, definition, resolved, source.catalog, sample)
    except ConnectorError as exc:
        events = _events(project, source, definition, resolved, (), started, str(exc))
        return SourceResult(source.name, "failed", str(exc), events=events)
    limit = float((definition.data.get("extraction") or {}).get("max_violation_rate", 0.0))
    over = [p for p in profiles if p.records and p.violations / p.records > limit]
    if over:
        worst = over[0]
        detail = (
            f"test extraction: {worst.violations} of {worst.records} records in stream {worst.stream} break the "
            f"discovered schema (max_violation_rate {limit}); old state kept"
        )
        events = _events(project, source, definition, resolved, profiles, started, detail)
        return SourceResult(source.name, "failed", detail, profiles, samples, events, seconds)
    old = read_state(project.state_dir, source.name)
    state = AppliedState(
        source=source.name,
        type=source.type,
        connector=source.connector,
        connector_version=source.connector_version or "unknown",
        config_fingerprint=resolved.fingerprint,
        secret_refs=resolved.secret_refs,
        config=resolved.public_config,
        declared=declared_settings(definition),
        streams=source.catalog,
        profiles=profiles,
        stories=source.stories,
        changelog=(*(old.changelog if old else ()), *changelog_entries(source, options.today)),
    )
    changed = write_state(project.state_dir, state, root=project.root)
    events = _events(project, source, definition, resolved, profiles, started, None)
    outcome: Outcome = "applied" if changed else "unchanged"
    return SourceResult(source.name, outcome, "", profiles, samples, events, seconds)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _events(
    project: Project,
    source: SourcePlan,
    definition: Definition,
    resolved: ResolvedSource,
    profiles: Sequence[StreamProfile],
    started: datetime.datetime,
    error: str | None,
) -> tuple[Any, ...]:
    """START and COMPLETE (or FAIL) for this source's test extraction; built here, sent once after the run."""
    from .lineage.openlineage import ExtractionRun, extraction_events, git_source_location

    run = ExtractionRun.from_plan(source, resolved.public_values, tuple(profiles), definition.display)
    code = git_source_location(project.root, definition.display)
    return tuple(extraction_events(run, root=project.root, started=started, finished=_now(), error=error, code=code))


def _extract(
    project: Project, definition: Definition, resolved: ResolvedSource, streams: Sequence[Stream], sample: int
) -> tuple[tuple[StreamProfile, ...], dict[str, list[dict[str, Any]]], dict[str, float]]:
    from .connectors.registry import backend_for
    from .discovery import connector_config
    from .extraction import mask_record, profile_records, sensitive_columns

    backend = backend_for(resolved.connector)
    config = connector_config(resolved, project.root)
    entries = {str(s["name"]): s for s in definition.data.get("streams") or []}
    declared = {name: tuple(s.get("sensitive") or ()) for name, s in entries.items()}
    profiles = []
    samples = {}
    seconds = {}
    for stream in streams:
        chosen = entries.get(stream.name, {})
        # columns_only: read just the declared columns, so unselected (perhaps personal) data is never fetched.
        columns = list(chosen.get("columns") or ()) if chosen.get("columns_only") else None
        started = time.perf_counter()
        records = backend.read(config, stream.name, sample, columns)
        seconds[stream.name] = round(time.perf_counter() - started, 3)
        profiles.append(profile_records(stream, records))
        hidden = sensitive_columns(stream, declared.get(stream.name, ()))
        samples[stream.name] = [mask_record(r, hidden) for r in records[:3]]
    return tuple(profiles), samples, seconds


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
