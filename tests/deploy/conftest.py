"""Deploy fixtures: the contract (parsed once per session), a loopback Airbyte, and a project pointing at it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from airbyte_contract import AirbyteContractServer, Contract, load_contract, serve

WORKSPACE = "744cc0ed-7f05-4949-9e60-2a814f90c035"
DESTINATION = "e478de0d-a3a0-475c-b019-25f7dd29e281"
CANARY = "canary-7f3a9c1e-never-print-me"

CUSTOMERS = """type: file
connector: source-file
format: csv
description: Customer master data.
config:
  dataset_name: customers
  format: csv
  url: data/customers.csv
  provider:
    storage: local
  format_options:
    delimiter: ","
streams:
  - name: customers
    primary_key: [customer_id]
    cursor: created_at
"""

ORDERS_DB = """type: database
connector: source-postgres
description: The shop's database.
config:
  host: db.internal
  port: 5432
  database: shop
  username: reader
  password: "${PG_PASSWORD}"
  ssl_mode: prefer
"""


@pytest.fixture(scope="session")
def contract() -> Contract:
    return load_contract()


@pytest.fixture
def airbyte(contract: Contract) -> Iterator[AirbyteContractServer]:
    with serve(contract, workspace_id=WORKSPACE, destination_id=DESTINATION) as server:
        yield server
    assert not server.violations, server.violations  # the server itself must keep to the contract


def write_settings(root: Path, url: str, *, destination: bool = True, prefix: str | None = None) -> None:
    lines = ["deploy:", "  airbyte:", f"    api_url: {url}", f"    workspace_id: {WORKSPACE}"]
    if destination:
        lines.append(f"    destination_id: {DESTINATION}")
    if prefix is not None:
        lines.append(f"    name_prefix: '{prefix}'")
    (root / "bmad-gitops.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def deploy_project(project: Path, airbyte: AirbyteContractServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shared `project` (cwd, data/customers.csv) with a CSV source, a PostgreSQL source whose password is
    the canary, and settings pointing at the loopback Airbyte."""
    write_settings(project, airbyte.url)
    (project / "sources" / "customers.yaml").write_text(CUSTOMERS, encoding="utf-8")
    (project / "sources" / "orders_db.yaml").write_text(ORDERS_DB, encoding="utf-8")
    monkeypatch.setenv("PG_PASSWORD", CANARY)
    monkeypatch.setenv("AIRBYTE_CLIENT_ID", airbyte.client_id)
    monkeypatch.setenv("AIRBYTE_CLIENT_SECRET", airbyte.client_secret)
    monkeypatch.delenv("AIRBYTE_API_TOKEN", raising=False)
    return project
