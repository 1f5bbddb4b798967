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
from .memo import Inputs


class StreamNotFound(ConfigError):
    pass


def _project(root: str) -> Project:
    from ..engine import open_project

    return open_project(Path(root))


def request_inputs(project: Project, request: Mapping[str, Any]) -> Inputs:
    """The files a request's resolved source depends on, stamped now (before they are read): the saved
    definition wherever it lives (a `.yml`, a subfolder), the definitions folder and every folder in it (a
    folder's mtime moves on add, remove, rename), .env, and every story file and folder validate reads. A saved
    source that does not exist yet depends on its would-be path."""
    from ..lineage.stories import story_inputs
    from .configs import definition_folders

    folders = definition_folders(project)
    named = [str(_definition_file(project, str(request["source"])))] if request.get("source") else []
    stories = [str(p) for p in story_inputs(project.root, project.stories_dir)]
    return Inputs.of([*named, *folders, str(project.root / ".env"), *stories])


def _definition_file(project: Project, name: str) -> Path:
    direct = project.sources_dir / f"{name}.yaml"
    if direct.is_file():
        return direct
    from ..checks.names import source_name

    return next((p for p in project.definition_files() if source_name(p) == name), direct)


def resolve_request(
    project: Project, env: Mapping[str, str], request: Mapping[str, Any], inputs: Inputs | None = None
) -> ResolvedSource:
    """A saved source by name (the server's environment fills its `${VAR}`s), or an ad-hoc config."""
    from ..engine import Context, resolve_source
    from ..resolve import load_env
    from .adhoc import resolve_adhoc

    if request.get("source"):
        name = str(request["source"])
        if not (NAME.match(name) and (project.sources_dir / f"{name}.yaml").is_file()):
            return resolve_source(Context(project, load_env(project.root, env)), name)  # its error says what is wrong
        import time

        inputs = inputs or request_inputs(project, request)
        key = (inputs.stamps, hash(frozenset(env.items())))
        known = _RESOLVED.get((name, key))
        if known is None:
            known = resolve_source(Context(project, load_env(project.root, env)), name)
            if inputs.settled(time.time_ns()):  # a stamp from the last clock tick may not show the next write
                _RESOLVED[(name, key)] = known
        return known
    reach = None
    if request.get("reach") is not None:  # a key that may only read: known addresses and the allowed hosts only
        from .reach import Reach, saved_addresses

        reach = Reach(saved_addresses(project, env), tuple(request["reach"]))
    return resolve_adhoc(project, str(request.get("connector_type") or ""), request.get("config") or {}, reach)


# Resolved saved sources by what their validity and values depend on (see request_inputs): a repeated read of an
# unchanged source skips validate's walk of every definition. Per process; bounded by sources x edits.
_RESOLVED: dict[tuple[str, tuple[object, ...]], ResolvedSource] = {}


def _with_data_files(inputs: Inputs, resolved: ResolvedSource, root: Path) -> Inputs:
    """`inputs` plus the source's local data files, stamped before the cache keys hash their contents."""
    from ..discovery import local_files

    return inputs + Inputs.of(str(p) for p in local_files(resolved, root))


def _catalog(resolved: ResolvedSource, root: Path, cache_only: bool) -> Any:
    from ..catalog import catalog_from_json
    from ..connectors.registry import entry
    from ..discovery import cache_dir, cache_key, discover_source

    if cache_only:
        known = entry(resolved.connector)
        if known.remote:
            return None
        path = cache_dir(root) / f"{cache_key(resolved, known.version(), root)}.json"
        try:
            return catalog_from_json(path.read_bytes())
        except (OSError, ValueError):
            return None
    return discover_source(resolved, root)


def discover_request(root: str, env: Mapping[str, str], request: Mapping[str, Any], cache_only: bool = False) -> dict[str, Any] | None:
    from ..catalog import as_json_data
    from ..connectors.registry import entry

    project = _project(root)
    inputs = request_inputs(project, request)
    resolved = resolve_request(project, env, request, inputs)
    inputs = _with_data_files(inputs, resolved, project.root)
    catalog = _catalog(resolved, project.root, cache_only)
    if catalog is None:
        return None
    return {
        "inputs": inputs,
        "source": request.get("source"),
        "connector": resolved.connector,
        "version": entry(resolved.connector).version(),
        "streams": [as_json_data(s) for s in catalog.streams],
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
    inputs = request_inputs(project, request)
    resolved = resolve_request(project, env, request, inputs)
    declared = {str(s.get("name")): tuple(s.get("sensitive") or ()) for s in resolved.definition.data.get("streams") or []}
    if entry(resolved.connector).remote:
        # A server may match table names without regard to case (MySQL's lower_case_table_names): every declared
        # list whose stream name matches so applies, so a `Customers` read is masked as `customers` is.
        alike = tuple(c for name, columns in declared.items() if name.casefold() == stream.casefold() for c in columns)
        return None if cache_only else _read_live(resolved, project.root, request, stream, limit, alike)
    inputs = _with_data_files(inputs, resolved, project.root)
    catalog = _catalog(resolved, project.root, cache_only)
    if catalog is None:
        return None
    found = next((s for s in catalog.streams if s.name == stream), None)
    if found is None:
        raise _not_found(stream, catalog)
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
        "inputs": inputs,
        "source": request.get("source"),
        "stream": stream,
        "records": records[:limit],
        "sensitive": sorted(sensitive_columns(found, declared.get(stream, ()))),
        "cached": cached,
    }


def _read_live(
    resolved: ResolvedSource, root: Path, request: Mapping[str, Any], stream: str, limit: int, declared: tuple[str, ...]
) -> dict[str, Any]:
    """A remote source's rows, read straight away: no discovery first (for a database it would cost more than the
    read). Columns to mask are judged from the rows' own column names, which are never older than the table. Only
    when the read fails is the catalog asked whether the stream exists at all, for a clearer error."""
    from ..connectors.registry import entry
    from ..discovery import connector_config, discover_source
    from ..errors import ConnectorError
    from ..extraction import sensitive_names
    from ..resolve import secrets_hidden

    with secrets_hidden(resolved.config):
        try:
            records = entry(resolved.connector).backend().read(connector_config(resolved, root), stream, limit)
        except ConnectorError:
            catalog = discover_source(resolved, root)
            if all(s.name != stream for s in catalog.streams):
                raise _not_found(stream, catalog) from None
            raise
    columns = {name for record in records for name in record}
    return {
        "source": request.get("source"),
        "stream": stream,
        "records": records[:limit],
        "sensitive": sorted(set(declared) | sensitive_names(columns)),
        "cached": False,
    }


def _not_found(stream: str, catalog: Any) -> StreamNotFound:
    known = ", ".join(s.name for s in catalog.streams) or "none"
    return StreamNotFound(f"no stream '{stream}'", f"streams: {known}")


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
