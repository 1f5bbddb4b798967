"""source-mysql against a real MariaDB (or MySQL): discover, read, statistics and check."""

from __future__ import annotations

from typing import Any

import pymysql
import pytest

from bmad_gitops.catalog import ForeignKey, TableStatistics
from bmad_gitops.connectors.sql import airbyte_types as at
from bmad_gitops.connectors.sql.backend import SqlBackend
from bmad_gitops.errors import ConnectorError

from .conftest import MysqlDatabase, validated

BACKEND = SqlBackend("source-mysql")

EVERY_TYPE: dict[str, tuple[str, dict[str, Any]]] = {
    "c_tinyint1": ("tinyint(1)", at.BOOLEAN),
    "c_boolean": ("boolean", at.BOOLEAN),
    "c_tinyint": ("tinyint", at.INTEGER),
    "c_tinyint_u": ("tinyint unsigned", at.INTEGER),
    "c_smallint": ("smallint", at.INTEGER),
    "c_mediumint": ("mediumint", at.INTEGER),
    "c_int": ("int", at.INTEGER),
    "c_int_u": ("int unsigned", at.INTEGER),
    "c_bigint": ("bigint", at.INTEGER),
    "c_bigint_u": ("bigint unsigned", at.INTEGER),
    "c_bit1": ("bit(1)", at.BOOLEAN),
    "c_bit8": ("bit(8)", at.BASE64),
    "c_decimal_10_0": ("decimal(10,0)", at.INTEGER),
    "c_decimal_10_2": ("decimal(10,2)", at.NUMBER),
    "c_float": ("float", at.NUMBER),
    "c_double": ("double", at.NUMBER),
    "c_year": ("year", at.INTEGER),
    "c_date": ("date", at.DATE),
    "c_time": ("time", at.TIME_WITHOUT_TIMEZONE),
    "c_datetime": ("datetime", at.TIMESTAMP_WITHOUT_TIMEZONE),
    "c_datetime6": ("datetime(6)", at.TIMESTAMP_WITHOUT_TIMEZONE),
    "c_timestamp": ("timestamp null", at.TIMESTAMP_WITH_TIMEZONE),
    "c_char": ("char(3)", at.STRING),
    "c_varchar": ("varchar(10)", at.STRING),
    "c_tinytext": ("tinytext", at.STRING),
    "c_text": ("text", at.STRING),
    "c_mediumtext": ("mediumtext", at.STRING),
    "c_longtext": ("longtext", at.STRING),
    "c_enum": ("enum('a','b')", at.STRING),
    "c_set": ("set('a','c')", at.STRING),
    "c_json": ("json", at.STRING),
    "c_binary": ("binary(4)", at.BASE64),
    "c_varbinary": ("varbinary(8)", at.BASE64),
    "c_tinyblob": ("tinyblob", at.BASE64),
    "c_blob": ("blob", at.BASE64),
    "c_mediumblob": ("mediumblob", at.BASE64),
    "c_longblob": ("longblob", at.BASE64),
    "c_geometry": ("geometry", at.BASE64),
    "c_point": ("point", at.BASE64),
}


def test_every_type_discovers_as_airbyte_maps_it(my: MysqlDatabase) -> None:
    columns = ", ".join(f"{name} {sql}" for name, (sql, _) in EVERY_TYPE.items())
    my.run(f"CREATE TABLE everything (id int PRIMARY KEY, {columns})")

    (stream,) = validated(BACKEND.discover(my.config)).streams

    assert (stream.name, stream.namespace, stream.primary_key) == ("everything", my.database, ("id",))
    expected = {"id": at.INTEGER, **{name: schema for name, (_, schema) in EVERY_TYPE.items()}}
    assert {c.name: c.json_schema for c in stream.columns} == expected
    assert [c.name for c in stream.columns] == list(expected)
    assert stream.column("id").nullable is False  # type: ignore[union-attr]
    assert stream.column("c_bit1").type == "boolean"  # type: ignore[union-attr]
    assert stream.sync_modes == ("full_refresh", "incremental")


EDGE_TABLE = """
CREATE TABLE `Edge Cases` (
  id bigint unsigned PRIMARY KEY, zd date, zdt datetime, zts timestamp NULL, t time, tneg time, dbl double,
  dec1 decimal(10,2), dec0 decimal(20,0), flag tinyint(1), b1 bit(1), b8 bit(8), bin varbinary(4), js json,
  st set('a','b','c'), yr year, dt6 datetime(6), ts timestamp NULL, d date, e enum('x','y'), `Some Col` text,
  nothing text
)"""
EDGE_ROW = """
INSERT INTO `Edge Cases` VALUES (
  18446744073709551615, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '838:59:59', '-01:02:03',
  2.718281828459045, 12.50, 12345678901234567890, 1, b'1', b'10100101', 0x00ff10, '{"b":1,"a":2}', 'c,a', 2024,
  '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05', '2024-01-02', 'y', 'héllo `x`', NULL
)"""


