"""SqlBackend: source-postgres and source-mysql without Docker, through SQLAlchemy reflection and raw SQL reads.

Satisfies connectors.base.Backend and StatisticsBackend. Every failure is a one-line ConnectorError.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from .connection import create_database_engine
from .failures import connector_error
from .settings import CONNECTORS, MYSQL, ConnectionSettings, connection_settings

if TYPE_CHECKING:  # pydantic models: imported by the modules that build them, when they run
    from ...catalog import Catalog, TableStatistics

T = TypeVar("T")
_DRIVER = {"source-postgres": "psycopg", MYSQL: "PyMySQL"}
_frozen = False


class SqlBackend:
    def __init__(self, connector: str) -> None:
        if connector not in CONNECTORS:
            raise ValueError(f"SqlBackend runs {', '.join(CONNECTORS)}, not {connector}")
        self.connector = connector

    def version(self) -> str:
        """Stable per install: `native-sqlalchemy-<version>+<driver>-<version>`."""
        from importlib import metadata  # 100+ ms of imports: only when asked

        driver = _DRIVER[self.connector]
        return f"native-sqlalchemy-{metadata.version('SQLAlchemy')}+{driver.lower()}-{metadata.version(driver)}"

    def check(self, config: Mapping[str, Any]) -> None:
        from .probe import check_source

        self._with_engine(config, check_source)

    def discover(self, config: Mapping[str, Any]) -> Catalog:
        from .reflect import discover_catalog

        return self._with_engine(config, discover_catalog)

    def read(
        self, config: Mapping[str, Any], stream: str, limit: int, columns: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        from .sample import read_records

        return read_records(connection_settings(self.connector, config), stream, limit, columns)

    def statistics(self, config: Mapping[str, Any]) -> dict[str, TableStatistics]:
        from .statistics import table_statistics

        return self._with_engine(config, table_statistics)

    def _with_engine(self, config: Mapping[str, Any], job: Callable[[Any, ConnectionSettings], T]) -> T:
        from sqlalchemy.exc import DBAPIError

        settings = connection_settings(self.connector, config)
        engine = create_database_engine(settings)
        freeze_imported_objects()
        try:
            return job(engine, settings)
        except (DBAPIError, OSError) as exc:
            raise connector_error(exc, settings) from None
        finally:
            engine.dispose()


def freeze_imported_objects() -> None:
    """Once per process, when SQLAlchemy, its dialect, the driver and pydantic are imported: gc.freeze().

    Those imports leave ~70,000 objects that the collector tracks (classes, functions, caches), and they live until
    the process ends. A full collection walks them all (25 ms on a 2-core machine) and the interpreter runs such
    collections at exit: a quarter of a whole `discover` process. Frozen, they are skipped by every collection,
    which still sees everything allocated later. The price: garbage cycles that exist at this moment are never
    freed, once (there are a handful, from the imports themselves).
    """
    global _frozen
    if not _frozen:
        import gc

        gc.freeze()
        _frozen = True
