"""The registry's mapping from a definition's `config` to each connector's own config shape."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from bmad_gitops.connectors.registry import entry


def connector_call(definition: dict[str, Any]) -> SimpleNamespace:
    connector = definition["connector"]
    return SimpleNamespace(connector=connector, config=entry(connector).map_config(definition["config"]))


def _file(fmt: str, **options: Any) -> dict[str, Any]:
    config: dict[str, Any] = {"dataset_name": "d", "format": fmt, "url": "data/x", "provider": {"storage": "local"}}
    if options:
        config["format_options"] = options
    return {"type": "file", "connector": "source-file", "format": fmt, "config": config}


def test_csv_format_options_become_reader_options_json_string() -> None:
    call = connector_call(_file("csv", delimiter=";", quote_char="'", encoding="latin-1", header_row=0, skip_rows=2))
    assert call.connector == "source-file"
    assert "format_options" not in call.config
    assert json.loads(call.config["reader_options"]) == {"sep": ";", "quotechar": "'", "encoding": "latin-1", "header": 0, "skiprows": 2}
    assert call.config["url"] == "data/x"


def test_jsonl_reads_lines_and_plain_csv_sends_no_reader_options() -> None:
    assert json.loads(connector_call(_file("jsonl")).config["reader_options"]) == {"lines": True}
    assert "reader_options" not in connector_call(_file("csv")).config


def test_excel_sheets_travel_as_pandas_sheet_name_in_reader_options() -> None:
    call = connector_call(_file("excel", sheets=["orders", "refunds"]))
    assert json.loads(call.config["reader_options"]) == {"sheet_name": ["orders", "refunds"]}


def test_mapping_does_not_mutate_definition() -> None:
    definition = _file("csv", delimiter=";")
    before = json.dumps(definition, sort_keys=True)
    connector_call(definition)
    assert json.dumps(definition, sort_keys=True) == before


def test_postgres_ssl_mode_and_defaults() -> None:
    config = {"host": "h", "port": 5432, "database": "d", "username": "u", "password": "${PG}", "ssl": False, "ssl_mode": "prefer"}
    call = connector_call({"type": "database", "connector": "source-postgres", "config": config})
    assert call.config["ssl_mode"] == {"mode": "prefer"}
    assert call.config["schemas"] == ["public"]
    assert call.config["password"] == "${PG}"


def test_mysql_ssl_mode_names() -> None:
    config = {"host": "h", "port": 3306, "database": "d", "username": "u", "ssl_mode": "verify-full"}
    call = connector_call({"type": "database", "connector": "source-mysql", "config": config})
    assert call.config["ssl_mode"] == {"mode": "verify_identity"}
    assert call.config["replication_method"] == {"method": "STANDARD"}


def test_s3_streams_get_filetype() -> None:
    config = {"bucket": "b", "region": "eu-west-1", "streams": [{"name": "e", "globs": ["*.csv"], "format": "csv"}]}
    call = connector_call({"type": "s3", "connector": "source-s3", "config": config})
    assert call.config["region_name"] == "eu-west-1"
    assert call.config["streams"][0]["format"]["filetype"] == "csv"
