"""Where an ad-hoc request may make the service connect: a key that can only read stays on known addresses.

A data_read key must not turn the server into a probe of its own network (a database port on an internal host,
a cloud metadata address, another service on loopback): its ad-hoc discover and read may reach only what the
project's saved sources already reach, plus the hosts the operator allows (`serve --allow-host`, or
`service.allowed_hosts` in bmad-gitops.yaml). Keys with data_write or admin may reach new hosts: they can save a
definition pointing anywhere anyway, and the /database endpoint exists to test a new connection before saving it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..errors import ConfigError
from ..project import Project

_DEFAULT_PORTS = {"source-postgres": 5432, "source-mysql": 3306}
_URL_PORTS = {"http": 80, "https": 443}
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")  # `http:`, `https:`, `//`-less schemes: not a path any more


class HostNotAllowed(ConfigError):
    """An ad-hoc request names an address this key may not make the service connect to (HTTP 403)."""


@dataclass(frozen=True)
class Address:
    """What a source connects to: a host and port; for buckets also the bucket ("" host: the cloud's own)."""

    host: str
    port: int | None
    bucket: str = ""

    def shown(self) -> str:
        where = f"{self.host}:{self.port}" if self.port is not None else self.host or "the cloud's S3"
        return f"bucket '{self.bucket}' at {where}" if self.bucket else where


@dataclass(frozen=True)
class Reach:
    """What a read-only key's ad-hoc requests may connect to."""

    known: set[Address]
    allowed: tuple[str, ...]


def address_of(connector: str, family: str, config: Mapping[str, Any]) -> Address | None:
    """The address a definition's `config` (values resolved) makes a backend connect to; None for local files."""
    if family == "database":
        port = config.get("port") or _DEFAULT_PORTS.get(connector)
        return Address(_host(str(config.get("host") or "")), int(port) if isinstance(port, (int, str)) and str(port).isdigit() else None)
    if family == "api":
        return _url_address(str(config.get("base_url") or ""))
    if family == "s3":
        endpoint = str(config.get("endpoint") or "")
        at = _url_address(endpoint) if endpoint else Address("", None)
        return Address(at.host, at.port, str(config.get("bucket") or ""))
    return None


def _url_address(url: str) -> Address:
    """Host and port of a URL, or an empty host when the URL is not plain. Plain: no user info, backslash,
    whitespace or control character, and Python's parser and urllib3's (which requests and boto3 connect with)
    read the same host and port, so the address checked is the address connected to."""
    if any(ch in url for ch in "\\@") or any(ch.isspace() or not ch.isprintable() for ch in url):
        return Address("", None)
    from urllib3.util import parse_url

    try:
        parts = urlsplit(url)
        port = parts.port
        theirs = parse_url(url)
    except ValueError:
        return Address("", None)
    scheme = parts.scheme.lower()
    port = port if port is not None else _URL_PORTS.get(scheme)
    their_port = theirs.port if theirs.port is not None else _URL_PORTS.get((theirs.scheme or "").lower())
    host = _host(parts.hostname or "")
    if scheme not in _URL_PORTS or host != _host(theirs.host or "") or port != their_port:
        return Address("", None)
    return Address(host, port)


def _host(text: str) -> str:
    return text.strip().strip("[]").rstrip(".").lower()


def allowed_by_setting(address: Address, allowed: Iterable[str]) -> bool:
    """`allowed` entries are `host` (any port) or `host:port`; a bracketed IPv6 literal may carry a port."""
    for entry in allowed:
        text = entry.strip().lower()
        host, port = text, None
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else None
        elif text.count(":") == 1:
            host, port = text.split(":")
        if _host(host) == address.host and address.host and (port is None or port == str(address.port)):
            return True
    return False


def require_known_address(connector: str, family: str, config: Mapping[str, Any], known: set[Address], allowed: Iterable[str]) -> None:
    """Refuse, in one line, an ad-hoc address that is neither a saved source's nor allowed by the operator."""
    if family == "api":
        _require_short_form(config)
    address = address_of(connector, family, config)
    if address is None:
        return
    if family != "database" and not address.host and (family == "api" or config.get("endpoint")):
        raise HostNotAllowed(
            "a read-only key's ad-hoc URL must be a plain http(s) URL (no user info, backslash or spaces)",
            "write the URL as scheme://host[:port]/path, or use a key with data_write",
        )
    if address in known or allowed_by_setting(address, allowed):
        return
    raise HostNotAllowed(
        f"{address.shown()} is not an address this project's sources use, and a read-only key may not add one",
        "save a definition for it (data_write), use a key with data_write, or start the service with --allow-host",
    )


def _require_short_form(config: Mapping[str, Any]) -> None:
    """Only base_url decides where the short form connects: no manifest beside it, no endpoint path that is a URL
    of its own (the requester's urljoin would let it replace base_url)."""
    if "manifest" in config or "manifest_file" in config or not config.get("base_url"):
        raise HostNotAllowed(
            "a hand-written manifest may send the service anywhere, so a read-only key cannot run one ad hoc",
            "use the short form (base_url, endpoints), save a definition, or use a key with data_write",
        )
    for endpoint in config.get("endpoints") or []:
        path = str(endpoint.get("path") or "") if isinstance(endpoint, Mapping) else ""
        if _SCHEME.match(path.lstrip("/")) or "\\" in path:
            raise HostNotAllowed(
                f"endpoint path '{path[:80]}' is not a path under base_url",
                "give a path such as /users; the host comes from base_url",
            )


def saved_addresses(project: Project, env: Mapping[str, str]) -> set[Address]:
    """The addresses the project's valid, resolvable definitions connect to (the server's environment and the
    project's .env fill them, as for a saved source's own requests)."""
    from ..connectors.registry import entry
    from ..definitions import load_definitions
    from ..errors import BmadGitopsError
    from ..resolve import load_env, resolve, reveal

    env = load_env(project.root, env)
    found: set[Address] = set()
    for definition in load_definitions(project)[0]:
        try:
            resolved = resolve(definition, env)
            address = address_of(resolved.connector, entry(resolved.connector).family, reveal(resolved.config))
        except BmadGitopsError:
            continue  # a definition whose ${VAR} is unset here reaches nothing from this server
        if address is not None:
            found.add(address)
    return found
