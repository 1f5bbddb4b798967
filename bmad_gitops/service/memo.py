"""Answers kept as rendered JSON bytes while the files they were built from stay unchanged.

A repeated GET /config, or a read served from the sample cache, is answered from here after a few `stat` calls:
no parsing, no validation, no serialization. With 50 callers on 2 cores, that is the difference between a p99 of
a few milliseconds and one of a hundred.

An entry is valid while every file it names has the (inode, size, mtime_ns) it had *before* the answer was built,
the test git's index uses; a file that appears or vanishes is a change too, and so is a new file in a named folder
(the folder's mtime moves). Stamps are taken before the work, so a change made while an answer is being built
makes that answer stale at once instead of hiding the change. And as git does for its index, an answer is not
kept while any of its files changed in the last `RACY_NS`: file times come from a coarse clock, so two same-size
writes within one tick leave the same stamp, and only a file that has since settled can be judged by its stamp.

Under load, an answer checked in the last `RECHECK_S` is not checked again: 50 stat calls cost about 120 µs here,
as much as the rest of a request, and 3,000 requests a second would otherwise repeat them 15 times per 5 ms. So an
edit shows within 5 ms, never later.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

Stamp = tuple[int, int, int] | None
RACY_NS = 100_000_000  # well above the kernel's timestamp tick (1-10 ms)
RECHECK_S = 0.005


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

    def settled(self, now_ns: int) -> bool:
        """Whether every file was last changed long enough before `now_ns` for its stamp to be trusted."""
        return all(s is None or now_ns - s[2] > RACY_NS for s in self.stamps)


@dataclass
class Answer:
    body: bytes
    inputs: Inputs
    note: dict[str, Any]  # what the audit line says about this answer (rows, ...)
    checked: float = 0.0  # time.monotonic() of the last check that found every file unchanged


class AnswerMemo:
    """A bounded, least-recently-used map from a request's key to its answer."""

    def __init__(self, size: int = 256, recheck_s: float = RECHECK_S) -> None:
        self.size = size
        self.recheck_s = recheck_s
        self._entries: OrderedDict[Hashable, Answer] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Answer | None:
        with self._lock:
            found = self._entries.get(key)
        if found is None:
            return None
        now = time.monotonic()
        if now - found.checked < self.recheck_s:
            return found
        if not found.inputs.unchanged():
            with self._lock:
                if self._entries.get(key) is found:
                    del self._entries[key]
            return None
        found.checked = now
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
        return found

    def put(self, key: Hashable, answer: Answer) -> None:
        """Keep `answer`, unless one of its files changed too recently to be judged by its stamp later."""
        if not answer.inputs.settled(time.time_ns()):
            return
        with self._lock:
            self._entries[key] = answer
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
