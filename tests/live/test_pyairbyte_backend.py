"""The PyAirbyte backend against the real source-file connector and the sample files in data/.

Each connector call starts a process (about 4 s). The connector venv lives in the shared cache, so only the first
run on a machine installs it. Assertions are on exact records: an empty read is a known PyAirbyte failure mode.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from bmad_gitops.catalog import Catalog
from bmad_gitops.connectors.pyairbyte.backend import PyAirbyteBackend
from bmad_gitops.connectors.pyairbyte.install import ensure_installed, installed_version
from bmad_gitops.connectors.registry import entry
from bmad_gitops.errors import ConnectorError

pytestmark = pytest.mark.live

PINNED = entry("source-file").pinned


def with_sheets(config: dict[str, Any], sheets: list[str]) -> dict[str, Any]:
    """Sheets travel in source-file's own reader_options, as the registry's mapping puts them."""
    return {**config, "reader_options": json.dumps({"sheet_name": sheets})}

DATA = Path(__file__).resolve().parents[2] / "data"


def file_config(path: Path, fmt: str, dataset: str, **extra: Any) -> dict[str, Any]:
    return {"dataset_name": dataset, "format": fmt, "url": str(path), "provider": {"storage": "local"}, **extra}


def columns(catalog: Catalog, stream: str) -> dict[str, tuple[str, bool]]:
    found = catalog.stream(stream)
    assert found is not None, [s.name for s in catalog.streams]
    return {c.name: (c.type, c.nullable) for c in found.columns}


@pytest.fixture(scope="module")
def backend() -> PyAirbyteBackend:
    """One backend for the module: a read after a discover of the same config reuses the discovered catalog."""
    ensure_installed("source-file", PINNED)
    return PyAirbyteBackend("source-file", PINNED)


@pytest.fixture(scope="module")
def customers_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("csv") / "customers.csv"
    shutil.copy(DATA / "customers.csv", target)
    return target


def test_install_is_recorded_in_the_shared_cache(backend: PyAirbyteBackend) -> None:
    assert installed_version("source-file", PINNED) == "0.5.39"
    assert backend.version() == "0.5.39"


def test_csv_discover_types_every_column_and_keeps_stderr_quiet(
    backend: PyAirbyteBackend, customers_csv: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    config = file_config(customers_csv, "csv", "customers", reader_options=json.dumps({"delimiter": ","}))
    catalog = backend.discover(config)

    assert [s.name for s in catalog.streams] == ["customers"]
    # source-file maps every pandas int64/float64 column to "number", and leaves timestamps as plain strings.
    assert columns(catalog, "customers") == {
        "country": ("string", True),
        "created_at": ("string", True),
        "customer_id": ("number", True),
        "email": ("string", True),
        "name": ("string", True),
    }
    stream = catalog.streams[0]
    assert (stream.primary_key, stream.cursor, stream.sync_modes) == ((), (), ("full_refresh",))
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_csv_read_returns_exact_records_without_airbyte_fields(backend: PyAirbyteBackend, customers_csv: Path) -> None:
    config = file_config(customers_csv, "csv", "customers", reader_options=json.dumps({"delimiter": ","}))
    assert backend.read(config, "customers", 3) == [
        {
            "customer_id": 1,
            "name": "Ada Lovelace",
            "email": "ada.lovelace@example.com",
            "country": "GB",
            "created_at": "2024-01-05T10:00:00Z",
        },
        {
            "customer_id": 2,
            "name": "Grace Hopper",
            "email": "grace.hopper@example.com",
            "country": "US",
            "created_at": "2024-01-12T14:30:00Z",
        },
        {
            "customer_id": 3,
            "name": "Alan Turing",
            "email": "alan.turing@example.com",
            "country": "GB",
            "created_at": "2024-02-01T09:15:00Z",
        },
    ]


def test_discover_again_sees_a_changed_file(backend: PyAirbyteBackend, tmp_path: Path) -> None:
    copy = tmp_path / "customers.csv"
    shutil.copy(DATA / "customers.csv", copy)
    config = file_config(copy, "csv", "customers")
    assert "tier" not in columns(backend.discover(config), "customers")  # keeps a source with this catalog
    lines = copy.read_text(encoding="utf-8").splitlines()
    copy.write_text("\n".join([lines[0] + ",tier", *(line + ",gold" for line in lines[1:])]) + "\n", encoding="utf-8")

    assert columns(backend.discover(config), "customers")["tier"] == ("string", True)


def test_csv_check_passes(backend: PyAirbyteBackend) -> None:
    backend.check(file_config(DATA / "customers.csv", "csv", "customers"))


def test_connector_error_is_one_line_with_the_connectors_reason(backend: PyAirbyteBackend) -> None:
    config = file_config(DATA / "customers.csv", "csv", "customers", reader_options='{"sep": "hunter2-token')
    with pytest.raises(ConnectorError) as caught:
        backend.check(config)
    message = str(caught.value)
    assert message.startswith("source-file: Field 'reader_options' is not valid JSON object.")
    assert "\n" not in message
    assert "hunter2" not in message


def test_jsonl_discover_and_read(backend: PyAirbyteBackend) -> None:
    config = file_config(DATA / "api_logs.jsonl", "jsonl", "api_logs")
    catalog = backend.discover(config)

    # JSON Lines get a schema inferred from the values: real integers, and nullability only where a null was seen.
    assert columns(catalog, "api_logs") == {
        "latency_ms": ("number", False),
        "method": ("string", False),
        "path": ("string", False),
        "status": ("integer", False),
        "ts": ("string", False),
        "user_id": ("integer", True),
    }
    expected = [json.loads(line) for line in (DATA / "api_logs.jsonl").read_text(encoding="utf-8").splitlines()[:5]]
    assert expected[4]["user_id"] is None  # the null must survive the trip
    assert backend.read(config, "api_logs", 5) == expected


def test_excel_gives_one_stream_per_sheet(backend: PyAirbyteBackend) -> None:
    config = file_config(DATA / "sales.xlsx", "excel", "sales")
    catalog = backend.discover(config)

    assert [s.name for s in catalog.streams] == ["orders", "refunds"]
    assert columns(catalog, "orders") == {
        "amount": ("number", True),
        "customer_id": ("number", True),
        "order_id": ("number", True),
        "ordered_at": ("string", True),
    }
    assert columns(catalog, "refunds") == {
        "amount": ("number", True),
        "order_id": ("number", True),
        "reason": ("string", True),
        "refund_id": ("number", True),
    }
    assert backend.read(config, "refunds", 2) == [
        {"refund_id": 1, "order_id": 1003, "amount": 249.0, "reason": "damaged in transit"},
        {"refund_id": 2, "order_id": 1002, "amount": 20.0, "reason": "partial refund: late delivery"},
    ]


def test_excel_sheet_names_become_snake_case_and_blank_sheets_are_skipped(
    backend: PyAirbyteBackend, tmp_path: Path
) -> None:
    book = Workbook()
    lines = book.active
    assert lines is not None
    lines.title = "Order Lines"
    lines.append(["line_id", "sku"])
    lines.append([1, "A-100"])
    book.create_sheet("Blank")
    book.create_sheet("Notes").append(["note"])
    book["Notes"].append(["call back"])
    path = tmp_path / "book.xlsx"
    book.save(path)
    config = file_config(path, "excel", "book")

    assert [s.name for s in backend.discover(config).streams] == ["notes", "order_lines"]
    restricted = backend.discover(with_sheets(config, ["Order Lines"]))
    assert [s.name for s in restricted.streams] == ["order_lines"]
    assert columns(restricted, "order_lines") == {"line_id": ("number", True), "sku": ("string", True)}
    with pytest.raises(ConnectorError, match=r"no sheet named 'Nope'; available: 'Order Lines', 'Blank', 'Notes'"):
        backend.discover(with_sheets(config, ["Nope"]))
    with pytest.raises(ConnectorError, match=r"sheet 'Blank' is empty"):
        backend.discover(with_sheets(config, ["Blank"]))


def test_missing_file_is_a_connector_error(backend: PyAirbyteBackend, tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(ConnectorError, match=r"^file not found: .*nope\.csv$"):
        backend.discover(file_config(missing, "csv", "nope"))
    with pytest.raises(ConnectorError, match="file not found"):
        backend.read(file_config(missing, "csv", "nope"), "nope", 1)


def test_a_csv_is_not_a_workbook(backend: PyAirbyteBackend) -> None:
    with pytest.raises(ConnectorError, match=r"cannot open .*customers\.csv as an Excel workbook"):
        backend.discover(file_config(DATA / "customers.csv", "excel", "customers"))
