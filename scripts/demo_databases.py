"""Create the sample databases of sources/orders_db.yaml (PostgreSQL `shop`) and sources/inventory_db.yaml
(MariaDB `inventory`). Re-runnable: each database is dropped and made anew.

Servers come from the environment (PGHOST/PGPORT/PGUSER and MYSQL_HOST/MYSQL_PORT/MYSQL_USER), by default the
local ones on 127.0.0.1:5432 (user postgres) and 127.0.0.1:3306 (root, empty password).
"""

from __future__ import annotations

import os

import psycopg
import pymysql

SHOP = """
CREATE TABLE customers (id serial PRIMARY KEY, email text NOT NULL UNIQUE, name text,
  created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
CREATE TABLE orders (id serial PRIMARY KEY, customer_id integer NOT NULL REFERENCES customers (id),
  status text NOT NULL, total numeric(10,2) NOT NULL, ordered_on date NOT NULL, updated_at timestamptz NOT NULL);
CREATE TABLE order_items (order_id integer REFERENCES orders (id), line integer, sku text NOT NULL,
  quantity integer NOT NULL, unit_price numeric(10,2) NOT NULL, PRIMARY KEY (order_id, line));
INSERT INTO customers (email, name, created_at, updated_at)
  SELECT 'customer' || g || '@example.com', 'Customer ' || g, timestamptz '2024-01-01 00:00+00' + g * interval '1 day',
         timestamptz '2024-06-01 00:00+00' + g * interval '1 hour' FROM generate_series(1, 50) g;
INSERT INTO orders (customer_id, status, total, ordered_on, updated_at)
  SELECT 1 + g % 50, (ARRAY['new', 'paid', 'shipped'])[1 + g % 3], round(g * 7.35, 2), date '2024-03-01' + g,
         timestamptz '2024-06-01 00:00+00' + g * interval '1 minute' FROM generate_series(1, 200) g;
INSERT INTO order_items SELECT o, l, 'SKU-' || (o * l % 40), 1 + l, 9.99 * l
  FROM generate_series(1, 200) o, generate_series(1, 2) l;
CREATE VIEW order_totals AS SELECT customer_id, count(*) AS orders, sum(total) AS total FROM orders GROUP BY 1;
ANALYZE;
"""
INVENTORY = [
    "CREATE TABLE warehouses (id int PRIMARY KEY, code char(3) NOT NULL UNIQUE, city varchar(40) NOT NULL)",
    "CREATE TABLE products (sku varchar(20) PRIMARY KEY, name varchar(80) NOT NULL, weight_kg decimal(8,3),"
    " active tinyint(1) NOT NULL DEFAULT 1, updated_at datetime NOT NULL)",
    "CREATE TABLE stock (warehouse_id int NOT NULL, sku varchar(20) NOT NULL, quantity int unsigned NOT NULL,"
    " counted_at timestamp NOT NULL DEFAULT '2024-06-01 00:00:00', PRIMARY KEY (warehouse_id, sku),"
    " FOREIGN KEY (warehouse_id) REFERENCES warehouses (id), FOREIGN KEY (sku) REFERENCES products (sku))",
    "INSERT INTO warehouses VALUES (1, 'BER', 'Berlin'), (2, 'LYS', 'Lyon'), (3, 'RTM', 'Rotterdam')",
    "INSERT INTO products SELECT CONCAT('SKU-', seq), CONCAT('Product ', seq), seq * 0.125, seq % 7 <> 0,"
    " TIMESTAMP '2024-06-01 00:00:00' + INTERVAL seq MINUTE FROM seq_0_to_39",
    "INSERT INTO stock (warehouse_id, sku, quantity) SELECT 1 + seq % 3, CONCAT('SKU-', seq), seq * 11 FROM seq_0_to_39",
    "CREATE VIEW low_stock AS SELECT sku, quantity FROM stock WHERE quantity < 50",
    "ANALYZE TABLE warehouses, products, stock",
]


def main() -> None:
    pg = {
        "host": os.environ.get("PGHOST", "127.0.0.1"),
        "port": int(os.environ.get("PGPORT", "5432")),
        "user": os.environ.get("PGUSER", "postgres"),
        "password": os.environ.get("POSTGRES_PASSWORD") or None,
    }
    with psycopg.connect(**pg, dbname="postgres", autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS shop WITH (FORCE)")
        conn.execute("CREATE DATABASE shop")
    with psycopg.connect(**pg, dbname="shop", autocommit=True) as conn:
        conn.execute(SHOP)
    mysql = pymysql.connect(
        host=os.environ.get("MYSQL_HOST", "127.0.0.1"),
        port=int(os.environ.get("MYSQL_PORT", "3306")),
        user=os.environ.get("MYSQL_USER", "root"),
        password=os.environ.get("MYSQL_PASSWORD", ""),
        autocommit=True,
    )
    with mysql.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS inventory")
        cur.execute("CREATE DATABASE inventory")
        cur.execute("USE inventory")
        for statement in INVENTORY:
            cur.execute(statement)
    mysql.close()
    print("created PostgreSQL database shop and MariaDB database inventory")


if __name__ == "__main__":
    main()
