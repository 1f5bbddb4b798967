"""The values that travel between plan, apply and the views: applied state, plans and their changes.

Everything here is data: no I/O, no printing. Lists are kept sorted by the code that builds them, so a
serialised value is deterministic.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .catalog import Stream

STATE_VERSION = 1

DriftKind = Literal["expansion", "contraction", "amendment"]
Action = Literal["create", "update", "delete", "no-op", "error", "skip"]
Level = Literal["error", "warning", "info"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ColumnProfile(_Frozen):
    name: str
    null_rate: float = Field(description="Share of sampled records where the column is null or missing")
    violations: int = Field(description="Sampled records whose value breaks the discovered type")


class StreamProfile(_Frozen):
    stream: str
    records: int
    violations: int = Field(description="Records with at least one type violation")
    completeness: float = Field(description="Share of non-null cells over all sampled cells")
    columns: tuple[ColumnProfile, ...] = ()


class ChangeLogEntry(_Frozen):
    date: str = Field(description="YYYY-MM-DD of the apply that accepted the change")
    change: str
    stories: tuple[str, ...] = ()


class AppliedState(_Frozen):
    """What the last successful apply recorded for one source; committed to git as state/<name>.json."""

    version: int = STATE_VERSION
    source: str
    type: str
    connector: str
    connector_version: str
    config_fingerprint: str = Field(description="sha256 of the non-secret connector config")
    secret_refs: tuple[str, ...] = Field(
        default=(), description="Names of the env vars that hold secrets; never values"
    )
    config: dict[str, object] = Field(default_factory=dict, description="The non-secret config, secrets as ${NAME}")
    declared: dict[str, object] = Field(
        default_factory=dict,
        description="Every other definition key that is recorded or shown (owner, on_drift, streams:, ...)",
    )
    streams: tuple[Stream, ...] = ()
    profiles: tuple[StreamProfile, ...] = ()
    stories: tuple[str, ...] = ()
    changelog: tuple[ChangeLogEntry, ...] = ()


class Location(_Frozen):
    path: str
    line: int = 1
    col: int = 1


class Message(_Frozen):
    level: Level
    text: str
    where: Location | None = None


class ColumnChange(_Frozen):
    """A column-level difference; `old`/`new` are type words (None when absent)."""

    stream: str
    column: str | None = Field(default=None, description="None when the whole stream changed")
    kind: DriftKind
    breaking: bool
    old: str | None = None
    new: str | None = None

    def describe(self) -> str:
        target = f"{self.stream}.{self.column}" if self.column else f"stream {self.stream}"
        if self.column == "(foreign key)":
            return f"{self.stream} foreign key {'added' if self.kind == 'expansion' else 'removed'}: {self.new or self.old}"
        if self.kind == "expansion":
            return f"{target} added" + (f" ({self.new})" if self.new and self.column else "")
        if self.kind == "contraction":
            return f"{target} removed"
        return f"{target}: {self.old} -> {self.new}"


class ConfigChange(_Frozen):
    field: str
    old: str | None = None
    new: str | None = None
    sensitive: bool = False


class SourcePlan(_Frozen):
    name: str
    type: str
    connector: str
    action: Action
    definition_path: str | None = None
    definition_sha: str | None = Field(default=None, description="sha256 of the definition file at plan time")
    state_sha: str | None = Field(default=None, description="sha256 of the state file at plan time")
    connector_version: str | None = None
    on_drift: str = "warn"
    config_changes: tuple[ConfigChange, ...] = ()
    stream_changes: tuple[ColumnChange, ...] = Field(
        default=(), description="Selection changes versus the applied state"
    )
    drift: tuple[ColumnChange, ...] = Field(default=(), description="Live catalog versus the applied state")
    messages: tuple[Message, ...] = ()
    stories: tuple[str, ...] = ()
    catalog: tuple[Stream, ...] = Field(
        default=(), description="The selected streams as discovered (what apply records)"
    )

    @property
    def breaking_drift(self) -> tuple[ColumnChange, ...]:
        return tuple(c for c in self.drift if c.breaking)

    @property
    def has_errors(self) -> bool:
        return self.action == "error" or any(m.level == "error" for m in self.messages)


class PlanSummary(_Frozen):
    add: int
    change: int
    destroy: int
    drift: int
    breaking: int
    errors: int
    skipped: int = 0
    unapplied: int = Field(default=0, description="Skipped sources that were never applied")


class Plan(_Frozen):
    version: int = STATE_VERSION
    sources: tuple[SourcePlan, ...] = ()

    def summary(self) -> PlanSummary:
        return PlanSummary(
            add=sum(1 for s in self.sources if s.action == "create"),
            change=sum(1 for s in self.sources if s.action == "update"),
            destroy=sum(1 for s in self.sources if s.action == "delete"),
            drift=sum(len(s.drift) for s in self.sources),
            breaking=sum(len(s.breaking_drift) for s in self.sources),
            errors=sum(1 for s in self.sources if s.has_errors),
            skipped=sum(1 for s in self.sources if s.action == "skip"),
            unapplied=sum(1 for s in self.sources if s.action == "skip" and s.state_sha is None),
        )

    @property
    def has_changes(self) -> bool:
        return any(s.action in ("create", "update", "delete") for s in self.sources)
