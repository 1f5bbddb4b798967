"""A declarative run's failure, already one scrubbed line, reworded as what the user should do about it.

The CDK's text names the HTTP status or the requests exception among retry chatter; we keep the stream, the
status or the kind of network failure, and the connector log's path, and never a response body.
"""

from __future__ import annotations

import re

from ...errors import ConnectorError

_STREAM = re.compile(r"Stream (\S+) is not available")
_STATUS = re.compile(r"HTTP Status Code: (\d{3})")

_STATUS_HINTS = {
    400: ("bad request", "check the endpoint's params and the pagination parameters"),
    401: ("unauthorized", "check auth and that its ${VAR} holds a valid credential"),
    403: ("forbidden", "check that the credential may read this endpoint"),
    404: ("not found", "check base_url and the endpoint's path"),
    429: ("rate limited, retries used up", "wait, or lower how often plan and apply run"),
}


def _status_text(code: int) -> tuple[str, str]:
    if code in _STATUS_HINTS:
        return _STATUS_HINTS[code]
    if code >= 500:
        return "server error, retries used up", "the API is failing; try again later or raise max_retries"
    return "unexpected response", "check base_url and the endpoint"


def describe_failure(
    connector: str, text: str, *, timeout: float | None, stream: str | None = None, log_file: object = None
) -> ConnectorError | None:
    """A ConnectorError for an HTTP status or network failure found in the raw `text`; None when it is neither.

    The message is built from our own words, the stream name and the log path only: `text` may quote a
    response body or a credential and never reaches the user.
    """
    named = _STREAM.search(text)
    stream = named.group(1) if named else stream
    where = f"stream {stream}: " if stream else ""
    suffix = f" (connector log: {log_file})" if log_file else ""
    status = _STATUS.search(text)
    if status:
        code = int(status.group(1))
        what, hint = _status_text(code)
        return ConnectorError(f"{connector}: {where}HTTP {code} ({what}){suffix}", hint)
    if "ReadTimeout" in text or "Read timed out" in text or "ConnectTimeout" in text:
        seconds = f" within {timeout:g} s" if timeout is not None else ""
        return ConnectorError(
            f"{connector}: {where}the API did not answer{seconds} (timeout){suffix}",
            "raise config.timeout if the API is slow, or check that it is up",
        )
    if "ConnectionError" in text or "Failed to establish" in text:
        return ConnectorError(
            f"{connector}: {where}cannot connect to the API{suffix}", "check base_url and that the server is up"
        )
    return None
