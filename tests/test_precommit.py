"""The pre-commit hook, run for real: the `pre-commit` next to this Python, real git repos in tmp dirs.

The hook repository is a snapshot of the working tree (tracked plus untracked-not-ignored files), so the test
exercises the code as it is now, not as of the last commit. One PRE_COMMIT_HOME serves the whole module because
installing a hook environment takes seconds.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
PRE_COMMIT = Path(sys.executable).with_name("pre-commit")
HOOK_ID = "bmad-gitops-validate"

PLAINTEXT_PASSWORD = """\
# a database whose password was pasted in by mistake
type: database
connector: source-postgres
config:
  host: db.internal
  port: 5432
  database: shop
  password: hunter2
  username: reader
"""
# the line and column of `hunter2` above
PLAINTEXT_PASSWORD_AT = "sources/x.yaml:8:13: error[BG200]"

GOOD_SOURCE = """\
# customers, exported nightly
type: file
connector: source-file
format: csv
description: Customer master data.
owner: data-team
config:
  dataset_name: customers
  format: csv
  url: data/customers.csv
  provider:
    storage: local
streams:
  - name: customers
    primary_key: [customer_id]
on_drift: warn
"""


def git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)


def init_repo(path: Path) -> None:
    git(path, "init", "-q")
    git(path, "config", "user.name", "bmad-gitops tests")
    git(path, "config", "user.email", "tests@example.com")
    git(path, "config", "commit.gpgsign", "false")


def snapshot_working_tree(dest: Path) -> str:
    """Copy the project's tracked and untracked-not-ignored files into a new git repo at `dest`; return its commit."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in sorted(set(filter(None, listed.split("\0")))):
        source = PROJECT / name
        target = dest / name
        if not os.path.lexists(source):  # tracked but deleted in the working tree
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():  # `schemas` is a link into the package
            os.symlink(os.readlink(source), target)
        else:
            shutil.copy2(source, target)
    init_repo(dest)
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "--no-verify", "-m", "snapshot of the working tree")
    return git(dest, "rev-parse", "HEAD").stdout.strip()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment for pre-commit and git: a private PRE_COMMIT_HOME, and no dev venv on PATH.

    Without the dev venv on PATH, a hook that fails to install bmad-gitops cannot borrow its console script.
    """
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != venv_bin)
    result = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PRE_COMMIT")}
    result.update(PATH=path, PRE_COMMIT_HOME=str(tmp_path_factory.mktemp("pre-commit-home")), PRE_COMMIT_COLOR="never")
    return result


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("hook-repo")
    return path, snapshot_working_tree(path)


@pytest.fixture(scope="module")
def installed_hook(hook_repo: tuple[Path, str], env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Install the hook environment once for the module; return the venv pre-commit built for it."""
    repo, sha = hook_repo
    consumer = tmp_path_factory.mktemp("install")
    init_repo(consumer)
    write_config(consumer, repo, sha)
    done = run_pre_commit(consumer, env, "install-hooks")
    assert done.returncode == 0, done.stdout
    with sqlite3.connect(Path(env["PRE_COMMIT_HOME"]) / "db.db") as db:
        (store,) = db.execute("SELECT path FROM repos WHERE repo = ? AND ref = ?", (str(repo), sha)).fetchone()
    (venv,) = Path(store).glob("py_env-*")
    return venv


@pytest.fixture
def consumer(tmp_path: Path, hook_repo: tuple[Path, str], env: dict[str, str], installed_hook: Path) -> Path:
    """A repository that uses the hook, with `pre-commit install` done and a data file committed."""
    repo, sha = hook_repo
    init_repo(tmp_path)
    write_config(tmp_path, repo, sha)
    (tmp_path / "sources").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "customers.csv").write_text("customer_id,email\n1,a@example.com\n", encoding="utf-8")
    done = run_pre_commit(tmp_path, env, "install")
    assert done.returncode == 0, done.stdout
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "set up")
    return tmp_path


def write_config(repo_dir: Path, hook_repo: Path, sha: str) -> None:
    (repo_dir / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hook_repo}\n    rev: {sha}\n    hooks:\n      - id: {HOOK_ID}\n", encoding="utf-8"
    )


def run_pre_commit(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    assert PRE_COMMIT.is_file(), f"{PRE_COMMIT} is missing: install the dev extra"
    return subprocess.run(
        [str(PRE_COMMIT), *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def commit(repo_dir: Path, env: dict[str, str], message: str) -> subprocess.CompletedProcess[str]:
    git(repo_dir, "add", "-A")
    return subprocess.run(
        ["git", "commit", "-m", message],
        cwd=repo_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def commit_count(repo_dir: Path) -> int:
    return int(git(repo_dir, "rev-list", "--count", "HEAD").stdout)


def test_commit_with_plaintext_password_is_refused(consumer: Path, env: dict[str, str]) -> None:
    (consumer / "sources" / "x.yaml").write_text(PLAINTEXT_PASSWORD, encoding="utf-8")
    done = commit(consumer, env, "add x")
    assert done.returncode != 0, done.stdout
    assert PLAINTEXT_PASSWORD_AT in done.stdout
    assert "hunter2" not in done.stdout  # the secret itself is never echoed
    assert commit_count(consumer) == 1


def test_commit_with_valid_source_succeeds(consumer: Path, env: dict[str, str]) -> None:
    (consumer / "sources" / "x.yaml").write_text(GOOD_SOURCE, encoding="utf-8")
    done = commit(consumer, env, "add x")
    assert done.returncode == 0, done.stdout
    assert "bmad-gitops validate" in done.stdout and "Passed" in done.stdout
    assert commit_count(consumer) == 2


def test_hook_env_has_core_dependencies_only(installed_hook: Path) -> None:
    (site_packages,) = installed_hook.glob("lib/python*/site-packages")
    installed = {p.name.lower() for p in site_packages.iterdir()}
    assert "bmad_gitops" in installed and "yaml" in installed and "fastjsonschema" in installed
    heavy = sorted(n for n in installed if n.split("-")[0] in ("airbyte", "airbyte_cdk", "pandas"))
    assert heavy == [], f"the hook env pulled in the live extra: {heavy}"


def test_own_pre_commit_config_passes(hook_repo: tuple[Path, str], env: dict[str, str]) -> None:
    """This repository's `.pre-commit-config.yaml`, run in a copy of the project as a fresh clone would."""
    repo, _ = hook_repo
    done = run_pre_commit(repo, env, "run", "--all-files", HOOK_ID)
    assert done.returncode == 0, done.stdout
    assert "Passed" in done.stdout
