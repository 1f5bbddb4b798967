"""OpenLineage events of a test extraction: valid against the official schemas, named per spec, never secret.

The schemas are vendored under tests/fixtures/openlineage (see its README) and resolved offline. Emission is
tested for real: JSON lines in the project's events file, and HTTP posts to a server on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

from bmad_gitops.catalog import Column, Stream
from bmad_gitops.lineage.openlineage import (
    EVENTS_FILE,
    JOB_NAMESPACE,
    PRODUCER,
    ExtractionRun,
    LineageEmitError,
    SourceCodeLocation,
    dataset_identity,
    emit,
    extraction_events,
    git_source_location,
)
from bmad_gitops.model import AppliedState, ChangeLogEntry, ColumnProfile, SourcePlan, StreamProfile

SCHEMAS = Path(__file__).parent / "fixtures" / "openlineage"
CORE = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
# Older facet files point at older cores; their BaseFacet/DatasetFacet/RunFacet are the 2-0-2 ones.
CORE_ALIASES = (
    "https://openlineage.io/spec/1-0-1/OpenLineage.json",
    "https://openlineage.io/spec/1-0-2/OpenLineage.json",
)
# Facet types the client emits at a newer version than the copy we could vendor: validated against the copy.
OLDER_COPIES = {
    "SchemaDatasetFacet": "https://openlineage.io/spec/facets/1-0-0/SchemaDatasetFacet.json",
    "DatasourceDatasetFacet": "https://openlineage.io/spec/1-0-1/DatasourceDatasetFacet.json",
    "ErrorMessageRunFacet": "https://openlineage.io/spec/facets/1-0-0/ErrorMessageRunFacet.json",
    "TagsJobFacet": "https://openlineage.io/spec/facets/2-0-3/TagsJobFacet.json",
}
# No copy of these could be obtained offline: the core schema and the field checks below cover them.
NO_COPY = {"InputStatisticsInputDatasetFacet", "ProcessingEngineRunFacet", "TagsRunFacet"}

CANARY = "canary-Sup3r-S3cret-value"
RUN_ID = "0190d5a2-1c3e-7a4b-8c5d-6e7f8a9b0c1d"
STARTED = datetime(2026, 3, 1, 9, 30, 0, tzinfo=timezone.utc)
FINISHED = datetime(2026, 3, 1, 9, 30, 7, 250000, tzinfo=timezone.utc)


# --- schema validation ---------------------------------------------------------------------------


def _format_checker() -> FormatChecker:
    checker = FormatChecker()

    @checker.checks("uri")
    def is_uri(value: object) -> bool:
        return not isinstance(value, str) or (bool(urlsplit(value).scheme) and " " not in value)

    @checker.checks("date-time", raises=ValueError)
    def is_date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return "T" in value and parsed.tzinfo is not None

    return checker


@pytest.fixture(scope="module")
def registry() -> Registry:
    docs = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(SCHEMAS.glob("*.json"))]
    resources = [(doc["$id"], Resource.from_contents(doc)) for doc in docs]
    core = next(doc for doc in docs if doc["$id"] == CORE)
    resources += [(alias, Resource.from_contents(core)) for alias in CORE_ALIASES]
    return Registry().with_resources(resources)


def _validator(registry: Registry, ref: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": ref}, registry=registry, format_checker=_format_checker())


def _facets(event: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(where, key, facet) for every facet of an event."""
    yield from (("run", k, v) for k, v in (event["run"].get("facets") or {}).items())
    yield from (("job", k, v) for k, v in (event["job"].get("facets") or {}).items())
    for dataset in event.get("inputs") or []:
        yield from (("dataset", k, v) for k, v in (dataset.get("facets") or {}).items())
        yield from (("input", k, v) for k, v in (dataset.get("inputFacets") or {}).items())


def validate_event(event: dict[str, Any], registry: Registry) -> set[str]:
    """Validate the event and each facet; return the facet types only the core schema could check."""
    Draft202012Validator(registry.contents(CORE), registry=registry, format_checker=_format_checker()).validate(event)
    _validator(registry, f"{CORE}#/$defs/RunEvent").validate(event)
    known = {uri for uri in registry}
    unchecked = set()
    for _, _, facet in _facets(event):
        url = facet["_schemaURL"]
        base, _, pointer = url.partition("#")
        kind = pointer.rsplit("/", 1)[-1]
        if base in known:
            _validator(registry, url).validate(facet)
        elif kind in OLDER_COPIES:
            _validator(registry, f"{OLDER_COPIES[kind]}#/$defs/{kind}").validate(facet)
        else:
            assert kind in NO_COPY, f"facet {kind} ({url}) has no vendored schema; add one or list it"
            unchecked.add(kind)
    return unchecked


