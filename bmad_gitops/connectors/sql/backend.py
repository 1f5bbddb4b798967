"""SqlBackend: source-postgres and source-mysql without Docker, through SQLAlchemy reflection and raw SQL reads.

Satisfies connectors.base.Backend and StatisticsBackend. Every failure is a one-line ConnectorError.
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from .connection import create_database_engine
from .failures import connector_error
from .settings import CONNECTORS, MYSQL, ConnectionSettings, connection_settings

if TYPE_CHECKING:  # the catalog: imported by the modules that build it, when they run
    from ...catalog import Catalog, TableStatistics

T = TypeVar("T")
_DRIVER = {"source-postgres": "psycopg", MYSQL: "PyMySQL"}


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
        with importing_without_collector():
            from .probe import check_source
        self._on_connection(config, check_source)

    def discover(self, config: Mapping[str, Any]) -> Catalog:
        with importing_without_collector():
            from .reflect import discover_catalog
        return self._on_connection(config, discover_catalog)

    def read(
        self, config: Mapping[str, Any], stream: str, limit: int, columns: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        from .sample import read_records

        return read_records(connection_settings(self.connector, config), stream, limit, columns)

    def statistics(self, config: Mapping[str, Any]) -> dict[str, TableStatistics]:
        with importing_without_collector():
            from .statistics import table_statistics
        return self._on_connection(config, table_statistics)

    def discover_with_statistics(self, config: Mapping[str, Any]) -> tuple[Catalog, dict[str, TableStatistics]]:
        """Both on one connection: `bmad-gitops discover` shows sizes without a second connect and dialect set-up."""
        with importing_without_collector():
            from .reflect import discover_catalog
            from .statistics import table_statistics

        def both(conn: Any, settings: ConnectionSettings) -> tuple[Catalog, dict[str, TableStatistics]]:
            return discover_catalog(conn, settings), table_statistics(conn, settings)

        return self._on_connection(config, both)

    def _on_connection(self, config: Mapping[str, Any], job: Callable[[Any, ConnectionSettings], T]) -> T:
        """Run `job` on one fresh connection (no pool: every check authenticates again), then close everything."""
        from sqlalchemy.exc import DBAPIError

        settings = connection_settings(self.connector, config)
        with importing_without_collector():  # the dialect and the driver
            engine = create_database_engine(settings)
        try:
            with engine.connect() as conn:
                return job(conn, settings)
        except (DBAPIError, OSError) as exc:
            raise connector_error(exc, settings) from None
        finally:
            engine.dispose()


@contextlib.contextmanager
def importing_without_collector() -> Iterator[None]:
    """Import SQLAlchemy, a dialect or a driver with the cyclic garbage collector paused, then gc.freeze()
    what exists, when the block imported anything new.

    Those imports create ~90,000 objects that the collector tracks (classes, functions, caches), and they live as
    long as the process. A full collection walks them all, ~25 ms on a 2-core machine: such collections ran while
    importing and twice more at interpreter exit, a sixth of a whole `discover` process. Frozen, every later
    collection skips them and still sees everything allocated afterwards. The price is bounded and paid once per
    new set of modules: cycles that are already garbage when the block ends stay (some 600 objects, from the imports).
    """
    modules = len(sys.modules)
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if len(sys.modules) > modules:
            gc.freeze()
        if enabled:
            gc.enable()
