"""The pipeline for every front end: validate, plan, apply, discover, check, lineage.

Each function takes an explicit project, environment and clock and returns a value; front ends (the CLI, the
HTTP service) turn flags or requests into calls here and values into views. Nothing below reads `Path.cwd()`
or `os.environ`. Failures a user can fix are `BmadGitopsError`s.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .diagnostics import Diagnostic
from .errors import ConfigError, PlanFileError, StalePlanError
from .project import DEFINITION_SUFFIXES, Project, load_project

if TYPE_CHECKING:  # the live stages load pydantic models; validate must not pay for them
    from .applier import ApplyOptions, ApplyReport, SourceResult
    from .catalog import Catalog, TableStatistics
    from .connectors.declarative.openapi import OpenApiEndpoint
    from .lineage.refresh import LineageResult
    from .model import Plan, SourcePlan
    from .planner import Inputs, PlanOptions, PlanResult
    from .resolve import ResolvedSource


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


@dataclass(frozen=True)
class Context:
    """What every live stage needs: the project, the environment (`.env` already merged) and a clock."""

    project: Project
    env: Mapping[str, str]
    clock: Callable[[], datetime.datetime] = field(default=_utc_now)


def open_project(start: Path, *, require: bool = True) -> Project:
    return load_project(start, require=require)


def open_context(start: Path, environ: Mapping[str, str], clock: Callable[[], datetime.datetime] = _utc_now) -> Context:
    from .resolve import load_env

    project = open_project(start)
    return Context(project, load_env(project.root, environ), clock)


# ── validate ──────────────────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class ValidateResult:
    diagnostics: tuple[Diagnostic, ...]
    checked: int

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)


def expand_paths(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(p for p in path.rglob("*") if p.suffix in DEFINITION_SUFFIXES) if path.is_dir() else [path])
    return files


def validate(project: Project, paths: Sequence[Path] = ()) -> ValidateResult:
    from .localpaths import forget_resolved_folders
    from .validate import validate_files

    forget_resolved_folders()
    files = expand_paths(paths)
    diagnostics = validate_files(project, files)
    checked = len(set(files)) if paths else len(project.definition_files())
    return ValidateResult(tuple(diagnostics), checked)


# ── inputs, plan ──────────────────────────────────────────────────────────────────────────────────────────────


def load_inputs(ctx: Context, paths: Sequence[Path] = ()) -> Inputs:
    """Definitions (validated), states and the story index, read once for the whole command."""
    from .definitions import load_definitions
    from .lineage.stories import find_stories
    from .localpaths import forget_resolved_folders
    from .planner import Inputs
    from .state import read_all_states

    forget_resolved_folders()
    project = ctx.project
    stories = find_stories(project.root, project.stories_dir)
    definitions, diagnostics = load_definitions(project, expand_paths(paths), stories)
    return Inputs(tuple(definitions), tuple(diagnostics), read_all_states(project.state_dir), stories, ctx.env)


def changed_since(project: Project, ref: str) -> frozenset[str]:
    from .checks.names import source_name
    from .gitinfo import changed_files

    files = changed_files(project.root, ref, project.sources_dir)
    return frozenset(source_name(Path(f)) for f in files if f.endswith(DEFINITION_SUFFIXES))


def plan(
    ctx: Context,
    options: PlanOptions | None = None,
    paths: Sequence[Path] = (),
    progress: Callable[[str], None] = lambda _: None,
    inputs: Inputs | None = None,
) -> PlanResult:
    from .planner import PlanOptions, make_plan

    inputs = inputs or load_inputs(ctx, paths)
    return make_plan(ctx.project, inputs, options or PlanOptions(), progress)


# ── saved plans: untrusted input ──────────────────────────────────────────────────────────────────────────────


def read_plan_file(path: Path) -> Plan:
    """A saved plan, checked strictly: unknown keys, wrong types, bad names or another version are refused."""
    from .checks.names import NAME
    from .model import STATE_VERSION, Plan

    again = f"make a new one with `bmad-gitops plan --out {path}`"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not JSON"
        raise PlanFileError(f"{path}: cannot be read as a saved plan ({reason})", again) from None
    if not isinstance(data, dict):
        raise PlanFileError(f"{path}: is not a saved plan", again)
    if data.get("version") != STATE_VERSION:
        raise PlanFileError(f"{path}: plan version {data.get('version')!r} is not {STATE_VERSION}", again)
    data.pop("summary", None)
    data.pop("has_changes", None)
    try:
        saved = Plan.model_validate(data)
    except ValueError as exc:
        first = str(exc).splitlines()[1] if len(str(exc).splitlines()) > 1 else "wrong shape"
        raise PlanFileError(f"{path}: is not a plan this version of bmad-gitops wrote ({first})", again) from None
    for source in saved.sources:
        if not NAME.match(source.name):
            raise PlanFileError(f"{path}: source name {source.name[:60]!r} is not a valid source name", again)
    return saved


def check_fresh(ctx: Context, inputs: Inputs, saved: Plan) -> None:
    """Plan the same sources again from today's files; anything different makes the saved plan stale."""
    from .planner import PlanOptions, make_plan

    names = tuple(s.name for s in saved.sources)
    fresh = make_plan(ctx.project, inputs, PlanOptions(targets=names) if names else PlanOptions()).plan
    now = {s.name: s for s in fresh.sources}
    for old in saved.sources:
        new = now.get(old.name)
        if new is None or new != old:
            raise StalePlanError(
                f"plan is stale: {_difference(old, new)} since the plan was made",
                "run `bmad-gitops plan --out FILE` again and apply the new plan",
            )


