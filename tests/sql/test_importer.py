"""importer.py: definitions built from catalogs validate with the project's schema and carry no password."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from bmad_gitops.catalog import Catalog, Column, Stream
from bmad_gitops.connectors.sql.backend import SqlBackend
from bmad_gitops.errors import ConfigError
from bmad_gitops.importer import (
    cursor_candidate,
    definition_from_catalog,
    definition_from_file_catalog,
    parse_table_patterns,
)
from bmad_gitops.writer import render_yaml

from .conftest import CANARY_PASSWORD, MysqlDatabase, PostgresSchema

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "bmad_gitops" / "schemas" / "source.schema.json").read_text("utf-8")
)


def schema_errors(definition: dict[str, Any]) -> list[str]:
    return sorted(e.message for e in Draft202012Validator(SCHEMA).iter_errors(definition))


def test_postgres_import_from_a_real_catalog(pg: PostgresSchema) -> None:
    s = pg.schema
    pg.run(f'CREATE TABLE "{s}".orders (id serial PRIMARY KEY, total numeric(10,2), created_at timestamptz,'
           f' updated_at timestamptz, doc jsonb, tags text[])')  # fmt: skip
    pg.run(f'CREATE TABLE "{s}".customers (id bigint PRIMARY KEY, email text)')
    pg.run(f'CREATE TABLE "{s}".customers_archive (email text, born date)')
    pg.run(f'CREATE TABLE "{s}".audit (flag boolean)')
    catalog = SqlBackend("source-postgres").discover(pg.config)
    connection = {"host": "127.0.0.1", "port": "5432", "database": pg.database, "username": "postgres",
                  "password": CANARY_PASSWORD, "schemas": [s]}  # fmt: skip

    definition = definition_from_catalog(
        "postgres", connection, catalog, tables=parse_table_patterns("orders, customers*"), password_env="PG_PW"
    )

    assert definition == {
        "type": "database",
        "connector": "source-postgres",
        "config": {"host": "127.0.0.1", "port": 5432, "database": pg.database, "username": "postgres",
                   "password": "${PG_PW}", "schemas": [s]},
        "streams": [
            {"name": "customers", "primary_key": ["id"], "cursor": "id", "columns": {"id": "integer", "email": "string"}},
            {"name": "customers_archive", "columns": {"email": "string", "born": "date"}},
            {"name": "orders", "primary_key": ["id"], "cursor": "updated_at",
             "columns": {"id": "integer", "total": "number", "created_at": "date-time", "updated_at": "date-time",
                         "doc": "string", "tags": "array"}},
        ],
    }  # fmt: skip
    assert schema_errors(definition) == []
    assert CANARY_PASSWORD not in render_yaml(definition)


def test_mysql_import_every_table(my: MysqlDatabase) -> None:
    my.run("CREATE TABLE items (sku varchar(20) PRIMARY KEY, qty int unsigned, modified_at datetime, img blob)")
    catalog = SqlBackend("source-mysql").discover(my.config)
    connection = {"host": "db", "port": 3306, "database": my.database, "username": "root", "schemas": ["ignored"]}

    definition = definition_from_catalog("mariadb", connection, catalog, password_env="MYSQL_PASSWORD")

    assert definition == {
        "type": "database",
        "connector": "source-mysql",
        "config": {"host": "db", "port": 3306, "database": my.database, "username": "root",
                   "password": "${MYSQL_PASSWORD}"},
        "streams": [{"name": "items", "primary_key": ["sku"], "cursor": "modified_at",
                     "columns": {"sku": "string", "qty": "integer", "modified_at": "date-time", "img": "string"}}],
    }  # fmt: skip
    assert schema_errors(definition) == []


def _stream(
    name: str, namespace: str, *cols: tuple[str, str], pk: tuple[str, ...] = (), incremental: bool = True
) -> Stream:
    return Stream(
        name=name, namespace=namespace, columns=tuple(Column(name=n, type=t) for n, t in cols), primary_key=pk,
        sync_modes=("full_refresh", "incremental") if incremental else ("full_refresh",),
    )  # fmt: skip


def test_namespace_written_only_for_a_later_schema_and_odd_types_become_any() -> None:
    catalog = Catalog(
        streams=(
            _stream("items", "public", ("a", "integer")),
            _stream("sales.items", "sales", ("b", "unknown"), ("c", "integer|string")),
        )
    )
    connection = {"host": "h", "port": 5432, "database": "d", "username": "u", "schemas": ["public", "sales"]}

    definition = definition_from_catalog("source-postgres", connection, catalog)

    assert definition["config"] == {"host": "h", "port": 5432, "database": "d", "username": "u",
                                    "schemas": ["public", "sales"]}  # fmt: skip
    assert definition["streams"] == [
        {"name": "items", "columns": {"a": "integer"}},
        {"name": "sales.items", "namespace": "sales", "columns": {"b": "any", "c": "any"}},
    ]
    assert schema_errors(definition) == []


def test_cursor_candidates() -> None:
    assert cursor_candidate(_stream("t", "s", ("created_at", "date-time"), ("Updated_At", "date-time"))) == "Updated_At"
    assert cursor_candidate(_stream("t", "s", ("id", "integer"), ("born", "date"), pk=("id",))) == "id"
    assert cursor_candidate(_stream("t", "s", ("id", "string"), pk=("id",))) is None
    assert cursor_candidate(_stream("t", "s", ("updated_at", "date-time"), incremental=False)) is None


def test_bad_inputs_are_config_errors() -> None:
    catalog = Catalog(streams=(_stream("orders", "public", ("id", "integer")),))
    connection = {"host": "h", "port": 1, "database": "d", "username": "u"}
    with pytest.raises(ConfigError) as caught:
        definition_from_catalog("postgres", connection, catalog, tables=["ordr*"])
    assert str(caught.value) == "no table matches 'ordr*'; tables found: orders"
    with pytest.raises(ConfigError):
        definition_from_catalog("oracle", connection, catalog)
    with pytest.raises(ConfigError):
        definition_from_catalog("postgres", {"host": "h"}, catalog)
    with pytest.raises(ConfigError):
        definition_from_catalog("postgres", connection, catalog, password_env="NOT-A-NAME")


def test_file_import() -> None:
    catalog = Catalog(streams=(Stream(name="daily_sales", columns=(Column(name="day", type="date"),
                                                                   Column(name="amount", type="number"))),))  # fmt: skip

    definition = definition_from_file_catalog("data/Daily Sales.csv", "csv", catalog, format_options={"delimiter": ";"})

    assert definition == {
        "type": "file",
        "connector": "source-file",
        "format": "csv",
        "config": {"dataset_name": "daily_sales", "format": "csv", "url": "data/Daily Sales.csv",
                   "provider": {"storage": "local"}, "format_options": {"delimiter": ";"}},
        "streams": [{"name": "daily_sales", "columns": {"day": "date", "amount": "number"}}],
    }  # fmt: skip
    assert schema_errors(definition) == []
    jsonl = definition_from_file_catalog("data/api_logs.jsonl", "jsonl", Catalog())
    assert (jsonl["format"], jsonl["config"]["format"], jsonl["streams"]) == ("json", "jsonl", [])
    assert schema_errors(jsonl) == []
