"""Keys accepted once are remembered (by digest), never past a revoke, a rotation's grace period or an expiry."""

from __future__ import annotations

import datetime
from pathlib import Path

from bmad_gitops.service.auth import KeyStore


def test_a_remembered_key_ends_with_revoke_expiry_and_grace(tmp_path: Path) -> None:
    now = [datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)]
    store = KeyStore(tmp_path / "keys.json", clock=lambda: now[0])
    short = store.create("short", ["data_read"], expires_in_days=1)
    kept = store.create("kept", ["admin"])
    gone = store.create("gone", ["data_read"])
    for key in (short, kept, gone):
        assert store.authenticate(key) is not None
        assert store.authenticate(key) is not None  # the second time from memory
    assert kept not in repr(store._accepted) and all(len(k) == 32 for k in store._accepted)  # digests, not keys
    store.revoke("gone")
    assert store.authenticate(gone) is None
    other = KeyStore(tmp_path / "keys.json", clock=lambda: now[0])  # another server process
    assert other.authenticate(kept) is not None
    fresh = store.rotate("kept", grace_hours=2)  # written by `keys rotate` in another process
    assert other.authenticate(kept) is not None and other.authenticate(fresh) is not None
    now[0] += datetime.timedelta(hours=3)
    assert other.authenticate(kept) is None  # the grace period is over, though the file has not changed since
    assert other.authenticate(fresh) is not None
    now[0] += datetime.timedelta(days=1)
    assert other.authenticate(short) is None  # expired while remembered
    before = set(other._accepted)
    assert other.authenticate("bgk_not-a-key") is None and set(other._accepted) == before  # unknown: not remembered
