"""`plan`: gather definitions, applied state and live catalogs, then let the pure diff decide.

Sources are independent: one that fails (missing variable, crashing connector) becomes an error entry and
the rest go on. Discovery runs in a thread pool, since each connector is its own process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .catalog import Catalog
from .checks.names import source_name
from .checks.secrets import spec_secret_names
from .definitions import Definition, load_definitions
from .diagnostics import Diagnostic
from .diff import Desired, Expectation, failed_source, plan_source
from .errors import ConnectorError
from .lineage.stories import story_sort_key
from .model import AppliedState, Location, Message, Plan, SourcePlan
from .project import Project
from .resolve import ResolvedSource, ResolveError, load_env, resolve
from .state import file_sha, read_all_states, state_path


@dataclass(frozen=True)
class PlanOptions:
    targets: tuple[str, ...] = ()
    paths: tuple[Path, ...] = ()
    changed: frozenset[str] | None = None  # source names from --changed-since; None: no filter
    parallelism: int = 4
    refresh: bool = True


class UnknownTargetError(Exception):
    """--target named a source that has neither a definition nor a state."""


@dataclass(frozen=True)
class PlanResult:
    plan: Plan
    diagnostics: tuple[Diagnostic, ...]  # definitions that failed validate: the plan cannot include them


def cache_dir(project: Project) -> Path:
    return project.root / ".bmad-gitops" / "cache" / "discovery"


def make_plan(project: Project, options: PlanOptions = PlanOptions()) -> PlanResult:
    definitions, diagnostics = load_definitions(project, options.paths)
    states = read_all_states(project.state_dir)
    wanted = _wanted(options, definitions, states, diagnostics) | _wanted_broken(options, diagnostics)
    by_name = {d.name: d for d in definitions if d.name in wanted}
    env = load_env(project.root)
    cited = _citing_stories(project)
    # An invalid definition is still there: it must never read as "deleted", so it becomes an error entry.
    broken: dict[str, Diagnostic] = {}
    for d in diagnostics:
        if d.path.endswith((".yaml", ".yml")):
            broken.setdefault(source_name(Path(d.path)), d)
    names = sorted(set(by_name) | {n for n in states if n in wanted and not options.paths} | (set(broken) & wanted))

    def one(name: str) -> SourcePlan:
        if name in broken:
            return _invalid(name, broken[name], states.get(name))
        return _plan_one(project, name, by_name.get(name), states.get(name), env, options.refresh, cited.get(name, ()))

    with ThreadPoolExecutor(max_workers=max(1, options.parallelism)) as pool:
        plans = list(pool.map(one, names))
    return PlanResult(Plan(sources=tuple(plans)), tuple(diagnostics))


def _invalid(name: str, first: Diagnostic, state: AppliedState | None) -> SourcePlan:
    where = Location(path=first.path, line=first.line, col=first.col)
    message = Message(
        level="error", text=f"definition is invalid: {first.message} (run `bmad-gitops validate`)", where=where
    )
    return failed_source(
        name, None, message, type_=state.type if state else "", connector=state.connector if state else ""
    )


def _wanted_broken(options: PlanOptions, diagnostics: Sequence[Diagnostic]) -> set[str]:
    names = {source_name(Path(d.path)) for d in diagnostics if d.path.endswith((".yaml", ".yml"))}
    if options.targets:
        names &= set(options.targets)
    if options.changed is not None:
        names &= options.changed
    return names


def _wanted(
    options: PlanOptions,
    definitions: Sequence[Definition],
    states: Mapping[str, AppliedState],
    diagnostics: Sequence[Diagnostic],
) -> set[str]:
    everything = {d.name for d in definitions} | set(states)
    invalid = {source_name(Path(d.path)) for d in diagnostics if d.path.endswith((".yaml", ".yml"))}
    unknown = sorted(set(options.targets) - everything - invalid)
    if unknown:
        known = ", ".join(sorted(everything)) or "none"
        raise UnknownTargetError(f"unknown target '{unknown[0]}' (known sources: {known})")
    wanted = set(options.targets) & everything if options.targets else everything
    if options.changed is not None:
        wanted &= options.changed
    return wanted


def _citing_stories(project: Project) -> dict[str, tuple[str, ...]]:
    """Story ids that cite each source, so plan can say which stories a breaking change hits."""
    from .lineage.stories import find_stories

    index = find_stories(project.root, project.stories_dir)
    return {
        source: tuple(sorted({c.story_id for c in citations})) for source, citations in index.cited_sources().items()
    }


def _plan_one(
    project: Project,
    name: str,
    definition: Definition | None,
    state: AppliedState | None,
    env: Mapping[str, str],
    refresh: bool,
    cited: tuple[str, ...] = (),
) -> SourcePlan:
    from .connectors.registry import is_supported, known_version, unsupported_reason

    state_sha = file_sha(state_path(project.state_dir, name)) if state else None
    if definition is None:
        return plan_source(name, None, state, None, state_sha=state_sha)
    connector = str(definition.data["connector"])
    where = Location(path=definition.display, line=1, col=1)
    if not is_supported(connector):
        message = Message(level="warning", text=f"skipped: {unsupported_reason(connector)}", where=where)
        return failed_source(name, None, message, type_=str(definition.data["type"]), connector=connector).model_copy(
            update={"action": "skip", "definition_path": definition.display, "definition_sha": definition.sha}
        )
    try:
        resolved = resolve(definition, env)
    except ResolveError as exc:
        return failed_source(
            name, None, Message(level="error", text=str(exc)), type_=str(definition.data["type"]), connector=connector
        )
    desired = desired_from(definition, resolved, cited)
    version = known_version(connector)
    live: Catalog | None = None
    if refresh or state is None:
        from .discovery import discover_cached

        try:
            live = discover_cached(resolved, project.root, cache_dir(project), version or "unknown")
        except ConnectorError as exc:
            return failed_source(name, desired, Message(level="error", text=f"discovery failed: {exc}", where=where))
    return plan_source(
        name,
        desired,
        state,
        live,
        state_sha=state_sha,
        connector_version=version,
        secret_keys=spec_secret_names() | _secret_keys(resolved),
    )


def _secret_keys(resolved: ResolvedSource) -> frozenset[str]:
    from .checks.secrets import is_secret_key

    return frozenset(k for k in _keys(resolved.public_config) if is_secret_key(k))


def _keys(value: object) -> set[str]:
    if isinstance(value, dict):
        return {str(k) for k in value} | {k for v in value.values() for k in _keys(v)}
    return set()


def desired_from(definition: Definition, resolved: ResolvedSource, cited: tuple[str, ...] = ()) -> Desired:
    return Desired(
        name=definition.name,
        type=str(definition.data["type"]),
        connector=str(definition.data["connector"]),
        path=definition.display,
        sha=definition.sha,
        fingerprint=resolved.fingerprint,
        public_config=resolved.public_config,
        secret_refs=resolved.secret_refs,
        on_drift=definition.on_drift,
        stories=tuple(sorted(set(definition.stories) | set(cited), key=story_sort_key)),
        expectations=_expectations(definition),
    )


def _expectations(definition: Definition) -> tuple[Expectation, ...] | None:
    streams = definition.data.get("streams")
    if streams is None:
        return None

    def loc(where: tuple[str | int, ...], at: str = "value") -> Location:
        line, col = definition.position(where, at)
        return Location(path=definition.display, line=line, col=col)

    built = []
    for index, stream in enumerate(streams):
        columns = {
            str(col): (str(kind), loc(("streams", index, "columns", col), "key"))
            for col, kind in (stream.get("columns") or {}).items()
        }
        built.append(
            Expectation(
                name=str(stream["name"]),
                where=loc(("streams", index, "name")),
                primary_key=tuple(stream.get("primary_key") or ()),
                cursor=stream.get("cursor"),
                columns=columns,
            )
        )
    return tuple(built)
