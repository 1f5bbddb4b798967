"""A kill -9 at any moment leaves each generated file old or new, never empty or half-written (hardening issue).

`bmad-gitops lineage --update-stories` rewrites every lineage doc, the index and each linked story; it runs in a
real subprocess that is killed with SIGKILL after a random delay, many times over.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import ORDERS, Project

RUNS = 12


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_killed_lineage_and_story_writes_leave_old_or_new_files(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    stories = project.root / "docs" / "stories"
    stories.mkdir(parents=True)
    for index in range(6):
        story = stories / f"1.{index}.story.md"
        story.write_text(f"# Story 1.{index}: Story {index}\n\n## Status\n\nDraft\n\n## Dev Notes\n\nkeep\n", encoding="utf-8")
    for index in range(6):
        name = f"source_{index}"
        project.upstream(name, ORDERS)
        project.define(name, f'stories: ["1.{index}"]\ndescription: "{"long text " * 200}"\n')
    assert project.run(capsys, "apply", "--auto-approve")[0] == 0
    lineage = project.root / "docs" / "lineage"
    before_stories = files(stories)
    # The final bytes: what an uninterrupted run writes.
    assert project.run(capsys, "lineage", "--update-stories")[0] == 0
    final_docs, final_stories = files(lineage), files(stories)
    assert final_stories != before_stories

    seed = int(os.environ.get("BMAD_GITOPS_KILL_SEED", "0")) or random.SystemRandom().randrange(1, 2**31)
    delays = random.Random(seed).sample([i / 100 for i in range(5, 150)], RUNS)
    env = {**os.environ, "NO_COLOR": "1"}
    for delay in delays:
        shutil.rmtree(lineage)
        for name, data in before_stories.items():
            (stories / name).write_bytes(data)
        child = subprocess.Popen(
            [sys.executable, "-m", "bmad_gitops", "lineage", "--update-stories"],
            cwd=project.root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        where = f"(BMAD_GITOPS_KILL_SEED={seed}, killed after {delay:.2f} s)"
        for name, data in (files(lineage) if lineage.is_dir() else {}).items():
            if name.endswith(".tmp"):
                continue  # a temp file of the interrupted write: never the file itself
            assert data == final_docs[name], f"docs/lineage/{name} is half-written {where}"
        for name, data in files(stories).items():
            if name.endswith(".tmp"):
                continue  # the temp file of an interrupted story edit: the next run clears it (checked below)
            assert data in (before_stories[name], final_stories[name]), f"docs/stories/{name} is half-written {where}"
        # Whatever the kill left behind must not block the next run.
        assert project.run(capsys, "lineage", "--update-stories")[0] == 0, where
        assert files(lineage) == final_docs, f"leftovers or stale docs after a full run {where}"
        assert files(stories) == final_stories, where
