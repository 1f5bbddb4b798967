"""Whatever PyAirbyte or a connector raises becomes one ConnectorError line with no config values in it.

Connector text may quote any config value and we cannot tell which are secret, so every value is scrubbed;
the full text stays in the connector log.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import unquote

from ...errors import ConnectorError

_MAX_MESSAGE = 300


@contextlib.contextmanager
def connector_errors(
    connector: str, config: Mapping[str, Any], reported: Sequence[str] = (), *, installing: str | None = None
) -> Iterator[None]:
    """Turn whatever PyAirbyte or a connector raises into one ConnectorError line without secret values."""
    try:
        yield
    except ConnectorError:
        raise
    except Exception as exc:  # every failure becomes a ConnectorError: the CLI must never show a traceback
        raise ConnectorError(_failure_message(connector, exc, config, reported, installing=installing)) from None


def _failure_message(
    connector: str, exc: BaseException, config: Mapping[str, Any], reported: Sequence[str], *, installing: str | None
) -> str:
    reason = _last_error_line(_failure_reason(exc, reported))
    if installing:
        reason = f"could not install airbyte-{connector}=={installing} from PyPI: {reason}"
    # Callers already say what failed ("customers: check failed: …"); we add the connector and its reason.
    message = f"{connector}: {_one_line(without_data(scrub(reason, config)))}"
    log_file = getattr(exc, "log_file", None)
    return f"{message} (connector log: {log_file})" if log_file else message


def _failure_reason(exc: BaseException, reported: Sequence[str]) -> str:
    if reported:
        return reported[-1]
    context = getattr(exc, "context", None) or {}
    if isinstance(context, Mapping) and context.get("failure_reason"):
        return str(context["failure_reason"])
    if isinstance(context, Mapping) and context.get("error_message"):  # config validation
        return str(context["error_message"])
    cause = exc.__cause__ or getattr(exc, "original_exception", None)
    log_text = getattr(cause, "log_text", None) or getattr(exc, "log_text", None)
    if isinstance(log_text, list):
        log_text = "\n".join(str(line) for line in log_text)
    if isinstance(log_text, str) and log_text.strip():
        return _installer_reason(log_text)
    text = getattr(exc, "message", None) or getattr(exc, "guidance", None) or str(exc)
    return f"{type(exc).__name__}: {text}" if not getattr(exc, "message", None) else str(text)


_ERROR_LINE = re.compile(r"^\s*([\w.]+(?:Error|Exception|Exit)\w*: .+)$", re.M)


def _last_error_line(text: str) -> str:
    """A connector that reports a Python traceback: the reason is its last `SomeError: message` line."""
    if "Traceback (most recent call last)" not in text:
        return text
    found = _ERROR_LINE.findall(text)
    return found[-1] if found else text


def _installer_reason(log_text: str) -> str:
    """From uv's (`× No solution found …`) or pip's (`ERROR: …`) output, the error and what follows it."""
    lines = [line.strip().lstrip("╰─▶ ") for line in log_text.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if line.startswith(("×", "error:", "ERROR:")):
            return " ".join(lines[index:]).lstrip("× ")
    return lines[-1]


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_MESSAGE else flat[: _MAX_MESSAGE - 1] + "…"


def _secret_values(value: Any, secret: bool = False) -> Iterator[str]:
    """Values under secret keys (by name or the specs' airbyte_secret), and passwords inside URLs."""
    from ...checks.secrets import is_secret_key

    if isinstance(value, str):
        if secret and len(value) > 3:
            # Connectors quote values reshaped (URL-decoded, or after the scheme): hide those forms too.
            yield from {value, unquote(value), unquote(value).partition("://")[2]} - {""}
        userinfo = _USERINFO.search(value)
        if userinfo:
            yield userinfo.group(1)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _secret_values(item, secret or (isinstance(key, str) and is_secret_key(key)))
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _secret_values(item, secret)


_USERINFO = re.compile(r"://[^/\s:@]*:([^/\s@]{4,})@")


def scrub(text: str, config: Mapping[str, Any]) -> str:
    """Hide each whole secret value of `config` in `text`; every other byte of the text stays as it was.

    The engine also hides the source's resolved secrets around every backend call; this is the backend's own
    guard for callers that hand it a config directly.
    """
    for value in sorted(set(_secret_values(config)), key=len, reverse=True):
        text = text.replace(value, "***")
    return text


# As str() and as repr() of a UnicodeDecodeError: "codec can't decode byte 0xff in position 10" or
# "UnicodeDecodeError('utf-8', b'...', 10, 11, 'invalid start byte')" (the bytes in between are data).
_UNICODE = re.compile(
    r"codec can't decode byte 0x[0-9a-f]{2} in position (\d+)|UnicodeDecodeError\('[\w-]+', .*?, (\d+), \d+, '[^']*'\)",
    re.S,
)
_QUOTED = re.compile(r"b?'[^']{25,}'|b?\"[^\"]{25,}\"")


def without_data(text: str) -> str:
    """Connector errors that quote the data (a decode error showing bytes, a parser quoting a row) become a
    summary; the full text stays in the connector log. Long quoted strings are the usual carriers of data."""
    found = _UNICODE.search(text)
    if found:
        return (
            f"the file is not valid UTF-8 at byte {found.group(1) or found.group(2)}; set `format_options.encoding` "
            "(for example latin-1)"
        )
    return _QUOTED.sub("'…'", text)
