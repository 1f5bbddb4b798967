"""The audit log: one JSON line per data access or refusal, flushed per line, rotated by size.

Lines carry the key's name, never the key, and never request bodies: a password sent for a one-off call cannot
reach this file. Every server process of one service appends to the same file: each line is one O_APPEND write,
and the size check, rotation and write happen under an exclusive `flock` on a lock file beside it, so two
processes never rotate at once and no line lands in a file that was just renamed away.
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
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            try:
                self._rotate_if_full(len(text))
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
                try:
                    os.write(fd, text.encode("utf-8"))  # one write per line: lines never interleave
                finally:
                    os.close(fd)
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _rotate_if_full(self, incoming: int) -> None:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return
        if size + incoming <= self.max_bytes:
            return
        for index in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{index}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{index + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
