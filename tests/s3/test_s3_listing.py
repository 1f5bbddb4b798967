"""list_objects and probe against a real moto_server: keys, sizes, ages, matching streams, and one-line errors.

No connector starts here (boto3 only), so these run in about a second.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest

from bmad_gitops.connectors import s3_listing
from bmad_gitops.connectors.pyairbyte.source_s3 import s3_config
from bmad_gitops.connectors.s3_listing import ObjectInfo, list_objects, probe
from bmad_gitops.errors import ConnectorError

from .conftest import S3Server

BUCKET = "listing-bucket"
CANARY = "CANARY-SECRET-d41d8cd98f00b204"
OBJECTS = {
    "exports/2026-01.csv": "id,name\n1,Ada\n",
    "exports/2026-02.csv": "id,name\n2,Bob\n3,Cy\n",
    "exports/nested/old.csv": "id\n",
    "events/a.jsonl": '{"id":1}\n',
    "readme.txt": "hello",
    "empty-folder/": "",
}
STREAMS = [
    {"name": "exports", "globs": ["exports/*.csv"], "format": "csv"},
    {"name": "everything_csv", "globs": ["**/*.csv"], "format": "csv"},
    {"name": "events", "globs": ["events/*.jsonl"], "format": "jsonl"},
]


@pytest.fixture(scope="module")
def bucket(s3_server: S3Server) -> S3Server:
    s3_server.client().create_bucket(Bucket=BUCKET)
    s3_server.put(BUCKET, OBJECTS)
    return s3_server


def size(key: str) -> int:
    return len(OBJECTS[key].encode())


def config(server: S3Server, **override: str) -> dict[str, object]:
    return {**s3_config(server.definition(BUCKET, STREAMS)), **override}


def test_lists_every_object_with_size_age_and_the_streams_that_read_it(bucket: S3Server) -> None:
    found = list_objects(config(bucket))
    assert [(o.key, o.size, o.streams) for o in found] == [
        ("events/a.jsonl", size("events/a.jsonl"), ("events",)),
        ("exports/2026-01.csv", size("exports/2026-01.csv"), ("exports", "everything_csv")),
        ("exports/2026-02.csv", size("exports/2026-02.csv"), ("exports", "everything_csv")),
        # `*` stops at `/`, as in the connector (wcmatch with GLOBSTAR)
        ("exports/nested/old.csv", size("exports/nested/old.csv"), ("everything_csv",)),
        ("readme.txt", 5, ()),  # no stream reads it: discover can say so
    ]
    now = datetime.now(timezone.utc)
    for info in found:
        assert isinstance(info, ObjectInfo)
        assert info.last_modified.tzinfo is not None
        assert now - timedelta(minutes=10) < info.last_modified <= now + timedelta(minutes=1)
        # A single-part upload's ETag is its MD5.
        assert info.etag == hashlib.md5(OBJECTS[info.key].encode()).hexdigest()


def test_prefix_and_limit(bucket: S3Server) -> None:
    assert [o.key for o in list_objects(config(bucket), prefix="exports/")] == [
        "exports/2026-01.csv",
        "exports/2026-02.csv",
        "exports/nested/old.csv",
    ]
    assert [o.key for o in list_objects(config(bucket), limit=2)] == ["events/a.jsonl", "exports/2026-01.csv"]
    assert list_objects(config(bucket), limit=0) == []


def test_pages_past_one_request(bucket: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3_listing, "_PAGE", 2)  # S3 pages by 1,000; two keeps the test small
    keys = [o.key for o in list_objects(config(bucket), limit=4)]
    assert keys == ["events/a.jsonl", "exports/2026-01.csv", "exports/2026-02.csv", "exports/nested/old.csv"]
    assert len(list_objects(config(bucket))) == 5


def test_wrapped_secrets_are_accepted(bucket: S3Server) -> None:
    class Wrapped:
        def __init__(self, value: str) -> None:
            self._value = value

        def reveal(self) -> str:
            return self._value

    wrapped = {**config(bucket), "aws_secret_access_key": Wrapped(bucket.secret_access_key)}
    assert len(list_objects(wrapped, prefix="events/")) == 1


def message_of(excinfo: pytest.ExceptionInfo[ConnectorError]) -> str:
    text = str(excinfo.value)
    assert "\n" not in text
    assert excinfo.value.hint, "every error carries a fix"
    return text


def test_a_wrong_secret_key_is_one_line_without_the_secret(bucket: S3Server) -> None:
    with pytest.raises(ConnectorError) as excinfo:
        probe(config(bucket, aws_secret_access_key=CANARY))
    text = message_of(excinfo)
    assert "credentials were refused (SignatureDoesNotMatch)" in text
    assert "aws_secret_access_key" in excinfo.value.hint
    assert CANARY not in text and bucket.access_key_id not in text


def test_an_unknown_key_id(bucket: S3Server) -> None:
    with pytest.raises(ConnectorError) as excinfo:
        probe(config(bucket, aws_access_key_id="AKIAUNKNOWNUNKNOWN00"))
    assert "(InvalidAccessKeyId)" in message_of(excinfo)
    assert "AKIAUNKNOWNUNKNOWN00" not in str(excinfo.value)


def test_a_missing_bucket(bucket: S3Server) -> None:
    with pytest.raises(ConnectorError) as excinfo:
        list_objects(config(bucket, bucket="no-such-bucket"))
    text = message_of(excinfo)
    assert f"bucket 'no-such-bucket' does not exist at {bucket.endpoint}" in text
    assert "`bucket`" in excinfo.value.hint
    assert bucket.secret_access_key not in text


def test_an_unreachable_endpoint_fails_fast(bucket: S3Server, closed_port: int) -> None:
    endpoint = f"http://127.0.0.1:{closed_port}"
    with pytest.raises(ConnectorError) as excinfo:
        probe(config(bucket, endpoint=endpoint))
    assert f"cannot reach {endpoint}" in message_of(excinfo)
    assert "`endpoint`" in excinfo.value.hint
