"""source-s3 4.14.2 through the PyAirbyte backend against a real moto_server: check, discover, read, drift, errors.

Every connector call starts a process (about 5 s), so one discover feeds many asserts (module-scoped fixtures)
and the drift cases share one "before" and one "after" discover. Records are asserted exactly: an empty read is
a known PyAirbyte failure mode, not a pass.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bmad_gitops.catalog import Catalog
from bmad_gitops.connectors.pyairbyte.backend import PyAirbyteBackend
from bmad_gitops.connectors.pyairbyte.install import ensure_installed
from bmad_gitops.connectors.pyairbyte.s3_backend import S3Backend
from bmad_gitops.connectors.pyairbyte.source_s3 import s3_config
from bmad_gitops.connectors.s3_listing import list_objects
from bmad_gitops.errors import ConnectorError

from .conftest import S3Server

pytestmark = pytest.mark.live

CONNECTOR, PINNED = "source-s3", "4.14.2"
BUCKET, DRIFT_BUCKET = "acme-exports", "acme-drift"
CANARY = "CANARY-SECRET-9e107d9d372bb6826bd81d3542a419d6"
META = ("_ab_source_file_last_modified", "_ab_source_file_url")  # the connector adds these to every stream

OBJECTS: dict[str, str | bytes] = {
    "exports/2026-01.csv": "id,name,amount,active,signup\n1,Ada,12.5,true,2026-01-03\n2,Bob,7,false,2026-01-04\n",
    "events/2026-01-01.jsonl": '{"id": 1, "kind": "click", "score": 0.5, "tags": ["a"]}\n'
    '{"id": 2, "kind": "view", "score": 1, "tags": []}\n',
    # No header row, semicolons, Latin-1: every CSV option at once.
    "legacy/cities.csv": "BER;Berlin;3850809\nMUC;München;1512491\n".encode("latin-1"),
}
STREAMS: list[dict[str, Any]] = [
    {"name": "exports", "globs": ["exports/*.csv"], "format": "csv"},
    {"name": "events", "globs": ["events/*.jsonl"], "format": "jsonl"},
    {
        "name": "legacy",
        "globs": ["legacy/*.csv"],
        "format": "csv",
        "csv": {"delimiter": ";", "encoding": "latin-1", "header": ["code", "city", "population"]},
    },
    {"name": "exports_text", "globs": ["exports/*.csv"], "format": "csv", "csv": {"infer_types": False}},
    {
        "name": "exports_declared",
        "globs": ["exports/*.csv"],
        "format": "csv",
        "columns": {"id": "integer", "name": "string"},
    },
]


def columns(catalog: Catalog, stream: str) -> dict[str, str]:
    found = catalog.stream(stream)
    assert found is not None, [s.name for s in catalog.streams]
    return {c.name: c.type for c in found.columns if c.name not in META}


@pytest.fixture(scope="module")
def server(s3_server: S3Server) -> S3Server:
    client = s3_server.client()
    for bucket in (BUCKET, DRIFT_BUCKET):
        client.create_bucket(Bucket=bucket)
    s3_server.put(BUCKET, OBJECTS)
    return s3_server


@pytest.fixture(scope="module")
def config(server: S3Server) -> dict[str, Any]:
    return s3_config(server.definition(BUCKET, STREAMS))


@pytest.fixture(scope="module")
def backend() -> S3Backend:
    """One backend for the module: a read after a discover of the same config reuses the discovered catalog."""
    assert ensure_installed(CONNECTOR, PINNED) == PINNED
    return S3Backend(CONNECTOR, PINNED)


@pytest.fixture(scope="module")
def catalog(backend: S3Backend, config: dict[str, Any]) -> Catalog:
    return backend.discover(config)


def test_check_passes(backend: S3Backend, config: dict[str, Any]) -> None:
    backend.check(config)
    assert backend.version() == PINNED


def test_discover_types_csv_columns(catalog: Catalog) -> None:
    assert sorted(s.name for s in catalog.streams) == sorted(s["name"] for s in STREAMS)
    assert columns(catalog, "exports") == {
        "id": "integer",
        "name": "string",
        "amount": "number",
        "active": "boolean",
        "signup": "string",  # "Primitive Types Only" leaves dates as strings
    }
    stream = catalog.stream("exports")
    assert stream is not None and "incremental" in stream.sync_modes
    assert stream.cursor == ("_ab_source_file_last_modified",)


def test_discover_jsonl_and_csv_options(catalog: Catalog) -> None:
    assert columns(catalog, "events") == {"id": "integer", "kind": "string", "score": "number", "tags": "array"}
    assert columns(catalog, "legacy") == {"code": "string", "city": "string", "population": "integer"}


def test_without_inference_csv_columns_are_strings(catalog: Catalog) -> None:
    assert set(columns(catalog, "exports_text").values()) == {"string"}


def test_declared_columns_replace_the_inferred_schema(catalog: Catalog) -> None:
    assert columns(catalog, "exports_declared") == {"id": "integer", "name": "string"}


def test_read_returns_exact_typed_records(backend: S3Backend, config: dict[str, Any], catalog: Catalog) -> None:
    rows = backend.read(config, "exports", 10)
    (listed,) = list_objects(config, prefix="exports/")
    stamp = listed.last_modified.strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # the listing and the connector agree
    source = {"_ab_source_file_url": "exports/2026-01.csv", "_ab_source_file_last_modified": stamp}
    assert rows == [
        {**source, "id": 1, "name": "Ada", "amount": 12.5, "active": True, "signup": "2026-01-03"},
        {**source, "id": 2, "name": "Bob", "amount": 7.0, "active": False, "signup": "2026-01-04"},
    ]
    assert backend.read(config, "exports", 1) == rows[:1]


def test_read_applies_csv_options(backend: S3Backend, config: dict[str, Any], catalog: Catalog) -> None:
    rows = backend.read(config, "legacy", 10, columns=["code", "city", "population"])
    assert rows == [
        {"code": "BER", "city": "Berlin", "population": 3850809},
        {"code": "MUC", "city": "München", "population": 1512491},
    ]


# Drift: three streams, each in its own folder, discovered before and after the files change.
DRIFT_STREAMS = [
    {"name": name, "globs": [f"{name}/*.csv"], "format": "csv"} for name in ("extra", "missing", "retyped")
]
DRIFT_BEFORE = {f"{name}/part-1.csv": "id,name,amount\n1,Ada,12\n2,Bob,7\n" for name in ("extra", "missing", "retyped")}
DRIFT_AFTER = {
    "extra/part-2.csv": "id,name,amount,country\n3,Cy,5,FR\n",  # a new file with one more column
    "missing/part-1.csv": "id,name\n1,Ada\n2,Bob\n",  # the file replaced without `amount`
    "retyped/part-1.csv": "id,name,amount\n1,Ada,twelve\n2,Bob,seven\n",  # `amount` is text now
}


@pytest.fixture(scope="module")
def drift(server: S3Server) -> tuple[Catalog, Catalog]:
    backend = PyAirbyteBackend(CONNECTOR, PINNED)  # the plain backend: drift needs no probe
    config = s3_config(server.definition(DRIFT_BUCKET, DRIFT_STREAMS))
    server.put(DRIFT_BUCKET, DRIFT_BEFORE)
    before = backend.discover(config)
    server.put(DRIFT_BUCKET, DRIFT_AFTER)
    return before, backend.discover(config)


def test_drift_baseline(drift: tuple[Catalog, Catalog]) -> None:
    before, _ = drift
    for name in ("extra", "missing", "retyped"):
        assert columns(before, name) == {"id": "integer", "name": "string", "amount": "integer"}


def test_drift_a_new_file_with_an_extra_column_adds_it(drift: tuple[Catalog, Catalog]) -> None:
    assert columns(drift[1], "extra") == {"id": "integer", "name": "string", "amount": "integer", "country": "string"}


def test_drift_a_replaced_file_without_a_column_drops_it(drift: tuple[Catalog, Catalog]) -> None:
    assert columns(drift[1], "missing") == {"id": "integer", "name": "string"}


def test_drift_a_changed_type_changes_the_column(drift: tuple[Catalog, Catalog]) -> None:
    assert columns(drift[1], "retyped") == {"id": "integer", "name": "string", "amount": "string"}


# Errors: one line, a fix, never a secret.


def assert_clean(error: ConnectorError, *secrets: str) -> str:
    text = f"{error.message} {error.hint}"
    assert "\n" not in text
    for secret in (CANARY, *secrets):
        assert secret not in text
    return text


@pytest.mark.parametrize(
    ("override", "expected", "fix"),
    [
        (
            {"aws_secret_access_key": CANARY},
            "credentials were refused (SignatureDoesNotMatch)",
            "aws_secret_access_key",
        ),
        ({"bucket": "no-such-bucket"}, "bucket 'no-such-bucket' does not exist", "check `bucket`"),
        ({"endpoint": "closed"}, "cannot reach http://127.0.0.1:", "check `endpoint`"),
    ],
    ids=["wrong-key", "missing-bucket", "closed-port"],
)
def test_check_errors_are_one_line_with_a_fix(
    backend: S3Backend,
    config: dict[str, Any],
    server: S3Server,
    closed_port: int,
    override: dict[str, str],
    expected: str,
    fix: str,
) -> None:
    if override.get("endpoint") == "closed":
        override = {"endpoint": f"http://127.0.0.1:{closed_port}"}
    with pytest.raises(ConnectorError) as excinfo:
        backend.check({**config, **override})
    assert expected in excinfo.value.message
    assert fix in excinfo.value.hint
    assert_clean(excinfo.value, server.secret_access_key)


def test_a_connector_failure_is_explained_by_the_probe(backend: S3Backend, config: dict[str, Any]) -> None:
    """discover does not probe first (it costs nothing on success); after the connector fails, the probe says why."""
    with pytest.raises(ConnectorError) as excinfo:
        backend.discover({**config, "aws_secret_access_key": CANARY})
    assert "credentials were refused" in assert_clean(excinfo.value)


def test_the_raw_connector_error_never_shows_the_secret(config: dict[str, Any], server: S3Server) -> None:
    """The plain backend's error is the connector's own (scrubbed by failures.py): one line, no key."""
    with pytest.raises(ConnectorError) as excinfo:
        PyAirbyteBackend(CONNECTOR, PINNED).check({**config, "aws_secret_access_key": CANARY})
    text = assert_clean(excinfo.value, server.access_key_id)
    assert text.startswith("source-s3: ")
    assert json.dumps(CANARY) not in text
