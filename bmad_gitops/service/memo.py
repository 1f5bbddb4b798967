"""Answers kept as rendered JSON bytes while the files they were built from stay unchanged.

A repeated GET /config, or a read served from the sample cache, is answered from here after a few `stat` calls:
no parsing, no validation, no serialization. With 50 callers on 2 cores, that is the difference between a p99 of
a few milliseconds and one of a hundred.

An entry is valid while every file it names has the (inode, size, mtime_ns) it had *before* the answer was built,
the test git's index uses; a file that appears or vanishes is a change too, and so is a new file in a named folder
(the folder's mtime moves). Stamps are taken before the work, so a change made while an answer is being built
makes that answer stale at once instead of hiding the change.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

Stamp = tuple[int, int, int] | None


def stamp(path: str) -> Stamp:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_ino, info.st_size, info.st_mtime_ns)


@dataclass(frozen=True)
class Inputs:
    """Files and their stamps, taken together before an answer is built from them."""

    paths: tuple[str, ...]
    stamps: tuple[Stamp, ...]

    @classmethod
    def of(cls, paths: Iterable[str]) -> Inputs:
        known = tuple(dict.fromkeys(paths))
        return cls(known, tuple(stamp(p) for p in known))

    def __add__(self, other: Inputs) -> Inputs:
        return Inputs(self.paths + other.paths, self.stamps + other.stamps)

    def unchanged(self) -> bool:
        return all(stamp(p) == s for p, s in zip(self.paths, self.stamps, strict=True))


@dataclass(frozen=True)
class Answer:
    body: bytes
    inputs: Inputs
    note: dict[str, Any]  # what the audit line says about this answer (rows, ...)


class AnswerMemo:
    """A bounded, least-recently-used map from a request's key to its answer."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, Answer] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Answer | None:
        with self._lock:
            found = self._entries.get(key)
        if found is None:
            return None
        if not found.inputs.unchanged():
            with self._lock:
                if self._entries.get(key) is found:
                    del self._entries[key]
            return None
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
        return found

    def put(self, key: Hashable, answer: Answer) -> None:
        with self._lock:
            self._entries[key] = answer
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