def test_edge_values_read_as_airbyte_records(my: MysqlDatabase) -> None:
    my.run(EDGE_TABLE)
    my.run("SET SESSION sql_mode = ''")  # allow zero dates in the insert
    my.run("SET SESSION time_zone = '+00:00'")
    my.run(EDGE_ROW)

    (record,) = BACKEND.read(my.config, "Edge Cases", 10)

    assert record == {
        "id": 18446744073709551615,
        "zd": None,
        "zdt": None,
        "zts": None,
        "t": "838:59:59.000000",
        "tneg": "-01:02:03.000000",
        "dbl": 2.718281828459045,
        "dec1": 12.5,
        "dec0": 12345678901234567890,
        "flag": True,
        "b1": True,
        "b8": "pQ==",
        "bin": "AP8Q",
        "js": '{"b":1,"a":2}',
        "st": "a,c",
        "yr": 2024,
        "dt6": "2024-01-02T03:04:05.123456",
        "ts": "2024-01-02T03:04:05.000000Z",
        "d": "2024-01-02",
        "e": "y",
        "Some Col": "héllo `x`",
        "nothing": None,
    }
    assert type(record["id"]) is int


def test_read_limit_and_column_subset(my: MysqlDatabase) -> None:
    my.run("CREATE TABLE orders (id int, `Total` decimal(10,2), note text)")
    my.run("INSERT INTO orders VALUES " + ", ".join(f"({i}, {i * 1.5}, 'n')" for i in range(1, 51)))

    assert len(BACKEND.read(my.config, "orders", 7)) == 7
    assert BACKEND.read(my.config, "orders", 2, columns=["Total", "id"]) == [
        {"Total": 1.5, "id": 1},
        {"Total": 3, "id": 2},
    ]


def test_read_is_read_only(my: MysqlDatabase) -> None:
    my.run("CREATE TABLE log (x int)")
    my.run("CREATE FUNCTION writes() RETURNS int MODIFIES SQL DATA BEGIN INSERT INTO log VALUES (1); RETURN 1; END")
    my.run("CREATE VIEW sneaky AS SELECT writes() AS x")

    with pytest.raises(ConnectorError) as caught:
        BACKEND.read(my.config, "sneaky", 1)

    assert caught.value.message == (
        f"source-mysql: 127.0.0.1:{my.server.port}: Cannot execute statement in a READ ONLY transaction"
    )


def test_read_statement_timeout(my: MysqlDatabase) -> None:
    my.run("CREATE TABLE big (x int)")
    my.run("INSERT INTO big VALUES (1)")
    my.run("CREATE VIEW slow AS SELECT SLEEP(5) + x AS x FROM big")

    with pytest.raises(ConnectorError) as caught:
        BACKEND.read(my.config_for(statement_timeout=1), "slow", 1)

    assert caught.value.message == f"source-mysql: reading {my.database}.slow took longer than 1 s and was cancelled"


def test_views_keys_and_sync_modes(my: MysqlDatabase) -> None:
    my.run("CREATE TABLE customers (region varchar(5), id int, PRIMARY KEY (region, id))")
    my.run(
        "CREATE TABLE orders (id int PRIMARY KEY, region varchar(5), customer_id int,"
        " FOREIGN KEY (region, customer_id) REFERENCES customers (region, id))"
    )
    my.run("CREATE VIEW order_ids AS SELECT id FROM orders")
    my.run("CREATE TABLE blobs (flag tinyint(1), data blob)")

    catalog = validated(BACKEND.discover(my.config))

    assert [s.name for s in catalog.streams] == ["blobs", "customers", "order_ids", "orders"]
    assert {s.namespace for s in catalog.streams} == {my.database}
    assert catalog.stream("customers").primary_key == ("region", "id")  # type: ignore[union-attr]
    assert catalog.stream("orders").foreign_keys == (  # type: ignore[union-attr]
        ForeignKey(columns=("region", "customer_id"), references="customers", referred_columns=("region", "id"),
                   referred_namespace=my.database),
    )  # fmt: skip
    assert catalog.stream("order_ids").primary_key == ()  # type: ignore[union-attr]
    assert catalog.stream("blobs").sync_modes == ("full_refresh",)  # type: ignore[union-attr]


def test_statistics_from_information_schema(my: MysqlDatabase) -> None:
    my.run("CREATE TABLE small (id int PRIMARY KEY) ENGINE=InnoDB")
    my.run("INSERT INTO small VALUES (1), (2), (3)")
    my.run("ANALYZE TABLE small")
    my.run("CREATE VIEW v AS SELECT 1 AS one")
    conn = pymysql.connect(host=my.server.host, port=my.server.port, user=my.server.user, password=my.server.password)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT data_length + index_length FROM information_schema.tables"
            " WHERE table_schema = %s AND table_name = 'small'",
            (my.database,),
        )
        (size,) = cur.fetchone()
    conn.close()

    stats = BACKEND.statistics(my.config)
    assert stats == {
        "small": TableStatistics(estimated_rows=3, estimated_bytes=int(size)),
        "v": TableStatistics(estimated_rows=None, estimated_bytes=None),
    }
    assert int(size) > 0
    catalog, measured = BACKEND.discover_with_statistics(my.config)  # one connection, what `discover` shows
    assert (catalog, measured) == (BACKEND.discover(my.config), stats)


def test_check_passes_and_fails_on_an_empty_database(my: MysqlDatabase) -> None:
    with pytest.raises(ConnectorError) as caught:
        BACKEND.check(my.config)
    assert caught.value.message == f"source-mysql: user 'root' sees no table or view in database '{my.database}'"
    my.run("CREATE TABLE t (id int)")
    BACKEND.check(my.config)
