"""The click commands the CLI registers: keys create/list/revoke/rotate and serve, started for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from bmad_gitops.service.commands import default_processes, keys, serve

from .conftest import demo_key, free_port, make_project, wait_healthy


def test_keys_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path / "p")
    monkeypatch.chdir(root)
    runner = CliRunner()
    created = runner.invoke(keys, ["create", "--name", "agent", "--scopes", "data_read,data_write", "--expires-in", "30"])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[0]
    assert key.startswith("bgk_")
    stored = (root / ".bmad-gitops" / "service" / "keys.json").read_text()
    assert key not in stored
    listing = runner.invoke(keys, ["list"]).output
    assert "agent" in listing and key not in listing
    rotated = runner.invoke(keys, ["rotate", "agent", "--grace-hours", "1"])
    assert rotated.exit_code == 0 and rotated.stdout.strip().splitlines()[0] != key
    assert "previous key valid until" in runner.invoke(keys, ["list"]).output
    assert runner.invoke(keys, ["revoke", "agent"]).exit_code == 0
    assert "revoked" in runner.invoke(keys, ["list"]).output
    bad = runner.invoke(keys, ["create", "--name", "x", "--scopes", "root"])
    assert bad.exit_code != 0


def test_serve_starts_answers_and_stops(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    key = demo_key(root)
    port = free_port()
    code = "from bmad_gitops.service.commands import serve; serve()"
    server = subprocess.Popen([sys.executable, "-c", code, "--port", str(port)], cwd=root, stderr=subprocess.PIPE, text=True)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", 200)
        listed = httpx.get(f"http://127.0.0.1:{port}/api/v1/data-sources/config", headers={"X-API-Key": key}, timeout=10)
        assert listed.status_code == 200
        assert [s["name"] for s in listed.json()["sources"]] == ["customers"]
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert key not in err
    assert err.count("Started server process") == default_processes() == min(os.cpu_count() or 1, 4), err


def test_serve_with_several_processes_shares_one_rate_limit_and_one_audit_log(tmp_path: Path) -> None:
    """`serve --processes 2`: two server processes on one port; new connections land on either, and they spend
    one budget per key (the rate limit) and append to one audit log, line by line."""
    root = make_project(tmp_path / "p")
    key = demo_key(root)
    port = free_port()
    code = "from bmad_gitops.service.commands import serve; serve()"
    command = [sys.executable, "-c", code, "--port", str(port), "--processes", "2", "--rate", "20"]
    server = subprocess.Popen(command, cwd=root, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/api/v1/data-sources/connectors"
    try:
        wait_healthy(f"http://127.0.0.1:{port}", 400)
        statuses = []
        for _ in range(40):  # a new connection each time: the kernel hands them to either process
            with httpx.Client(headers={"X-API-Key": key}, timeout=10) as client:
                statuses.append(client.get(url).status_code)
        # a burst of 20, plus at most one token refilled (20 a minute) while the 40 requests run
        assert 20 <= statuses.count(200) <= 21 and statuses.count(429) == 40 - statuses.count(200), statuses
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert err.count("Started server process") == 2, err
    lines = (root / ".bmad-gitops" / "service" / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(line)["status"] for line in lines) == sorted(statuses)
    assert key not in err


def test_a_keys_file_outside_the_project_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path / "p")
    monkeypatch.chdir(root)
    outside = tmp_path / "elsewhere" / "keys.json"
    created = CliRunner().invoke(keys, ["create", "--name", "agent", "--scopes", "data_read", "--keys-file", str(outside)])
    assert created.exit_code != 0 and "outside the project root" in str(created.exception or created.output)
    assert not outside.parent.exists()
    (root / ".bmad-gitops").mkdir(exist_ok=True)
    (tmp_path / "elsewhere").mkdir()
    (root / ".bmad-gitops" / "service").symlink_to(tmp_path / "elsewhere")  # the default path, through a link
    linked = CliRunner().invoke(keys, ["create", "--name", "agent", "--scopes", "data_read"])
    assert linked.exit_code != 0 and not (tmp_path / "elsewhere" / "keys.json").exists()


def test_allowed_hosts_come_from_the_flag_or_the_project_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bmad_gitops.service import serving
    from bmad_gitops.service.settings import ServiceSettings

    root = make_project(tmp_path / "p")
    demo_key(root)
    monkeypatch.chdir(root)
    started: list[ServiceSettings] = []
    monkeypatch.setattr(serving, "run", lambda _root, settings, _processes: started.append(settings))  # not started
    (root / "bmad-gitops.yaml").write_text("service:\n  allowed_hosts: [db.internal, 'api.internal:8443']\n", encoding="utf-8")

    assert CliRunner().invoke(serve, []).exit_code == 0
    assert CliRunner().invoke(serve, ["--allow-host", "other:5432"]).exit_code == 0

    assert [s.allowed_hosts for s in started] == [("db.internal", "api.internal:8443"), ("other:5432",)]
    (root / "bmad-gitops.yaml").write_text("service:\n  allowed_hosts: db.internal\n", encoding="utf-8")
    refused = CliRunner().invoke(serve, [])
    assert refused.exit_code != 0 and len(started) == 2  # a string where a list belongs: the settings file is refused
