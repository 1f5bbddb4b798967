"""A canary password inside a URL (`https://user:${VAR}@host`) never leaves the tool: not in output, errors, state,
plan files or logs, even when the API is unreachable and the connector's errors quote the URL."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from bmad_gitops.cli import main

CANARY = "canary-Url9-pw"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_password_inside_a_url_is_a_secret_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "people.yaml").write_text(
        "type: api\n"
        "connector: source-declarative-manifest\n"
        "config:\n"
        f'  base_url: "http://bot:${{API_PW}}@127.0.0.1:{closed_port()}/v1"\n'
        "  timeout: 2\n"
        "  max_retries: 0\n"
        "  endpoints:\n"
        "    - {name: users, path: /users, columns: {id: integer}}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("API_PW", CANARY)
    monkeypatch.setenv("NO_COLOR", "1")
    outputs = []
    for command in (
        ["validate"],
        ["plan"],
        ["plan", "--format", "json", "--out", "p.json"],
        ["plan", "--format", "markdown"],
        ["check", "people"],
        ["discover", "people", "--sample", "1"],
        ["apply", "--auto-approve"],
    ):
        main(command)
        captured = capfd.readouterr()
        outputs.append(captured.out + captured.err)
    assert "users" in outputs[1]  # declared columns: the plan shows the stream without asking the API
    for command, text in zip(("validate", "plan", "json", "markdown", "check", "discover", "apply"), outputs, strict=True):
        assert CANARY not in text, command
    leaks = [p for p in tmp_path.rglob("*") if p.is_file() and CANARY.encode() in p.read_bytes()]
    assert leaks == []
    logs = Path.home() / ".cache" / "bmad-gitops" / "logs"
    for log in logs.glob("*.log") if logs.is_dir() else ():
        assert CANARY not in log.read_text(errors="replace"), log