def _difference(old: SourcePlan, new: SourcePlan | None) -> str:
    if new is None:
        return f"'{old.name}' is no longer planned"
    if (old.definition_sha, old.definition_path) != (new.definition_sha, new.definition_path):
        return f"{old.definition_path or new.definition_path} changed"
    if old.state_sha != new.state_sha:
        return f"the applied state of '{old.name}' changed"
    if (old.catalog, old.drift, old.stream_changes) != (new.catalog, new.drift, new.stream_changes):
        return f"the live schema of '{old.name}' changed (or the plan file was edited)"
    return f"the plan for '{old.name}' differs from today's (the plan file was edited, or its inputs changed)"


def merge_plans(paths: Sequence[Path]) -> Plan:
    """Shares of one plan (`plan --shard K/N --out ...`) as one plan: each source once, in name order."""
    from .model import Plan

    sources: dict[str, SourcePlan] = {}
    for path in paths:
        for source in read_plan_file(path).sources:
            if source.name in sources:
                raise PlanFileError(
                    f"{path}: source '{source.name}' is in more than one plan share",
                    "merge the shares of one `plan --shard K/N` run, each once",
                )
            sources[source.name] = source
    return Plan(sources=tuple(sources[name] for name in sorted(sources)))


# ── apply ─────────────────────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class ApplyRun:
    """What happened: the plan that was (or would have been) applied, and the report when it was."""

    plan: PlanResult
    report: ApplyReport | None = None  # None: nothing to apply, or the user said no


def apply(
    ctx: Context,
    options: ApplyOptions,
    *,
    plan_file: Path | None = None,
    confirm: Callable[[PlanResult], bool] = lambda _: True,
    on_plan_progress: Callable[[str], None] = lambda _: None,
    on_applied: Callable[[SourceResult], None] = lambda _: None,
) -> ApplyRun:
    """Lock first, then plan (or read and re-check the saved plan), confirm, apply: each stage once."""
    from .applier import apply_plan
    from .planner import PlanOptions, PlanResult, make_plan
    from .state import apply_lock

    with apply_lock(ctx.project.root / ".bmad-gitops"):
        inputs = load_inputs(ctx)
        if plan_file is not None:
            saved = read_plan_file(plan_file)
            check_fresh(ctx, inputs, saved)
            result = PlanResult(saved, ())
        else:
            result = make_plan(ctx.project, inputs, PlanOptions(parallelism=options.parallelism), on_plan_progress)
            if not result.plan.has_changes or not confirm(result):
                return ApplyRun(result)
        report = apply_plan(ctx.project, inputs, result.plan, options, on_applied)
        return ApplyRun(result, report)


# ── one source: check, discover ───────────────────────────────────────────────────────────────────────────────


def resolve_source(ctx: Context, name: str) -> ResolvedSource:
    """The resolved definition of `name`, or a ConfigError naming what is wrong with it.

    Validate checks the files of that name only, plus the rules across files (a name used twice): one source's
    discover or check does not parse every other definition in the project.
    """
    from .checks.names import source_name
    from .definitions import load_definitions
    from .resolve import resolve

    project = ctx.project
    every = project.definition_files()
    named = [path for path in every if source_name(path) == name]
    if not named:
        known = ", ".join(sorted({source_name(path) for path in every})) or "none"
        raise ConfigError(f"no source named '{name}' in {project.display(project.sources_dir)}/", f"known: {known}")
    definitions, diagnostics = load_definitions(project, named)
    found = next((d for d in definitions if d.name == name), None)
    if found is None:
        first = next(d for d in diagnostics if d.severity == "error")
        raise ConfigError(f"{first.path}:{first.line}:{first.col}: {first.message}", "run `bmad-gitops validate`")
    return resolve(found, ctx.env)


def check(ctx: Context, name: str) -> None:
    from .connectors.registry import backend_for
    from .discovery import connector_config
    from .resolve import secrets_hidden

    resolved = resolve_source(ctx, name)
    with secrets_hidden(resolved.config):
        backend_for(resolved.connector).check(connector_config(resolved, ctx.project.root))


