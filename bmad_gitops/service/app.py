"""The FastAPI app over the engine: routes turn requests into engine or worker calls and values into JSON.

Cross-cutting rules live in middleware and one dependency: every /api request gets exactly one audit line
(outermost middleware, whatever the outcome), bodies are capped as they stream in, and `caller(scope)`
authenticates, checks the scope and the key's rate before any work starts.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from .. import __version__
from ..engine import open_project
from ..project import Project
from . import features, jobs
from . import responses as R
from .audit import AuditLog
from .auth import Caller, KeyStore
from .errors_http import ApiError, from_exception, from_job_error
from .limits import BodyLimitMiddleware, RateLimiter
from .memo import Answer, AnswerMemo
from .settings import ServiceSettings, service_dir
from .workers import WorkerSlots

API = "/api/v1/data-sources"
_UPLOAD_OVERHEAD = 64 * 1024  # multipart boundaries and part headers around the file itself


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceRequest(Strict):
    source: str | None = Field(default=None, description="A saved source's name; or give connector_type and config")
    connector_type: str | None = Field(default=None, description="file, postgres, mysql, s3, api (or a connector name)")
    config: dict[str, Any] | None = Field(default=None, description="An ad-hoc config in the definition's `config` shape")


class ReadRequest(SourceRequest):
    stream_name: str = Field(min_length=1, max_length=256)
    limit: int | None = Field(default=None, ge=1, description="Records to return (default 100, capped by the server)")
    unmasked: bool = Field(default=False, description="Sensitive columns in clear; needs admin or data_read_unmasked")


class DatabaseRequest(Strict):
    database_type: Literal["postgres", "mysql"]
    connection: dict[str, Any] = Field(description="host, port, database, username, password, ... (used once, never stored)")


class SaveRequest(Strict):
    name: str = Field(min_length=1, max_length=128)
    configuration: dict[str, Any] = Field(description="The definition: type, connector, config, streams, ...")


class Service:
    """What the routes share: the project, settings, keys, audit log, rate limiter and worker slots."""

    def __init__(self, project: Project, settings: ServiceSettings) -> None:
        from ..atomic import inside
        from ..errors import ProjectError, UsageError

        if settings.requests_per_minute < 1:
            raise UsageError(f"requests_per_minute is {settings.requests_per_minute}", "set service.requests_per_minute to 1 or more")
        for path in (settings.keys_path(project.root), settings.audit_path(project.root)):
            if not inside(path, project.root):  # the service writes both (rotation, the audit): never outside
                raise ProjectError(f"{path} lies outside the project root {project.root}", "keep the service's files inside the project")
        self.project = project
        self.settings = settings
        self.keys = KeyStore(settings.keys_path(project.root))
        self.audit = AuditLog(settings.audit_path(project.root), settings.audit_max_bytes, settings.audit_backups, project.root)
        self.limiter = RateLimiter(settings.requests_per_minute, service_dir(project.root) / "rate.bin", project.root)
        self.workers = WorkerSlots(settings.workers, settings.timeout_s)
        self.memo = AnswerMemo()
        self._listed: tuple[float, bytes] | None = None

    @property
    def root(self) -> str:
        return str(self.project.root)

    def connectors_body(self) -> bytes:
        """GET /connectors, rendered. Installed versions come from the connectors' install markers; they change
        only when a connector is installed, so an answer up to 10 s old is fresh enough and keeps this off the CPU."""
        import time

        from ..engine import connectors

        if self._listed is None or time.monotonic() - self._listed[0] > 10:
            body = _render({
                "connectors": [
                    {"name": c.connector, "family": c.family, "pinned": c.pinned, "installed": c.installed, "unavailable": c.unavailable}
                    for c in connectors()
                ]
            })
            self._listed = (time.monotonic(), body)
        return self._listed[1]

    def config_listing_body(self) -> bytes | None:
        """GET /config as kept, when its files are unchanged (see memo.py); None otherwise."""
        hit = self.memo.get(("config",))
        return hit.body if hit is not None else None

    def require_feature(self) -> None:
        if not features.enabled(self.project.root, "pyairbyte_integration"):
            raise ApiError(
                503,
                features.DISABLED_MESSAGE,
                f"enable it with `{features.ENABLE_COMMAND}`",
                extra={"feature": "pyairbyte_integration", "enable": features.ENABLE_COMMAND},
            )

    async def in_worker(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            answer = await self.workers.run(jobs.guarded, fn, *args)
        except Exception as exc:  # timeout, crash, busy: this request fails, the server stays
            raise from_exception(exc) from None
        return _unwrap(answer)

    async def in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        return _unwrap(await run_in_threadpool(jobs.guarded, fn, *args))

    def inline(self, fn: Callable[..., Any], *args: Any) -> Any:
        """For cache lookups (a few ms, no connector): on the event loop, because a hop to the thread pool
        costs more than the work once 50 requests compete for the GIL."""
        return _unwrap(jobs.guarded(fn, *args))


def _unwrap(answer: dict[str, Any]) -> Any:
    if "error" in answer:
        raise from_job_error(answer["error"])
    return answer["result"]


# How a key is sent, for the OpenAPI document (see _publish_security); `caller` reads the headers itself, so no
# request pays for two extra dependency resolutions just to say so.
SECURITY_SCHEMES = {
    "APIKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "HTTPBearer": {"type": "http", "scheme": "bearer"},
}


def _presented(headers: Mapping[str, str]) -> str | None:
    key = headers.get("x-api-key")
    if key:
        return key
    scheme, _, credentials = (headers.get("authorization") or "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" and credentials.strip() else None


def identify(service: Service, headers: Mapping[str, str]) -> Caller:
    """The caller whose key the request presents (401 when none, unknown, revoked or expired)."""
    presented = _presented(headers)
    if presented is None:
        raise ApiError(401, "missing API key", "send it as `X-API-Key: KEY` or `Authorization: Bearer KEY`")
    found = service.keys.authenticate(presented)  # a hash and a stat: no thread needed
    if found is None:
        raise ApiError(401, "unknown, revoked or expired API key", "create one with `bmad-gitops keys create`")
    return found


def _note(request: Request, **values: Any) -> None:
    """What the audit line should say about this request (source, stream, rows), set as the work goes."""
    noted = getattr(request.state, "audit", None) or {}
    noted.update(values)
    request.state.audit = noted


def caller(scope: str) -> Callable[..., Awaitable[Caller]]:
    async def dependency(request: Request) -> Caller:
        service: Service = request.app.state.service
        found = identify(service, request.headers)
        _note(request, key=found.name)
        if not found.allows(scope):
            raise ApiError(403, f"key '{found.name}' lacks the {scope} scope", f"use a key with {scope} or admin")
        wait = await service.limiter.retry_after_async(found.name)
        if wait is not None:
            raise ApiError(429, "rate limit reached", f"retry in {wait} s", headers={"Retry-After": str(wait)})
        return found

    return dependency


Reader = Annotated[Caller, Depends(caller("data_read"))]
Writer = Annotated[Caller, Depends(caller("data_write"))]


class AuditMiddleware:
    """One audit line per /api request, written after the response starts, with the final status."""

    def __init__(self, app: Any, service: Service) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        written = False

        def write(status: int) -> None:
            nonlocal written
            written = True
            noted = (scope.get("state") or {}).get("audit") or {}
            client = scope.get("client")
            outcome = "ok" if status < 400 else "refused" if status in (401, 403, 413, 415, 429, 503) else "error"
            self.service.audit.record(
                key=noted.get("key"),
                client=client[0] if client else None,
                endpoint=f"{scope['method']} {scope['path']}",
                outcome=outcome,
                status=status,
                source=noted.get("source"),
                stream=noted.get("stream"),
                rows=noted.get("rows"),
            )

        async def tracked(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and not written:
                write(int(message["status"]))  # before the client can see the answer, so the line is never late
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        finally:
            if not written:  # the app failed before answering
                write(500)


def create_app(root: Path, settings: ServiceSettings) -> FastAPI:
    project = open_project(root)
    service = Service(project, settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import gc

        # What start-up built (FastAPI, pydantic, the routes) lives as long as the server: moved out of the
        # collector's sight, so a full collection scans only what requests made and stops no request for long.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            service.workers.shutdown()

    app = FastAPI(
        title="bmad-gitops service",
        version=__version__,
        description="Data sources as code, over HTTP: discover, sample, upload and save definitions.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.service = service

    def body_limit(path: str) -> int:
        return settings.max_upload_bytes + _UPLOAD_OVERHEAD if path == f"{API}/upload" else settings.max_body_bytes

    from .hot import HotAnswers

    app.add_middleware(HotAnswers, service=service, answers={f"{API}/connectors": service.connectors_body, f"{API}/config": service.config_listing_body})
    app.add_middleware(BodyLimitMiddleware, limit_for=body_limit)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_headers=["X-API-Key", "Authorization", "Content-Type"])
    app.add_middleware(AuditMiddleware, service=service)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Only where and what, never the input: a request body may hold a password.
        problems = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))} for e in exc.errors()]
        return JSONResponse({"error": "invalid request", "hint": "see `problems`", "problems": problems}, status_code=422)

    _routes(app, service)
    _publish_security(app)
    _docs(app)
    return app


def _publish_security(app: FastAPI) -> None:
    """Every /api operation is documented as taking X-API-Key or a bearer token (either one)."""
    from fastapi.openapi.utils import get_openapi

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
            for path, item in schema.get("paths", {}).items():
                if path.startswith("/api/"):
                    for operation in item.values():
                        operation["security"] = [{"APIKeyHeader": []}, {"HTTPBearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]


def _routes(app: FastAPI, service: Service) -> None:

    @app.get("/health", tags=["service"], response_model=R.Health)
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get(f"{API}/connectors", tags=["sources"], response_model=R.Connectors, responses=R.FAILURES)
    async def list_connectors(request: Request, who: Reader) -> Response:
        return _json(service.connectors_body())

    @app.post(f"{API}/discover", tags=["sources"], response_model=R.Discovered, responses=R.FAILURES)
    async def discover(body: SourceRequest, request: Request, who: Reader) -> Response:
        _note(request, source=_label(body))
        service.require_feature()
        payload = _request_payload(body, who, service.settings)
        key = ("discover", _fingerprint(payload))
        hit = service.memo.get(key)
        if hit is not None:
            return _json(hit.body)
        found = service.inline(jobs.discover_request, service.root, service.settings.env, payload, True)
        inputs = found.pop("inputs") if found is not None else None
        if found is None:
            found = await service.in_worker(jobs.discover_request, service.root, service.settings.env, payload, False)
            found.pop("inputs", None)
        rendered = _render({**found, "cached": inputs is not None})
        if inputs is not None:
            service.memo.put(key, Answer(rendered, inputs, {}))
        return _json(rendered)

    @app.post(f"{API}/read", tags=["sources"], response_model=R.Records, responses=R.FAILURES)
    async def read_records(body: ReadRequest, request: Request, who: Reader) -> Response:
        _note(request, source=_label(body), stream=body.stream_name)
        service.require_feature()
        limit = body.limit or service.settings.read_limit_default
        if limit > service.settings.read_limit_max:
            raise ApiError(422, f"limit {limit} is above the server's maximum", f"ask for at most {service.settings.read_limit_max}")
        if body.unmasked and not who.allows("data_read_unmasked"):
            raise ApiError(403, f"key '{who.name}' may not read unmasked records", "use a key with admin or data_read_unmasked")
        payload = _request_payload(body, who, service.settings)
        key = ("read", _fingerprint(payload), body.stream_name, limit, body.unmasked)
        hit = service.memo.get(key)
        if hit is not None:
            _note(request, **hit.note)
            return _json(hit.body)
        args = (service.root, service.settings.env, payload, body.stream_name, limit)
        got = service.inline(jobs.read_request, *args, True)
        inputs = got.pop("inputs") if got is not None else None
        if got is None:
            got = await service.in_worker(jobs.read_request, *args, False)
            got.pop("inputs", None)
        from ..extraction import mask_record, sensitive_names

        hidden = frozenset() if body.unmasked else frozenset(got["sensitive"]) | sensitive_names(k for r in got["records"] for k in r)
        records = [mask_record(r, hidden) for r in got["records"]]
        _note(request, rows=len(records))
        rendered = _render({"source": body.source, "stream": body.stream_name, "records": records, "masked": sorted(hidden), "cached": got["cached"]})
        if inputs is not None:
            service.memo.put(key, Answer(rendered, inputs, {"rows": len(records)}))
        return _json(rendered)

    @app.post(f"{API}/upload", tags=["sources"], response_model=R.Uploaded, responses=R.FAILURES)
    async def upload(request: Request, who: Writer, file: Annotated[UploadFile, File()], name: Annotated[str | None, Form()] = None,
        suggest: Annotated[bool, Form(description="Discover the file and suggest a definition (starts a connector)")] = True,
    ) -> dict[str, Any]:
        from .uploads import store_upload

        async def chunks() -> AsyncIterator[bytes]:
            while chunk := await file.read(1024 * 1024):
                yield chunk

        settings = service.settings
        try:
            stored = await store_upload(
                service.project.root, name or file.filename, chunks(),
                max_bytes=settings.max_upload_bytes, max_unzipped=settings.max_unzipped_bytes, max_ratio=settings.max_zip_ratio,
            )
        except Exception as exc:
            raise from_exception(exc) from None
        _note(request, source=stored.relative)
        answer: dict[str, Any] = {"path": stored.relative, "format": stored.format, "size": stored.size, "suggested_definition": None}
        if not suggest:
            pass
        elif stored.format == "parquet":
            answer["note"] = "source-file definitions cannot read Parquet yet; the file is stored"
        elif not features.enabled(service.project.root, "pyairbyte_integration"):
            answer["note"] = f"{features.DISABLED_MESSAGE}: no suggested definition (`{features.ENABLE_COMMAND}`)"
        else:
            answer["suggested_definition"] = await service.in_worker(
                jobs.suggest_request, service.root, stored.relative, stored.format, stored.dataset
            )
        return answer

    @app.post(f"{API}/database", tags=["sources"], response_model=R.DatabaseTested, responses=R.FAILURES)
    async def database(body: DatabaseRequest, request: Request, who: Writer) -> dict[str, Any]:
        _note(request, source=f"adhoc:{body.database_type}")
        service.require_feature()
        result = await service.in_worker(jobs.database_request, service.root, body.database_type, body.connection)
        _note(request, rows=len(result["tables"]))
        return dict(result)

    @app.get(f"{API}/config", tags=["configs"], response_model=R.SavedList, responses=R.FAILURES)
    async def list_saved(request: Request, who: Reader) -> Response:
        # A stat per file and folder: cheaper than a hop to the thread pool, and than rendering 50 summaries.
        from .configs import list_configs, listing_inputs

        kept = service.config_listing_body()
        if kept is not None:
            return _json(kept)
        inputs = listing_inputs(service.project)
        rendered = _render({"sources": _call(list_configs, service.project)})
        service.memo.put(("config",), Answer(rendered, inputs, {}))
        return _json(rendered)

    @app.get(f"{API}/config/{{name}}", tags=["configs"], response_model=R.SavedDefinition, responses=R.FAILURES)
    def get_saved(name: str, request: Request, who: Reader) -> dict[str, Any]:
        from .configs import read_config

        _note(request, source=name)
        return dict(_call(read_config, service.project, name))

    @app.post(f"{API}/config", tags=["configs"], response_model=R.Written, status_code=201, responses={**R.FAILURES, 200: {"model": R.Written, "description": "Updated"}})
    def save_saved(body: SaveRequest, request: Request, who: Writer) -> JSONResponse:
        from .configs import save_config

        _note(request, source=body.name)
        saved = _call(save_config, service.project, body.name, body.configuration, git_branch=service.settings.git_branch)
        return JSONResponse(saved.__dict__, status_code=201 if saved.created else 200)

    @app.delete(f"{API}/config/{{name}}", tags=["configs"], response_model=R.Written, responses=R.FAILURES)
    def delete_saved(name: str, request: Request, who: Writer) -> dict[str, Any]:
        from .configs import delete_config

        _note(request, source=name)
        return dict(_call(delete_config, service.project, name, git_branch=service.settings.git_branch).__dict__)

    @app.get(f"{API}/plan", tags=["plan"], response_model=R.PlanAnswer, responses=R.FAILURES)
    async def get_plan(request: Request, who: Reader, refresh: bool = True) -> dict[str, Any]:
        if not refresh:
            return dict(await service.in_thread(jobs.plan_request, service.root, service.settings.env, False))
        service.require_feature()
        return dict(await service.in_worker(jobs.plan_request, service.root, service.settings.env, True))

    @app.get(f"{API}/lineage/{{name}}", tags=["plan"], response_model=R.Lineage, responses=R.FAILURES)
    def get_lineage(name: str, request: Request, who: Reader) -> dict[str, Any]:
        from .configs import definition_path

        _note(request, source=name)
        _call(definition_path, service.project, name)  # refuses names that are not source names
        doc = service.project.lineage_dir / f"{name}.md"
        if not doc.is_file():
            raise ApiError(404, f"no lineage doc for '{name}'", "run `bmad-gitops apply` (or `bmad-gitops lineage`) first")
        return {"source": name, "path": service.project.display(doc), "markdown": doc.read_text(encoding="utf-8")}


def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        raise from_exception(exc) from None


def _render(payload: Any) -> bytes:
    """JSON exactly as FastAPI's JSONResponse renders it, once, for answers that are kept and sent again."""
    return bytes(JSONResponse(jsonable_encoder(payload)).body)


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


