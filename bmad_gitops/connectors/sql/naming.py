"""Stream names for relations found in several schemas. Pure.

A stream is named after its table. When the same table name appears in more than one configured schema, the
first schema (in `schemas` order) keeps the plain name and each later one is named `schema.table`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

Relation = tuple[str, str]  # (schema or database, table)

# pg_class.relkind of the PostgreSQL relations that become streams: tables, partitioned tables (and partitions,
# which are tables), views, materialized views. The same set discover reflects with ObjectKind.ANY.
POSTGRES_STREAM_RELKINDS = "('r', 'p', 'v', 'm')"


def stream_names(relations: Iterable[Relation], schema_order: Sequence[str]) -> dict[Relation, str]:
    rank = {schema: index for index, schema in enumerate(schema_order)}
    ordered = sorted(set(relations), key=lambda r: (rank.get(r[0], len(rank)), r[0], r[1]))
    names: dict[Relation, str] = {}
    taken: set[str] = set()
    for schema, table in ordered:
        name = table if table not in taken else f"{schema}.{table}"
        taken.add(name)
        names[(schema, table)] = name
    return names


def relation_for(stream: str, relations: Iterable[Relation], schema_order: Sequence[str]) -> Relation | None:
    """The relation that `stream_names` calls `stream`, or None."""
    for relation, name in stream_names(relations, schema_order).items():
        if name == stream:
            return relation
    return None
