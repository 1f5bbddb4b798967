"""Plans split across CI jobs: N shares cover every source once and merge back into the very same plan."""

from __future__ import annotations

import json

import pytest

from .conftest import ORDERS, Project


@pytest.mark.parametrize("shares", [1, 2, 3, 4])
def test_merged_shares_equal_one_unsharded_plan_byte_for_byte(
    project: Project, capsys: pytest.CaptureFixture[str], shares: int
) -> None:
    for index in range(11):
        name = f"source_{index:02d}"
        project.upstream(name, ORDERS)
        project.define(name)
    assert project.run(capsys, "apply", "--auto-approve", "--parallelism", "2")[0] == 0
    # Some sources change, one goes away, one is new: every kind of entry must survive the split.
    project.upstream("source_03", {"orders": {"columns": {"id": "integer"}, "primary_key": ["id"]}})
    (project.root / "sources" / "source_07.yaml").unlink()
    project.upstream("source_99", ORDERS)
    project.define("source_99", "owner: someone@example.com\n")
    whole = {fmt: project.run(capsys, "plan", "--format", fmt) for fmt in ("json", "text", "markdown", "github")}
    files = []
    seen: set[str] = set()
    for k in range(1, shares + 1):
        out = f"share-{k}.json"
        code, text, _ = project.run(capsys, "plan", "--shard", f"{k}/{shares}", "--format", "json", "--out", out)
        assert code == 0
        names = {s["name"] for s in json.loads(text)["sources"]}
        assert not names & seen, "a source planned in two shares"
        seen |= names
        files.append(out)
    assert len(seen) == 12
    for fmt, (code, text, _) in whole.items():
        assert project.run(capsys, "plan-merge", *files, "--format", fmt) == (code, text, ""), fmt


def test_a_source_in_two_shares_is_refused(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    project.upstream("shop", ORDERS)
    project.define("shop")
    assert project.run(capsys, "plan", "--out", "a.json")[0] == 0
    code, _, err = project.run(capsys, "plan-merge", "a.json", "a.json")
    assert code == 1 and "is in more than one plan share" in err


@pytest.mark.parametrize("bad", ["0/2", "3/2", "x/2", "2", "²/4"])
def test_a_bad_shard_is_a_usage_error(project: Project, capsys: pytest.CaptureFixture[str], bad: str) -> None:
    code, _, err = project.run(capsys, "plan", "--shard", bad)
    assert code == 2 and "K/N" in err
