"""What an S3 bucket holds, asked directly with boto3: each object's key, size, age and the streams it feeds.

Meant for `discover` to show next to the catalog; `probe` explains a failed connector call in one line with a fix
(the connector itself only reports a traceback). Takes source-s3's own config (`s3_config`'s output, secrets
revealed). boto3 and wcmatch are imported on first use: they come with the `live` extra.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..errors import ConnectorError

if TYPE_CHECKING:
    from botocore.client import BaseClient

# One boto3 session for the process: a new one loads S3's service model again (about 0.3 s per client).
# Sessions are not thread-safe, and `plan --parallelism N` lists from threads, hence the lock.
_session: Any = None
_SESSION_LOCK = threading.Lock()
_PAGE = 1000  # S3's own maximum per ListObjectsV2 call
_CREDENTIAL_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidToken",
        "ExpiredToken",
        "AuthFailure",
        "InvalidClientTokenId",
    }
)
_REGION_CODES = frozenset({"PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException"})


@dataclass(frozen=True)
class ObjectInfo:
    """One object in the bucket, and the names of the streams whose globs match its key (in definition order)."""

    key: str
    size: int
    last_modified: datetime  # UTC
    streams: tuple[str, ...]
    # S3's content hash (quotes stripped): with key and size, a cheap fingerprint of what a discover would read.
    etag: str = ""


def list_objects(config: Mapping[str, Any], prefix: str | None = None, limit: int = 1000) -> list[ObjectInfo]:
    """Up to `limit` objects of the bucket (under `prefix`), in key order; folders are skipped as source-s3 does."""
    if limit <= 0:
        return []
    streams = [(str(s["name"]), [str(g) for g in s.get("globs", ["**"])]) for s in config.get("streams", [])]
    matches = _glob_matcher()
    found: list[ObjectInfo] = []
    for item in _objects(config, prefix, limit):
        key = str(item["Key"])
        if key.endswith("/"):
            continue
        found.append(
            ObjectInfo(
                key=key,
                size=int(item.get("Size", 0)),
                last_modified=_utc(item["LastModified"]),
                streams=tuple(name for name, globs in streams if any(matches(key, g) for g in globs)),
                etag=str(item.get("ETag", "")).strip('"'),
            )
        )
        if len(found) >= limit:
            break
    return found


FINGERPRINT_AT_MOST = 10_000


def listing_fingerprint(config: Mapping[str, Any]) -> str | None:
    """A digest of what source-s3 infers a catalog from: the config's streams and every object their globs match
    (key, size, ETag). Same digest, same objects, same catalog. None when the bucket holds more objects than is
    cheap to list (the caller then asks the connector) or cannot be listed (the connector's run explains why)."""
    import hashlib
    import json

    try:
        found = list_objects(config, None, FINGERPRINT_AT_MOST + 1)
    except ConnectorError:
        return None
    if len(found) > FINGERPRINT_AT_MOST:
        return None
    digest = hashlib.sha256(json.dumps(config.get("streams", []), sort_keys=True, default=str).encode("utf-8"))
    for item in found:
        if item.streams:
            digest.update(f"\0{item.key}\0{item.size}\0{item.etag}\0{','.join(item.streams)}".encode())
    return digest.hexdigest()


def probe(config: Mapping[str, Any]) -> None:
    """Raise the precise ConnectorError (endpoint, credentials, bucket, region) if the bucket cannot be listed."""
    list_objects(config, limit=1)


def _objects(config: Mapping[str, Any], prefix: str | None, limit: int) -> Iterator[Mapping[str, Any]]:
    client = _client(config)
    bucket = str(_plain(config["bucket"]))
    args: dict[str, Any] = {"Bucket": bucket, "MaxKeys": min(limit, _PAGE)}
    if prefix:
        args["Prefix"] = prefix
    with _s3_errors(config):
        while True:
            page = client.list_objects_v2(**args)
            yield from page.get("Contents", [])
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return
            args["ContinuationToken"] = token


def _client(config: Mapping[str, Any]) -> BaseClient:
    try:
        import boto3
        from botocore.config import Config
    except ImportError as exc:
        raise ConnectorError(f"source-s3: cannot list the bucket ({exc})", "pip install 'bmad-gitops[live]'") from None
    # Like source-s3's own client (addressing style "auto"), but failing fast: one retry, short connect timeout,
    # so an unreachable endpoint is reported in seconds rather than after botocore's backoff.
    settings = Config(s3={"addressing_style": "auto"}, retries={"max_attempts": 2}, connect_timeout=5, read_timeout=30)
    kwargs: dict[str, Any] = {"config": settings}
    for ours, theirs in (
        ("endpoint", "endpoint_url"),
        ("region_name", "region_name"),
        ("aws_access_key_id", "aws_access_key_id"),
        ("aws_secret_access_key", "aws_secret_access_key"),
    ):
        value = _plain(config.get(ours))
        if value:
            kwargs[theirs] = value
    with _s3_errors(config), _SESSION_LOCK:
        global _session
        if _session is None:
            _session = boto3.session.Session()
        return _session.client("s3", **kwargs)


def _plain(value: Any) -> Any:
    # Accept wrapped secrets too (resolve.Secret): listing may be called with a resolved config before it is revealed.
    reveal = getattr(value, "reveal", None)
    return reveal() if callable(reveal) else value


def _utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(timezone.utc)


def _glob_matcher() -> Any:
    try:
        from wcmatch.glob import GLOBSTAR, globmatch
    except ImportError as exc:
        raise ConnectorError(f"source-s3: cannot match globs ({exc})", "pip install 'bmad-gitops[live]'") from None

    # The same call the file-based CDK makes, so a key matches here exactly when the connector would read it.
    def matches(key: str, glob: str) -> bool:
        return bool(globmatch(key, glob, flags=GLOBSTAR))

    return matches


@contextlib.contextmanager
def _s3_errors(config: Mapping[str, Any]) -> Iterator[None]:
    """Turn boto3's exceptions into one ConnectorError line with a fix; secret values never appear."""
    try:
        yield
    except ConnectorError:
        raise
    except Exception as exc:  # boto3 raises many unrelated families; every one must become a ConnectorError
        message, hint = explain(exc, config)
        raise ConnectorError(_scrub(message, config), _scrub(hint, config)) from None


def explain(exc: Exception, config: Mapping[str, Any]) -> tuple[str, str]:
    """(message, hint) for a boto3 failure against this bucket; secrets are scrubbed by the caller."""
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
        ReadTimeoutError,
    )

    bucket = _plain(config.get("bucket"))
    endpoint = _plain(config.get("endpoint")) or "AWS S3"
    keys_hint = "check the environment variables that aws_access_key_id and aws_secret_access_key refer to"
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)):
        return (
            f"source-s3: cannot reach {endpoint}",
            "check `endpoint` in the definition and that the S3 server is running and reachable",
        )
    if isinstance(exc, ReadTimeoutError):
        return f"source-s3: {endpoint} did not answer in time", "retry, or check the S3 server's health"
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return (
            "source-s3: no AWS credentials were found",
            f"set aws_access_key_id and aws_secret_access_key; {keys_hint}",
        )
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "")) or str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        if code == "NoSuchBucket":
            return (
                f"source-s3: bucket '{bucket}' does not exist at {endpoint}",
                "check `bucket` (and `endpoint` for an S3-compatible server)",
            )
        if code in _CREDENTIAL_CODES:
            return f"source-s3: the S3 credentials were refused ({code})", keys_hint
        if code in _REGION_CODES:
            return f"source-s3: bucket '{bucket}' is in another region ({code})", "set `region` to the bucket's region"
        if code in {"AccessDenied", "403", "AllAccessDisabled"}:
            return (
                f"source-s3: access to bucket '{bucket}' was denied",
                "grant these keys s3:ListBucket and s3:GetObject on the bucket",
            )
        return f"source-s3: S3 answered {code}: {error.get('Message', '')}".rstrip(": "), "see the message from S3"
    if isinstance(exc, ValueError):  # botocore refuses a malformed endpoint URL this way
        return f"source-s3: invalid endpoint {endpoint}: {exc}", "write `endpoint` as http(s)://host[:port]"
    return f"source-s3: listing bucket '{bucket}' failed: {type(exc).__name__}: {exc}", "see the message above"


def _scrub(text: str, config: Mapping[str, Any]) -> str:
    # Only the keys are secret here; the bucket and endpoint are what the user needs to see to fix the problem.
    for name in ("aws_secret_access_key", "aws_access_key_id"):
        value = _plain(config.get(name))
        if isinstance(value, str) and len(value) > 3:
            text = text.replace(value, "***")
    return " ".join(text.split())
