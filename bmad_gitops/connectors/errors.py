"""The one exception type connector backends raise."""

from __future__ import annotations


class ConnectorError(Exception):
    """A connector could not be installed, reached or run.

    The message is one line a user can act on. It never holds secret config values, so callers may print it as is.
    """
