"""Airbyte's public API over plain httpx: token exchange, paginated lists, retries, one-line errors.

Plain HTTP on purpose: the airbyte-api SDK 1.0.1 coerces a dict `configuration` into whichever typed connector
model it happens to match. Request bodies may hold `Secret`s; they are opened only while the JSON is encoded,
so a secret value exists in clear only in the bytes on the wire.
"""

from __future__ import annotations

import email.utils
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx

from ..resolve import Secret, hide_secrets
from .errors import CredentialsError, DeployError

PAGE_SIZE = 100  # the API's maximum `limit`
_RETRIED = frozenset({429, 500, 502, 503, 504})
_CREDENTIALS = "set AIRBYTE_CLIENT_ID and AIRBYTE_CLIENT_SECRET (or AIRBYTE_API_TOKEN)"


def _open_secret(value: object) -> str:
    if isinstance(value, Secret):
        return value.reveal()
    raise TypeError(f"cannot send a {type(value).__name__} to Airbyte")


class AirbyteClient:
    """One session with an Airbyte API: holds the token and the connection pool. Use as a context manager."""

    def __init__(
        self,
        api_url: str,
        env: Mapping[str, str],
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        attempts: int = 6,
        timeout: float = 30.0,
    ) -> None:
        self._api_url = api_url.rstrip("/")
        self._token = env.get("AIRBYTE_API_TOKEN") or None
        self._client_id = env.get("AIRBYTE_CLIENT_ID") or None
        self._client_secret = env.get("AIRBYTE_CLIENT_SECRET") or None
        if self._token is None and (self._client_id is None or self._client_secret is None):
            raise CredentialsError(f"no Airbyte credentials in the environment: {_CREDENTIALS}")
        self._exchange = self._token is None  # a static token cannot be renewed; a client credential can
        self._expires = 0.0
        self._token_lock = threading.Lock()  # lists run in threads; one token exchange serves them all
        self._sleep = sleep
        self._attempts = attempts
        self._http = httpx.Client(base_url=self._api_url, timeout=timeout, transport=transport)
        self.calls = 0  # requests sent, retries included (the benchmark reads it)

    def __enter__(self) -> AirbyteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    # ── sources and connections ───────────────────────────────────────────────────────────────────────────

    def list_sources(self, workspace_id: str) -> list[dict[str, Any]]:
        return list(self._pages("/sources", workspace_id))

    def list_connections(self, workspace_id: str) -> list[dict[str, Any]]:
        return list(self._pages("/connections", workspace_id))

    def create_source(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._json("POST", "/sources", body)

    def patch_source(self, source_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._json("PATCH", f"/sources/{source_id}", body)

    def delete_source(self, source_id: str) -> None:
        self._request("DELETE", f"/sources/{source_id}", missing_ok=True)

    def create_connection(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._json("POST", "/connections", body)

    def patch_connection(self, connection_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._json("PATCH", f"/connections/{connection_id}", body)

    def delete_connection(self, connection_id: str) -> None:
        self._request("DELETE", f"/connections/{connection_id}", missing_ok=True)

    # ── plumbing ──────────────────────────────────────────────────────────────────────────────────────────

    def _pages(self, path: str, workspace_id: str) -> Iterator[dict[str, Any]]:
        """Every item of a list endpoint. Offsets are ours: the `next` link is absolute and we never send the
        token to a host the settings did not name."""
        offset = 0
        while True:
            params = {"workspaceIds": workspace_id, "limit": PAGE_SIZE, "offset": offset}
            page = self._json("GET", path, params=params)
            data = page.get("data")
            if not isinstance(data, list):
                raise DeployError(f"Airbyte API: GET {path} returned no `data` list")
            yield from (item for item in data if isinstance(item, dict))
            if not data or len(data) < PAGE_SIZE or not page.get("next"):
                return
            offset += len(data)

    def _json(
        self, method: str, path: str, body: Mapping[str, Any] | None = None, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        response = self._request(method, path, body, params)
        try:
            payload = response.json()
        except ValueError:
            raise DeployError(f"Airbyte API: {method} {path} answered {response.status_code} with no JSON") from None
        if not isinstance(payload, dict):
            raise DeployError(f"Airbyte API: {method} {path} answered with a {type(payload).__name__}, not an object")
        return payload

    def _request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        *,
        missing_ok: bool = False,
    ) -> httpx.Response:
        content = None if body is None else json.dumps(body, default=_open_secret, sort_keys=True).encode()
        renewed = False
        for attempt in range(1, self._attempts + 1):
            headers = {"Authorization": f"Bearer {self._bearer()}", "Accept": "application/json"}
            if content is not None:
                headers["Content-Type"] = "application/json"
            try:
                self.calls += 1
                response = self._http.request(method, path, content=content, params=params, headers=headers)
            except httpx.TransportError as exc:
                # A request that never reached the server is safe to repeat; a POST that timed out may have
                # created the source already, so only connect errors are retried for it.
                if attempt < self._attempts and (method != "POST" or isinstance(exc, httpx.ConnectError)):
                    self._sleep(_backoff(attempt))
                    continue
                raise DeployError(f"Airbyte API: {method} {path} failed: {type(exc).__name__}") from None
            status = response.status_code
            if status == 401 and self._exchange and not renewed:
                self._expires = 0.0  # the token may have expired early: exchange once more, then give up
                renewed = True
                continue
            if status in (401, 403):
                raise _refused(status, f"{method} {path}", self._exchange)
            if status == 404 and missing_ok:
                return response
            # A POST answered 5xx may have been carried out; only a 429 (refused before any work) is retried.
            if status in _RETRIED and attempt < self._attempts and (method != "POST" or status == 429):
                self._sleep(_retry_after(response, attempt))
                continue
            if status >= 400:
                detail = _detail(response)
                text = f"Airbyte API: {method} {path} failed with {status}{': ' + detail if detail else ''}"
                raise DeployError(hide_secrets(text, dict(body or {})))
            return response
        raise DeployError(f"Airbyte API: {method} {path} kept failing after {self._attempts} attempts")

    def _bearer(self) -> str:
        if not self._exchange:
            assert self._token is not None
            return self._token
        with self._token_lock:
            if self._token is None or time.monotonic() >= self._expires:
                self._token, lifetime = self._exchange_token()
                self._expires = time.monotonic() + max(lifetime - 30, 1)  # renew half a minute early
            return self._token

    def _exchange_token(self) -> tuple[str, float]:
        # The document's schema requires `grant_type` but names the property `grant-type` (Airbyte's docs use the
        # latter): sending both satisfies the contract and either reading of it.
        body = {
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "grant_type": "client_credentials",
            "grant-type": "client_credentials",
        }
        for attempt in range(1, self._attempts + 1):
            try:
                self.calls += 1
                response = self._http.post("/applications/token", json=body, headers={"Accept": "application/json"})
            except httpx.TransportError as exc:
                if attempt < self._attempts:
                    self._sleep(_backoff(attempt))
                    continue
                raise DeployError(f"Airbyte API: POST /applications/token failed: {type(exc).__name__}") from None
            if response.status_code in _RETRIED and attempt < self._attempts:
                self._sleep(_retry_after(response, attempt))
                continue
            if response.status_code in (400, 401, 403):
                raise _refused(response.status_code, "POST /applications/token", True)
            if response.status_code >= 400:
                raise DeployError(f"Airbyte API: POST /applications/token failed with {response.status_code}")
            try:
                payload = response.json()
                return str(payload["access_token"]), float(payload.get("expires_in") or 180)
            except (ValueError, KeyError, TypeError):
                raise DeployError("Airbyte API: POST /applications/token answered without an access_token") from None
        raise DeployError(f"Airbyte API: POST /applications/token kept failing after {self._attempts} attempts")


def _refused(status: int, where: str, exchanged: bool) -> CredentialsError:
    names = "AIRBYTE_CLIENT_ID and AIRBYTE_CLIENT_SECRET" if exchanged else "AIRBYTE_API_TOKEN"
    other = "or AIRBYTE_API_TOKEN instead" if exchanged else "or AIRBYTE_CLIENT_ID and AIRBYTE_CLIENT_SECRET instead"
    what = "refused the credentials" if status in (400, 401) else "does not allow these credentials here"
    return CredentialsError(f"Airbyte {what} ({status} at {where}): set {names} to valid credentials ({other})")


def _backoff(attempt: int) -> float:
    return float(min(0.5 * 2 ** (attempt - 1), 30.0))


def _retry_after(response: httpx.Response, attempt: int) -> float:
    """Retry-After in seconds or as an HTTP date, capped at a minute; our own backoff when absent."""
    value = response.headers.get("Retry-After")
    if value:
        try:
            return min(max(float(value), 0.0), 60.0)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value).timestamp()
            except (TypeError, ValueError):
                return _backoff(attempt)
            return min(max(when - time.time(), 0.0), 60.0)
    return _backoff(attempt)


def _detail(response: httpx.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return ""
    if isinstance(payload, dict):
        for key in ("message", "detail", "title"):
            if isinstance(payload.get(key), str):
                return " ".join(str(payload[key]).split())[:200]
    return ""
