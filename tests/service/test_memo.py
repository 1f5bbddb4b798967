"""Answers kept while their files are unchanged: never one stale answer after a change, whatever kind of change;
and the rate limiter's buckets, shared through one file by every server process."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from pathlib import Path

import httpx
import pytest

from bmad_gitops.extraction import MASK
from bmad_gitops.service import memo
from bmad_gitops.service.limits import RateLimiter, RateLimitStoreError
from bmad_gitops.service.memo import Answer, AnswerMemo, Inputs

from .conftest import Running, default_settings, make_project, serve

API = "/api/v1/data-sources"


def _settle(*paths: Path) -> None:
    """Date files back past the racy window, as files that have sat a while are."""
    old = time.time() - 5
    for path in paths:
        os.utime(path, (old, old))


def _kept(store: AnswerMemo, key: str, paths: list[Path]) -> Answer:
    answer = Answer(b"{}", Inputs.of(str(p) for p in paths), {})
    store.put(key, answer)
    return answer


def test_a_kept_answer_goes_stale_on_every_kind_of_change(tmp_path: Path) -> None:
    folder = tmp_path / "sources"
    folder.mkdir()
    first = folder / "a.yaml"
    first.write_text("type: file\n", encoding="utf-8")
    _settle(first, folder)
    store = AnswerMemo(recheck_s=0)
    changes = {
        "same-size rewrite": lambda: first.write_text("type: fila\n", encoding="utf-8"),
        "append": lambda: first.write_text("type: file\nx: 1\n", encoding="utf-8"),
        "new file in the folder": lambda: (folder / "b.yaml").write_text("", encoding="utf-8"),
        "removed": lambda: first.unlink(),
        "replaced by rename": lambda: (folder / "b.yaml").rename(first),
    }
    for change, act in changes.items():
        _settle(*(p for p in (first, folder, folder / "b.yaml") if p.exists()))
        _kept(store, "k", [first, folder])
        assert store.get("k") is not None, change
        act()
        if first.exists() and change == "same-size rewrite":  # the worst case: same inode and size; only mtime moves
            os.utime(first, (time.time() - 2, time.time() - 2))
        assert store.get("k") is None, change


def test_an_answer_built_from_a_file_changed_just_now_is_not_kept(tmp_path: Path) -> None:
    fresh = tmp_path / "x.yaml"
    fresh.write_text("a\n", encoding="utf-8")  # within the racy window: a second write in this tick would not show
    store = AnswerMemo(recheck_s=0)
    _kept(store, "k", [fresh])
    assert store.get("k") is None
    _settle(fresh)
    _kept(store, "k", [fresh])
    assert store.get("k") is not None


def test_under_load_a_change_shows_within_the_recheck_window(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("a", encoding="utf-8")
    _settle(path)
    store = AnswerMemo(recheck_s=0.2)
    _kept(store, "k", [path])
    assert store.get("k") is not None  # checked now
    path.write_text("bb", encoding="utf-8")
    assert store.get("k") is not None  # within the window: not checked again
    time.sleep(0.25)
    assert store.get("k") is None


def test_memo_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("", encoding="utf-8")
    _settle(path)
    store = AnswerMemo(size=3)
    for index in range(5):
        _kept(store, f"k{index}", [path])
    assert [store.get(f"k{i}") is not None for i in range(5)] == [False, False, True, True, True]


def test_rate_limiter_is_a_token_bucket(tmp_path: Path) -> None:
    now = [1000.0]
    limiter = RateLimiter(6, tmp_path / "rate.bin", tmp_path, clock=lambda: now[0])
    assert [limiter.retry_after("k") for _ in range(6)] == [None] * 6
    assert limiter.retry_after("k") == 10  # 6 a minute: one token every 10 s
    assert limiter.retry_after("other") is None  # per key
    now[0] += 10
    assert limiter.retry_after("k") is None
    assert limiter.retry_after("k") == 10
    now[0] += 3600
    assert [limiter.retry_after("k") for _ in range(7)] == [None] * 6 + [10]  # never more than a burst of 6


def test_rate_limiter_buckets_outlive_a_restart_but_not_a_reboot(tmp_path: Path) -> None:
    now = [500.0]
    first = RateLimiter(2, tmp_path / "rate.bin", tmp_path, clock=lambda: now[0])
    assert [first.retry_after("k") for _ in range(3)] == [None, None, 30]
    first.close()
    again = RateLimiter(2, tmp_path / "rate.bin", tmp_path, clock=lambda: now[0])
    assert again.retry_after("k") == 30  # a restarted server does not hand out a fresh budget
    now[0] = 1.0  # monotonic time starts again after a reboot: the old times lie in the future
    assert again.retry_after("k") is None


def _spend(path: str, root: str, tries: int, out: multiprocessing.Queue[int]) -> None:
    limiter = RateLimiter(50, Path(path), Path(root))
    out.put(sum(limiter.retry_after("shared") is None for _ in range(tries)))


def test_rate_limit_is_shared_by_processes(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue[int] = context.Queue()
    workers = [context.Process(target=_spend, args=(str(tmp_path / "rate.bin"), str(tmp_path), 40, out)) for _ in range(3)]
    for worker in workers:
        worker.start()
    allowed = [out.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    # 120 tries against one bucket of 50 (plus under one token a second of refill while the processes run)
    assert 50 <= sum(allowed) <= 52, allowed


def test_rate_limiter_refuses_a_link_out_of_the_root_and_resets_a_broken_file(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "svc").mkdir(parents=True)
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"precious")
    (root / "svc" / "rate.bin").symlink_to(outside)
    with pytest.raises(RateLimitStoreError):
        RateLimiter(5, root / "svc" / "rate.bin", root)
    assert outside.read_bytes() == b"precious"
    (root / "svc" / "rate.bin").unlink()
    (root / "svc" / "rate.bin").write_bytes(b"garbage of the wrong size")
    limiter = RateLimiter(1, root / "svc" / "rate.bin", root)
    assert [limiter.retry_after("k"), limiter.retry_after("k") is not None] == [None, True]


def _past_recheck() -> None:
    """An answer checked in the last few milliseconds is trusted without a stat (memo.RECHECK_S): step past it."""
    time.sleep(memo.RECHECK_S * 3)


def test_config_listing_and_reads_follow_edits(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    definition = root / "sources" / "customers.yaml"
    _settle(definition, root / "sources")
    with serve(root, default_settings(workers=1)) as running, running.client(running.keys.admin) as client:
        listed = client.get(f"{API}/config").json()["sources"]
        assert client.get(f"{API}/config").json()["sources"] == listed  # now answered from the memo
        text = definition.read_text(encoding="utf-8")
        assert "description:" in text
        definition.write_text(text.replace("description:", "description: Edited in place.", 1), encoding="utf-8")  # same inode
        _past_recheck()
        again = client.get(f"{API}/config").json()["sources"]
        assert again[0]["description"].startswith("Edited in place."), again
        (root / "sources" / "more.yaml").write_text(text.replace("dataset_name: customers", "dataset_name: more"), encoding="utf-8")
        _past_recheck()
        assert [s["name"] for s in client.get(f"{API}/config").json()["sources"]] == ["customers", "more"]
        (root / "sources" / "more.yaml").unlink()
        _past_recheck()
        assert [s["name"] for s in client.get(f"{API}/config").json()["sources"]] == ["customers"]
        _check_read_follows_the_definition(running, client, definition)


def _check_read_follows_the_definition(running: Running, client: httpx.Client, definition: Path) -> None:
    body = {"source": "customers", "stream_name": "customers", "limit": 5}
    first = client.post(f"{API}/read", json=body, timeout=300)
    assert first.status_code == 200, first.text
    assert first.json()["masked"] == ["email"]
    _settle(definition, definition.parent)
    kept = client.post(f"{API}/read", json=body)
    assert kept.json() == {**first.json(), "cached": True}
    text = definition.read_text(encoding="utf-8")
    assert "    sensitive: [email]\n" in text and "customer_id" in first.json()["records"][0]
    definition.write_text(text.replace("    sensitive: [email]", "    sensitive: [email, customer_id]"), encoding="utf-8")
    _past_recheck()
    after = client.post(f"{API}/read", json=body).json()  # the same sample, masked as the edited definition says
    assert after["masked"] == ["customer_id", "email"]
    assert {r["customer_id"] for r in after["records"]} == {MASK}
    lines = [json.loads(line) for line in running.audit_lines() if '"POST /api/v1/data-sources/read"' in line]
    assert [line["rows"] for line in lines[-3:]] == [5, 5, 5]  # an answer from the memo still tells the audit its rows


def test_stamp_of_a_missing_file_is_none(tmp_path: Path) -> None:
    assert memo.stamp(str(tmp_path / "nothing")) is None


def test_kept_answers_follow_a_yml_definition_in_a_subfolder_and_the_stories(tmp_path: Path) -> None:
    """The definition may be `sources/team/x.yml`; validity also depends on the stories it cites (docs/stories)."""
    root = make_project(tmp_path / "p")
    text = (root / "sources" / "customers.yaml").read_text(encoding="utf-8")
    (root / "sources" / "customers.yaml").unlink()
    (root / "sources" / "crm").mkdir()
    definition = root / "sources" / "crm" / "customers.yml"
    definition.write_text(text.replace("on_drift: warn", 'stories: ["1.1"]\non_drift: warn'), encoding="utf-8")
    story = root / "docs" / "stories" / "1.1.customers.md"
    story.parent.mkdir(parents=True)
    story.write_text("# Story 1.1: Customers\n\nStatus: Draft\n\nUses `customers`.\n", encoding="utf-8")
    _settle(definition, definition.parent, root / "sources", story, story.parent)
    body = {"source": "customers", "stream_name": "customers", "limit": 5}
    with serve(root, default_settings(workers=1)) as running, running.client(running.keys.admin) as client:
        first = client.post(f"{API}/read", json=body, timeout=300)
        assert first.status_code == 200, first.text
        assert client.post(f"{API}/read", json=body).json()["cached"] is True  # kept now
        definition.write_text(definition.read_text(encoding="utf-8").replace("sensitive: [email]", "sensitive: [email, customer_id]"), encoding="utf-8")
        _past_recheck()
        assert client.post(f"{API}/read", json=body).json()["masked"] == ["customer_id", "email"]
        _settle(definition)
        assert client.post(f"{API}/read", json=body).status_code == 200  # kept again
        story.unlink()  # the cited story goes: the definition no longer validates
        _past_recheck()
        gone = client.post(f"{API}/read", json=body)
        assert gone.status_code == 422 and "1.1" in gone.text, gone.text


def test_config_listing_notices_a_sources_folder_that_appears(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    saved = root / "sources" / "customers.yaml"
    text = saved.read_text(encoding="utf-8")
    saved.unlink()
    (root / "sources").rmdir()
    with serve(root, default_settings(workers=1)) as running, running.client(running.keys.reader) as client:
        assert client.get(f"{API}/config").json()["sources"] == []
        time.sleep(memo.RACY_NS / 1e9 * 2)  # long enough for the empty listing to be kept
        assert client.get(f"{API}/config").json()["sources"] == []
        (root / "sources").mkdir()
        saved.write_text(text, encoding="utf-8")
        _past_recheck()
        assert [s["name"] for s in client.get(f"{API}/config").json()["sources"]] == ["customers"]


def test_a_rate_below_one_is_refused_at_start(tmp_path: Path) -> None:
    from bmad_gitops.engine import open_project
    from bmad_gitops.errors import UsageError
    from bmad_gitops.service.app import Service

    root = make_project(tmp_path / "p")
    with pytest.raises(UsageError):
        Service(open_project(root), default_settings(requests_per_minute=0))
