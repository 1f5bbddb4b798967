"""A real service for each test module: a throwaway git project (customers.csv and its definition), API keys of
every kind, uvicorn on a free loopback port in a thread, and httpx clients. Stopped at the module's end."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
import uvicorn

from bmad_gitops.service.app import create_app
from bmad_gitops.service.auth import KeyStore
from bmad_gitops.service.features import set_feature
from bmad_gitops.service.settings import MIB, ServiceSettings

from .pg import PgServer

REPO = Path(__file__).resolve().parents[2]
CANARY = "Canary@Pw:9d2/q'x\"%zz"  # must never appear in a response, log line or file

GIT_ENV = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True, env={**os.environ, **GIT_ENV})
    return done.stdout.strip()


def make_project(root: Path, warm_from: Path | None = None) -> Path:
    """A git project with customers.csv and its definition; `warm_from` lends its discovery and sample caches
    (keys do not depend on where a project lives), so a test does not pay a connector start for known data."""
    (root / "sources").mkdir(parents=True)
    (root / "data").mkdir()
    shutil.copy(REPO / "data" / "customers.csv", root / "data" / "customers.csv")
    shutil.copy(REPO / "sources" / "customers.yaml", root / "sources" / "customers.yaml")
    text = (root / "sources" / "customers.yaml").read_text(encoding="utf-8")
    (root / "sources" / "customers.yaml").write_text(text.replace('stories: ["1.1", "1.2"]\n', ""), encoding="utf-8")
    (root / ".gitignore").write_text(".bmad-gitops/\n", encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "seed")
    set_feature(root, "pyairbyte_integration", True)
    if warm_from is not None and (warm_from / ".bmad-gitops" / "cache").is_dir():
        shutil.copytree(warm_from / ".bmad-gitops" / "cache", root / ".bmad-gitops" / "cache")
    return root


@dataclass(frozen=True)
class Keys:
    admin: str
    reader: str
    writer: str
    revoked: str
    unmasked: str
    unknown: str = "bgk_" + "x" * 43


def make_keys(path: Path) -> Keys:
    store = KeyStore(path)
    keys = Keys(
        admin=store.create("admin", ["admin"]),
        reader=store.create("reader", ["data_read"]),
        writer=store.create("writer", ["data_write"]),
        revoked=store.create("gone", ["admin"]),
        unmasked=store.create("clear", ["data_read", "data_read_unmasked"]),
    )
    store.revoke("gone")
    return keys


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, attempts: int = 400) -> bool:
    """Poll `url`/health until it answers 200 (a server started in another process); False if it never does."""
    for _ in range(attempts):
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            time.sleep(0.05)
    return False


def demo_key(root: Path) -> str:
    """A data_read key named `demo`, created with the real `keys create` command in the project."""
    from click.testing import CliRunner

    from bmad_gitops.service.commands import keys

    cwd = os.getcwd()
    os.chdir(root)
    try:
        return str(CliRunner().invoke(keys, ["create", "--name", "demo", "--scopes", "data_read"]).stdout.strip().splitlines()[0])
    finally:
        os.chdir(cwd)


@dataclass(frozen=True)
class Running:
    root: Path
    url: str
    keys: Keys
    settings: ServiceSettings

    def client(self, key: str | None = None, timeout: float = 120) -> httpx.Client:
        headers = {"X-API-Key": key} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def audit_lines(self) -> list[str]:
        path = self.settings.audit_path(self.root)
        return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


@contextlib.contextmanager
def serve(root: Path, settings: ServiceSettings) -> Iterator[Running]:
    keys = make_keys(settings.keys_path(root))
    port = free_port()
    settings = replace(settings, port=port)
    server = uvicorn.Server(uvicorn.Config(create_app(root, settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the service did not start")
        time.sleep(0.02)
    try:
        yield Running(root, f"http://127.0.0.1:{port}", keys, settings)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def default_settings(**overrides: object) -> ServiceSettings:
    base = ServiceSettings(workers=2, timeout_s=90, max_upload_bytes=2 * MIB, max_unzipped_bytes=20 * MIB, env={"PATH": os.environ.get("PATH", "")})
    return replace(base, **overrides)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def service_postgres() -> Iterator[PgServer]:
    from .pg import postgres_for_service

    with postgres_for_service() as server:
        yield server


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    root = make_project(tmp_path_factory.mktemp("svc"))
    with serve(root, default_settings()) as running:
        yield running
