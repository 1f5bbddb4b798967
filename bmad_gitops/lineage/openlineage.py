"""OpenLineage RunEvents for a test extraction (START, then COMPLETE or FAIL), and where to send them.

Events are built from the public config only: secrets appear nowhere, not even as `${NAME}`, and URLs lose any
`user:password@`. Dataset names follow https://openlineage.io/docs/spec/naming. Without an OpenLineage config,
`emit` appends JSON lines to `.bmad-gitops/openlineage/events.jsonl`; with one (`OPENLINEAGE_URL`,
`OPENLINEAGE_CONFIG`, `openlineage.yml`, `OPENLINEAGE__TRANSPORT__TYPE`) the client sends them where it says.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

from .. import __version__
from ..catalog import Stream
from ..errors import LineageError
from ..model import AppliedState, SourcePlan, StreamProfile

if TYPE_CHECKING:
    from openlineage.client.event_v2 import InputDataset, Job, RunEvent
    from openlineage.client.facet_v2 import DatasetFacet, InputDatasetFacet, JobFacet, RunFacet

__all__ = [
    "EVENTS_FILE",
    "JOB_NAMESPACE",
    "PRODUCER",
    "ExtractionRun",
    "LineageEmitError",
    "SourceCodeLocation",
    "dataset_identity",
    "emit",
    "extraction_events",
    "git_source_location",
    "job_name",
]

JOB_NAMESPACE = "bmad-gitops"
PRODUCER = f"https://github.com/bmad-gitops/bmad-gitops/tree/{__version__}"
EVENTS_FILE = Path(".bmad-gitops") / "openlineage" / "events.jsonl"
INTEGRATION = "BMAD_GITOPS"
STORY_TAG_SOURCE = "BMAD"

# Object stores: namespace `{scheme}://{bucket}`, name the key (spec: S3, GCS, ABFSS, WASBS).
_BUCKET_SCHEMES = frozenset({"s3", "s3a", "s3n", "gs", "gcs", "abfss", "wasbs", "azure"})
_REMOTE_FILE_STORAGE = frozenset({"ssh", "scp", "sftp"})
_DEFAULT_PORTS = {"postgres": 5432, "mysql": 3306}


class LineageEmitError(LineageError):
    """The events could not be written or sent; the message names the destination and the cause."""


@dataclass(frozen=True)
class ExtractionRun:
    """One test extraction of one source, in the terms its lineage needs.

    `config` is the public config (secrets as `${NAME}`, as `AppliedState.config` holds it); `profiles` carry
    the records read per stream, and are empty for a START or for an extraction that failed before reading.
    `definition_path` is the definition file relative to the project root, for the source-code facet.
    """

    source: str
    type: str
    connector: str
    config: Mapping[str, Any]
    streams: tuple[Stream, ...]
    connector_version: str | None = None
    profiles: tuple[StreamProfile, ...] = ()
    stories: tuple[str, ...] = ()
    definition_path: str | None = None

    @classmethod
    def from_state(cls, state: AppliedState, definition_path: str | None = None) -> ExtractionRun:
        return cls(
            source=state.source,
            type=state.type,
            connector=state.connector,
            config=state.config,
            streams=state.streams,
            connector_version=state.connector_version,
            profiles=state.profiles,
            stories=state.stories,
            definition_path=definition_path,
        )

    @classmethod
    def from_plan(
        cls,
        source: SourcePlan,
        config: Mapping[str, Any],
        profiles: Sequence[StreamProfile] = (),
        definition_path: str | None = None,
    ) -> ExtractionRun:
        """The run apply is about to make (or made) for `source`; `config` is the resolved public config."""
        return cls(
            source=source.name,
            type=source.type,
            connector=source.connector,
            config=config,
            streams=source.catalog,
            connector_version=source.connector_version,
            profiles=tuple(profiles),
            stories=source.stories,
            definition_path=definition_path,
        )


@dataclass(frozen=True)
class SourceCodeLocation:
    """Where the definition lives in version control; `url` is a browsable link (or a file: URI)."""

    url: str
    repo_url: str | None = None
    path: str | None = None
    version: str | None = None
    branch: str | None = None


def job_name(source: str) -> str:
    return f"{source}.test_extraction"


# --- dataset naming ------------------------------------------------------------------------------


def dataset_identity(run: ExtractionRun, stream: str, root: Path) -> tuple[str, str]:
    """(namespace, name) of one stream's dataset, per the OpenLineage naming spec.

    Local files are namespace `file` with the absolute path as name; a file read as several streams (Excel
    sheets) names each stream as `{path}#{stream}`. Postgres is `postgres://host:port` with
    `database.schema.table`, MySQL `mysql://host:port` with `database.table`, S3 `s3://bucket` with the stream's
    glob, an API `{scheme}://{host}` with the endpoint path. Values are taken as written, `${VAR}` included.
    """
    config = run.config
    family = _family(run)
    if family in ("postgres", "mysql"):
        namespace = f"{family}://{_text(config.get('host'), 'localhost')}:{_port(config, family)}"
        database = _text(config.get("database"), run.source)
        if family == "mysql":
            return namespace, f"{database}.{stream.rsplit('.', 1)[-1]}"
        if "." in stream:
            return namespace, f"{database}.{stream}"
        schemas = config.get("schemas")
        schema = str(schemas[0]) if isinstance(schemas, list) and schemas else "public"
        return namespace, f"{database}.{schema}.{stream}"
    if family == "s3":
        return f"s3://{_text(config.get('bucket'), run.source)}", _s3_key(config, stream)
    if family == "api":
        return _api_identity(config, stream)
    if family == "file":
        return _file_identity(run, stream, root)
    return f"{JOB_NAMESPACE}://{run.source}", stream


def _family(run: ExtractionRun) -> str:
    from ..connectors.registry import find_entry

    known = find_entry(run.connector)
    return known.lineage_scheme if known is not None else "other"


def _text(value: object, default: str) -> str:
    return str(value) if value not in (None, "") else default


def _port(config: Mapping[str, Any], family: str) -> str:
    return _text(config.get("port"), str(_DEFAULT_PORTS[family]))


def _s3_key(config: Mapping[str, Any], stream: str) -> str:
    for item in config.get("streams") or ():
        if isinstance(item, Mapping) and item.get("name") == stream:
            globs = sorted(str(g) for g in item.get("globs") or ())
            if globs:
                return ",".join(globs)
    return stream


def _api_identity(config: Mapping[str, Any], stream: str) -> tuple[str, str]:
    base = urlsplit(_without_userinfo(str(config.get("base_url") or config.get("url_base") or "")))
    path = stream
    for item in config.get("endpoints") or ():
        if isinstance(item, Mapping) and item.get("name") == stream and item.get("path"):
            path = str(item["path"])
    if not base.scheme or not base.hostname:
        return f"{JOB_NAMESPACE}://api", path
    return f"{base.scheme}://{base.netloc}", base.path.rstrip("/") + "/" + path.lstrip("/")


def _file_identity(run: ExtractionRun, stream: str, root: Path) -> tuple[str, str]:
    url = _without_userinfo(str(run.config.get("url") or ""))
    provider = run.config.get("provider")
    storage = str(provider.get("storage", "local")).lower() if isinstance(provider, Mapping) else "local"
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in _BUCKET_SCHEMES:
        namespace, name = f"{scheme}://{parts.netloc}", parts.path.lstrip("/")
    elif scheme in ("http", "https"):
        namespace, name = f"{scheme}://{parts.netloc}", parts.path or "/"
    elif storage in _REMOTE_FILE_STORAGE and isinstance(provider, Mapping) and provider.get("host"):
        namespace, name = f"file://{provider['host']}", url
    else:
        raw = url[len("file://") :] if url.startswith("file://") else url
        namespace, name = "file", os.path.normpath(os.path.join(os.path.abspath(root), raw))
    if len(run.streams) > 1:
        name = f"{name}#{stream}"
    return namespace, name


def _datasource_uri(namespace: str, name: str) -> str:
    if namespace == "file":
        return Path(name.split("#", 1)[0]).as_uri()
    return namespace


def _without_userinfo(url: str) -> str:
    """The URL without `user:password@`: a credential may sit in a remote or base URL."""
    parts = urlsplit(url)
    if not parts.netloc or "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


# --- events --------------------------------------------------------------------------------------


def extraction_events(
    run: ExtractionRun,
    *,
    root: Path,
    started: datetime | None = None,
    finished: datetime | None = None,
    error: str | None = None,
    run_id: str | None = None,
    code: SourceCodeLocation | None = None,
) -> list[RunEvent]:
    """START and COMPLETE events of one test extraction, or START and FAIL (with `error`) when it failed.

    Pure apart from the defaults: pass `started`, `finished` and `run_id` for reproducible events. Row counts
    and quality metrics come from `run.profiles` and appear on the closing event only.
    """
    from openlineage.client.event_v2 import Run, RunEvent, RunState
    from openlineage.client.facet_v2 import error_message_run, processing_engine_run
    from openlineage.client.uuid import generate_new_uuid

    started = started or datetime.now(timezone.utc)
    finished = finished or datetime.now(timezone.utc)
    run_id = run_id or str(generate_new_uuid(started))
    job = _job(run, code)
    engine: dict[str, RunFacet] = {
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
            version=__version__, name="bmad-gitops", openlineageAdapterVersion=_client_version(), producer=PRODUCER
        )
    }
    start = RunEvent(
        eventType=RunState.START,
        eventTime=_timestamp(started),
        run=Run(runId=run_id, facets=dict(engine)),
        job=job,
        inputs=_inputs(run, root, with_statistics=False),
        outputs=[],
        producer=PRODUCER,
    )
    closing_facets = dict(engine)
    if error is not None:
        closing_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error, programmingLanguage="python", producer=PRODUCER
        )
    end = RunEvent(
        eventType=RunState.FAIL if error is not None else RunState.COMPLETE,
        eventTime=_timestamp(finished),
        run=Run(runId=run_id, facets=closing_facets),
        job=_job(run, code),
        inputs=_inputs(run, root, with_statistics=True),
        outputs=[],
        producer=PRODUCER,
    )
    return [start, end]


def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _client_version() -> str:
    from openlineage.client.constants import __version__ as client_version

    return client_version


def _job(run: ExtractionRun, code: SourceCodeLocation | None) -> Job:
    from openlineage.client.event_v2 import Job
    from openlineage.client.facet_v2 import job_type_job, source_code_location_job, tags_job

    facets: dict[str, JobFacet] = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration=INTEGRATION, jobType="TEST_EXTRACTION", producer=PRODUCER
        ),
    }
    if run.stories:
        facets["tags"] = tags_job.TagsJobFacet(
            tags=[
                tags_job.TagsJobFacetFields(key=f"bmad.story.{story}", value=story, source=STORY_TAG_SOURCE)
                for story in sorted(set(run.stories))
            ],
            producer=PRODUCER,
        )
    if code is not None:
        facets["sourceCodeLocation"] = source_code_location_job.SourceCodeLocationJobFacet(
            type="git",
            url=code.url,
            repoUrl=code.repo_url,
            path=code.path,
            version=code.version,
            branch=code.branch,
            producer=PRODUCER,
        )
    return Job(namespace=JOB_NAMESPACE, name=job_name(run.source), facets=facets)


def _inputs(run: ExtractionRun, root: Path, *, with_statistics: bool) -> list[InputDataset]:
    from openlineage.client.event_v2 import InputDataset
    from openlineage.client.facet_v2 import datasource_dataset, schema_dataset

    profiles = {p.stream: p for p in run.profiles}
    inputs = []
    for stream in sorted(run.streams, key=lambda s: s.name):
        namespace, name = dataset_identity(run, stream.name, root)
        facets: dict[str, DatasetFacet] = {
            "schema": schema_dataset.SchemaDatasetFacet(
                fields=[
                    schema_dataset.SchemaDatasetFacetFields(name=column.name, type=column.type, fields=None)
                    for column in stream.columns
                ],
                producer=PRODUCER,
            ),
            "dataSource": datasource_dataset.DatasourceDatasetFacet(
                name=run.source, uri=_datasource_uri(namespace, name), producer=PRODUCER
            ),
        }
        input_facets: dict[str, InputDatasetFacet] = {}
        profile = profiles.get(stream.name)
        if with_statistics and profile is not None:
            input_facets = _statistics(stream, profile)
        inputs.append(InputDataset(namespace=namespace, name=name, facets=facets, inputFacets=input_facets))
    return inputs


def _statistics(stream: Stream, profile: StreamProfile) -> dict[str, InputDatasetFacet]:
    from openlineage.client.facet_v2 import (
        data_quality_assertions_dataset,
        data_quality_metrics_input_dataset,
        input_statistics_input_dataset,
    )

    records = profile.records
    nulls = {column.name: round(column.null_rate * records) for column in profile.columns}
    metrics = {
        name: data_quality_metrics_input_dataset.ColumnMetrics(
            nullCount=count, count=float(records - count), quantiles=None
        )
        for name, count in sorted(nulls.items())
    }
    Assertion = data_quality_assertions_dataset.Assertion
    assertions = [Assertion(assertion="conforms_to_discovered_type", success=profile.violations == 0, params=None)]
    for column in sorted(profile.columns, key=lambda c: c.name):
        assertions.append(
            Assertion(
                assertion="conforms_to_discovered_type",
                success=column.violations == 0,
                column=column.name,
                params=None,
            )
        )
        declared = stream.column(column.name)
        if declared is not None and not declared.nullable:
            assertions.append(
                Assertion(assertion="not_null", success=nulls[column.name] == 0, column=column.name, params=None)
            )
    return {
        "inputStatistics": input_statistics_input_dataset.InputStatisticsInputDatasetFacet(
            rowCount=records, producer=PRODUCER
        ),
        "dataQualityMetrics": data_quality_metrics_input_dataset.DataQualityMetricsInputDatasetFacet(
            columnMetrics=metrics, rowCount=records, producer=PRODUCER
        ),
        "dataQualityAssertions": data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
            assertions=assertions, producer=PRODUCER
        ),
    }


# --- source code location --------------------------------------------------------------------------


def git_source_location(root: Path, definition_path: str | None) -> SourceCodeLocation | None:
    """The definition's place in git (remote, commit, branch); None outside a repository or without git.

    A remote's `user:token@` is dropped. Without a remote the URL is the definition's file: URI.
    """
    from ..gitinfo import repository

    repo = repository(root)
    if repo is None:
        return None
    top, remote, sha, branch = repo.top, repo.remote, repo.commit, repo.branch
    path = None
    if definition_path is not None:
        absolute = os.path.abspath(os.path.join(root, definition_path))
        path = Path(os.path.relpath(absolute, top)).as_posix()
    web = _web_url(remote) if remote else None
    if web is not None and path is not None:
        url = _blob_url(web, sha or branch or "HEAD", path)
    elif web is not None:
        url = web
    else:
        url = Path(os.path.join(top, path) if path else top).as_uri()
    return SourceCodeLocation(
        url=url,
        repo_url=_without_userinfo(remote) if remote and "://" in remote else remote,
        path=path,
        version=sha,
        branch=branch,
    )


_SCP_REMOTE = re.compile(r"(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>[^/].*)")


def _web_url(remote: str) -> str | None:
    """`https://host/org/repo` for an http(s), ssh:// or scp-style remote (http stays http); None for a path."""
    if "://" in remote:
        parts = urlsplit(_without_userinfo(remote))
        if parts.scheme not in ("http", "https", "ssh", "git") or not parts.hostname:
            return None
        scheme, host, path = "https", parts.hostname, parts.path
        if parts.scheme in ("http", "https"):
            scheme, host = parts.scheme, parts.netloc
    else:
        match = _SCP_REMOTE.fullmatch(remote)
        if match is None:
            return None
        scheme, host, path = "https", match["host"], "/" + match["path"]
    path = path.rstrip("/")
    path = path[: -len(".git")] if path.endswith(".git") else path
    return f"{scheme}://{host}{path}"


