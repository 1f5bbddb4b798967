"""source-s3 through PyAirbyte, with our own S3 probe for errors a user can fix.

source-s3 reports a wrong key, a missing bucket or a dead endpoint as a Python traceback after a connector start
(about 5 s). `check` probes the bucket with boto3 first, so these fail in well under a second with one line and a
fix; when `discover` or `read` fail, the probe explains why if it can, and the connector's own error stands if not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...catalog import Catalog
from ...errors import ConnectorError
from ..s3_listing import ObjectInfo, list_objects, probe
from .backend import PyAirbyteBackend


class S3Backend:
    """The Backend protocol for source-s3, plus `objects()`: what the bucket holds and which stream reads each."""

    def __init__(self, connector: str, pinned: str) -> None:
        self.connector = connector
        self._connector = PyAirbyteBackend(connector, pinned)

    def version(self) -> str:
        return self._connector.version()

    def check(self, config: Mapping[str, Any]) -> None:
        probe(config)
        self._connector.check(config)

    def discover(self, config: Mapping[str, Any]) -> Catalog:
        try:
            return self._connector.discover(config)
        except ConnectorError:
            probe(config)  # raises the precise reason when it is one we know
            raise

    def read(
        self, config: Mapping[str, Any], stream: str, limit: int, columns: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        try:
            return self._connector.read(config, stream, limit, columns)
        except ConnectorError:
            probe(config)
            raise

    def objects(self, config: Mapping[str, Any], prefix: str | None = None, limit: int = 1000) -> list[ObjectInfo]:
        return list_objects(config, prefix, limit)
