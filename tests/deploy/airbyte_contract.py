"""A loopback Airbyte public API for deploy's tests and benchmark, held to the OpenAPI document.

stdlib http.server in a thread on 127.0.0.1, sources and connections in memory. EVERY request body and EVERY
response body is validated against the document's component schemas with jsonschema: a request that does
not validate is refused with 400 (and recorded in `refused`), a response that would not validate is a bug
here (recorded in `violations`, answered 500). Tests assert both lists stay empty.

Two translations of the document, both checked when it is loaded:
- `SourceConfiguration` is a `oneOf` of ~240 connector schemas, each with a distinct `sourceType` const, so
  a configuration that carries `sourceType` can match only the member that names it: validating against that
  member is the same check, at 1/240th of the cost (the benchmark lists 500 sources). Without `sourceType`
  the real `oneOf` runs.
- OpenAPI 3.0's `nullable: true` becomes a `null` type (this 3.1 document uses none, but stays safe).
"""

from __future__ import annotations

import copy
import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema
import referencing
import yaml
from referencing.jsonschema import DRAFT202012

DOCUMENT = Path("/work/shared/airbyte-api/openapi.yaml")
_BASE = "urn:airbyte-openapi"
MASK = "**********"


@dataclass(frozen=True)
class Contract:
    document: dict[str, Any]
    registry: referencing.Registry[Any]
    by_source_type: dict[str, str]  # sourceType -> "#/components/schemas/source-x"
    validator_class: Any
    _cache: dict[str, Any] = field(default_factory=dict)

    def errors(self, schema_name: str, instance: Any) -> list[str]:
        validator = self._cache.get(schema_name)
        if validator is None:
            ref = {"$ref": f"{_BASE}#/components/schemas/{schema_name}"}
            validator = self.validator_class(ref, registry=self.registry)
            self._cache[schema_name] = validator
        return [
            f"{'/'.join(str(p) for p in e.absolute_path) or '(body)'}: {e.message[:300]}"
            for e in validator.iter_errors(instance)
        ]

    def schema(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.document["components"]["schemas"][name]
        return found


def _dispatch(validator: Any, mapping: dict[str, str], instance: Any, schema: dict[str, Any]) -> Iterator[Any]:
    if not isinstance(instance, dict):
        yield jsonschema.ValidationError("configuration must be an object")
        return
    kind = instance.get("sourceType")
    target = mapping.get(kind) if isinstance(kind, str) else None
    if target is None:
        yield jsonschema.ValidationError(f"sourceType {kind!r} matches no member of SourceConfiguration.oneOf")
        return
    yield from validator.descend(instance, {"$ref": f"{_BASE}{target}"})


def _nullable(node: Any) -> Any:
    if isinstance(node, dict):
        if node.get("nullable") is True and isinstance(node.get("type"), str):
            node = {**node, "type": [node["type"], "null"]}
            node.pop("nullable")
        return {k: _nullable(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


@lru_cache(maxsize=1)
def load_contract() -> Contract:
    """The document, parsed once per process (2.2 MB of YAML: about a second with libyaml)."""
    document = yaml.load(DOCUMENT.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    schemas = document["components"]["schemas"]
    original = schemas["SourceConfiguration"]
    mapping: dict[str, str] = {}
    for member in original["oneOf"]:
        target = member["$ref"].removeprefix("#/components/schemas/")
        spec = schemas[target]
        const = spec["properties"]["sourceType"]["const"]
        # The precondition that makes dispatch equal to oneOf: every member pins a distinct const.
        assert const not in mapping, f"two members share sourceType {const}"
        mapping[const] = member["$ref"]
    translated = _nullable(copy.deepcopy(document))
    translated["components"]["schemas"]["SourceConfiguration"] = {
        "if": {"type": "object", "required": ["sourceType"]},
        "then": {"x-dispatch-sourceType": mapping},
        "else": {"oneOf": original["oneOf"]},
    }
    resource = referencing.Resource.from_contents(translated, default_specification=DRAFT202012)
    registry: referencing.Registry[Any] = referencing.Registry().with_resource(_BASE, resource)
    validator_class = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
        jsonschema.Draft202012Validator, {"x-dispatch-sourceType": _dispatch}
    )
    return Contract(document, registry, mapping, validator_class)


def mask_secrets(schema: dict[str, Any], value: Any, contract: Contract) -> Any:
    """What Airbyte returns: every `airbyte_secret` field of the connector's spec as asterisks."""
    if isinstance(schema, dict) and "$ref" in schema:
        schema = contract.schema(schema["$ref"].rsplit("/", 1)[-1])
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        subs = [schema.get("properties", {}).get(key)] + [
            m.get("properties", {}).get(key) for m in schema.get("oneOf", []) if isinstance(m, dict)
        ]
        subs = [s for s in subs if isinstance(s, dict)]
        if any(s.get("airbyte_secret") for s in subs):
            out[key] = MASK
        elif isinstance(item, dict) and subs:
            out[key] = mask_secrets(subs[0], item, contract)
        else:
            out[key] = item
    return out


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes
    status: int


@dataclass
class Fault:
    method: str
    path: str  # regex on the path
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1


class AirbyteContractServer:
    """The public API's sources, connections and token endpoints over in-memory stores."""

    def __init__(
        self,
        contract: Contract,
        *,
        workspace_id: str,
        destination_id: str,
        client_id: str = "client-id",
        client_secret: str = "client-secret",
        api_token: str | None = None,
    ) -> None:
        self.contract = contract
        self.workspace_id = workspace_id
        self.destination_id = destination_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.tokens: set[str] = {api_token} if api_token else set()
        self.sources: dict[str, dict[str, Any]] = {}  # insertion order = list order
        self.connections: dict[str, dict[str, Any]] = {}
        self.requests: list[Recorded] = []
        self.refused: list[str] = []
        self.violations: list[str] = []
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 1 << 16
            disable_nagle_algorithm = True

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                with server._lock:
                    status, body, headers = server.handle(
                        self.command, parts.path, parse_qs(parts.query), raw, self.headers.get("Authorization", "")
                    )
                    server.requests.append(Recorded(self.command, parts.path, parse_qs(parts.query), raw, status))
                payload = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                if body is not None:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def start(self) -> AirbyteContractServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ── helpers for tests ─────────────────────────────────────────────────────────────────────────────────

    def add_source(self, name: str, configuration: dict[str, Any]) -> str:
        """A source made by hand in the workspace (as if in Airbyte's UI)."""
        source_id = str(uuid.uuid4())
        body = {"name": name, "workspaceId": self.workspace_id, "configuration": configuration}
        assert not self.contract.errors("SourceCreateRequest", body)
        self.sources[source_id] = {"sourceId": source_id, **body, "sourceType": configuration["sourceType"]}
        return source_id

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def calls(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        return [
            r for r in self.requests
            if (method is None or r.method == method) and (path is None or re.fullmatch(path, r.path))
        ]

    # ── the API ───────────────────────────────────────────────────────────────────────────────────────────

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], raw: bytes, auth: str
    ) -> tuple[int, Any, dict[str, str]]:
        for fault in self.faults:
            if fault.times > 0 and fault.method == method and re.fullmatch(fault.path, path):
                fault.times -= 1
                return fault.status, {"message": f"injected {fault.status}"}, fault.headers
        if not path.startswith("/v1/"):
            return 404, {"message": "not found"}, {}
        path = path.removeprefix("/v1")
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return self._refuse(f"{method} {path}: body is not JSON")
        if path == "/applications/token" and method == "POST":
            return self._token(body)
        if not auth.startswith("Bearer ") or auth.removeprefix("Bearer ") not in self.tokens:
            return 401, {"message": "Unauthorized"}, {}
        route = self._route(method, path)
        if route is None:
            return 404, {"message": f"no route {method} {path}"}, {}
        answer: tuple[int, Any, dict[str, str]] = route(path, query, body)
        return answer

    def _route(self, method: str, path: str) -> Any:
        table = {
            ("GET", "/sources"): self._list_sources,
            ("POST", "/sources"): self._create_source,
            ("GET", "/connections"): self._list_connections,
            ("POST", "/connections"): self._create_connection,
        }
        if (method, path) in table:
            return table[(method, path)]
        if re.fullmatch(r"/sources/[^/]+", path):
            return {"GET": self._get_source, "PATCH": self._patch_source, "DELETE": self._delete_source}.get(method)
        if re.fullmatch(r"/connections/[^/]+", path):
            return {"PATCH": self._patch_connection, "DELETE": self._delete_connection}.get(method)
        return None

    def _refuse(self, why: str) -> tuple[int, Any, dict[str, str]]:
        self.refused.append(why)
        return 400, {"message": why}, {}

    def _checked(self, schema: str, body: Any, status: int = 200) -> tuple[int, Any, dict[str, str]]:
        errors = self.contract.errors(schema, body)
        if errors:
            self.violations.append(f"response {schema}: {errors[0]}")
            return 500, {"message": "contract violation in the test server"}, {}
        return status, body, {}

    def _request_errors(self, schema: str, body: Any, what: str) -> tuple[int, Any, dict[str, str]] | None:
        errors = self.contract.errors(schema, body)
        return self._refuse(f"{what} does not validate against {schema}: {errors[0]}") if errors else None

    def _token(self, body: Any) -> tuple[int, Any, dict[str, str]]:
        refused = self._request_errors("ApplicationTokenRequestWithGrant", body, "POST /applications/token")
        if refused:
            return refused
        if body["client_id"] != self.client_id or body["client_secret"] != self.client_secret:
            return 401, {"message": "invalid client credentials"}, {}
        token = uuid.uuid4().hex
        self.tokens.add(token)
        return self._checked("PublicAccessTokenResponse", {"access_token": token, "token_type": "Bearer", "expires_in": 180})

    def _page(self, query: dict[str, list[str]], what: str) -> tuple[int, int, str | None]:
        workspaces = [w for v in query.get("workspaceIds", []) for w in v.split(",")]
        if workspaces and self.workspace_id not in workspaces:
            return 0, 0, None
        try:
            limit = int(query.get("limit", ["20"])[0])
            offset = int(query.get("offset", ["0"])[0])
        except ValueError:
            return 0, 0, "limit/offset must be integers"
        if not 1 <= limit <= 100 or offset < 0:
            return 0, 0, f"{what}: limit must be 1..100 and offset >= 0 (the document's bounds)"
        return limit, offset, None

    def _list(self, items: list[dict[str, Any]], query: dict[str, list[str]], path: str, schema: str) -> Any:
        limit, offset, problem = self._page(query, path)
        if problem:
            return self._refuse(problem)
        data = items[offset : offset + limit] if limit else []
        body: dict[str, Any] = {"data": data}
        if limit and offset + limit < len(items):
            body["next"] = f"{self.url}{path}?limit={limit}&offset={offset + limit}"
        if offset:
            body["previous"] = f"{self.url}{path}?limit={limit}&offset={max(offset - limit, 0)}"
        return self._checked(schema, body)

    def _source_view(self, source: dict[str, Any]) -> dict[str, Any]:
        spec = self.contract.by_source_type[source["sourceType"]]
        masked = mask_secrets({"$ref": spec}, source["configuration"], self.contract)
        return {**source, "configuration": masked}

    def _list_sources(self, path: str, query: dict[str, list[str]], body: Any) -> Any:
        return self._list([self._source_view(s) for s in self.sources.values()], query, path, "SourcesResponse")

    def _create_source(self, path: str, query: dict[str, list[str]], body: Any) -> Any:
        refused = self._request_errors("SourceCreateRequest", body, "POST /sources")
        if refused:
            return refused
        if body["workspaceId"] != self.workspace_id:
            return 404, {"message": "workspace not found"}, {}
        source_id = str(uuid.uuid4())
        self.sources[source_id] = {
            "sourceId": source_id, "name": body["name"], "workspaceId": body["workspaceId"],
            "sourceType": body["configuration"]["sourceType"], "configuration": body["configuration"],
        }
        return self._checked("SourceResponse", self._source_view(self.sources[source_id]))

    def _get_source(self, path: str, query: dict[str, list[str]], body: Any) -> Any:
        found = self.sources.get(path.rsplit("/", 1)[-1])
        return self._checked("SourceResponse", self._source_view(found)) if found else (404, {"message": "not found"}, {})

    def _patch_source(self, path: str, query: dict[str, list[str]], body: Any) -> Any:
        refused = self._request_errors("SourcePatchRequest", body, f"PATCH {path}")
        if refused:
            return refused
        found = self.sources.get(path.rsplit("/", 1)[-1])
        if found is None:
            return 404, {"message": "not found"}, {}
        if "configuration" in body:
            if body["configuration"]["sourceType"] != found["sourceType"]:
                return self._refuse(f"PATCH {path}: sourceType cannot change")
            found["configuration"] = body["configuration"]  # the whole configuration, as sent
        if "name" in body:
            found["name"] = body["name"]
        return self._checked("SourceResponse", self._source_view(found))

    def _delete_source(self, path: str, query: dict[str, list[str]], body: Any) -> Any:
        source_id = path.rsplit("/", 1)[-1]
        if self.sources.pop(source_id, None) is None:
            return 404, {"message": "not found"}, {}
        for connection_id in [c for c, v in self.connections.items() if v["sourceId"] == source_id]:
            del self.connections[connection_id]  # Airbyte deletes a source's connections with it
        return 204, None, {}

    def _list_connections(self, path: str, query: dict[str, list[str]], body: Any) -> Any:
        return self._list(list(self.connections.values()), query, path, "ConnectionsResponse")

    def _create_connection(self, path: str, query: dict[str, list[str]], body: Any) -> Any:
        refused = self._request_errors("ConnectionCreateRequest", body, "POST /connections")
        if refused:
            return refused
        if body["sourceId"] not in self.sources or body["destinationId"] != self.destination_id:
            return self._refuse("POST /connections: unknown sourceId or destinationId")
        connection_id = str(uuid.uuid4())
        self.connections[connection_id] = {
            "connectionId": connection_id,
            "name": body.get("name", "connection"),
            "sourceId": body["sourceId"],
            "destinationId": body["destinationId"],
            "workspaceId": self.workspace_id,
            "status": body.get("status", "active"),
            "schedule": body.get("schedule", {"scheduleType": "manual"}),
            "dataResidency": body.get("dataResidency", "auto"),
            "configurations": body.get("configurations", {"streams": []}),
        }
        return self._checked("ConnectionResponse", self.connections[connection_id])

    def _patch_connection(self, path: str, query: dict[str, list[str]], body: Any) -> Any:
        refused = self._request_errors("ConnectionPatchRequest", body, f"PATCH {path}")
        if refused:
            return refused
        found = self.connections.get(path.rsplit("/", 1)[-1])
        if found is None:
            return 404, {"message": "not found"}, {}
        found.update({k: v for k, v in body.items() if k in ("name", "schedule", "configurations", "status")})
        return self._checked("ConnectionResponse", found)

    def _delete_connection(self, path: str, query: dict[str, list[str]], body: Any) -> Any:
        if self.connections.pop(path.rsplit("/", 1)[-1], None) is None:
            return 404, {"message": "not found"}, {}
        return 204, None, {}


@contextmanager
def serve(contract: Contract, **kwargs: Any) -> Iterator[AirbyteContractServer]:
    server = AirbyteContractServer(contract, **kwargs).start()
    try:
        yield server
    finally:
        server.stop()
