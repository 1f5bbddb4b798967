"""source-postgres against a real PostgreSQL: discover, read, statistics and check."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from bmad_gitops.catalog import ForeignKey, TableStatistics
from bmad_gitops.connectors.sql import airbyte_types as at
from bmad_gitops.connectors.sql.backend import SqlBackend
from bmad_gitops.errors import ConnectorError

from .conftest import PostgresSchema, validated

BACKEND = SqlBackend("source-postgres")

# column definition -> Airbyte JSON schema (DATABASES.md, "Airbyte's mapping")
EVERY_TYPE: dict[str, tuple[str, dict[str, Any]]] = {
    "c_smallint": ("smallint", at.INTEGER),
    "c_integer": ("integer", at.INTEGER),
    "c_bigint": ("bigint", at.INTEGER),
    "c_serial": ("serial", at.INTEGER),
    "c_numeric_10_0": ("numeric(10,0)", at.INTEGER),
    "c_numeric_10_2": ("numeric(10,2)", at.NUMBER),
    "c_numeric": ("numeric", at.NUMBER),
    "c_real": ("real", at.NUMBER),
    "c_double": ("double precision", at.NUMBER),
    "c_money": ("money", at.NUMBER),
    "c_bool": ("boolean", at.BOOLEAN),
    "c_bit1": ("bit(1)", at.STRING),
    "c_bit3": ("bit(3)", at.STRING),
    "c_date": ("date", at.DATE),
    "c_time": ("time", at.TIME_WITHOUT_TIMEZONE),
    "c_timetz": ("timetz", at.TIME_WITH_TIMEZONE),
    "c_timestamp": ("timestamp", at.TIMESTAMP_WITHOUT_TIMEZONE),
    "c_timestamptz": ("timestamptz", at.TIMESTAMP_WITH_TIMEZONE),
    "c_interval": ("interval", at.STRING),
    "c_char": ("char(3)", at.STRING),
    "c_varchar": ("varchar(10)", at.STRING),
    "c_text": ("text", at.STRING),
    "c_json": ("json", at.STRING),
    "c_jsonb": ("jsonb", at.STRING),
    "c_bytea": ("bytea", at.STRING),
    "c_xml": ("xml", at.STRING),
    "c_uuid": ("uuid", at.STRING),
    "c_inet": ("inet", at.STRING),
    "c_point": ("point", at.STRING),
    "c_tsvector": ("tsvector", at.STRING),
    "c_int4range": ("int4range", at.STRING),
    "c_enum": ("{schema}.mood", at.STRING),
    "c_domain": ("{schema}.positive", at.INTEGER),
    "c_domain_whole": ("{schema}.whole", at.INTEGER),  # a domain over numeric(p, 0): its base type's rule
    "c_domain_cents": ("{schema}.cents", at.NUMBER),
    "c_domain_numeric": ("{schema}.amount", at.NUMBER),
    "c_int_array": ("integer[]", at.array_of(at.INTEGER)),
    "c_numeric_array": ("numeric(5,0)[]", at.array_of(at.NUMBER)),
    "c_text_array": ("text[]", at.array_of(at.STRING)),
    "c_date_array": ("date[]", at.array_of(at.DATE)),
    "c_timestamptz_array": ("timestamptz[]", at.array_of(at.TIMESTAMP_WITH_TIMEZONE)),
}


def test_every_type_discovers_as_airbyte_maps_it(pg: PostgresSchema) -> None:
    pg.run(f"CREATE TYPE \"{pg.schema}\".mood AS ENUM ('sad', 'ok')")
    pg.run(f'CREATE DOMAIN "{pg.schema}".positive AS integer CHECK (VALUE > 0)')
    pg.run(f'CREATE DOMAIN "{pg.schema}".whole AS numeric(12,0)')
    pg.run(f'CREATE DOMAIN "{pg.schema}".cents AS numeric(12,2)')
    pg.run(f'CREATE DOMAIN "{pg.schema}".amount AS numeric')
    columns = ", ".join(f"{name} {sql.format(schema=pg.schema)}" for name, (sql, _) in EVERY_TYPE.items())
    pg.run(f'CREATE TABLE "{pg.schema}".everything ({columns})')

    (stream,) = validated(BACKEND.discover(pg.config)).streams

    assert stream.name == "everything"
    assert stream.namespace == pg.schema
    assert {c.name: c.json_schema for c in stream.columns} == {name: schema for name, (_, schema) in EVERY_TYPE.items()}
    assert [c.name for c in stream.columns] == list(EVERY_TYPE)
    assert stream.column("c_integer").type == "integer"  # type: ignore[union-attr]
    assert stream.column("c_timestamptz").type == "date-time"  # type: ignore[union-attr]
    assert stream.column("c_serial").nullable is False  # type: ignore[union-attr]
    assert stream.column("c_text").nullable is True  # type: ignore[union-attr]
    assert stream.sync_modes == ("full_refresh", "incremental")
    assert stream.cursor == ()


EDGE_TABLE = """
CREATE TABLE "{s}"."Edge Cases" (
  id integer PRIMARY KEY, d_inf date, d_ninf date, d_bc date, ts timestamp, ts_inf timestamp, tstz timestamptz,
  tstz_ninf timestamptz, t time, ttz timetz, n_nan numeric, n_scaled numeric(10,2), n_big numeric(30,0),
  f_nan double precision, f_e double precision, m money, b bytea, j jsonb, js json, arr integer[], darr date[],
  narr numeric[], iv interval, bits bit(3), flag boolean, "Some Col" text, nothing text
)"""
EDGE_ROW = """
INSERT INTO "{s}"."Edge Cases" VALUES (
  1, 'infinity', '-infinity', '0044-03-15 BC', '2024-01-02 03:04:05.5', 'infinity', '2024-01-02 03:04:05.123456+02',
  '-infinity', '13:14:15', '13:14:15.5+05:30', 'NaN', 12.50, 123456789012345678901234567890,
  'NaN', 2.718281828459045, -1234.56, '\\x0001ff', '{{"b": 1, "a": [1, 2]}}', '{{"b":1,"a":2}}', '{{1,NULL,3}}',
  '{{2024-01-02,infinity}}', '{{1.5,NaN,2}}', '1 day 02:03:04', B'101', true, 'it''s "quoted"', NULL
)"""


def test_edge_values_read_as_airbyte_records(pg: PostgresSchema) -> None:
    pg.run(EDGE_TABLE.format(s=pg.schema))
    pg.run(EDGE_ROW.format(s=pg.schema))

    (record,) = BACKEND.read(pg.config, "Edge Cases", 10)

    expected = {
        "id": 1,
        "d_inf": "+292278994-08-16",
        "d_ninf": "+292269055-12-02 BC",
        "d_bc": "0044-03-15 BC",
        "ts": "2024-01-02T03:04:05.500000",
        "ts_inf": "+292278994-08-16T23:00:00.000000",
        "tstz": "2024-01-02T01:04:05.123456Z",
        "tstz_ninf": "+292269055-12-02T23:00:00.000000Z BC",
        "t": "13:14:15.000000",
        "ttz": "13:14:15.500000+05:30",
        "n_nan": None,
        "n_scaled": 12.5,
        "n_big": 123456789012345678901234567890,
        "f_nan": None,
        "f_e": 2.718281828459045,
        "m": -1234.56,
        "b": "\\x0001ff",
        "j": '{"a": [1, 2], "b": 1}',
        "js": '{"b":1,"a":2}',
        "arr": [1, None, 3],
        "darr": ["2024-01-02", "+292278994-08-16"],
        "narr": [1.5, None, 2],
        "iv": "1 day 02:03:04",
        "bits": "101",
        "flag": True,
        "Some Col": 'it\'s "quoted"',
        "nothing": None,
    }
    assert record == expected
    assert list(record) == list(expected)  # keys keep the table's column order


def test_read_limit_and_column_subset(pg: PostgresSchema) -> None:
    pg.run(f'CREATE TABLE "{pg.schema}".orders (id integer, "Total" numeric(10,2), note text)')
    pg.run(f"INSERT INTO \"{pg.schema}\".orders SELECT g, g * 1.5, 'n' FROM generate_series(1, 50) g")

    assert len(BACKEND.read(pg.config, "orders", 7)) == 7
    assert BACKEND.read(pg.config, "orders", 2, columns=["Total", "id"]) == [
        {"Total": 1.5, "id": 1},
        {"Total": 3, "id": 2},
    ]
    assert BACKEND.read(pg.config, "orders", 0) == []


def test_read_is_read_only(pg: PostgresSchema) -> None:
    s = pg.schema
    pg.run(f'CREATE TABLE "{s}".log (x integer)')
    pg.run(
        f'CREATE FUNCTION "{s}".writes() RETURNS integer LANGUAGE sql VOLATILE'
        f' AS $$ INSERT INTO "{s}".log VALUES (1) RETURNING x $$'
    )
    pg.run(f'CREATE VIEW "{s}".sneaky AS SELECT "{s}".writes() AS x')

    with pytest.raises(ConnectorError) as caught:
        BACKEND.read(pg.config, "sneaky", 1)

    assert caught.value.message == (
        f"source-postgres: 127.0.0.1:{pg.server.port}: cannot execute INSERT in a read-only transaction"
    )


def test_read_statement_timeout(pg: PostgresSchema) -> None:
    pg.run(f'CREATE VIEW "{pg.schema}".slow AS SELECT pg_sleep(5)::text AS x')

    with pytest.raises(ConnectorError) as caught:
        BACKEND.read(pg.config_for(statement_timeout=1), "slow", 1)

    assert caught.value.message == f"source-postgres: reading {pg.schema}.slow took longer than 1 s and was cancelled"


def test_views_materialized_views_partitions_keys(pg: PostgresSchema) -> None:
    s = pg.schema
    pg.run(f'CREATE TABLE "{s}".customers (id integer, region text, PRIMARY KEY (region, id))')
    pg.run(
        f'CREATE TABLE "{s}".orders (id serial PRIMARY KEY, customer_id integer, region text,'
        f' FOREIGN KEY (region, customer_id) REFERENCES "{s}".customers (region, id))'
    )
    pg.run(f'CREATE VIEW "{s}".order_ids AS SELECT id FROM "{s}".orders')
    pg.run(f'CREATE MATERIALIZED VIEW "{s}".order_count AS SELECT count(*) AS n FROM "{s}".orders')
    pg.run(f'CREATE TABLE "{s}".events (at date, flag boolean) PARTITION BY RANGE (at)')
    pg.run(
        f"CREATE TABLE \"{s}\".events_2024 PARTITION OF \"{s}\".events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')"
    )
    pg.run(f'CREATE TABLE "{s}".flags (flag boolean, doc jsonb)')
    pg.run(f'CREATE TABLE "{s}".empty ()')

    catalog = validated(BACKEND.discover(pg.config))

    assert [s.name for s in catalog.streams] == [
        "customers", "events", "events_2024", "flags", "order_count", "order_ids", "orders",
    ]  # fmt: skip
    assert catalog.stream("customers").primary_key == ("region", "id")  # type: ignore[union-attr]
    orders = catalog.stream("orders")
    assert orders is not None
    assert orders.primary_key == ("id",)
    assert orders.foreign_keys == (
        ForeignKey(columns=("region", "customer_id"), references="customers", referred_columns=("region", "id"),
                   referred_namespace=s),
    )  # fmt: skip
    assert catalog.stream("order_ids").primary_key == ()  # type: ignore[union-attr]
    assert catalog.stream("order_count").columns[0].json_schema == at.INTEGER  # type: ignore[union-attr]
    assert catalog.stream("flags").sync_modes == ("full_refresh",)  # type: ignore[union-attr]
    assert catalog.stream("events").sync_modes == ("full_refresh", "incremental")  # type: ignore[union-attr]


def test_same_table_in_two_schemas(pg: PostgresSchema) -> None:
    other = pg.schema + "_b"
    pg.run(f'CREATE SCHEMA "{other}"')
    try:
        pg.run(f'CREATE TABLE "{pg.schema}".items (a integer)')
        pg.run(f'CREATE TABLE "{other}".items (b text)')
        pg.run(f"INSERT INTO \"{other}\".items VALUES ('from b')")
        config = pg.config_for(schemas=[pg.schema, other])

        catalog = validated(BACKEND.discover(config))

        assert [(s.name, s.namespace, s.columns[0].name) for s in catalog.streams] == [
            ("items", pg.schema, "a"),
            (f"{other}.items", other, "b"),
        ]
        assert BACKEND.read(config, f"{other}.items", 5) == [{"b": "from b"}]
        assert BACKEND.read(config, "items", 5) == []
        with pytest.raises(ConnectorError) as caught:
            BACKEND.read(config, "nope", 1)
        assert caught.value.message == f"source-postgres: no stream 'nope' in schema {pg.schema}, {other}"
    finally:
        pg.run(f'DROP SCHEMA "{other}" CASCADE')


def test_statistics_from_the_catalog(pg: PostgresSchema) -> None:
    s = pg.schema
    pg.run(f'CREATE TABLE "{s}".small (id integer PRIMARY KEY)')
    pg.run(f'INSERT INTO "{s}".small SELECT generate_series(1, 3)')
    pg.run(f'ANALYZE "{s}".small')
    pg.run(f'CREATE TABLE "{s}".never_analyzed (id integer)')
    pg.run(f'CREATE VIEW "{s}".v AS SELECT 1 AS one')
    with psycopg.connect(host=pg.server.host, port=pg.server.port, user=pg.server.user, dbname=pg.database) as conn:
        size = conn.execute(f"SELECT pg_total_relation_size('\"{s}\".small')").fetchone()[0]  # type: ignore[index]

    stats = BACKEND.statistics(pg.config)

    assert stats == {
        "never_analyzed": TableStatistics(estimated_rows=None, estimated_bytes=0),
        "small": TableStatistics(estimated_rows=3, estimated_bytes=size),
        "v": TableStatistics(estimated_rows=None, estimated_bytes=None),
    }
    assert size > 0
    catalog, measured = BACKEND.discover_with_statistics(pg.config)  # one connection, what `discover` shows
    assert (catalog, measured) == (BACKEND.discover(pg.config), stats)


def test_check_passes_on_a_readable_table(pg: PostgresSchema) -> None:
    pg.run(f'CREATE TABLE "{pg.schema}".t (id integer)')
    BACKEND.check(pg.config)


def test_check_fails_on_an_empty_schema(pg: PostgresSchema) -> None:
    with pytest.raises(ConnectorError) as caught:
        BACKEND.check(pg.config)
    assert caught.value.message == f"source-postgres: user 'postgres' sees no table or view in schema {pg.schema}"


def test_unknown_schema_and_unknown_stream(pg: PostgresSchema) -> None:
    with pytest.raises(ConnectorError) as caught:
        BACKEND.discover(pg.config_for(schemas=["nope_schema"]))
    assert caught.value.message == f"source-postgres: schema nope_schema does not exist in database '{pg.database}'"
    with pytest.raises(ConnectorError) as caught:
        BACKEND.read(pg.config, "missing", 1)
    assert caught.value.message == f"source-postgres: table {pg.schema}.missing does not exist"
    assert caught.value.hint == "run discover to see the streams"
