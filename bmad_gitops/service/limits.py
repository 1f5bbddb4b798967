"""Request limits: a body-size cap enforced while the body streams in, and a per-key rate limit shared by every
server process.

The body cap is an ASGI middleware so an oversized upload is cut off after `limit` bytes, whatever
Content-Length claims, before anything downstream (multipart spooling included) can fill a disk.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import math
import mmap
import os
import stat
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import BmadGitopsError

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]


class RateLimitStoreError(BmadGitopsError):
    """The rate limiter's shared file cannot be used."""


class RateLimiter:
    """A token bucket per key: up to `per_minute` requests in a burst, refilled at `per_minute` / 60 a second;
    `retry_after` says when the next request fits.

    The buckets live in a small memory-mapped file under the service folder, read and updated under an exclusive
    `flock`, so every server process of a `serve --processes N` (and a restarted server) spends one budget per key.
    It is shared memory, not a document: updated in place (a rename would break the sharing), holding only key-name
    digests, token counts and monotonic times; a file of the wrong size is reset, a symlink or a path outside the
    project root is refused.
    """

    _SLOT = struct.Struct("<16sdd")  # blake2b-128 of the key name, tokens left, time.monotonic() of the update
    _SLOTS = 4096
    _PROBES = 64

    def __init__(self, per_minute: int, path: Path, root: Path, clock: Callable[[], float] = time.monotonic) -> None:
        from ..atomic import inside

        self.per_minute = per_minute
        self.clock = clock
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not inside(path, root):
            raise RateLimitStoreError(f"refusing {path}: it lies outside the project root {root}", "remove the link")
        size = self._SLOT.size * self._SLOTS
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            info = os.fstat(self._fd)
            if not stat.S_ISREG(info.st_mode):
                os.close(self._fd)
                raise RateLimitStoreError(f"{path} is not a regular file", "delete it; the service makes a new one")
            with self._exclusive():
                if os.fstat(self._fd).st_size != size:
                    os.ftruncate(self._fd, 0)
                    os.ftruncate(self._fd, size)
            self._map = mmap.mmap(self._fd, size)
        except OSError as exc:
            raise RateLimitStoreError(f"{path}: {exc.strerror or exc}", "check the service folder's permissions") from None

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def retry_after(self, key: str) -> int | None:
        """None when the request may go ahead (and spends a token), else whole seconds to wait."""
        with self._lock, self._exclusive():
            return self._spend(key)

    async def retry_after_async(self, key: str) -> int | None:
        """`retry_after` for the event loop: it never blocks on the lock. Another process holds it for microseconds,
        unless the scheduler pauses that process mid-update; then this loop goes on serving while it waits."""
        import asyncio

        attempt = 0
        while True:
            if self._lock.acquire(blocking=False):
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    pass
                else:
                    try:
                        return self._spend(key)
                    finally:
                        fcntl.flock(self._fd, fcntl.LOCK_UN)
                finally:
                    self._lock.release()
            attempt += 1
            await asyncio.sleep(0 if attempt < 8 else 0.0005)

    def _spend(self, key: str) -> int | None:
        digest = hashlib.blake2b(key.encode("utf-8"), digest_size=16).digest()
        capacity, rate = float(self.per_minute), self.per_minute / 60.0
        now = self.clock()
        offset, tokens, updated = self._slot(digest)
        fresh = tokens is None or updated > now  # a new bucket, or one left by an earlier boot's clock
        tokens = capacity if fresh or tokens is None else min(capacity, tokens + (now - updated) * rate)
        allowed = tokens >= 1.0
        self._SLOT.pack_into(self._map, offset, digest, tokens - 1.0 if allowed else tokens, now)
        return None if allowed else max(1, math.ceil((1.0 - tokens) / rate))

    def _slot(self, digest: bytes) -> tuple[int, float | None, float]:
        """The offset of this key's bucket (claiming a free one if needed) and its tokens and time, None if new."""
        start = int.from_bytes(digest[:4], "little") % self._SLOTS
        oldest: tuple[float, int] | None = None
        for probe in range(self._PROBES):
            offset = ((start + probe) % self._SLOTS) * self._SLOT.size
            found, tokens, updated = self._SLOT.unpack_from(self._map, offset)
            if found == digest:
                return offset, tokens, updated
            if found == bytes(16):
                return offset, None, 0.0
            if oldest is None or updated < oldest[0]:
                oldest = (updated, offset)
        assert oldest is not None
        return oldest[1], None, 0.0  # a full neighbourhood: the longest-idle bucket starts again

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)


_BODILESS = frozenset({"GET", "HEAD", "OPTIONS"})


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    def __init__(self, app: Any, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _BODILESS:
            await self.app(scope, receive, send)  # no route of these methods reads a body
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(send, limit)
            return
        seen = 0
        exceeded = refused = False

        async def counted() -> Message:
            nonlocal seen, exceeded
            message: Message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded(message: Message) -> None:
            # The body parser turns our exception into its own 400; once the cap is hit, the answer is 413.
            nonlocal refused
            if not exceeded:
                await send(message)
            elif not refused:
                refused = True
                await self._refuse(send, limit)

        try:
            await self.app(scope, counted, guarded)
        except BodyTooLarge:
            if not refused:
                refused = True
                await self._refuse(send, limit)

    async def _refuse(self, send: Send, limit: int) -> None:
        body = json.dumps(
            {"error": "request body too large", "hint": f"send at most {limit} bytes", "limit": limit}
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
