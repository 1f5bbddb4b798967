"""The shapes of the service's answers, as published in its OpenAPI document.

Routes render their answers once (often kept as bytes, see memo.py) rather than validating them through these
models on every request; the schemathesis test holds every real answer to the shape published here.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ..catalog import Stream
from ..model import PlanSummary, SourcePlan


class Health(BaseModel):
    status: str
    version: str


class Connector(BaseModel):
    name: str
    family: str = Field(description="file, s3, database, api")
    pinned: str = Field(description="The version the registry pins (`native` for the SQL backend)")
    installed: str | None = Field(description="The installed version, or null when not installed yet")
    unavailable: str | None = Field(description="Why this connector cannot run here, or null")


class Connectors(BaseModel):
    connectors: list[Connector]


class Discovered(BaseModel):
    source: str | None = Field(description="The saved source's name, or null for an ad-hoc config")
    connector: str
    version: str
    streams: list[Stream]
    cached: bool = Field(description="Served from the discovery cache (no connector started)")


class Records(BaseModel):
    source: str | None
    stream: str
    records: list[dict[str, Any]]
    masked: list[str] = Field(description="Columns whose values are replaced by ****")
    cached: bool


class Uploaded(BaseModel):
    path: str = Field(description="Where the file is stored, relative to the project root")
    format: str = Field(description="csv, json, jsonl, excel or parquet, judged from the content")
    size: int
    suggested_definition: dict[str, Any] | None = Field(description="A definition ready for POST /config, or null")
    note: str | None = Field(default=None, description="Why there is no suggested definition, when there is none")


class TableColumn(BaseModel):
    name: str
    type: str


class Table(BaseModel):
    name: str
    namespace: str | None
    columns: list[TableColumn]
    primary_key: list[str]


class DatabaseTested(BaseModel):
    connector: str
    connected: bool
    tables: list[Table]


class SavedSummary(BaseModel):
    name: str
    path: str
    type: str | None
    connector: str | None
    description: str | None
    readable: bool = Field(description="False when the file does not parse; validate says why")


class SavedList(BaseModel):
    sources: list[SavedSummary]


class SavedDefinition(BaseModel):
    name: str
    path: str
    configuration: Any = Field(description="The definition as written: ${VAR} references stay references")


class Written(BaseModel):
    name: str
    path: str
    created: bool
    branch: str | None = Field(description="The branch committed to, with --git-branch")
    commit: str | None


class Diagnostic(BaseModel):
    """A validate diagnostic: the same code, place and hint `bmad-gitops validate` prints."""

    code: str
    severity: str
    message: str
    path: str
    line: int | None
    column: int | None
    hint: str | None


class PlanAnswer(BaseModel):
    """`bmad-gitops plan --format json`, plus validate's diagnostics."""

    version: int
    sources: list[SourcePlan]
    summary: PlanSummary
    has_changes: bool
    diagnostics: list[Diagnostic]


class Lineage(BaseModel):
    source: str
    path: str
    markdown: str


class Problem(BaseModel):
    loc: list[str]
    msg: str
    type: str


class Failure(BaseModel):
    """Every refusal and failure: what went wrong and how to fix it; some carry more fields (diagnostics, limit)."""

    model_config = {"extra": "allow"}

    error: str
    hint: str


class InvalidRequest(Failure):
    problems: list[Problem] | None = None
    diagnostics: list[Diagnostic] | None = None


FAILURES: dict[int | str, dict[str, Any]] = {
    401: {"model": Failure, "description": "Missing, unknown, revoked or expired API key"},
    403: {"model": Failure, "description": "The key lacks the scope"},
    404: {"model": Failure, "description": "No such source, stream or document"},
    413: {"model": Failure, "description": "Request body too large"},
    422: {"model": InvalidRequest, "description": "Invalid request or definition (with validate's diagnostics)"},
    409: {"model": Failure, "description": "A conflicting write or a locked state"},
    429: {"model": Failure, "description": "Rate limit reached; see Retry-After"},
    502: {"model": Failure, "description": "The connector or the upstream source failed (one line, no secrets)"},
    503: {"model": Failure, "description": "PyAirbyte integration disabled, or every connector worker busy"},
    504: {"model": Failure, "description": "The connector did not answer within the service's timeout"},
}
