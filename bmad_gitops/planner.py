"""`plan`: definitions × applied state × live catalogs, per source, with the pure diff deciding.

Sources are independent: one that fails (missing variable, unreadable state, crashing connector) becomes an
error entry and the rest go on. Discovery runs in a thread pool, since each connector is its own process or
connection. Every input arrives already loaded (`Inputs`), so a stage never runs twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .catalog import Catalog
from .checks.names import source_name
from .checks.secrets import is_secret_key, spec_secret_names
from .connectors.registry import ConnectorEntry, find_entry
from .definitions import Definition
from .diagnostics import Diagnostic
from .diff import Desired, Expectation, failed_source, plan_source
from .errors import BmadGitopsError, ConfigError
from .lineage.stories import StoryIndex, story_sort_key
from .model import AppliedState, Location, Message, Plan, SourcePlan
from .project import Project
from .resolve import ResolvedSource, resolve
from .state import States, file_sha, state_path

# Definition keys kept apart from `declared`: they have fields of their own in state and plan.
_OWN_FIELDS = frozenset({"type", "connector", "config", "name", "stories"})


@dataclass(frozen=True)
class Inputs:
    """Everything plan and apply read from the project, loaded once per command."""

    definitions: tuple[Definition, ...]
    diagnostics: tuple[Diagnostic, ...]  # definitions that failed validate: the plan cannot include them
    states: States
    stories: StoryIndex
    env: Mapping[str, str]


@dataclass(frozen=True)
class PlanOptions:
    targets: tuple[str, ...] = ()
    paths_given: bool = False  # definitions were chosen by path: states without one are not destroys
    changed: frozenset[str] | None = None  # source names from --changed-since; None: no filter
    parallelism: int = 4
    refresh: bool = True
    shard: tuple[int, int] | None = None  # (K, N): plan only share K of N (1-based), for a CI matrix
    remote_cache_ttl: float | None = None  # seconds a remote source's catalog may be reused; None: always ask


@dataclass(frozen=True)
class PlanResult:
    plan: Plan
    diagnostics: tuple[Diagnostic, ...]


Progress = Callable[[str], None]


def make_plan(
    project: Project, inputs: Inputs, options: PlanOptions = PlanOptions(), progress: Progress = lambda _: None
) -> PlanResult:
    broken: dict[str, Diagnostic] = {}
    for d in inputs.diagnostics:
        if d.path.endswith((".yaml", ".yml")) and d.severity == "error":
            broken.setdefault(source_name(Path(d.path)), d)
    by_name = {d.name: d for d in inputs.definitions}
    states = inputs.states
    everything = set(by_name) | states.names() | set(broken)
    unknown = sorted(set(options.targets) - everything)
    if unknown:
        known = ", ".join(sorted(everything)) or "none"
        raise ConfigError(f"unknown target '{unknown[0]}'", f"known sources: {known}")
    wanted = set(options.targets) if options.targets else everything
    if options.changed is not None:
        wanted &= options.changed
    if options.paths_given:
        wanted &= set(by_name) | set(broken)
    if options.shard is not None:
        wanted &= shard_of(everything, *options.shard)
    cited = _citing_stories(inputs.stories)
    # A folder of definitions that could not be read hides what is in it: a state without a definition may be a
    # definition we could not see, so it is an error, never a destroy (validate fails closed, so does plan).
    unreadable = [d for d in inputs.diagnostics if d.code == "BG011" and not d.path.endswith((".yaml", ".yml"))]

    def one(name: str) -> SourcePlan:
        if name in broken:
            return _invalid(name, broken[name], states.good.get(name))
        if unreadable and name not in by_name and name in states.names():
            first = unreadable[0]
            state = states.good.get(name)
            return failed_source(
                name,
                None,
                Message(
                    level="error",
                    text=f"not destroyed: {first.path} cannot be read, so its definition may still be there",
                    where=Location(path=first.path, line=first.line, col=first.col),
                ),
                type_=state.type if state else "",
                connector=state.connector if state else "",
            )
        if name in states.broken:
            error = states.broken[name]
            definition = by_name.get(name)
            return failed_source(
                name,
                None,
                Message(
                    level="error",
                    text=str(error),
                    where=Location(path=project.display(state_path(project.state_dir, name))),
                ),
                type_=str(definition.data["type"]) if definition else "",
                connector=str(definition.data["connector"]) if definition else "",
            )
        return _plan_one(
            project, name, by_name.get(name), states.good.get(name), inputs.env, options, cited.get(name, ()), progress
        )

    with ThreadPoolExecutor(max_workers=max(1, options.parallelism)) as pool:
        plans = list(pool.map(one, sorted(wanted)))
    return PlanResult(Plan(sources=tuple(plans)), tuple(d for d in inputs.diagnostics if d.severity == "error"))


def shard_of(names: set[str], k: int, n: int) -> set[str]:
    """Share `k` of `n` (1-based): every n-th name in sorted order, so N shares cover each source exactly once,
    differ in size by one at most, and depend on the names alone."""
    return {name for index, name in enumerate(sorted(names)) if index % n == k - 1}


def _invalid(name: str, first: Diagnostic, state: AppliedState | None) -> SourcePlan:
    """An invalid definition is still there: it must never read as "deleted", so it becomes an error entry."""
    where = Location(path=first.path, line=first.line, col=first.col)
    message = Message(
        level="error", text=f"definition is invalid: {first.message} (run `bmad-gitops validate`)", where=where
    )
    return failed_source(
        name, None, message, type_=state.type if state else "", connector=state.connector if state else ""
    )


def _citing_stories(index: StoryIndex) -> dict[str, tuple[str, ...]]:
    """Story ids that cite each source, so plan can say which stories a breaking change hits."""
    return {
        source: tuple(sorted({c.story_id for c in citations})) for source, citations in index.cited_sources().items()
    }


def _plan_one(
    project: Project,
    name: str,
    definition: Definition | None,
    state: AppliedState | None,
    env: Mapping[str, str],
    options: PlanOptions,
    cited: tuple[str, ...],
    progress: Progress,
) -> SourcePlan:
    from .discovery import discover_source

    state_sha = file_sha(state_path(project.state_dir, name)) if state else None
    if definition is None:
        return plan_source(name, None, state, None, state_sha=state_sha)
    connector = str(definition.data["connector"])
    kind = str(definition.data["type"])
    where = _anchor(definition)
    known = find_entry(connector)
    if known is None or known.unavailable is not None:
        reason = known.unavailable if known else f"no backend for connector '{connector}'"
        message = Message(level="warning", text=f"skipped: {reason}", where=where)
        return failed_source(name, None, message, type_=kind, connector=connector).model_copy(
            update={
                "action": "skip",
                "definition_path": definition.display,
                "definition_sha": definition.sha,
                "state_sha": state_sha,
            }
        )
    try:
        resolved = resolve(definition, env)
    except BmadGitopsError as exc:  # its message names the file:line:col itself
        return failed_source(name, None, Message(level="error", text=str(exc)), type_=kind, connector=connector)
    desired = desired_from(definition, resolved, cited)
    version = known.version()
    live: Catalog | None = None
    if options.refresh or state is None:
        progress(name)
        try:
            live = discover_source(resolved, project.root, remote_ttl=options.remote_cache_ttl)
        except BmadGitopsError as exc:
            return failed_source(name, desired, Message(level="error", text=f"discovery failed: {exc}", where=where))
    planned = plan_source(
        name,
        desired,
        state,
        live,
        state_sha=state_sha,
        connector_version=version,
        secret_keys=spec_secret_names() | _secret_keys(resolved),
    )
    findings = _live_findings(project, definition, resolved, known) if live is not None else []
    return planned.model_copy(update={"messages": (*planned.messages, *findings)}) if findings else planned


def _live_findings(
    project: Project, definition: Definition, resolved: ResolvedSource, known: ConnectorEntry
) -> list[Message]:
    """The registry entry's own checks of the live source, each an error at the definition line it is about."""
    if known.live_checks is None:
        return []
    from .discovery import connector_config
    from .resolve import secrets_hidden

    try:
        with secrets_hidden(resolved.config):
            found = known.live_checks(known.backend(), connector_config(resolved, project.root))
    except BmadGitopsError as exc:
        return [Message(level="error", text=f"live check failed: {exc}", where=_anchor(definition))]
    messages = []
    for where, text in found:
        line, col = definition.position(where)
        messages.append(Message(level="error", text=text, where=Location(path=definition.display, line=line, col=col)))
    return messages


def _anchor(definition: Definition) -> Location:
    key = "streams" if "streams" in definition.data else "type"
    line, col = definition.position((key,), "key")
    return Location(path=definition.display, line=line, col=col)


def _secret_keys(resolved: ResolvedSource) -> frozenset[str]:
    return frozenset(k for k in _keys(resolved.public_config) if is_secret_key(k))


def _keys(value: object) -> set[str]:
    if isinstance(value, dict):
        return {str(k) for k in value} | {k for v in value.values() for k in _keys(v)}
    return set()


def declared_settings(definition: Definition) -> dict[str, Any]:
    """The recorded definition keys besides config: streams keyed by name, so a plan names what changed."""
    declared = {k: v for k, v in definition.data.items() if k not in _OWN_FIELDS}
    if isinstance(declared.get("streams"), list):
        declared["streams"] = {
            str(s.get("name")): {k: v for k, v in s.items() if k != "name"}
            for s in declared["streams"]
            if isinstance(s, dict)
        }
    return declared


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
        declared=declared_settings(definition),
        anchor=_anchor(definition),
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
                columns_only=bool(stream.get("columns_only")),
            )
        )
    return tuple(built)
