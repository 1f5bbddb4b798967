"""Test extraction: check sampled records against the discovered schema and profile them. Pure.

A record violates the schema when one of its values does not match its column's discovered JSON schema.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .catalog import Stream
from .model import ColumnProfile, StreamProfile

MASK = "****"
_SENSITIVE_NAME = re.compile(
    r"e-?mail|phone|mobile|ssn|social_security|passport|iban|card_?number|password|secret|token|birth|address|tax_id",
    re.I,
)


def sensitive_columns(stream: Stream, declared: Iterable[str] = ()) -> frozenset[str]:
    """Columns to mask: those the definition names, plus any whose name says it is personal or secret."""
    return frozenset(declared) | frozenset(c.name for c in stream.columns if _SENSITIVE_NAME.search(c.name))


def sensitive_names(names: Iterable[str]) -> frozenset[str]:
    """Of these column names, those whose name says personal or secret: for records whose catalog may be older
    than the table they were read from."""
    return frozenset(n for n in names if _SENSITIVE_NAME.search(n))


def mask_record(record: Mapping[str, Any], sensitive: frozenset[str]) -> dict[str, Any]:
    """The record with sensitive values masked. Names match without regard to case: a database matches column
    names so (MySQL always does), and `sensitive: [Email]` must not leave an `email` column in clear."""
    folded = _folded(sensitive)
    return {k: (MASK if v is not None and k.casefold() in folded else v) for k, v in record.items()}


@functools.lru_cache(maxsize=64)
def _folded(names: frozenset[str]) -> frozenset[str]:
    return frozenset(name.casefold() for name in names)


def profile_records(stream: Stream, records: Sequence[Mapping[str, Any]]) -> StreamProfile:
    from jsonschema import Draft7Validator

    validators = {c.name: Draft7Validator(c.json_schema or {}) for c in stream.columns}
    # Database catalogs never put "null" in a column's type (Airbyte's shape); the column's own nullability says
    # whether a NULL is allowed.
    nullable = {c.name: c.nullable for c in stream.columns}
    nulls = dict.fromkeys(validators, 0)
    violations = dict.fromkeys(validators, 0)
    bad_records = 0
    for record in records:
        broken = False
        for name, validator in validators.items():
            value = record.get(name)
            if value is None:
                nulls[name] += 1
                if name in record and not nullable[name] and not validator.is_valid(None):
                    violations[name] += 1
                    broken = True
            elif not validator.is_valid(value):
                violations[name] += 1
                broken = True
        bad_records += broken
    total = len(records)
    cells = total * len(validators)
    columns = tuple(
        ColumnProfile(name=name, null_rate=_ratio(nulls[name], total), violations=violations[name])
        for name in sorted(validators)
    )
    completeness = _ratio(cells - sum(nulls.values()), cells) if cells else 1.0
    return StreamProfile(
        stream=stream.name, records=total, violations=bad_records, completeness=completeness, columns=columns
    )


def violation_rate(profile: StreamProfile) -> float:
    return _ratio(profile.violations, profile.records)


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0
