"""The connector work behind each endpoint, as plain functions of plain values so they can run in a worker
process: discover, read a sample, test a database, suggest a definition for an uploaded file.

Each returns JSON-ready values. `cache_only=True` answers from the discovery and sample caches without starting
a connector (None on a miss), which the service does in a thread before it asks a worker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..checks.names import NAME
from ..errors import BmadGitopsError, ConfigError
from ..project import Project
from ..resolve import ResolvedSource


class StreamNotFound(ConfigError):
    pass


def _project(root: str) -> Project:
    from ..engine import open_project

    return open_project(Path(root))


def resolve_request(project: Project, env: Mapping[str, str], request: Mapping[str, Any]) -> ResolvedSource:
    """A saved source by name (the server's environment fills its `${VAR}`s), or an ad-hoc config."""
    from ..engine import Context, resolve_source
    from ..resolve import load_env
    from .adhoc import resolve_adhoc

    if request.get("source"):
        name = str(request["source"])
        path = project.sources_dir / f"{name}.yaml"
        if NAME.match(name) and path.is_file():
            key = _inputs_stamp(project, path, env)
            known = _RESOLVED.get((name, key))
            if known is None:
                known = _resolve_one(project, load_env(project.root, env), name, path)
                _RESOLVED[(name, key)] = known
            return known
        return resolve_source(Context(project, load_env(project.root, env)), name)  # its error names what is wrong
    return resolve_adhoc(project, str(request.get("connector_type") or ""), request.get("config") or {})


# Resolved saved sources by what their validity and values depend on (see _inputs_stamp): a repeated read of an
# unchanged source skips validate's walk of every definition. Per process; bounded by sources x edits.
_RESOLVED: dict[tuple[str, tuple[object, ...]], ResolvedSource] = {}


def _inputs_stamp(project: Project, path: Path, env: Mapping[str, str]) -> tuple[object, ...]:
    """Changes whenever the file, the set of definitions (a folder's mtime moves on add, remove, rename), .env,
    the stories folder or the environment changes."""

    def stamp(target: Path | None) -> tuple[int, int, int] | None:
        try:
            info = target.stat() if target is not None else None
        except OSError:
            return None
        return (info.st_ino, info.st_size, info.st_mtime_ns) if info is not None else None

    import os

    folders = sorted(folder for folder, _dirs, _files in os.walk(project.sources_dir))
    return (
        stamp(path),
        tuple(stamp(Path(f)) for f in folders),
        stamp(project.root / ".env"),
        stamp(project.stories_dir),
        hash(frozenset(env.items())),
    )


def _resolve_one(project: Project, env: Mapping[str, str], name: str, path: Path) -> ResolvedSource:
    """engine.resolve_source for one file: validate checks that file (and the names across files), not all 50
    definitions, so a cached read costs a few milliseconds. The lead may fold this into engine.resolve_source."""
    from ..definitions import load_definitions
    from ..resolve import resolve

    definitions, diagnostics = load_definitions(project, [path])
    found = next((d for d in definitions if d.name == name), None)
    if found is None:
        first = next(d for d in diagnostics if d.severity == "error")
        raise ConfigError(f"{first.path}:{first.line}:{first.col}: {first.message}", "run `bmad-gitops validate`")
    return resolve(found, env)


def _catalog(resolved: ResolvedSource, root: Path, cache_only: bool) -> Any:
    from ..catalog import Catalog
    from ..connectors.registry import entry
    from ..discovery import cache_dir, cache_key, discover_source

    if cache_only:
        known = entry(resolved.connector)
        if known.remote:
            return None
        path = cache_dir(root) / f"{cache_key(resolved, known.version(), root)}.json"
        try:
            return Catalog.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
    return discover_source(resolved, root)


def discover_request(root: str, env: Mapping[str, str], request: Mapping[str, Any], cache_only: bool = False) -> dict[str, Any] | None:
    from ..connectors.registry import entry

    project = _project(root)
    resolved = resolve_request(project, env, request)
    catalog = _catalog(resolved, project.root, cache_only)
    if catalog is None:
        return None
    return {
        "source": request.get("source"),
        "connector": resolved.connector,
        "version": entry(resolved.connector).version(),
        "streams": [s.model_dump(mode="json") for s in catalog.streams],
    }


def read_request(
    root: str, env: Mapping[str, str], request: Mapping[str, Any], stream: str, limit: int, cache_only: bool = False
) -> dict[str, Any] | None:
    """Up to `limit` records of `stream`, unmasked, with the columns that must be masked for most callers."""
    from ..connectors.registry import entry
    from ..discovery import connector_config
    from ..extraction import sensitive_columns
    from ..resolve import secrets_hidden
    from .samples import cached_sample, sample_path, store_sample

    project = _project(root)
    resolved = resolve_request(project, env, request)
    catalog = _catalog(resolved, project.root, cache_only)
    if catalog is None:
        return None
    found = next((s for s in catalog.streams if s.name == stream), None)
    if found is None:
        known = ", ".join(s.name for s in catalog.streams) or "none"
        raise StreamNotFound(f"no stream '{stream}'", f"streams: {known}")
    declared = {str(s.get("name")): tuple(s.get("sensitive") or ()) for s in resolved.definition.data.get("streams") or []}
    path = sample_path(resolved, project.root, stream, limit)
    records = cached_sample(path)
    cached = records is not None
    if records is None:
        if cache_only:
            return None
        with secrets_hidden(resolved.config):
            records = entry(resolved.connector).backend().read(connector_config(resolved, project.root), stream, limit)
        store_sample(path, records, project.root)
    return {
        "source": request.get("source"),
        "stream": stream,
        "records": records[:limit],
        "sensitive": sorted(sensitive_columns(found, declared.get(stream, ()))),
        "cached": cached,
    }


def database_request(root: str, database_type: str, connection: Mapping[str, Any]) -> dict[str, Any]:
    """Test a database connection and list its tables; the password is used for this call only."""
    from ..connectors.registry import entry
    from ..discovery import connector_config
    from ..resolve import secrets_hidden
    from .adhoc import adhoc_definition, resolve_adhoc

    if adhoc_definition(database_type, {})[0]["type"] != "database":
        raise ConfigError(f"'{database_type}' is not a database type", "use postgres or mysql")
    project = _project(root)
    resolved = resolve_adhoc(project, database_type, connection)
    backend = entry(resolved.connector).backend()
    config = connector_config(resolved, project.root)
    with secrets_hidden(resolved.config):
        backend.check(config)
        catalog = backend.discover(config)
    return {
        "connector": resolved.connector,
        "connected": True,
        "tables": [
            {"name": s.name, "namespace": s.namespace, "columns": [{"name": c.name, "type": c.type} for c in s.columns], "primary_key": list(s.primary_key)}
            for s in catalog.streams
        ],
    }


def suggest_request(root: str, relative: str, fmt: str, dataset: str) -> dict[str, Any]:
    """A definition for an uploaded file (discovered, nothing written), in the shape `bmad-gitops import` writes."""
    from ..importer import definition_from_file_catalog
    from .adhoc import resolve_adhoc

    project = _project(root)
    config = {"dataset_name": dataset, "format": fmt, "url": relative, "provider": {"storage": "local"}}
    catalog = _catalog(resolve_adhoc(project, "file", config), project.root, cache_only=False)
    return definition_from_file_catalog(relative, fmt, catalog, dataset_name=dataset)


def plan_request(root: str, env: Mapping[str, str], refresh: bool) -> dict[str, Any]:
    """engine.plan as the JSON view (`plan --format json`), plus validate's diagnostics."""
    import json

    from ..engine import Context, plan
    from ..planner import PlanOptions
    from ..render.plan_json import render_plan_json
    from ..resolve import load_env
    from .adhoc import diagnostic_json

    project = _project(root)
    result = plan(Context(project, load_env(project.root, env)), PlanOptions(refresh=refresh))
    payload: dict[str, Any] = json.loads(render_plan_json(result.plan))
    payload["diagnostics"] = [diagnostic_json(d) for d in result.diagnostics]
    return payload


def guarded(fn: Callable[..., Any], *args: Any) -> dict[str, Any]:
    """Run `fn` and return {"result": ...} or {"error": ...}: exceptions do not cross the process boundary
    (BmadGitopsError's hint would not survive pickling, and an unknown exception's text may hold a secret)."""
    from .adhoc import DefinitionInvalid, diagnostic_json

    try:
        return {"result": fn(*args)}
    except BmadGitopsError as exc:
        diagnostics = [diagnostic_json(d) for d in exc.diagnostics] if isinstance(exc, DefinitionInvalid) else None
        return {"error": {"type": type(exc).__name__, "message": exc.message, "hint": exc.hint, "diagnostics": diagnostics}}
    except Exception as exc:
        import logging
        import traceback

        # Where it broke, not what it said: an unknown exception's text may hold a secret.
        where = "".join(traceback.format_tb(exc.__traceback__))
        logging.getLogger("bmad_gitops.service").error("internal error %s in %s\n%s", type(exc).__name__, fn.__name__, where)
        return {"error": {"type": "internal", "message": f"internal error ({type(exc).__name__})", "hint": "see the server log"}}