@dataclass(frozen=True)
class Discovery:
    source: str
    connector: str
    version: str
    catalog: Catalog
    statistics: dict[str, TableStatistics] = field(default_factory=dict)
    samples: dict[str, list[dict[str, object]]] = field(default_factory=dict)  # masked
    objects: tuple[dict[str, object], ...] = ()  # what a bucket holds: key, size, last_modified, streams
    more_objects: int = 0  # objects past the ones listed


def discover(ctx: Context, name: str, *, statistics: bool = True, sample: int = 0) -> Discovery:
    from .connectors.registry import entry
    from .discovery import connector_config, discover_source
    from .resolve import secrets_hidden

    resolved = resolve_source(ctx, name)
    known = entry(resolved.connector)
    stats: dict[str, TableStatistics] = {}
    wanted = statistics and known.family == "database"  # other families: no backend is built for a cached catalog
    measured = getattr(known.backend(), "discover_with_statistics", None) if wanted else None
    if measured is not None:  # a database: its catalog is never cached, and sizes come on the same connection
        with secrets_hidden(resolved.config):
            catalog, found = measured(connector_config(resolved, ctx.project.root))
        stats = dict(found)
    else:
        catalog = discover_source(resolved, ctx.project.root)
    samples: dict[str, list[dict[str, object]]] = {}
    if sample > 0:
        from .extraction import mask_record, sensitive_columns

        declared = {
            str(s["name"]): tuple(s.get("sensitive") or ()) for s in resolved.definition.data.get("streams") or []
        }
        backend = known.backend()
        config = connector_config(resolved, ctx.project.root)
        for stream in catalog.streams:
            with secrets_hidden(resolved.config):
                records = backend.read(config, stream.name, sample)
            hidden = sensitive_columns(stream, declared.get(stream.name, ()))
            samples[stream.name] = [mask_record(r, hidden) for r in records]
    objects: list[dict[str, object]] = []
    more = 0
    lister = getattr(known.backend(), "objects", None) if known.family == "s3" else None
    if lister is not None:
        with secrets_hidden(resolved.config):
            found = lister(connector_config(resolved, ctx.project.root), None, _LISTED_AT_MOST)
        more = max(0, len(found) - _OBJECTS_SHOWN)  # the first 1,000 in detail, a count of the rest
        objects = [
            {"key": o.key, "size": o.size, "last_modified": o.last_modified.isoformat(), "streams": list(o.streams)}
            for o in found[:_OBJECTS_SHOWN]
        ]
    return Discovery(name, resolved.connector, known.version(), catalog, stats, samples, tuple(objects), more)


_OBJECTS_SHOWN = 1000
_LISTED_AT_MOST = 100_000


def openapi_endpoints(url: str) -> tuple[str | None, list[OpenApiEndpoint]]:
    """The GET endpoints of an OpenAPI 3 document that return lists of objects, and its base URL."""
    from .connectors.declarative.openapi import base_url, fetch_openapi, list_endpoints

    document = fetch_openapi(url)
    return base_url(document), list_endpoints(document)


def import_api(
    ctx: Context, name: str, openapi_url: str, *, endpoints: Sequence[str] = (), force: bool = False
) -> Imported:
    """A `type: api` definition for the chosen endpoints of an API's OpenAPI document (fnmatch patterns)."""
    from fnmatch import fnmatchcase

    from .connectors.declarative.openapi import endpoints_config

    _import_target(ctx, name, force=force)
    base, found = openapi_endpoints(openapi_url)
    chosen = [e for e in found if not endpoints or any(fnmatchcase(e.name, p) for p in endpoints)]
    if not chosen:
        raise ConfigError(
            f"no GET endpoint returning a list of objects matches {', '.join(endpoints) or 'anything'}",
            "run `bmad-gitops discover --openapi URL` to see the endpoints",
        )
    if base is None:
        raise ConfigError(
            "the OpenAPI document names no absolute server URL", "add `servers:` or write base_url by hand"
        )
    data: dict[str, object] = {
        "type": "api",
        "connector": "source-declarative-manifest",
        "config": {"base_url": base, "openapi_url": openapi_url, "endpoints": endpoints_config(chosen)},
    }
    return _write_import(ctx, name, data, force=force)


# ── lineage, connectors ───────────────────────────────────────────────────────────────────────────────────────


def lineage(ctx: Context, *, update_stories: bool = False) -> LineageResult:
    from .lineage.refresh import refresh_lineage
    from .state import apply_lock

    with apply_lock(ctx.project.root / ".bmad-gitops"):  # one writer of docs and stories at a time
        inputs = load_inputs(ctx)
        return refresh_lineage(ctx.project, list(inputs.definitions), inputs.stories, update_stories=update_stories)


