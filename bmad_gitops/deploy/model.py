"""The values a deploy plan is made of: changes to Airbyte sources and connections, and what was left alone.

Plain frozen data with no I/O. A change never holds a secret value: sensitive fields carry `${NAME}` at most,
and every view prints them as `(sensitive)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Action = Literal["create", "update", "delete", "no-op", "error", "skip"]
Kind = Literal["source", "connection"]
Level = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class FieldChange:
    """One configuration field (dotted path) that differs; `old`/`new` are display strings, None when absent."""

    field: str
    old: str | None = None
    new: str | None = None
    sensitive: bool = False


@dataclass(frozen=True)
class Note:
    level: Level
    text: str


@dataclass(frozen=True)
class DeployChange:
    """What deploy does to one Airbyte object; `source` is the definition's name, the key of everything."""

    kind: Kind
    source: str
    action: Action
    remote_name: str
    remote_id: str | None = None
    source_type: str = ""
    fields: tuple[FieldChange, ...] = ()
    notes: tuple[Note, ...] = ()

    @property
    def has_errors(self) -> bool:
        return self.action == "error" or any(n.level == "error" for n in self.notes)


@dataclass(frozen=True)
class Unmanaged:
    """A source in the workspace that this tool did not create: never touched, only reported."""

    name: str
    source_type: str
    remote_id: str


@dataclass(frozen=True)
class DeploySummary:
    add: int
    change: int
    destroy: int
    errors: int
    skipped: int
    unmanaged: int


@dataclass(frozen=True)
class DeployPlan:
    workspace_id: str
    changes: tuple[DeployChange, ...] = ()
    unmanaged: tuple[Unmanaged, ...] = ()

    def summary(self) -> DeploySummary:
        return DeploySummary(
            add=sum(1 for c in self.changes if c.action == "create"),
            change=sum(1 for c in self.changes if c.action == "update"),
            destroy=sum(1 for c in self.changes if c.action == "delete"),
            errors=sum(1 for c in self.changes if c.has_errors),
            skipped=sum(1 for c in self.changes if c.action == "skip"),
            unmanaged=len(self.unmanaged),
        )

    @property
    def has_changes(self) -> bool:
        return any(c.action in ("create", "update", "delete") for c in self.changes)
