"""The Backend protocol: what every way of running a connector offers the engine.

A backend receives the connector's own config (the registry's mapping of a definition's `config`, secrets
revealed, local paths absolute) and never learns about definitions, state or plans.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # validate never imports the catalog
    from ..catalog import Catalog, TableStatistics


class Backend(Protocol):
    connector: str

    def version(self) -> str:
        """The version that runs (installing it first where that is needed)."""
        ...

    def check(self, config: Mapping[str, Any]) -> None:
        """Raise ConnectorError with one actionable line when the source cannot be reached or read."""
        ...

    def discover(self, config: Mapping[str, Any]) -> Catalog: ...

    def read(
        self, config: Mapping[str, Any], stream: str, limit: int, columns: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """Up to `limit` records of `stream` (only `columns` when given), as Airbyte records would encode them."""
        ...


class StatisticsBackend(Backend, Protocol):
    """A backend that can say how big each stream is without reading it (databases' catalog statistics)."""

    def statistics(self, config: Mapping[str, Any]) -> dict[str, TableStatistics]: ...

    def discover_with_statistics(self, config: Mapping[str, Any]) -> tuple[Catalog, dict[str, TableStatistics]]:
        """discover() and statistics() in one session (one connection): what `bmad-gitops discover` shows."""
        ...