@dataclass(frozen=True)
class ConnectorInfo:
    connector: str
    family: str
    pinned: str
    installed: str | None
    unavailable: str | None


def connectors() -> list[ConnectorInfo]:
    from .connectors.registry import entries

    return [ConnectorInfo(e.connector, e.family, e.pinned, e.installed_version(e), e.unavailable) for e in entries()]


# ── import: a new definition from a live source ───────────────────────────────────────────────────────────────

_FILE_FORMATS = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".xlsx": "excel"}


@dataclass(frozen=True)
class Imported:
    path: Path
    streams: int
    diagnostics: tuple[Diagnostic, ...]  # what validate says of the written file (should be none)


def import_database(
    ctx: Context,
    kind: str,
    name: str,
    connection: Mapping[str, object],
    *,
    password_env: str | None,
    tables: Sequence[str] = (),
    force: bool = False,
) -> Imported:
    """Discover a live database and write `sources/NAME.yaml` selecting its tables; the password stays a
    `${VAR}` reference (its value comes from the environment, only to connect)."""
    from .connectors.registry import entry
    from .importer import CONNECTOR_BY_KIND, definition_from_catalog
    from .resolve import Secret

    connector = CONNECTOR_BY_KIND.get(kind.lower())
    if connector is None:
        raise ConfigError(f"cannot import a database of kind '{kind}'", "use postgres or mysql")
    _import_target(ctx, name, force=force)  # before any connection: a refusal costs nothing
    live: dict[str, object] = dict(connection)
    if password_env is not None:
        if password_env not in ctx.env:
            raise ConfigError(f"environment variable {password_env} is not set", f"export {password_env}=...")
        live["password"] = Secret(ctx.env[password_env], password_env)
    known = entry(connector)
    from .resolve import reveal, secrets_hidden

    config = reveal(known.map_config(live))
    with secrets_hidden(live):
        catalog = known.backend().discover(config)
    data = definition_from_catalog(kind, connection, catalog, tables=tables, password_env=password_env)
    return _write_import(ctx, name, data, force=force)


def import_file(ctx: Context, path: str, *, name: str | None = None, force: bool = False) -> Imported:
    """Discover a local data file and write a definition for it (`data/x.csv` -> `sources/x.yaml`)."""
    from .checks.sheets import sheet_stream_name
    from .importer import definition_from_file_catalog
    from .localpaths import local_file_path

    project = ctx.project
    target = local_file_path(path, project.root)
    if target is None:
        raise ConfigError(f"'{path}' is outside the project root", "put the file under the project, e.g. data/")
    if not target.is_file():
        raise ConfigError(f"'{path}' does not exist", "give a path relative to the project root")
    fmt = _FILE_FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise ConfigError(f"cannot tell the format of '{path}'", f"use one of {', '.join(sorted(_FILE_FORMATS))}")
    relative = target.relative_to(project.root).as_posix() if target.is_relative_to(project.root) else path
    source_name = name or sheet_stream_name(target.stem)
    _import_target(ctx, source_name, force=force)
    catalog = _discover_file(target, fmt, source_name)
    data = definition_from_file_catalog(relative, fmt, catalog, dataset_name=source_name)
    return _write_import(ctx, source_name, data, force=force)


def _discover_file(target: Path, fmt: str, dataset: str) -> Catalog:
    from .connectors.registry import entry

    known = entry("source-file")
    shaped = known.map_config(
        {"dataset_name": dataset, "format": fmt, "url": str(target), "provider": {"storage": "local"}}
    )
    return known.backend().discover(shaped)


def _import_target(ctx: Context, name: str, *, force: bool) -> Path:
    from .checks.names import NAME
    from .errors import UsageError

    project = ctx.project
    if not NAME.match(name):
        raise UsageError(f"'{name}' is not a valid source name", "use lower snake_case, such as orders_db")
    path = project.sources_dir / f"{name}.yaml"
    if path.exists() and not force:
        raise UsageError(f"{project.display(path)} already exists", "pass --force to overwrite it")
    return path


def _write_import(ctx: Context, name: str, data: dict[str, object], *, force: bool) -> Imported:
    from .validate import validate_files
    from .writer import write_definition_yaml

    project = ctx.project
    path = _import_target(ctx, name, force=force)
    from .scaffold import schema_reference

    ref = schema_reference(project)
    written = write_definition_yaml(
        project.root, path, data, header_comment=f"yaml-language-server: $schema={ref}", force=force
    )
    config = data.get("config")
    streams = data.get("streams") or (config.get("endpoints") if isinstance(config, dict) else None)
    return Imported(
        written, len(streams) if isinstance(streams, list) else 0, tuple(validate_files(project, [written]))
    )
