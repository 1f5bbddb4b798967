"""OpenAPI 3 -> candidate streams: the GET endpoints that answer a list of objects, and `endpoints:` for them.

`list_endpoints` and `endpoints_config` are pure (a document in, values out); `fetch_openapi` is the one edge.
Only local `$ref`s (`#/...`) are followed; paths with path parameters or required query parameters are left
out, because a stream needs a URL it can call without inputs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...errors import ConnectorError

_MAX_REF_DEPTH = 32  # self-referencing schemas (a tree of comments) stop here instead of recursing for ever
_RECORD_KEYS = ("data", "items", "results", "records", "entries", "values")  # preferred when several arrays fit
_FORMATS = {"date-time": "date-time", "date": "date", "time": "time"}


@dataclass(frozen=True)
class OpenApiEndpoint:
    """One GET endpoint whose 200 response is a list of objects: a stream we can offer."""

    name: str  # stream name derived from the path: /v1/user-groups -> user_groups
    path: str
    records_path: tuple[str, ...]  # () when the response is the list itself
    columns: dict[str, str] = field(default_factory=dict)  # field -> our type word (string, integer, ...)
    json_schema: dict[str, Any] = field(default_factory=dict)  # the item schema, Airbyte style (nullable types)
    primary_key: tuple[str, ...] = ()  # ("id",) when the item has an `id` field
    summary: str = ""


def fetch_openapi(url: str, *, timeout: float = 30.0, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """GET an OpenAPI document (JSON or YAML); every failure is one ConnectorError line without the body."""
    import httpx
    import yaml

    try:
        response = httpx.get(url, timeout=timeout, headers=dict(headers or {}), follow_redirects=True)
    except httpx.TimeoutException:
        raise ConnectorError(
            f"OpenAPI document: no answer within {timeout:g} s", "check the URL or raise the timeout"
        ) from None
    except httpx.HTTPError as exc:
        raise ConnectorError(f"OpenAPI document: cannot fetch it ({type(exc).__name__})", "check the URL") from None
    if response.status_code != 200:
        raise ConnectorError(f"OpenAPI document: HTTP {response.status_code}", "check the URL and any credentials")
    try:
        document = yaml.safe_load(response.text)
    except yaml.YAMLError:
        document = None
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3."):
        raise ConnectorError("OpenAPI document: not an OpenAPI 3.x document", "give the URL of openapi.json or .yaml")
    return document


def base_url(document: Mapping[str, Any]) -> str | None:
    """The first absolute server URL, the natural `base_url` for the definition; None when there is none."""
    for server in document.get("servers") or []:
        url = server.get("url") if isinstance(server, Mapping) else None
        if isinstance(url, str) and url.startswith(("http://", "https://")) and "{" not in url:
            return url.rstrip("/")
    return None


def _resolve(document: Mapping[str, Any], node: Any, depth: int = 0) -> Any:
    """`node` with its local `$ref` followed (not recursively into its children)."""
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and depth < _MAX_REF_DEPTH:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            return {}
        target: Any = document
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part) if isinstance(target, Mapping) else None
        node = target if isinstance(target, Mapping) else {}
        depth += 1
    return node if isinstance(node, Mapping) else {}


def _merged(document: Mapping[str, Any], schema: Any, depth: int = 0) -> dict[str, Any]:
    """A schema with refs followed and `allOf` parts merged (the usual way OpenAPI composes objects)."""
    node = dict(_resolve(document, schema, depth))
    parts = node.pop("allOf", None)
    if isinstance(parts, list) and depth < _MAX_REF_DEPTH:
        properties: dict[str, Any] = {}
        for part in parts:
            merged = _merged(document, part, depth + 1)
            properties.update(merged.get("properties") or {})
            node.setdefault("type", merged.get("type"))
        node["properties"] = {**properties, **(node.get("properties") or {})}
        if node.get("type") is None:
            node["type"] = "object"
    return node


def _types(schema: Mapping[str, Any]) -> tuple[list[str], bool]:
    raw = schema.get("type")
    types = [raw] if isinstance(raw, str) else [t for t in raw if isinstance(t, str)] if isinstance(raw, list) else []
    if not types and "properties" in schema:
        types = ["object"]
    nullable = "null" in types or bool(schema.get("nullable"))  # 3.1 type lists, 3.0 `nullable: true`
    return [t for t in types if t != "null"], nullable


def type_word(document: Mapping[str, Any], schema: Any) -> str:
    """Our column type word for an OpenAPI schema: string, integer, number, boolean, date, ..., or any."""
    node = _merged(document, schema)
    types, _ = _types(node)
    if len(types) != 1:
        return "any"
    if types[0] == "string":
        return _FORMATS.get(str(node.get("format", "")), "string")
    return types[0] if types[0] in ("integer", "number", "boolean", "object", "array") else "any"


def airbyte_schema(document: Mapping[str, Any], schema: Any, depth: int = 0) -> dict[str, Any]:
    """An OpenAPI schema as Airbyte writes JSON schemas: every type nullable, formats kept, refs inlined."""
    node = _merged(document, schema, depth)
    types, _ = _types(node)
    out: dict[str, Any] = {"type": ["null", *types]} if types else {}
    if isinstance(node.get("format"), str) and node["format"] in _FORMATS:
        out["format"] = node["format"]
    if depth >= _MAX_REF_DEPTH:
        return out
    if "object" in types and isinstance(node.get("properties"), Mapping):
        props = node["properties"]
        out["properties"] = {name: airbyte_schema(document, props[name], depth + 1) for name in sorted(props)}
    if "array" in types and "items" in node:
        out["items"] = airbyte_schema(document, node["items"], depth + 1)
    return out


def _is_object_list(document: Mapping[str, Any], schema: Any) -> Mapping[str, Any] | None:
    """The item schema when `schema` is an array of objects, else None."""
    node = _merged(document, schema)
    if _types(node)[0] != ["array"]:
        return None
    item = _merged(document, node.get("items"))
    return item if _types(item)[0] == ["object"] else None


def _records(document: Mapping[str, Any], schema: Any) -> tuple[tuple[str, ...], Mapping[str, Any]] | None:
    """(records_path, item schema) for a response that is a list of objects, directly or under one property."""
    item = _is_object_list(document, schema)
    if item is not None:
        return (), item
    node = _merged(document, schema)
    fits = {
        name: found
        for name, sub in sorted((node.get("properties") or {}).items())
        if (found := _is_object_list(document, sub)) is not None
    }
    if not fits:
        return None
    name = next((key for key in _RECORD_KEYS if key in fits), None) or (next(iter(fits)) if len(fits) == 1 else None)
    return ((name,), fits[name]) if name else None


def _json_content(document: Mapping[str, Any], response: Any) -> Any:
    content = _resolve(document, response).get("content") or {}
    for media in sorted(content):
        if media == "application/json" or media.endswith("+json"):
            return (content[media] or {}).get("schema")
    return None


def stream_name(path: str) -> str:
    """/v1/user-groups -> user_groups; a leading version segment (v1, v2) says nothing about the stream."""
    parts = [p for p in path.strip("/").split("/") if p and not re.fullmatch(r"v\d+(\.\d+)?", p)]
    name = re.sub(r"[^a-z0-9]+", "_", "_".join(parts).lower()).strip("_")
    if not name or not name[0].isalpha():
        name = f"stream_{name}".rstrip("_")
    return name


def _callable_without_inputs(
    document: Mapping[str, Any], path: str, item: Mapping[str, Any], op: Mapping[str, Any]
) -> bool:
    if "{" in path:
        return False
    parameters = [*(item.get("parameters") or []), *(op.get("parameters") or [])]
    return not any(_resolve(document, p).get("required") for p in parameters)


def list_endpoints(document: Mapping[str, Any]) -> list[OpenApiEndpoint]:
    """Every GET endpoint whose 200 response is a list of objects, sorted by path; names are unique."""
    found: list[OpenApiEndpoint] = []
    taken: set[str] = set()
    paths = document.get("paths") or {}
    for path in sorted(paths):
        item = _resolve(document, paths[path])
        op = item.get("get")
        if not isinstance(op, Mapping) or not _callable_without_inputs(document, path, item, op):
            continue
        responses = op.get("responses") or {}
        schema = _json_content(document, responses.get("200", responses.get(200)))
        shape = _records(document, schema) if schema is not None else None
        if shape is None:
            continue
        records_path, item_schema = shape
        properties = item_schema.get("properties") or {}
        name = stream_name(path)
        while name in taken:
            name += "_"
        taken.add(name)
        found.append(
            OpenApiEndpoint(
                name=name,
                path=path,
                records_path=records_path,
                columns={field: type_word(document, properties[field]) for field in sorted(properties)},
                json_schema=airbyte_schema(document, item_schema),
                primary_key=("id",) if "id" in properties else (),
                summary=str(op.get("summary") or ""),
            )
        )
    return found


def endpoints_config(chosen: Sequence[OpenApiEndpoint], *, with_columns: bool = True) -> list[dict[str, Any]]:
    """The `endpoints:` list of a `type: api` definition for the chosen endpoints, in the order given.

    With `with_columns`, the documented fields are declared (the catalog is the document's); without, the schema
    is inferred from a sample read at discover (the catalog is what the API really sends).
    """
    out = []
    for endpoint in chosen:
        entry: dict[str, Any] = {
            "name": endpoint.name,
            "path": endpoint.path,
            "records_path": list(endpoint.records_path),
        }
        if endpoint.primary_key:
            entry["primary_key"] = list(endpoint.primary_key)
        if with_columns and endpoint.columns:
            entry["columns"] = dict(endpoint.columns)
        out.append(entry)
    return out
