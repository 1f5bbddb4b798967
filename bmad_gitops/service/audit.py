"""The audit log: one JSON line per data access or refusal, flushed per line, rotated by size.

Lines carry the key's name, never the key, and never request bodies: a password sent for a one-off call cannot
reach this file. Every server process of one service appends to the same file: each line is one O_APPEND write,
which never interleaves with another. Rotation happens under an exclusive `flock` on a lock file beside the log,
with the size checked again once the lock is held, so two processes never rotate the same file twice; a line
written by a process that opened the file just before another renamed it lands in the newest backup, not lost.
"""

from __future__ import annotations

import datetime
import fcntl
import json
import os
import threading
from pathlib import Path
from typing import Any


class AuditLog:
    def __init__(self, path: Path, max_bytes: int, backups: int = 5) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock_fd = os.open(path.with_name(f"{path.name}.lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)

    def record(
        self,
        *,
        key: str | None,
        client: str | None,
        endpoint: str,
        outcome: str,
        status: int,
        source: str | None = None,
        stream: str | None = None,
        rows: int | None = None,
    ) -> None:
        line: dict[str, Any] = {
            "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds"),
            "key": key,
            "client": client,
            "endpoint": endpoint,
            "source": source,
            "stream": stream,
            "rows": rows,
            "outcome": outcome,
            "status": status,
        }
        text = json.dumps(line, sort_keys=True) + "\n"
        with self._lock:
            if self._full(len(text)):
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
                try:
                    if self._full(len(text)):  # another process may have rotated meanwhile
                        self._rotate()
                finally:
                    fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            try:
                os.write(fd, text.encode("utf-8"))  # one write per line: lines never interleave
            finally:
                os.close(fd)

    def _full(self, incoming: int) -> bool:
        try:
            return self.path.stat().st_size + incoming > self.max_bytes
        except FileNotFoundError:
            return False

    def _rotate(self) -> None:
        for index in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{index}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{index + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
