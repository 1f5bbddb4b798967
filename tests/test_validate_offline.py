"""validate stays offline and light: it never imports airbyte, pandas or pydantic, and opens no socket."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

PROBE = """
import socket, sys
def refuse(*args, **kwargs):
    raise SystemExit("validate tried to open a network connection")
socket.socket.connect = refuse
socket.create_connection = refuse
from bmad_gitops.cli import main
code = main(["validate"])
heavy = sorted(m for m in ("airbyte", "pandas", "pydantic", "duckdb") if m in sys.modules)
print("heavy:", heavy)
raise SystemExit(code)
"""


def test_validate_imports_nothing_heavy_and_stays_offline(tmp_path: Path) -> None:
    for folder in ("sources", "data", "docs", ".bmad-core"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    (tmp_path / ".git").mkdir()
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 files valid." in done.stdout
    assert "heavy: []" in done.stdout
