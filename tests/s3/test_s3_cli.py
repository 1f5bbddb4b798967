"""S3 through the CLI against a real moto_server: discover lists what the globs select, a glob that matches
nothing is an error at its line, Parquet is read, and the loop plans, applies and sees drift."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest

from bmad_gitops.cli import main

from .conftest import S3Server

pytestmark = pytest.mark.live

DEFINITION = """\
type: s3
connector: source-s3
config:
  bucket: {bucket}
  region: us-east-1
  endpoint: {endpoint}
  aws_access_key_id: "${{BUCKET_KEY_ID}}"
  aws_secret_access_key: "${{BUCKET_SECRET}}"
  streams:
    - name: orders
      globs: ["orders/*.parquet"]
      format: parquet
    - name: missing
      globs: ["nothing/*.csv"]
      format: csv
"""


def parquet(rows: list[dict[str, object]]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buffer)
    return buffer.getvalue()


def test_s3_discover_plan_apply_through_the_cli(
    s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = f"cli-{uuid.uuid4().hex[:8]}"
    s3_server.client().create_bucket(Bucket=bucket)
    s3_server.put(bucket, {"orders/2026-01.parquet": parquet([{"id": 1, "amount": 2.5}, {"id": 2, "amount": 4.0}])})
    (tmp_path / ".git").mkdir()
    (tmp_path / "sources").mkdir()
    path = tmp_path / "sources" / "exports.yaml"
    path.write_text(DEFINITION.format(bucket=bucket, endpoint=s3_server.endpoint), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    monkeypatch.setenv("BUCKET_KEY_ID", s3_server.access_key_id)
    monkeypatch.setenv("BUCKET_SECRET", s3_server.secret_access_key)

    assert main(["validate"]) == 0
    capsys.readouterr()
    assert main(["discover", "exports"]) == 0
    out = capsys.readouterr().out
    assert "orders/2026-01.parquet" in out and "-> orders" in out, out
    assert "amount" in out and "number" in out

    assert main(["plan"]) == 1
    out = capsys.readouterr().out
    assert "sources/exports.yaml:14:14: the globs of stream 'missing' match no object in the bucket" in out, out

    path.write_text(path.read_text().split("    - name: missing")[0], encoding="utf-8")
    assert main(["apply", "--auto-approve"]) == 0
    out = capsys.readouterr().out
    assert "orders: 2 records sampled, 0 with type violations" in out, out

    # An unchanged bucket (same keys, sizes and ETags) is recognised from one listing: no connector starts.
    from bmad_gitops.connectors.pyairbyte.backend import PyAirbyteBackend

    started: list[str] = []
    real_discover = PyAirbyteBackend.discover

    def counted(self: PyAirbyteBackend, config: dict[str, object]) -> object:
        started.append(self.connector)
        return real_discover(self, config)

    monkeypatch.setattr(PyAirbyteBackend, "discover", counted)
    assert main(["plan", "--detailed-exitcode"]) == 0
    assert started == [] and "No changes" in capsys.readouterr().out

    s3_server.put(bucket, {"orders/2026-02.parquet": parquet([{"id": 3, "amount": 1.0, "country": "GB"}])})
    assert main(["plan", "--detailed-exitcode"]) == 2
    assert started == ["source-s3"]  # a new object: the connector infers the schema again
    out = capsys.readouterr().out
    assert "+ orders.country  string    (expansion)" in out, out
    assert s3_server.secret_access_key not in out
