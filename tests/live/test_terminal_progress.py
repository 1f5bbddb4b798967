"""On a terminal, a cold `plan` names the source being discovered and `apply` reports sources as they finish
(a real pseudo-terminal, a real connector); in a pipe the output stays plain."""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent / "bmad-gitops"
pytestmark = pytest.mark.live


def on_a_terminal(args: list[str], cwd: Path, timeout: float = 300) -> tuple[int, str]:
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update(TERM="xterm-256color", COLUMNS="120")
    child = subprocess.Popen(args, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif child.poll() is not None:
            break
    code = child.wait(timeout=30)
    os.close(master)
    return code, b"".join(chunks).decode("utf-8", errors="replace")


def test_progress_on_a_terminal(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    shutil.copytree(REPO / "data", tmp_path / "data")
    (tmp_path / "sources").mkdir()
    shutil.copy(REPO / "sources" / "customers.yaml", tmp_path / "sources" / "customers.yaml")
    (tmp_path / "schemas").symlink_to(REPO / "schemas")
    shutil.copytree(REPO / "docs" / "stories", tmp_path / "docs" / "stories")
    shutil.copytree(REPO / ".bmad-core", tmp_path / ".bmad-core")

    code, screen = on_a_terminal([str(BIN), "plan"], tmp_path)
    assert code == 0, screen
    assert "discovering customers" in screen, screen
    assert "customers (file, source-file" in screen and "Plan: 1 to add" in screen

    code, screen = on_a_terminal([str(BIN), "apply", "--auto-approve"], tmp_path)
    assert code == 0, screen
    assert "applying 1 source(s)" in screen, screen

    piped = subprocess.run([str(BIN), "plan"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert "\x1b[" not in piped.stdout + piped.stderr  # no escape codes in logs
