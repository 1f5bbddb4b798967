"""Keys (hash only, 0600, expiry, rotation with grace), the audit log's rotation, the rate limit (429 +
Retry-After), body caps, and connector workers that hang or die failing only their own request."""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import stat
import time
from pathlib import Path

import pytest

from bmad_gitops.errors import UsageError
from bmad_gitops.service.audit import AuditLog
from bmad_gitops.service.auth import KeyStore, parse_scopes
from bmad_gitops.service.workers import WorkerCrashed, WorkerSlots, WorkerTimeout

from .conftest import Running, default_settings, make_project, serve

API = "/api/v1/data-sources"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)

    def __call__(self) -> datetime.datetime:
        return self.now


def test_keys_are_stored_as_salted_hashes_in_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    store = KeyStore(path)
    key = store.create("agent", ["data_read"])
    assert key not in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert store.authenticate(key) is not None
    assert store.authenticate(key + "x") is None
    with pytest.raises(UsageError):
        store.create("agent", ["data_read"])
    with pytest.raises(UsageError):
        parse_scopes("data_read,root")


def test_expiry_and_rotation_with_grace(tmp_path: Path) -> None:
    clock = Clock()
    store = KeyStore(tmp_path / "keys.json", clock)
    short = store.create("short", ["data_read"], expires_in_days=1)
    old = store.create("rotating", ["admin"])
    new = store.rotate("rotating", grace_hours=2)
    assert store.authenticate(old) is not None and store.authenticate(new) is not None
    clock.now += datetime.timedelta(hours=3)
    assert store.authenticate(old) is None
    assert store.authenticate(new) is not None
    clock.now += datetime.timedelta(days=1)
    assert store.authenticate(short) is None
    store.revoke("rotating")
    assert store.authenticate(new) is None


def test_audit_log_rotates_by_size(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl", max_bytes=2000, backups=2)
    for _ in range(60):
        log.record(key="k", client="127.0.0.1", endpoint="GET /x", outcome="ok", status=200)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["audit.jsonl", "audit.jsonl.1", "audit.jsonl.2", "audit.jsonl.lock"]  # the lock rotation is taken under
    for path in tmp_path.iterdir():
        assert path.stat().st_size <= 2000
        assert all(json.loads(line)["key"] == "k" for line in path.read_text().splitlines())


def test_hanging_and_crashing_workers_fail_only_their_request() -> None:
    async def scenario() -> None:
        slots = WorkerSlots(2, timeout_s=30)
        try:
            hang = asyncio.create_task(slots.run(time.sleep, 30, timeout_s=1.0))
            crash = asyncio.create_task(slots.run(os._exit, 3))
            with pytest.raises(WorkerCrashed):
                await crash
            with pytest.raises(WorkerTimeout):
                await hang
            assert await slots.run(pow, 2, 10) == 1024  # both slots came back
            assert await slots.run(pow, 3, 2) == 9
        finally:
            slots.shutdown()

    asyncio.run(scenario())


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    with serve(root, default_settings(requests_per_minute=3, workers=1)) as service, service.client(service.keys.reader) as client:
        statuses = [client.get(f"{API}/connectors") for _ in range(4)]
        assert [r.status_code for r in statuses] == [200, 200, 200, 429]
        assert 1 <= int(statuses[-1].headers["Retry-After"]) <= 60
        with service.client(service.keys.admin) as other:  # the limit is per key
            assert other.get(f"{API}/connectors").status_code == 200
        assert json.loads(service.audit_lines()[-2])["status"] == 429


def test_request_body_cap(service: Running) -> None:
    big = {"source": "customers", "connector_type": None, "config": {"x": "y" * (service.settings.max_body_bytes + 10)}}
    with service.client(service.keys.reader) as client:
        response = client.post(f"{API}/discover", json=big)
    assert response.status_code == 413
    assert json.loads(service.audit_lines()[-1])["status"] == 413


def test_docs_work_offline(service: Running) -> None:
    with service.client() as client:
        page = client.get("/docs")
        assert page.status_code == 200
        assert "cdn" not in page.text.lower() and "jsdelivr" not in page.text.lower()
        assert client.get("/openapi.json").json()["info"]["title"] == "bmad-gitops service"


def _append_lines(path: str, who: str, count: int) -> None:
    log = AuditLog(Path(path), max_bytes=20_000, backups=80)
    for index in range(count):
        log.record(key=who, client="127.0.0.1", endpoint=f"GET /x/{index}", outcome="ok", status=200)


def test_audit_log_shared_by_processes_rotates_without_losing_a_line(tmp_path: Path) -> None:
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_lines, args=(str(tmp_path / "audit.jsonl"), f"p{n}", 400)) for n in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    files = [p for p in tmp_path.iterdir() if p.name.startswith("audit.jsonl") and not p.name.endswith(".lock")]
    assert len(files) > 10  # it did rotate, many times, from three processes at once
    lines = [json.loads(line) for f in files for line in f.read_text(encoding="utf-8").splitlines()]
    assert sorted((line["key"], line["endpoint"]) for line in lines) == sorted((f"p{n}", f"GET /x/{i}") for n in range(3) for i in range(400))
    assert all(f.stat().st_size <= 21_000 for f in files)  # a line or two may land just after another process rotated
