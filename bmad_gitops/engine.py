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
    from .validate import validate_files

    files = expand_paths(paths)
    diagnostics = validate_files(project, files)
    checked = len(set(files)) if paths else len(project.definition_files())
    return ValidateResult(tuple(diagnostics), checked)


# ── inputs, plan ──────────────────────────────────────────────────────────────────────────────────────────────


def load_inputs(ctx: Context, paths: Sequence[Path] = ()) -> Inputs:
    """Definitions (validated), states and the story index, read once for the whole command."""
    from .definitions import load_definitions
    from .lineage.stories import find_stories
    from .planner import Inputs
    from .state import read_all_states

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
    """The resolved definition of `name`, or a ConfigError naming what is wrong with it."""
    from .definitions import load_definitions
    from .resolve import resolve

    project = ctx.project
    definitions, diagnostics = load_definitions(project)
    found = next((d for d in definitions if d.name == name), None)
    if found is None:
        broken = [d for d in diagnostics if Path(d.path).stem == name and d.severity == "error"]
        if broken:
            first = broken[0]
            raise ConfigError(f"{first.path}:{first.line}:{first.col}: {first.message}", "run `bmad-gitops validate`")
        known = ", ".join(d.name for d in definitions) or "none"
        raise ConfigError(f"no source named '{name}' in {project.display(project.sources_dir)}/", f"known: {known}")
    return resolve(found, ctx.env)


def check(ctx: Context, name: str) -> None:
    from .connectors.registry import backend_for
    from .discovery import connector_config
    from .resolve import secrets_hidden

    resolved = resolve_source(ctx, name)
    with secrets_hidden(resolved):
        backend_for(resolved.connector).check(connector_config(resolved, ctx.project.root))


@dataclass(frozen=True)
class Discovery:
    source: str
    connector: str
    version: str
    catalog: Catalog
    statistics: dict[str, TableStatistics] = field(default_factory=dict)


def discover(ctx: Context, name: str, *, statistics: bool = True) -> Discovery:
    from .connectors.registry import entry
    from .discovery import connector_config, discover_source
    from .resolve import secrets_hidden

    resolved = resolve_source(ctx, name)
    known = entry(resolved.connector)
    catalog = discover_source(resolved, ctx.project.root)
    stats: dict[str, TableStatistics] = {}
    if statistics and known.family == "database":
        backend = known.backend()
        counter = getattr(backend, "statistics", None)
        if counter is not None:
            with secrets_hidden(resolved):
                stats = dict(counter(connector_config(resolved, ctx.project.root)))
    return Discovery(name, resolved.connector, known.version(), catalog, stats)


# ── lineage, connectors ───────────────────────────────────────────────────────────────────────────────────────


def lineage(ctx: Context, *, update_stories: bool = False) -> LineageResult:
    from .lineage.refresh import refresh_lineage

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
