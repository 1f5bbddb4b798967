"""Which backend runs which connector. The planner asks here and never learns how a catalog was made."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from ..catalog import Catalog
from ..errors import ConnectorError

# Connectors with a live backend today, and the version each is pinned to.
SUPPORTED = {"source-file": "0.5.39"}
PLANNED = {
    "source-postgres": "Airbyte's PostgreSQL connector is a Java image that needs Docker; the Docker-free backend is not built yet",
    "source-mysql": "Airbyte's MySQL connector is a Java image that needs Docker; the Docker-free backend is not built yet",
    "source-s3": "the S3 backend is not built yet",
    "source-declarative-manifest": "the REST API backend is not built yet",
}


class Backend(Protocol):
    def version(self) -> str: ...

    def check(self, config: Mapping[str, Any]) -> None: ...

    def discover(self, config: Mapping[str, Any], *, sheets: Sequence[str] | None = None) -> Catalog: ...

    def read(
        self, config: Mapping[str, Any], stream: str, limit: int, *, sheets: Sequence[str] | None = None
    ) -> list[dict[str, Any]]: ...


def is_supported(connector: str) -> bool:
    return connector in SUPPORTED


def unsupported_reason(connector: str) -> str:
    return PLANNED.get(connector, f"no backend for connector '{connector}'")


def backend_for(connector: str) -> Backend:
    if connector not in SUPPORTED:
        raise ConnectorError(f"{connector}: {unsupported_reason(connector)}")
    from .pyairbyte import PyAirbyteBackend

    return PyAirbyteBackend(connector)


def known_version(connector: str) -> str | None:
    """The installed (or pinned) version, without importing airbyte."""
    if connector not in SUPPORTED:
        return None
    from .pyairbyte import installed_version

    return installed_version(connector) or SUPPORTED[connector]