def as_dict(event: Any) -> dict[str, Any]:
    from openlineage.client.serde import Serde

    result: dict[str, Any] = json.loads(Serde.to_json(event))
    return result


# --- inputs --------------------------------------------------------------------------------------


def _stream(name: str, *columns: tuple[str, str, bool], pk: tuple[str, ...] = ()) -> Stream:
    return Stream(
        name=name,
        columns=tuple(Column(name=c, type=t, nullable=n) for c, t, n in columns),
        primary_key=pk,
    )


ORDERS = _stream(
    "orders", ("amount", "number", True), ("id", "integer", False), ("placed_at", "date-time", True), pk=("id",)
)
REFUNDS = _stream("refunds", ("order_id", "integer", False), ("reason", "string", True))


def _profile(stream: str, records: int, *columns: tuple[str, float, int]) -> StreamProfile:
    return StreamProfile(
        stream=stream,
        records=records,
        violations=sum(c[2] for c in columns),
        completeness=0.9,
        columns=tuple(ColumnProfile(name=n, null_rate=r, violations=v) for n, r, v in columns),
    )


def postgres_run(**changes: Any) -> ExtractionRun:
    base: dict[str, Any] = {
        "source": "shop_db",
        "type": "database",
        "connector": "source-postgres",
        "connector_version": "3.6.28",
        "config": {
            "host": "db.internal",
            "port": 5433,
            "database": "shop",
            "username": "reader",
            "password": "${SHOP_DB_PASSWORD}",
            "schemas": ["sales"],
        },
        "streams": (ORDERS, REFUNDS),
        "profiles": (
            _profile("orders", 40, ("amount", 0.25, 0), ("id", 0.0, 0), ("placed_at", 0.0, 2)),
            _profile("refunds", 8, ("order_id", 0.125, 0), ("reason", 0.5, 0)),
        ),
        "stories": ("1.2", "1.10", "1.2"),
        "definition_path": "sources/shop_db.yaml",
    }
    base.update(changes)
    return ExtractionRun(**base)


def file_run(tmp_path: Path, streams: tuple[Stream, ...] = (ORDERS,), fmt: str = "csv") -> ExtractionRun:
    return ExtractionRun(
        source="exports",
        type="file",
        connector="source-file",
        config={"dataset_name": "exports", "format": fmt, "url": "data/exports.csv", "provider": {"storage": "local"}},
        streams=streams,
        profiles=(_profile("orders", 3, ("amount", 0.0, 0)),),
    )


CODE = SourceCodeLocation(
    url="https://github.com/acme/data/blob/0123abc/sources/shop_db.yaml",
    repo_url="https://github.com/acme/data.git",
    path="sources/shop_db.yaml",
    version="0123abc",
    branch="main",
)


def events_of(run: ExtractionRun, root: Path, **kw: Any) -> list[dict[str, Any]]:
    built = extraction_events(run, root=root, started=STARTED, finished=FINISHED, run_id=RUN_ID, **kw)
    return [as_dict(e) for e in built]