def _blob_url(web: str, ref: str, path: str) -> str:
    quoted = quote(path)
    if "gitlab" in web:
        return f"{web}/-/blob/{ref}/{quoted}"
    if "bitbucket" in web:
        return f"{web}/src/{ref}/{quoted}"
    return f"{web}/blob/{ref}/{quoted}"


# --- emitting ------------------------------------------------------------------------------------


def emit(events: Sequence[RunEvent], root: Path) -> str:
    """Send `events` in order and return where they went (a path relative to `root`, or the transport kind).

    With no OpenLineage configuration the events are appended as JSON lines to `EVENTS_FILE` under `root`;
    `OPENLINEAGE_DISABLED=true` turns emission off (returns "disabled").
    """
    from openlineage.client import OpenLineageClient

    if os.environ.get("OPENLINEAGE_DISABLED", "").lower() in ("true", "1", "yes"):
        return "disabled"
    if not _user_configured(root):
        return _append_events_file(events, root)
    client = OpenLineageClient(config=_project_config(root))
    destination = str(client.transport.kind or "configured transport")
    if client.transport.kind == "noop":
        return "disabled"
    try:
        for event in events:
            client.emit(event)
    except Exception as exc:  # the transports raise whatever their library raises
        raise LineageEmitError(
            f"OpenLineage events could not be sent to {destination}: {exc}; check the OpenLineage config"
        ) from None
    finally:
        client.close(timeout=5.0)
    return destination


