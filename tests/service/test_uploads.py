"""Hostile uploads: names that try to leave the folder, oversized bodies, content that lies about its type, a zip
bomb dressed as a workbook, and races on one name. Nothing lands outside data/uploads/, nothing half-written."""

from __future__ import annotations

import io
import socket
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .conftest import Running

API = "/api/v1/data-sources"
CSV = b"id,name,email\n1,Ada,ada@example.com\n2,Grace,grace@example.com\n"


def _files_outside_uploads(root: Path, before: set[Path]) -> set[Path]:
    now = {p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts and ".bmad-gitops" not in p.parts}
    return {p for p in now - before if "uploads" not in p.parts}


def _snapshot(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts and ".bmad-gitops" not in p.parts}


def _uploads(root: Path) -> list[Path]:
    folder = root / "data" / "uploads"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def post(service: Running, filename: str, content: bytes, form: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
    with service.client(service.keys.writer) as client:
        data = {"suggest": "false", **(form or {})}  # suggestions start a connector; one test asks for them
        response = client.post(f"{API}/upload", files={"file": (filename, content, "application/octet-stream")}, data=data)
    return response.status_code, response.json()


@pytest.mark.parametrize(
    "name",
    ["../../escape.csv", "/etc/passwd.csv", "..\\..\\win.csv", "a\x00b.csv", "line\nbreak.csv", "....csv", ""],
)
def test_hostile_names_stay_in_the_uploads_folder(service: Running, name: str) -> None:
    before = _snapshot(service.root)
    for filename, form in ((name or "x.csv", None), ("x.csv", {"name": name} if name else None)):
        status, body = post(service, filename, CSV, form)
        assert status == 200, body
        stored = service.root / str(body["path"])
        assert stored.parent == service.root / "data" / "uploads"
        assert stored.read_bytes() == CSV
        assert "\x00" not in stored.name and "\n" not in stored.name and ".." not in stored.name
    assert not _files_outside_uploads(service.root, before)
    assert not (service.root.parent / "escape.csv").exists()


def test_suggested_definition_is_discovered(service: Running) -> None:
    status, body = post(service, "people.csv", CSV, {"suggest": "true"})
    assert status == 200
    suggestion = body["suggested_definition"]
    assert isinstance(suggestion, dict)
    assert suggestion["config"]["url"] == body["path"]
    columns = {c for s in suggestion["streams"] for c in s.get("columns", {})}
    assert {"id", "name", "email"} <= columns


def test_oversized_body_is_refused_without_filling_the_disk(service: Running) -> None:
    limit = service.settings.max_upload_bytes
    before = _uploads(service.root)
    status, _ = post(service, "big.csv", b"a,b\n" + b"1,2\n" * (limit // 4 + 64 * 1024))
    assert status == 413
    assert _uploads(service.root) == before


def test_a_lying_content_length_is_cut_off(service: Running) -> None:
    """Chunked upload with no Content-Length: the server stops reading at the cap."""
    limit = service.settings.max_upload_bytes
    before = _uploads(service.root)
    boundary = "bnd"
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.csv"\r\n\r\n'.encode()

    def body() -> Iterator[bytes]:
        yield head + b"a,b\n"
        for _ in range((limit // (256 * 1024)) + 8):
            yield b"1,2\n" * (64 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    with service.client(service.keys.writer) as client:
        response = client.post(f"{API}/upload", content=body(), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert response.status_code == 413
    assert _uploads(service.root) == before


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("image.csv", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200),
        ("data.xlsx", b"id,name\n1,a\n2,b\n"),
        ("notes.json", b"this is not json at all\nreally not\n"),
        ("fake.parquet", b"PAR1 but not at the end"),
        ("table.csv", b'{"a": 1}\n{"a": 2}\n'),
        ("plain.zip.xlsx", b"PK\x03\x04 broken zip"),
    ],
)
def test_wrong_content_behind_a_right_extension(service: Running, name: str, content: bytes) -> None:
    before = _uploads(service.root)
    status, body = post(service, name, content)
    assert status in (415, 422), body
    assert _uploads(service.root) == before


def test_zip_bomb_renamed_xlsx_is_refused(service: Running) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * (50 * 1024 * 1024))  # 50 MiB of zeros, ~50 KiB packed
    before = _uploads(service.root)
    status, body = post(service, "report.xlsx", buffer.getvalue())
    assert status == 413, body
    assert "zip bomb" in str(body["error"])
    assert _uploads(service.root) == before


def test_a_zip_that_is_not_a_workbook_is_refused(service: Running) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    status, _ = post(service, "book.xlsx", buffer.getvalue())
    assert status == 415


def test_real_formats_are_recognised(service: Running) -> None:
    assert post(service, "x.jsonl", b'{"a": 1}\n{"a": 2}\n')[1]["format"] == "jsonl"
    assert post(service, "x.json", b'[{"a": 1}, {"a": 2}]')[1]["format"] == "json"
    assert post(service, "x.parquet", b"PAR1" + b"\x01" * 32 + b"PAR1")[1]["format"] == "parquet"
    workbook = Path(__file__).resolve().parents[2] / "data" / "sales.xlsx"
    status, body = post(service, "sales.xlsx", workbook.read_bytes())
    assert (status, body["format"]) == (200, "excel")


def test_concurrent_uploads_of_one_name(service: Running) -> None:
    before = set(_uploads(service.root))
    contents = [CSV + f"{i},x{i},x{i}@example.com\n".encode() for i in range(3, 11)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda c: post(service, "same.csv", c), contents))
    assert all(status == 200 for status, _ in results)
    paths = {str(body["path"]) for _, body in results}
    assert len(paths) == len(contents)
    stored = {(service.root / p).read_bytes() for p in paths}
    assert stored == set(contents)
    leftovers = [p for p in set(_uploads(service.root)) - before if p.name.startswith(".") or p.suffix == ".part"]
    assert not leftovers


def test_interrupted_upload_leaves_nothing(service: Running) -> None:
    before = _uploads(service.root)
    host, port = service.url.removeprefix("http://").split(":")
    head = (
        f"POST {API}/upload HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {service.keys.writer}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n"
        '--b\r\nContent-Disposition: form-data; name="file"; filename="cut.csv"\r\n\r\nid,name\n1,a\n'
    ).encode()
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(head)
    with service.client(service.keys.reader) as client:  # the server is still there
        assert client.get(f"{API}/connectors").status_code == 200
    assert [p for p in _uploads(service.root) if p not in before and p.suffix == ".part"] == []
