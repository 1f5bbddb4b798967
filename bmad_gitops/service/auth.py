"""API keys: created once and shown once, stored only as salted SHA-256 hashes in a 0600 file outside git.

A presented key is hashed with every stored salt and compared with `hmac.compare_digest`, so the time taken does
not say how much of a key matched. Rotation keeps the old hash valid for a grace period.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import re
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import BmadGitopsError, UsageError

SCOPES = ("data_read", "data_read_unmasked", "data_write", "admin")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_PREFIX = "bgk_"


class KeyFileError(BmadGitopsError):
    """The keys file cannot be read or written."""


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _hash(salt: str, key: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Caller:
    """Who is calling: the key's name (never the key) and what it may do."""

    name: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes


def parse_scopes(text: str) -> tuple[str, ...]:
    scopes = tuple(sorted({s.strip() for s in text.split(",") if s.strip()}))
    unknown = [s for s in scopes if s not in SCOPES]
    if not scopes or unknown:
        raise UsageError(f"unknown scope {unknown[0]!r}" if unknown else "no scopes given", f"use {','.join(SCOPES)}")
    return scopes


class KeyStore:
    """The keys file, re-read when it changes on disk (a `keys revoke` takes effect without a restart)."""

    def __init__(self, path: Path, clock: Callable[[], datetime.datetime] = _now) -> None:
        self.path = path
        self.clock = clock
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._keys: list[dict[str, Any]] = []
        self._accepted: dict[bytes, tuple[tuple[int, int, int] | None, Caller, datetime.datetime | None]] = {}

    # ── reading ──
    def _load(self) -> list[dict[str, Any]]:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._keys = None, []
            return self._keys
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._accepted.clear()
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                keys = data["keys"]
                if not isinstance(keys, list):
                    raise TypeError
            except (OSError, ValueError, KeyError, TypeError):
                raise KeyFileError(f"{self.path}: not a keys file", "delete it and create keys again") from None
            self._stamp, self._keys = stamp, keys
        return self._keys

    def records(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(k) for k in self._load()]

    def authenticate(self, presented: str) -> Caller | None:
        """The caller a presented key belongs to, or None (unknown, revoked or expired).

        A key accepted once is remembered by its SHA-256 (never in clear) with the keys file's stamp and the time
        its record stops being valid, so the next request with it costs one hash and a stat; a changed keys file
        (revoke, rotate) forgets every remembered key at once. Unknown keys are never remembered."""
        now = self.clock()
        remembered = hashlib.sha256(presented.encode("utf-8")).digest()
        with self._lock:
            keys = self._load()
            stamp = self._stamp
            known = self._accepted.get(remembered)
        if known is not None and known[0] == stamp and stamp is not None and (known[2] is None or known[2] > now):
            return known[1]
        found = self._match(keys, presented, now)
        if found is not None:
            with self._lock:
                if self._stamp != stamp:
                    self._accepted.clear()
                elif len(self._accepted) < 1024:
                    self._accepted[remembered] = (stamp, found, _valid_until(keys, found.name, presented))
        return found

    def _match(self, keys: list[dict[str, Any]], presented: str, now: datetime.datetime) -> Caller | None:
        found: Caller | None = None
        for record in keys:  # every record is compared, so the time does not depend on which one matches
            hashes = [(record["salt"], record["hash"], None), *((p["salt"], p["hash"], p["until"]) for p in record.get("previous", []))]
            for salt, digest, until in hashes:
                matches = hmac.compare_digest(_hash(salt, presented), digest)
                live = until is None or datetime.datetime.fromisoformat(until) > now
                if matches and live and found is None and _usable(record, now):
                    found = Caller(record["name"], frozenset(record["scopes"]))
        return found

    # ── writing ──
    def _save(self, keys: list[dict[str, Any]]) -> None:
        payload = json.dumps({"version": 1, "keys": keys}, indent=2, sort_keys=True) + "\n"
        write_private(self.path, payload)
        self._stamp = None

    def create(self, name: str, scopes: Iterable[str], expires_in_days: float | None = None) -> str:
        if not _NAME.match(name):
            raise UsageError(f"'{name}' is not a valid key name", "use lower case letters, digits, _ . -")
        with self._lock:
            keys = self._load()
            if any(k["name"] == name for k in keys):
                raise UsageError(f"a key named '{name}' exists", f"pick another name or `bmad-gitops keys rotate {name}`")
            key, record = _new_secret()
            now = self.clock()
            record.update(
                name=name,
                scopes=sorted(set(scopes)),
                created=now.isoformat(timespec="seconds"),
                expires=(now + datetime.timedelta(days=expires_in_days)).isoformat(timespec="seconds")
                if expires_in_days is not None
                else None,
                revoked=None,
                previous=[],
            )
            self._save([*keys, record])
        return key

    def revoke(self, name: str) -> None:
        with self._lock:
            keys = self._load()
            record = _named(keys, name)
            record["revoked"] = self.clock().isoformat(timespec="seconds")
            record["previous"] = []
            self._save(keys)

    def rotate(self, name: str, grace_hours: float = 24.0) -> str:
        """A new key for `name`; the old one keeps working for `grace_hours` (0: at once revoked)."""
        with self._lock:
            keys = self._load()
            record = _named(keys, name)
            if not _usable(record, self.clock()):
                raise UsageError(f"key '{name}' is revoked or expired", f"create a new one with `bmad-gitops keys create --name {name}-2`")
            key, fresh = _new_secret()
            until = (self.clock() + datetime.timedelta(hours=grace_hours)).isoformat(timespec="seconds")
            now = self.clock()
            kept = [p for p in record.get("previous", []) if datetime.datetime.fromisoformat(p["until"]) > now]
            record["previous"] = [*kept, {"salt": record["salt"], "hash": record["hash"], "until": until}] if grace_hours > 0 else kept
            record.update(fresh)
            self._save(keys)
        return key


def _valid_until(keys: list[dict[str, Any]], name: str, presented: str) -> datetime.datetime | None:
    """When the accepted key stops being valid: its record's expiry, or the grace period's end for an old key."""
    record = _named(keys, name)
    ends = [datetime.datetime.fromisoformat(record["expires"])] if record.get("expires") else []
    if not hmac.compare_digest(_hash(record["salt"], presented), record["hash"]):
        ends += [datetime.datetime.fromisoformat(p["until"]) for p in record.get("previous", []) if hmac.compare_digest(_hash(p["salt"], presented), p["hash"])]
    return min(ends) if ends else None


def _usable(record: dict[str, Any], now: datetime.datetime) -> bool:
    if record.get("revoked"):
        return False
    expires = record.get("expires")
    return expires is None or datetime.datetime.fromisoformat(expires) > now


def _named(keys: list[dict[str, Any]], name: str) -> dict[str, Any]:
    for record in keys:
        if record["name"] == name:
            return record
    raise UsageError(f"no key named '{name}'", "see `bmad-gitops keys list`")


def _new_secret() -> tuple[str, dict[str, Any]]:
    key = _PREFIX + secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    return key, {"salt": salt, "hash": _hash(salt, key)}


def write_private(path: Path, text: str) -> None:
    """Atomic write with mode 0600 (mkstemp's), for files that hold hashes of credentials."""
    from ..atomic import replace_atomically

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    replace_atomically(path, text.encode("utf-8"), 0o600)