def _fingerprint(payload: Mapping[str, Any]) -> str:
    """A memo key for a request body; a digest, so an ad-hoc password is not kept as it was sent."""
    import hashlib
    import json

    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _label(body: SourceRequest) -> str:
    return body.source or f"adhoc:{body.connector_type}"


def _request_payload(body: SourceRequest, who: Caller, settings: ServiceSettings) -> dict[str, Any]:
    """What the job receives. An ad-hoc request by a key without data_write carries `reach` (the operator's
    allowed hosts): it may connect only where saved sources do or those hosts allow (service/reach.py). Being
    part of the payload, it is part of the memo key too, so no kept answer crosses from one kind of key to another."""
    if body.source:
        if body.config is not None or body.connector_type is not None:
            raise ApiError(422, "give either `source` or `connector_type` and `config`", "not both")
        return {"source": body.source}
    if not body.connector_type or body.config is None:
        raise ApiError(422, "give `source`, or `connector_type` and `config`", 'e.g. {"source": "customers"}')
    payload: dict[str, Any] = {"connector_type": body.connector_type, "config": body.config}
    if not who.allows("data_write"):
        payload["reach"] = sorted(settings.allowed_hosts)
    return payload


def _docs(app: FastAPI) -> None:
    """/docs without a CDN: Swagger UI 5 (it renders OpenAPI 3.1, which FastAPI writes; Swagger UI 4 cannot) from
    the `fastapi-offline` package's assets when installed, else a plain page of the operations (also offline)."""
    try:
        import fastapi_offline  # type: ignore[import-not-found]

        swagger_ui_path: Path | None = Path(fastapi_offline.__file__).parent / "static"
    except ImportError:
        swagger_ui_path = None
    if swagger_ui_path is not None and (swagger_ui_path / "swagger-ui-bundle.js").is_file():
        from fastapi.openapi.docs import get_swagger_ui_html
        from fastapi.staticfiles import StaticFiles

        app.mount("/docs-assets", StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

        @app.get("/docs", include_in_schema=False)
        def swagger() -> HTMLResponse:
            return get_swagger_ui_html(
                openapi_url="/openapi.json",
                title=app.title,
                swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                swagger_css_url="/docs-assets/swagger-ui.css",
                swagger_favicon_url="/docs-assets/favicon.png",
            )

        return

    @app.get("/docs", include_in_schema=False)
    def plain_docs() -> HTMLResponse:
        import html

        rows = "".join(
            f"<tr><td>{html.escape(method.upper())}</td><td><code>{html.escape(path)}</code></td><td>{html.escape(op.get('summary', ''))}</td></tr>"
            for path, item in sorted(app.openapi()["paths"].items())
            for method, op in item.items()
        )
        page = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(app.title)}</title></head><body>"
            f"<h1>{html.escape(app.title)} {html.escape(app.version)}</h1><p>The full document: <a href='/openapi.json'>/openapi.json</a>."
            f"</p><table border='1' cellpadding='4'><tr><th>method</th><th>path</th><th>summary</th></tr>{rows}</table></body></html>"
        )
        return HTMLResponse(page)