def _append_events_file(events: Sequence[RunEvent], root: Path) -> str:
    """The default destination, JSON lines in the project, written through the one atomic writer: a kill leaves
    the old file or the new one, never a half-written last line (the apply lock keeps writers to one)."""
    from openlineage.client.serde import Serde

    from ..atomic import atomic_write_text
    from ..errors import ProjectError

    path = root / EVENTS_FILE
    try:
        old = path.read_text(encoding="utf-8") if path.is_file() else ""
        lines = "".join(Serde.to_json(event) + "\n" for event in events)
        atomic_write_text(path, old + ("" if not old or old.endswith("\n") else "\n") + lines, root=root)
    except (OSError, ProjectError) as exc:
        raise LineageEmitError(f"{path}: cannot write the OpenLineage events ({exc})") from None
    return EVENTS_FILE.as_posix()


def _user_configured(root: Path) -> bool:
    env = os.environ
    if env.get("OPENLINEAGE_URL") or env.get("OPENLINEAGE_CONFIG") or env.get("OPENLINEAGE__TRANSPORT__TYPE"):
        return True
    candidates = (
        root / "openlineage.yml",
        Path.cwd() / "openlineage.yml",
        Path.home() / ".openlineage" / "openlineage.yml",
    )
    return any(path.is_file() for path in candidates)


def _project_config(root: Path) -> dict[str, Any] | None:
    """The project's own openlineage.yml, which the client would only find from the project root as cwd."""
    path = root / "openlineage.yml"
    if os.environ.get("OPENLINEAGE_CONFIG") or not path.is_file():
        return None
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise LineageEmitError(f"{path}: cannot be read as an OpenLineage config ({exc})") from None
    return data if isinstance(data, dict) else None