@pytest.fixture(autouse=True)
def clean_openlineage_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No OpenLineage config from the machine; and the client writes os.environ, so restore it whole."""
    saved = dict(os.environ)
    for key in list(os.environ):
        if key.startswith("OPENLINEAGE"):
            monkeypatch.delenv(key)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    yield
    os.environ.clear()
    os.environ.update(saved)


# --- the events ----------------------------------------------------------------------------------


def test_every_event_validates_against_the_openlineage_schemas(tmp_path: Path, registry: Registry) -> None:
    runs = [
        postgres_run(),
        postgres_run(connector="source-mysql", config={"host": "mysql.internal", "database": "inventory"}),
        postgres_run(profiles=()),
        file_run(tmp_path),
        file_run(tmp_path, (ORDERS, REFUNDS), fmt="excel"),
        ExtractionRun(
            "logs",
            "s3",
            "source-s3",
            {"bucket": "acme-logs", "streams": [{"name": "orders", "globs": ["exports/*.csv"]}]},
            (ORDERS,),
        ),
        ExtractionRun(
            "api",
            "api",
            "source-declarative-manifest",
            {"base_url": "https://api.example.com/v1", "endpoints": [{"name": "orders", "path": "/orders"}]},
            (ORDERS,),
        ),
        ExtractionRun("odd", "other", "source-custom", {}, (REFUNDS,)),
    ]
    unchecked: set[str] = set()
    count = 0
    for run in runs:
        for code in (CODE, None):
            for error in (None, "test extraction: 2 of 40 records in stream orders break the discovered schema"):
                for event in events_of(run, tmp_path, code=code, error=error):
                    unchecked |= validate_event(event, registry)
                    count += 1
    assert count == len(runs) * 2 * 2 * 2
    assert unchecked == {"InputStatisticsInputDatasetFacet", "ProcessingEngineRunFacet"}


def test_start_then_complete_field_by_field(tmp_path: Path) -> None:
    start, complete = events_of(postgres_run(), tmp_path, code=CODE)

    assert [start["eventType"], complete["eventType"]] == ["START", "COMPLETE"]
    assert start["eventTime"] == "2026-03-01T09:30:00.000Z"
    assert complete["eventTime"] == "2026-03-01T09:30:07.250Z"
    assert start["run"]["runId"] == complete["run"]["runId"] == RUN_ID
    assert start["producer"] == complete["producer"] == PRODUCER
    assert start["schemaURL"] == "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
    assert start["outputs"] == complete["outputs"] == []

    for event in (start, complete):
        job = event["job"]
        assert (job["namespace"], job["name"]) == (JOB_NAMESPACE, "shop_db.test_extraction")
        job_type = job["facets"]["jobType"]
        assert (job_type["processingType"], job_type["integration"], job_type["jobType"]) == (
            "BATCH",
            "BMAD_GITOPS",
            "TEST_EXTRACTION",
        )
        assert job["facets"]["tags"]["tags"] == [
            {"key": "bmad.story.1.10", "value": "1.10", "source": "BMAD"},
            {"key": "bmad.story.1.2", "value": "1.2", "source": "BMAD"},
        ]
        location = job["facets"]["sourceCodeLocation"]
        assert location["type"] == "git"
        assert location["url"] == CODE.url
        assert (location["repoUrl"], location["path"], location["version"], location["branch"]) == (
            "https://github.com/acme/data.git",
            "sources/shop_db.yaml",
            "0123abc",
            "main",
        )
        engine = event["run"]["facets"]["processing_engine"]
        assert (engine["name"], engine["version"]) == ("bmad-gitops", "0.1.0")
        assert "errorMessage" not in event["run"]["facets"]

        assert [(d["namespace"], d["name"]) for d in event["inputs"]] == [
            ("postgres://db.internal:5433", "shop.sales.orders"),
            ("postgres://db.internal:5433", "shop.sales.refunds"),
        ]
        orders = event["inputs"][0]
        assert orders["facets"]["schema"]["fields"] == [
            {"name": "amount", "type": "number"},
            {"name": "id", "type": "integer"},
            {"name": "placed_at", "type": "date-time"},
        ]
        assert orders["facets"]["dataSource"]["name"] == "shop_db"
        assert orders["facets"]["dataSource"]["uri"] == "postgres://db.internal:5433"

    assert all("inputFacets" not in d or d["inputFacets"] == {} for d in start["inputs"])
    orders, refunds = complete["inputs"]
    assert orders["inputFacets"]["inputStatistics"]["rowCount"] == 40
    assert refunds["inputFacets"]["inputStatistics"]["rowCount"] == 8
    metrics = orders["inputFacets"]["dataQualityMetrics"]
    assert metrics["rowCount"] == 40
    assert metrics["columnMetrics"] == {
        "amount": {"nullCount": 10, "count": 30.0},
        "id": {"nullCount": 0, "count": 40.0},
        "placed_at": {"nullCount": 0, "count": 40.0},
    }
    assert refunds["inputFacets"]["dataQualityMetrics"]["columnMetrics"]["reason"] == {"nullCount": 4, "count": 4.0}
    assertions = orders["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert {"assertion": "conforms_to_discovered_type", "success": False} in assertions
    assert {"assertion": "conforms_to_discovered_type", "success": False, "column": "placed_at"} in assertions
    assert {"assertion": "not_null", "success": True, "column": "id"} in assertions
    assert not any(a.get("column") == "amount" and a["assertion"] == "not_null" for a in assertions)


def test_a_failed_extraction_ends_with_fail_and_the_error(tmp_path: Path) -> None:
    start, fail = events_of(postgres_run(profiles=()), tmp_path, error="connection refused by db.internal:5433")
    assert [start["eventType"], fail["eventType"]] == ["START", "FAIL"]
    error = fail["run"]["facets"]["errorMessage"]
    assert error["message"] == "connection refused by db.internal:5433"
    assert error["programmingLanguage"] == "python"
    assert "errorMessage" not in start["run"]["facets"]
    assert all(not d.get("inputFacets") for d in fail["inputs"]), "nothing was read: no statistics"
    assert "sourceCodeLocation" not in fail["job"]["facets"]


def test_defaults_give_a_fresh_run_id_and_utc_times(tmp_path: Path) -> None:
    first = [as_dict(e) for e in extraction_events(postgres_run(), root=tmp_path)]
    second = [as_dict(e) for e in extraction_events(postgres_run(), root=tmp_path)]
    assert first[0]["run"]["runId"] == first[1]["run"]["runId"] != second[0]["run"]["runId"]
    assert first[0]["eventTime"].endswith("Z")


def test_from_state_takes_streams_profiles_and_stories(tmp_path: Path) -> None:
    state = AppliedState(
        source="exports",
        type="file",
        connector="source-file",
        connector_version="0.5.39",
        config_fingerprint="0" * 64,
        config={"url": "data/exports.csv", "format": "csv", "provider": {"storage": "local"}},
        streams=(ORDERS,),
        profiles=(_profile("orders", 12, ("amount", 0.5, 0)),),
        stories=("2.1",),
        changelog=(ChangeLogEntry(date="2026-03-01", change="created (orders)", stories=("2.1",)),),
    )
    run = ExtractionRun.from_state(state, "sources/exports.yaml")
    assert (run.source, run.connector_version, run.definition_path) == ("exports", "0.5.39", "sources/exports.yaml")
    _, complete = events_of(run, tmp_path)
    dataset = complete["inputs"][0]
    assert (dataset["namespace"], dataset["name"]) == ("file", str(tmp_path / "data" / "exports.csv"))
    assert dataset["inputFacets"]["inputStatistics"]["rowCount"] == 12
    assert complete["job"]["facets"]["tags"]["tags"][0]["value"] == "2.1"


def test_from_plan_takes_what_apply_has_before_state_exists(tmp_path: Path) -> None:
    plan = SourcePlan(
        name="shop_db",
        type="database",
        connector="source-postgres",
        action="create",
        connector_version="3.6.28",
        stories=("1.2",),
        catalog=(ORDERS,),
    )
    config = {"host": "db.internal", "database": "shop", "password": "${SHOP_DB_PASSWORD}"}
    run = ExtractionRun.from_plan(plan, config, definition_path="sources/shop_db.yaml")
    assert run == ExtractionRun(
        source="shop_db",
        type="database",
        connector="source-postgres",
        config=config,
        streams=(ORDERS,),
        connector_version="3.6.28",
        stories=("1.2",),
        definition_path="sources/shop_db.yaml",
    )
    _, fail = events_of(run, tmp_path, error="boom")
    assert fail["inputs"][0]["name"] == "shop.public.orders"


# --- dataset naming (https://openlineage.io/docs/spec/naming) --------------------------------------


@pytest.mark.parametrize(
    ("run", "stream", "expected"),
    [
        (postgres_run(), "orders", ("postgres://db.internal:5433", "shop.sales.orders")),
        (postgres_run(config={"host": "h", "database": "d"}), "orders", ("postgres://h:5432", "d.public.orders")),
        (postgres_run(config={"host": "h", "database": "d"}), "audit.log", ("postgres://h:5432", "d.audit.log")),
        (
            postgres_run(connector="source-mysql", config={"host": "m", "port": "3307", "database": "inv"}),
            "items",
            ("mysql://m:3307", "inv.items"),
        ),
        (
            postgres_run(connector="source-mysql", config={"host": "m", "database": "inv"}),
            "items",
            ("mysql://m:3306", "inv.items"),
        ),
        (
            ExtractionRun(
                "s", "s3", "source-s3", {"bucket": "b", "streams": [{"name": "x", "globs": ["b/*.csv", "a/*.csv"]}]}, ()
            ),
            "x",
            ("s3://b", "a/*.csv,b/*.csv"),
        ),
        (ExtractionRun("s", "s3", "source-s3", {"bucket": "b"}, ()), "y", ("s3://b", "y")),
        (
            ExtractionRun(
                "f",
                "file",
                "source-file",
                {"url": "https://u:p@files.example.com:8443/d/x.csv", "provider": {"storage": "HTTPS"}},
                (),
            ),
            "x",
            ("https://files.example.com:8443", "/d/x.csv"),
        ),
        (
            ExtractionRun(
                "f", "file", "source-file", {"url": "s3://bucket/k/x.csv", "provider": {"storage": "S3"}}, ()
            ),
            "x",
            ("s3://bucket", "k/x.csv"),
        ),
        (
            ExtractionRun("f", "file", "source-file", {"url": "gs://bkt/x.jsonl", "provider": {"storage": "GCS"}}, ()),
            "x",
            ("gs://bkt", "x.jsonl"),
        ),
        (
            ExtractionRun(
                "f",
                "file",
                "source-file",
                {"url": "/srv/x.csv", "provider": {"storage": "SFTP", "host": "files.lan"}},
                (),
            ),
            "x",
            ("file://files.lan", "/srv/x.csv"),
        ),
        (
            ExtractionRun(
                "a",
                "api",
                "source-declarative-manifest",
                {"base_url": "https://user:pw@api.example.com/v1/", "endpoints": [{"name": "items", "path": "/items"}]},
                (),
            ),
            "items",
            ("https://api.example.com", "/v1/items"),
        ),
        (ExtractionRun("o", "other", "source-custom", {}, ()), "t", ("bmad-gitops://o", "t")),
    ],
)
def test_dataset_names_follow_the_naming_spec(run: ExtractionRun, stream: str, expected: tuple[str, str]) -> None:
    assert dataset_identity(run, stream, Path("/project")) == expected


def test_local_files_are_absolute_paths_and_sheets_are_fragments(tmp_path: Path) -> None:
    one = file_run(tmp_path)
    assert dataset_identity(one, "orders", tmp_path) == ("file", str(tmp_path / "data" / "exports.csv"))
    sheets = file_run(tmp_path, (ORDERS, REFUNDS), fmt="excel")
    assert dataset_identity(sheets, "refunds", tmp_path) == ("file", f"{tmp_path / 'data' / 'exports.csv'}#refunds")
    dotted = ExtractionRun("x", "file", "source-file", {"url": "file://../outside/./x.csv"}, (ORDERS,))
    assert dataset_identity(dotted, "orders", tmp_path / "p") == ("file", str(tmp_path / "outside" / "x.csv"))
    _, complete = events_of(sheets, tmp_path)
    assert complete["inputs"][1]["facets"]["dataSource"]["uri"] == (tmp_path / "data" / "exports.csv").as_uri()


# --- secrets -------------------------------------------------------------------------------------


def test_no_secret_value_or_reference_reaches_an_event(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_DB_PASSWORD", CANARY)
    runs = [
        postgres_run(),
        ExtractionRun(
            "api",
            "api",
            "source-declarative-manifest",
            {"base_url": f"https://bot:{CANARY}@api.example.com/v1", "auth": {"token": "${API_TOKEN}"}},
            (ORDERS,),
        ),
        ExtractionRun(
            "f",
            "file",
            "source-file",
            {"url": f"https://u:{CANARY}@h.example.com/x.csv", "provider": {"storage": "HTTPS"}},
            (ORDERS,),
        ),
    ]
    code = SourceCodeLocation(url="https://github.com/a/b/blob/1/x.yaml", repo_url="https://github.com/a/b.git")
    for run in runs:
        text = json.dumps(events_of(run, tmp_path, code=code, error="failed"))
        assert CANARY not in text
        assert "SHOP_DB_PASSWORD" not in text and "API_TOKEN" not in text
        assert "reader" not in text, "user names stay out too"


# --- git -----------------------------------------------------------------------------------------


def _git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
    }
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_git_location_names_remote_commit_and_path_without_credentials(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "sources").mkdir(parents=True)
    (repo / "sources" / "shop db.yaml").write_text("type: file\n", encoding="utf-8")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "remote", "add", "origin", f"https://bot:{CANARY}@github.com/acme/data.git")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first")
    sha = _git(repo, "rev-parse", "HEAD")

    location = git_source_location(repo, "sources/shop db.yaml")
    assert location == SourceCodeLocation(
        url=f"https://github.com/acme/data/blob/{sha}/sources/shop%20db.yaml",
        repo_url="https://github.com/acme/data.git",
        path="sources/shop db.yaml",
        version=sha,
        branch="main",
    )
    # From a subfolder the path is still relative to the repository's top.
    assert git_source_location(repo / "sources", "shop db.yaml") == location

    _git(repo, "remote", "set-url", "origin", "git@gitlab.com:acme/data.git")
    scp = git_source_location(repo, "sources/shop db.yaml")
    assert scp is not None and scp.url == f"https://gitlab.com/acme/data/-/blob/{sha}/sources/shop%20db.yaml"
    assert scp.repo_url == "git@gitlab.com:acme/data.git"

    _git(repo, "remote", "set-url", "origin", "http://git.lan:8080/team/data")
    plain_http = git_source_location(repo, "sources/shop db.yaml")
    assert (
        plain_http is not None and plain_http.url == f"http://git.lan:8080/team/data/blob/{sha}/sources/shop%20db.yaml"
    )


def test_git_location_without_remote_commits_or_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "fresh"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "trunk")
    location = git_source_location(repo, "sources/x.yaml")
    assert location == SourceCodeLocation(
        url=(repo / "sources" / "x.yaml").resolve().as_uri(), path="sources/x.yaml", branch="trunk"
    )
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert git_source_location(plain, "sources/x.yaml") is None
    monkeypatch.setenv("PATH", str(tmp_path / "no-such-bin"))
    assert git_source_location(repo, "sources/x.yaml") is None


# --- emitting ------------------------------------------------------------------------------------


def _read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_emit_appends_json_lines_to_the_project_events_file(tmp_path: Path, registry: Registry) -> None:
    root = tmp_path / "project"
    root.mkdir()
    events = extraction_events(postgres_run(), root=root, started=STARTED, finished=FINISHED, run_id=RUN_ID)
    assert emit(events, root) == ".bmad-gitops/openlineage/events.jsonl"
    lines = _read_lines(root / EVENTS_FILE)
    assert [e["eventType"] for e in lines] == ["START", "COMPLETE"]
    for event in lines:
        validate_event(event, registry)
    emit(extraction_events(postgres_run(), root=root), root)
    assert [e["eventType"] for e in _read_lines(root / EVENTS_FILE)] == ["START", "COMPLETE", "START", "COMPLETE"]


def test_openlineage_disabled_emits_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    assert emit(extraction_events(postgres_run(), root=tmp_path), tmp_path) == "disabled"
    assert not (tmp_path / EVENTS_FILE).exists()


def test_a_project_openlineage_yml_is_the_client_config(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    target = tmp_path / "elsewhere.jsonl"
    (root / "openlineage.yml").write_text(
        f"transport:\n  type: file\n  log_file_path: {target}\n  append: true\n", encoding="utf-8"
    )
    assert emit(extraction_events(postgres_run(), root=root), root) == "file"
    assert [e["eventType"] for e in _read_lines(target)] == ["START", "COMPLETE"]
    assert not (root / EVENTS_FILE).exists()


class _LineageServer:
    """An OpenLineage HTTP endpoint on 127.0.0.1 that records each POST and answers `status`."""

    def __init__(self, status: int = 201) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.received.append((self.path, dict(self.headers), body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _LineageServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def test_emit_posts_start_and_complete_to_openlineage_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registry: Registry
) -> None:
    monkeypatch.setenv("SHOP_DB_PASSWORD", CANARY)
    events = extraction_events(
        postgres_run(), root=tmp_path, started=STARTED, finished=FINISHED, run_id=RUN_ID, code=CODE
    )
    with _LineageServer() as server:
        monkeypatch.setenv("OPENLINEAGE_URL", server.url)
        assert emit(events, tmp_path) == "http"
    assert [path for path, _, _ in server.received] == ["/api/v1/lineage", "/api/v1/lineage"]
    bodies = [json.loads(body) for _, _, body in server.received]
    assert [b["eventType"] for b in bodies] == ["START", "COMPLETE"]
    assert {b["run"]["runId"] for b in bodies} == {RUN_ID}
    assert all(headers["Content-Type"] == "application/json" for _, headers, _ in server.received)
    for body in bodies:
        validate_event(body, registry)
        assert body["job"]["name"] == "shop_db.test_extraction"
    assert bodies[1]["inputs"][0]["inputFacets"]["inputStatistics"]["rowCount"] == 40
    assert all(CANARY.encode() not in body for _, _, body in server.received)
    assert not (tmp_path / EVENTS_FILE).exists(), "a configured client replaces the local file"


def test_an_endpoint_that_refuses_is_an_emit_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with _LineageServer(status=400) as server:
        monkeypatch.setenv("OPENLINEAGE_URL", server.url)
        with pytest.raises(LineageEmitError, match="could not be sent to http: 400"):
            emit(extraction_events(postgres_run(), root=tmp_path), tmp_path)
    assert len(server.received) == 1, "stops at the first refused event"
