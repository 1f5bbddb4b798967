"""The whole loop on real databases through the CLI: import, validate, plan, apply, then drift of every kind.

Databases are not files in the project, so every plan asks them again: an ALTER TABLE shows at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bmad_gitops.cli import main

from .conftest import MysqlDatabase, PostgresSchema

CANARY = "canary-Pw9@:'/x"


class Loop:
    def __init__(self, root: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.root = root
        self.capsys = capsys

    def run(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(list(args))
        out = self.capsys.readouterr()
        return code, out.out, out.err

    def state(self, name: str) -> dict[str, object]:
        data: dict[str, object] = json.loads((self.root / "state" / f"{name}.json").read_text())
        return data

    def everything_written(self) -> str:
        return "".join(
            p.read_text(errors="replace") for p in sorted(self.root.rglob("*")) if p.is_file() and ".git" not in p.parts
        )


@pytest.fixture
def loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Loop]:
    (tmp_path / ".git").mkdir()
    (tmp_path / "sources").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    yield Loop(tmp_path, capsys)


def test_postgres_import_plan_apply_and_every_kind_of_drift(
    loop: Loop, pg: PostgresSchema, monkeypatch: pytest.MonkeyPatch
) -> None:
    pg.run(f'CREATE TABLE "{pg.schema}".customers (id integer PRIMARY KEY, email text, updated_at timestamptz)')
    pg.run(
        f'CREATE TABLE "{pg.schema}".orders (id integer PRIMARY KEY, customer_id integer REFERENCES '
        f'"{pg.schema}".customers (id), total numeric(10,2))'
    )
    pg.run(f"INSERT INTO \"{pg.schema}\".customers VALUES (1, 'a@example.com', now())")
    pg.run(f'CREATE TABLE "{pg.schema}".audit (id integer)')
    password = pg.server.password or CANARY  # the local server trusts every login: any password will do
    monkeypatch.setenv("SHOP_PASSWORD", password)
    code, out, err = loop.run(
        "import", "postgres", "shop", "--host", pg.server.host, "--port", str(pg.server.port),
        "--database", pg.database, "--username", pg.server.user, "--password-env", "SHOP_PASSWORD",
        "--schema", pg.schema, "--tables", "customers,ord*",
    )  # fmt: skip
    assert code == 0, out + err
    assert "wrote sources/shop.yaml with 2 stream(s)" in out
    text = (loop.root / "sources" / "shop.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=")
    assert 'password: ${SHOP_PASSWORD}' in text or "password: '${SHOP_PASSWORD}'" in text or '"${SHOP_PASSWORD}"' in text
    assert "audit" not in text and password not in text
    assert loop.run("import", "postgres", "shop", "--host", "h", "--database", "d", "--username", "u")[0] == 2

    assert loop.run("validate")[0] == 0
    code, out, _ = loop.run("plan", "--detailed-exitcode")
    assert code == 2 and "+ shop (database, source-postgres" in out and "+ stream orders" in out, out
    code, out, err = loop.run("apply", "--auto-approve")
    assert code == 0, out + err
    state = loop.state("shop")
    orders = next(s for s in state["streams"] if s["name"] == "orders")  # type: ignore[attr-defined]
    assert orders["namespace"] == pg.schema
    assert orders["foreign_keys"] == [
        {"columns": ["customer_id"], "references": "customers", "referred_columns": ["id"], "referred_namespace": pg.schema}
    ]
    assert "erDiagram" in (loop.root / "docs" / "lineage" / "shop.md").read_text()
    assert loop.run("plan", "--detailed-exitcode")[0] == 0
    pg.run(f'ANALYZE "{pg.schema}".customers')
    code, out, err = loop.run("discover", "shop")  # the catalog and the sizes, read on one connection
    assert code == 0, out + err
    assert f"  {pg.schema}.customers  (primary key: id; cursor: none; sync modes: full_refresh, incremental; ~1 rows," in out
    assert "    foreign key (customer_id) -> customers(id)" in out, out

    pg.run(f'ALTER TABLE "{pg.schema}".customers ADD COLUMN segment text')
    code, out, _ = loop.run("plan", "--detailed-exitcode")
    assert code == 2 and "+ customers.segment  string    (expansion)" in out, out
    pg.run(f'ALTER TABLE "{pg.schema}".customers DROP COLUMN segment')

    pg.run(f'ALTER TABLE "{pg.schema}".orders ALTER COLUMN total TYPE text')
    code, out, _ = loop.run("plan", "--detailed-exitcode")
    assert code == 1 and "orders.total  number -> string    (amendment, BREAKING)" in out, out
    assert "declared column 'total' is number, but the source has string" in out  # the imported expectation
    pg.run(f'ALTER TABLE "{pg.schema}".orders ALTER COLUMN total TYPE numeric(10,2) USING total::numeric')

    pg.run(f'ALTER TABLE "{pg.schema}".orders DROP CONSTRAINT orders_customer_id_fkey')
    code, out, _ = loop.run("plan", "--detailed-exitcode")
    assert code == 2 and "- orders.(foreign key)  (customer_id) -> customers(id)    (contraction)" in out, out
    assert "BREAKING" not in out

    # The imported definition declares the key, so a changed key upstream is a config-vs-live error.
    pg.run(f'ALTER TABLE "{pg.schema}".customers DROP CONSTRAINT customers_pkey, ADD PRIMARY KEY (email)')
    code, out, _ = loop.run("plan")
    assert code == 1 and "declared primary key (id) differs from the source's (email) in stream customers" in out, out
    pg.run(f'ALTER TABLE "{pg.schema}".customers DROP CONSTRAINT customers_pkey, ADD PRIMARY KEY (id)')

    path = loop.root / "sources" / "shop.yaml"
    path.write_text(path.read_text().replace("on_drift: warn", "") + "on_drift: freeze\n")
    pg.run(f'ALTER TABLE "{pg.schema}".customers DROP COLUMN email')
    code, out, _ = loop.run("plan")
    assert code == 1 and "under on_drift: freeze" in out, out
    code, out, _ = loop.run("apply", "--auto-approve")
    assert code == 1 and "✗ shop: failed" in out

    path.write_text(path.read_text().replace("on_drift: freeze", "on_drift: evolve"))
    pg.run(f'DROP TABLE "{pg.schema}".orders')
    code, out, _ = loop.run("plan")
    assert "declared stream 'orders' does not exist in the source" in out, out
    assert password not in loop.everything_written() or password == pg.server.password


def test_mariadb_loop_with_drift_and_a_canary_password_nowhere(
    loop: Loop, my: MysqlDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    my.run("CREATE TABLE products (sku varchar(20) PRIMARY KEY, price decimal(8,2), active tinyint(1))")
    my.run("INSERT INTO products VALUES ('A', 1.50, 1), ('B', 2.00, 0)")
    monkeypatch.setenv("INV_PASSWORD", my.server.password)
    code, out, err = loop.run(
        "import", "mysql", "inventory", "--host", my.server.host, "--port", str(my.server.port),
        "--database", my.database, "--username", my.server.user, "--password-env", "INV_PASSWORD",
    )  # fmt: skip
    assert code == 0, out + err
    code, out, err = loop.run("apply", "--auto-approve")
    assert code == 0 and "products: 2 records sampled, 0 with type violations" in out, out + err
    my.run("ALTER TABLE products ADD COLUMN weight double")
    code, out, _ = loop.run("plan", "--detailed-exitcode")
    assert code == 2 and "+ products.weight  number    (expansion)" in out, out
    assert loop.run("apply", "--auto-approve")[0] == 0
    assert "weight" in json.dumps(loop.state("inventory"))

    # MySQL matches column names without case: a declared `SKU` masks the `sku` column in what discover shows.
    path = loop.root / "sources" / "inventory.yaml"
    path.write_text(path.read_text().replace("primary_key: [sku]", "primary_key: [sku]\n    sensitive: [SKU]"))
    code, out, err = loop.run("discover", "inventory", "--sample", "2")
    assert code == 0, out + err
    samples = [line for line in out.splitlines() if "sample:" in line]
    assert len(samples) == 2 and all('"sku": "****"' in line for line in samples), out

    monkeypatch.setenv("INV_PASSWORD", CANARY)  # a wrong password now: the failure paths must not leak it
    for command in (("plan",), ("apply", "--auto-approve"), ("check", "inventory"), ("discover", "inventory")):
        code, out, err = loop.run(*command)
        assert code == 1, command
        assert CANARY not in out + err, command
    assert CANARY not in loop.everything_written()
