"""Fixtures for the end-to-end plan/apply tests: one applied project built once, copied fresh for each test.

Every connector start costs seconds, so the module builds and applies one baseline project (three file sources) and
each test gets a byte-for-byte copy of it, discovery cache included. The copy always lives at the same absolute
path, because the discovery cache key includes each local file's absolute path: a copy anywhere else would start
every connector again (see test_plan_apply.py::test_a_moved_project_reuses_its_discovery_cache).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bmad_gitops.cli import main

REPO = Path(__file__).resolve().parents[2]

RunCli = Callable[..., tuple[int, str, str]]


@dataclass(frozen=True)
class Baseline:
    """An applied project: `work` is where each test's copy lives, `golden` the pristine copy."""

    work: Path
    golden: Path
    connector_version: str

    def state_bytes(self, name: str) -> bytes:
        return (self.golden / "state" / f"{name}.json").read_bytes()


def make_project(root: Path) -> None:
    """customers (CSV), api_logs (JSONL) and sales (the Excel workbook, every sheet a stream), plus the stories."""
    (root / "sources").mkdir(parents=True)
    shutil.copytree(REPO / "data", root / "data")
    for name in ("customers", "api_logs"):
        shutil.copy(REPO / "sources" / f"{name}.yaml", root / "sources" / f"{name}.yaml")
    # The repo's sales.yaml picks sheets and declares streams; without both, a new sheet is a new stream (drift).
    sales = yaml.safe_load((REPO / "sources" / "sales.yaml").read_text(encoding="utf-8"))
    sales["config"].pop("format_options", None)
    sales.pop("streams", None)
    (root / "sources" / "sales.yaml").write_text(yaml.safe_dump(sales, sort_keys=False), encoding="utf-8")
    # Definitions name BMad stories, and validate refuses ids it cannot find.
    shutil.copytree(REPO / ".bmad-core", root / ".bmad-core")
    shutil.copytree(REPO / "docs" / "stories", root / "docs" / "stories")
    subprocess.run(["git", "init", "-q", str(root)], check=True)


@contextlib.contextmanager
def _inside(folder: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    from bmad_gitops.connectors.pyairbyte.install import ensure_installed
    from bmad_gitops.connectors.registry import entry

    version = ensure_installed("source-file", entry("source-file").pinned)
    root = tmp_path_factory.mktemp("plan_apply")
    work, golden = root / "project", root / "golden"
    make_project(work)
    out, err = io.StringIO(), io.StringIO()
    with _inside(work), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["apply", "--auto-approve"])
    assert code == 0, out.getvalue() + err.getvalue()
    assert sorted(p.name for p in (work / "state").iterdir()) == ["api_logs.json", "customers.json", "sales.json"]
    shutil.copytree(work, golden, symlinks=True)
    return Baseline(work=work, golden=golden, connector_version=version)


@pytest.fixture
def live_project(baseline: Baseline, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the applied baseline as the working directory (copytree keeps mtimes: the cache stays warm)."""
    if baseline.work.exists():
        shutil.rmtree(baseline.work)
    shutil.copytree(baseline.golden, baseline.work, symlinks=True)
    for name in ("DATA_DIR", "CANARY_SECRET", "BMAD_GITOPS_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(baseline.work)
    return baseline.work


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> RunCli:
    """`bmad-gitops ARGS...` in-process: (exit code, stdout, stderr)."""

    def invoke(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke
