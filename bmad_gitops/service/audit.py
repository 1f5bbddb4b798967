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
    def __init__(self, path: Path, max_bytes: int, backups: int = 5, root: Path | None = None) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self._lock = threading.Lock()
        self.root = root  # when given, the log's folder must stay inside it (checked at every open)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._check_inside()
        self._fd: int | None = None
        self._inode: tuple[int, int] | None = None
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
        data = text.encode("utf-8")
        with self._lock:
            current = self._current()
            if current is not None and current.st_size + len(data) > self.max_bytes:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
                try:
                    current = self._current()  # another process may have rotated meanwhile
                    if current is not None and current.st_size + len(data) > self.max_bytes:
                        self._rotate()
                        current = None
                finally:
                    fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            if self._fd is None or current is None or (current.st_dev, current.st_ino) != self._inode:
                self._reopen()  # first line, or the file was rotated (by any process) since the last one
            assert self._fd is not None
            os.write(self._fd, data)  # one write per line: lines never interleave

    def _current(self) -> os.stat_result | None:
        try:
            return os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def _check_inside(self) -> None:
        from ..atomic import inside
        from ..errors import ProjectError

        if self.root is not None and not inside(self.path.parent, self.root):
            raise ProjectError(f"audit log folder {self.path.parent} lies outside the project root {self.root}", "remove the link")

    def _reopen(self) -> None:
        self._check_inside()  # a link planted after start-up must not move the log out of the project
        if self._fd is not None:
            os.close(self._fd)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        info = os.fstat(self._fd)
        self._inode = (info.st_dev, info.st_ino)

    def _rotate(self) -> None:
        for index in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{index}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{index + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
