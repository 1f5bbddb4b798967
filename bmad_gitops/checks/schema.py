"""Check a definition against `schemas/source.schema.json`.

Valid files take the fast path: a validator compiled once by fastjsonschema. Only a file that fails is
re-checked with jsonschema, which reports every error with its path, so we can say all that is wrong at once.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from ..diagnostics import Finding
from ..packaged import packaged
from .placeholders import is_placeholder

SCHEMA_FILE = "source.schema.json"


@cache
def schema_text(name: str = SCHEMA_FILE) -> str:
    return packaged("schemas", name).read_text(encoding="utf-8")


@cache
def load_schema(name: str = SCHEMA_FILE) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_text(name))
    return schema


@cache
def _fast_validator(name: str) -> Callable[[Any], Any]:
    from ..compiled import compiled_validator

    return compiled_validator(name, schema_text(name))


def warm_schema_validator() -> None:
    """Load the validator now, so that processes forked later share it instead of each loading their own."""
    _fast_validator(SCHEMA_FILE)


def schema_findings(data: Any, name: str = SCHEMA_FILE) -> list[Finding]:
    import fastjsonschema

    try:
        _fast_validator(name)(data)
        return []
    except fastjsonschema.JsonSchemaException:
        pass
    return list(_all_findings(data, load_schema(name)))


def _all_findings(data: Any, schema: dict[str, Any]) -> Iterator[Finding]:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema)
    seen: set[tuple[str, tuple[str | int, ...], str]] = set()
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        if is_placeholder(error.instance):  # reported once, as BG105, by the placeholder check
            continue
        for finding in _explain(error):
            key = (finding.code, finding.where, finding.message)
            if key not in seen:
                seen.add(key)
                yield finding


def _explain(error: Any) -> Iterator[Finding]:
    where = tuple(error.absolute_path)
    kind = error.validator
    label = ".".join(str(p) for p in where) or "the top level"
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        for key in sorted(set(error.instance) - set(allowed), key=str):
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'?" if close else f"allowed here: {', '.join(allowed)}"
            yield Finding("BG101", (*where, key), f"unknown key '{key}' in {label}", hint, at="key")
    elif kind == "required" and isinstance(error.instance, dict):
        for key in error.validator_value:
            if key not in error.instance:
                description = error.schema.get("properties", {}).get(key, {}).get("description", "")
                yield Finding(
                    "BG102", where, f"missing required key '{key}' in {label}", description or f"add `{key}:`", at="key"
                )
    elif kind == "type":
        expected = (
            error.validator_value if isinstance(error.validator_value, str) else " or ".join(error.validator_value)
        )
        yield Finding(
            "BG103",
            where,
            f"{label} must be {_article(expected)}, not {_json_type(error.instance)}",
            _describe(error.schema) or f"write {_article(expected)} here",
        )
    elif kind in ("enum", "const"):
        options = error.validator_value if kind == "enum" else [error.validator_value]
        meant = _meant(error.instance, [str(o) for o in options])
        hint = f"did you mean '{meant}'?" if meant else "allowed: " + ", ".join(str(o) for o in options)
        yield Finding("BG104", where, f"{label} is {error.instance!r}; expected {_one_of(options)}", hint)
    else:
        yield Finding("BG104", where, f"{label}: {_shorten(error.message)}", _describe(error.schema) or _rule(error))


# Type names from Python, SQL and pandas that people write for a column type, and the JSON Schema name meant.
# Spelling alone cannot find these (`float` is nowhere near `number`).
_TYPE_ALIASES = {
    "float": "number",
    "double": "number",
    "decimal": "number",
    "numeric": "number",
    "real": "number",
    "int": "integer",
    "bigint": "integer",
    "smallint": "integer",
    "long": "integer",
    "str": "string",
    "text": "string",
    "varchar": "string",
    "char": "string",
    "bool": "boolean",
    "datetime": "date-time",
    "timestamp": "date-time",
    "timestamptz": "date-time",
    "json": "object",
    "dict": "object",
    "map": "object",
    "list": "array",
}


def _meant(value: Any, options: list[str]) -> str | None:
    """The allowed option `value` most likely means: a known alias, then the same word in another case, then
    the closest spelling."""
    text = str(value)
    alias = _TYPE_ALIASES.get(text.strip().lower())
    if alias in options:
        return alias
    folded = {o.lower(): o for o in options}
    if text.strip().lower() in folded:
        return folded[text.strip().lower()]
    close = difflib.get_close_matches(text, options, n=1, cutoff=0.6)
    return close[0] if close else None


def _json_type(value: Any) -> str:
    names = {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)


def _article(word: str) -> str:
    nouns = {
        "object": "a mapping",
        "array": "a list",
        "string": "a string",
        "integer": "an integer",
        "number": "a number",
        "boolean": "a boolean (true or false)",
    }
    return nouns.get(word, word)


def _one_of(options: list[Any]) -> str:
    return repr(options[0]) if len(options) == 1 else "one of " + ", ".join(repr(o) for o in options)


def _describe(schema: Any) -> str:
    return str(schema.get("description", "")) if isinstance(schema, dict) else ""


def _rule(error: Any) -> str:
    """A hint from the rule itself, for a schema node without a description (list items, mostly)."""
    kind, value = error.validator, error.validator_value
    rules = {
        "pattern": f"write a value matching {value}",
        "minLength": "write a non-empty value" if value == 1 else f"write at least {value} characters",
        "maxLength": f"write at most {value} characters",
        "minItems": f"list at least {value} item(s)",
        "maxItems": f"list at most {value} item(s)",
        "uniqueItems": "remove the repeated item",
        "minimum": f"write a number of at least {value}",
        "maximum": f"write a number of at most {value}",
    }
    return rules.get(kind, "see schemas/source.schema.json for what is allowed here")


def _shorten(message: str) -> str:
    return message if len(message) <= 160 else message[:157] + "..."
