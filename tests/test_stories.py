"""BMad story discovery (v4 and v6), source citations, and the managed data-source block."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bmad_gitops.lineage.stories import (
    BLOCK_END,
    BLOCK_START,
    Citation,
    Story,
    StoryIndex,
    find_stories,
    normalize_story_id,
    update_story_block,
)

FIXTURES = Path(__file__).parent / "fixtures"
V4_CUSTOM = FIXTURES / "bmad_v4" / "custom_dir"
V4_DEFAULT = FIXTURES / "bmad_v4" / "default_dir"
V6 = FIXTURES / "bmad_v6"
V6_ARTIFACTS = V6 / "_bmad-output" / "implementation-artifacts"


def summary(index: StoryIndex) -> list[tuple[str, str, str, str, str, int]]:
    return [(s.id, s.title, s.status, s.path.name, s.layout, s.title_line) for s in index.stories]


def cites(index: StoryIndex) -> list[tuple[str, str, str, int, int]]:
    return [(c.source, c.story_id, c.path.name, c.line, c.col) for c in index.citations]


# --- ids -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.2", "1.2"),
        ("1-2", "1.2"),
        ("1_2", "1.2"),
        ("1-2-add-customers", "1.2"),
        ("1.2.add-customers", "1.2"),
        ("1.5B", "1.5B"),
        ("1-5b-backfill", "1.5B"),
        ("1.0.1", "1.0.1"),
        ("01.02", "1.2"),
        ("Story 1.2", "1.2"),
        ("  1.10  ", "1.10"),
        ("epic-1", "epic-1"),
        ("12abc", "12abc"),
        ("", ""),
    ],
)
def test_normalize_story_id(text: str, expected: str) -> None:
    assert normalize_story_id(text) == expected


# --- v4 ----------------------------------------------------------------------------------------------


def test_v4_reads_the_configured_directory_with_messy_stories() -> None:
    index = find_stories(V4_CUSTOM)

    stories_dir = V4_CUSTOM / "planning" / "stories"
    assert all(story.path.parent == stories_dir for story in index.stories)
    # docs/stories/9.9 is in the default place, which core-config overrides; README.md is no story.
    assert summary(index) == [
        ("1.0.1", "", "Approved", "1.0.1.hotfix-currency.md", "v4", 0),
        ("1.1", "Connect the CRM", "Done", "1.1.connect-crm.md", "v4", 1),
        ("1.2", "Add customers", "Ready for Review", "1.2.add-customers.md", "v4", 1),
        ("1.2", "Add customers", "Draft", "1.2.story.md", "v4", 1),
        ("1.5B", "Backfill orders", "InProgress", "1.5B.story.md", "v4", 1),
        ("1.10", "Tenth story sorts after 1.5B", "Review", "1.10.story.md", "v4", 1),
        ("2.1", "", "", "2.1.empty.md", "v4", 0),
        ("2.2", "Caf\ufffd payments", "Draft", "2.2.bad-bytes.md", "v4", 1),
        ("3.1", "Payments draft", "Draft", "draft-payments.md", "v4", 1),
    ]


def test_v4_citations_in_all_three_styles() -> None:
    index = find_stories(V4_CUSTOM)

    assert cites(index) == [
        ("fx_rates", "1.0.1", "1.0.1.hotfix-currency.md", 15, 25),  # sources/ path ending a sentence
        ("crm_contacts", "1.1", "1.1.connect-crm.md", 26, 50),  # [Source: lineage/...]
        ("customers", "1.2", "1.2.add-customers.md", 23, 39),  # [Source: docs/lineage/...; ...]
        ("orders", "1.2", "1.2.add-customers.md", 23, 66),
        ("orders", "1.2", "1.2.add-customers.md", 24, 37),  # ../../sources/orders.yml
        ("customers", "1.2", "1.2.story.md", 13, 31),
        ("orders", "1.5B", "1.5B.story.md", 13, 20),  # - **Data source:** orders
        ("customers", "1.5B", "1.5B.story.md", 14, 15),  # Data sources: customers, `orders`
        ("orders", "1.5B", "1.5B.story.md", 14, 27),
        ("payments", "2.2", "2.2.bad-bytes.md", 9, 14),
    ]
    assert all(c.path.parent == V4_CUSTOM / "planning" / "stories" for c in index.citations)


def test_by_id_returns_every_copy_of_a_duplicated_story() -> None:
    index = find_stories(V4_CUSTOM)

    copies = index.by_id("1-2")
    assert [story.path.name for story in copies] == ["1.2.add-customers.md", "1.2.story.md"]
    assert index.by_id("Story 1.5b") == [index.stories[4]]
    assert index.by_id("9.9") == []


def test_cited_sources_groups_by_name_in_sorted_order() -> None:
    grouped = find_stories(V4_CUSTOM).cited_sources()

    assert list(grouped) == ["crm_contacts", "customers", "fx_rates", "orders", "payments"]
    assert [(c.story_id, c.line) for c in grouped["orders"]] == [("1.2", 23), ("1.2", 24), ("1.5B", 13), ("1.5B", 14)]
    assert grouped["payments"] == [
        Citation("payments", "2.2", V4_CUSTOM / "planning" / "stories" / "2.2.bad-bytes.md", 9, 14)
    ]


def test_v4_default_location_and_crlf_story() -> None:
    crlf = V4_DEFAULT / "docs" / "stories" / "1.1.crlf-orders.md"
    assert crlf.read_bytes().count(b"\r\n") == 12, "the CRLF fixture lost its line endings in checkout"

    index = find_stories(V4_DEFAULT)

    assert summary(index) == [
        ("1.1", "Orders with Windows line endings", "Done", "1.1.crlf-orders.md", "v4", 1),
        ("1.2", "Inline status", "Approved", "1.2.story.md", "v4", 1),
    ]
    assert cites(index) == [
        ("orders", "1.1", "1.1.crlf-orders.md", 9, 14),
        ("orders", "1.1", "1.1.crlf-orders.md", 10, 22),
    ]


# --- v6 ----------------------------------------------------------------------------------------------


def test_v6_stories_take_status_from_file_then_sprint_status() -> None:
    index = find_stories(V6)

    assert summary(index) == [
        ("1.1", "Connect the CRM", "done", "1-1-connect-crm.md", "v6", 1),
        ("1.2", "Add customers", "in-progress", "1-2-add-customers.md", "v6", 1),  # sprint-status only
        ("1.3", "Orders feed", "review", "1-3-orders-feed.md", "v6", 1),  # file beats sprint's "done"
        ("1.5B", "Backfill", "ready-for-dev", "1-5b-backfill.md", "v6", 6),  # after front matter
        ("2.1", "3-way merge", "ready-for-dev", "2-1-3-way-merge.md", "v6", 1),  # title settles the id
    ]


def test_v6_citations_skip_the_managed_block_and_non_stories() -> None:
    index = find_stories(V6)

    assert cites(index) == [
        ("crm_contacts", "1.1", "1-1-connect-crm.md", 23, 49),
        ("crm_contacts", "1.1", "1-1-connect-crm.md", 27, 31),
        ("customers", "1.2", "1-2-add-customers.md", 9, 20),
        ("orders", "2.1", "2-1-3-way-merge.md", 5, 16),
        ("customers", "2.1", "2-1-3-way-merge.md", 5, 41),
    ]


def test_v6_sprint_status_matches_by_id_when_the_file_name_differs(tmp_path: Path) -> None:
    artifacts = tmp_path / "_bmad-output" / "implementation-artifacts"
    artifacts.mkdir(parents=True)
    (artifacts / "sprint-status.yaml").write_text("development_status:\n  3-1-renamed: review\n  epic-3: done\n")
    (artifacts / "3-1-new-name.md").write_text("# Story 3.1: New name\n")

    assert summary(find_stories(tmp_path)) == [("3.1", "New name", "review", "3-1-new-name.md", "v6", 1)]


def test_v6_reads_implementation_artifacts_from_bmm_config(tmp_path: Path) -> None:
    (tmp_path / "_bmad" / "bmm").mkdir(parents=True)
    (tmp_path / "_bmad" / "bmm" / "config.yaml").write_text(
        'implementation_artifacts: "{project-root}/planning/impl"\n'
    )
    (tmp_path / "planning" / "impl").mkdir(parents=True)
    (tmp_path / "planning" / "impl" / "4-2-moved.md").write_text("# Story 4.2: Moved\n\nStatus: done\n")

    assert summary(find_stories(tmp_path)) == [("4.2", "Moved", "done", "4-2-moved.md", "v6", 1)]


def test_v6_config_with_an_unresolvable_placeholder_falls_back_to_default(tmp_path: Path) -> None:
    shutil.copytree(V6, tmp_path / "p")
    (tmp_path / "p" / "_bmad" / "bmm" / "config.yaml").write_text('implementation_artifacts: "{output_folder}/impl"\n')

    assert [story.id for story in find_stories(tmp_path / "p").stories] == ["1.1", "1.2", "1.3", "1.5B", "2.1"]


# --- detection and overrides -----------------------------------------------------------------------


def test_explicit_stories_dir_overrides_detection() -> None:
    relative = find_stories(V4_CUSTOM, Path("docs/stories"))
    absolute = find_stories(Path("/nonexistent"), V4_CUSTOM / "docs" / "stories")

    expected = [("9.9", "Not in the configured location", "", "9.9.ignored.md", "v4", 1)]
    assert summary(relative) == expected
    assert summary(absolute) == expected


def test_explicit_v6_directory_still_reads_its_sprint_status() -> None:
    explicit = find_stories(Path("/nonexistent"), V6_ARTIFACTS)

    assert summary(explicit) == summary(find_stories(V6))
    assert cites(explicit) == cites(find_stories(V6))


def test_project_with_both_layouts_lists_them_together(tmp_path: Path) -> None:
    shutil.copytree(V6, tmp_path, dirs_exist_ok=True)
    shutil.copytree(V4_DEFAULT, tmp_path, dirs_exist_ok=True)

    index = find_stories(tmp_path)

    assert [(story.id, story.layout) for story in index.stories] == [
        ("1.1", "v6"),  # same id: by path, and "_bmad-output" sorts before "docs"
        ("1.1", "v4"),
        ("1.2", "v6"),
        ("1.2", "v4"),
        ("1.3", "v6"),
        ("1.5B", "v6"),
        ("2.1", "v6"),
    ]
    assert [c.story_id for c in index.citations] == ["1.1", "1.1", "1.1", "1.1", "1.2", "2.1", "2.1"]


def test_no_bmad_project_gives_an_empty_index(tmp_path: Path) -> None:
    assert find_stories(tmp_path) == StoryIndex()
    assert find_stories(tmp_path / "missing") == StoryIndex()
    assert find_stories(tmp_path, Path("nope")) == StoryIndex()


@pytest.mark.parametrize(
    "config",
    [
        "devStoryLocation: [unclosed\n",
        "devStoryLocation: 2025-13-45\n",  # PyYAML raises ValueError building this date
        "- just a list\n",
        "devStoryLocation: ''\n",
    ],
)
def test_broken_core_config_falls_back_to_default(tmp_path: Path, config: str) -> None:
    (tmp_path / ".bmad-core").mkdir()
    (tmp_path / ".bmad-core" / "core-config.yaml").write_text(config)
    (tmp_path / "docs" / "stories").mkdir(parents=True)
    (tmp_path / "docs" / "stories" / "1.1.story.md").write_text("# Story 1.1: Ok\n")

    assert [story.id for story in find_stories(tmp_path).stories] == ["1.1"]


@pytest.mark.parametrize(
    "sprint",
    [b"development_status: [\n", b"\xff\xfe not utf-8", b"development_status: 5\n", b"generated: 2025-02-30\n"],
)
def test_broken_sprint_status_is_ignored(tmp_path: Path, sprint: bytes) -> None:
    artifacts = tmp_path / "_bmad-output" / "implementation-artifacts"
    artifacts.mkdir(parents=True)
    (artifacts / "sprint-status.yaml").write_bytes(sprint)
    (artifacts / "1-1-a.md").write_text("# Story 1.1: A\n")

    assert summary(find_stories(tmp_path)) == [("1.1", "A", "", "1-1-a.md", "v6", 1)]


def test_odd_entries_are_skipped(tmp_path: Path) -> None:
    stories = tmp_path / "docs" / "stories"
    stories.mkdir(parents=True)
    (stories / "1.1.a-directory.md").mkdir()
    (stories / "1.2.story.md").write_bytes(b"\xef\xbb\xbf# Story 1.2: With BOM\r\n\r\n## Status\r\n\r\nDone\r\n")
    (stories / "1.3.story.txt").write_text("# Story 1.3: Not markdown\n")
    (stories / "notes.md").write_text("# Notes\n\nStatus: whatever\n")
    if hasattr(os, "symlink"):
        (stories / "1.4.dangling.md").symlink_to(tmp_path / "missing.md")

    assert summary(find_stories(tmp_path)) == [("1.2", "With BOM", "Done", "1.2.story.md", "v4", 1)]


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("# Story 1.1: T\n\n## Status\n\n**Done**\n", "Done"),
        ("# Story 1.1: T\n\n## Status: Draft\n", "Draft"),
        ("# Story 1.1: T\n\n## Status\n\n## Story\n\nDone\n", ""),  # empty section: no status
        ("# Story 1.1: T\n\n- **Status:** Review\n", "Review"),
        ("# Story 1.1: T\n\n## Story\n\nStatus: not the status\n", ""),
        ("Status: before the title\n\n# Story 1.1: T\n", "before the title"),
        ("# Story 1.1: T\n\n~~~\n## Status\n\nFenced\n~~~\n", ""),
    ],
)
def test_status_variants(tmp_path: Path, text: str, status: str) -> None:
    (tmp_path / "docs" / "stories").mkdir(parents=True)
    (tmp_path / "docs" / "stories" / "1.1.story.md").write_text(text)

    assert [story.status for story in find_stories(tmp_path).stories] == [status]


def test_import_and_yaml_free_scan_do_not_load_pyyaml(tmp_path: Path) -> None:
    (tmp_path / "docs" / "stories").mkdir(parents=True)
    (tmp_path / "docs" / "stories" / "1.1.story.md").write_text("# Story 1.1: A\n")
    code = (
        "import sys; from pathlib import Path; from bmad_gitops.lineage.stories import find_stories; "
        f"assert len(find_stories(Path({str(tmp_path)!r})).stories) == 1; "
        "assert 'yaml' not in sys.modules, 'PyYAML was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- the managed block -------------------------------------------------------------------------------

STORY = """\
# Story 1.2: Add customers

## Status

Draft

## Dev Notes

Use the customers API.

### Testing

- Contract tests.

## Change Log
"""

BLOCK = f"""\
{BLOCK_START}
### Data Sources

- [customers](../lineage/customers.md)
- [orders](../lineage/orders.md)
{BLOCK_END}
"""

SOURCES = [("orders", "../lineage/orders.md"), ("customers", "../lineage/customers.md")]


def test_block_goes_at_the_end_of_dev_notes() -> None:
    updated = update_story_block(STORY, SOURCES)

    assert updated == STORY.replace("- Contract tests.\n\n", "- Contract tests.\n\n" + BLOCK)
    assert update_story_block(updated, SOURCES) == updated


def test_block_is_replaced_in_place_and_removed_when_empty() -> None:
    first = update_story_block(STORY, SOURCES)

    second = update_story_block(first, [("payments", "../lineage/payments.md")])
    assert second == first.replace(
        "- [customers](../lineage/customers.md)\n- [orders](../lineage/orders.md)\n",
        "- [payments](../lineage/payments.md)\n",
    )
    assert update_story_block(second, []) == STORY
    assert update_story_block(STORY, []) == STORY


def test_block_creates_dev_notes_when_missing() -> None:
    expected_tail = "\n## Dev Notes\n\n" + BLOCK

    assert update_story_block("# Story 1.1: A\n", SOURCES) == "# Story 1.1: A\n" + expected_tail
    assert update_story_block("# Story 1.1: A", SOURCES) == "# Story 1.1: A\n" + expected_tail
    assert update_story_block("# Story 1.1: A\n\n", SOURCES) == "# Story 1.1: A\n\n" + expected_tail[1:]
    assert update_story_block("", SOURCES) == expected_tail[1:]


def test_block_keeps_crlf_and_every_other_byte() -> None:
    crlf = STORY.replace("\n", "\r\n")

    updated = update_story_block(crlf, SOURCES)

    assert updated == crlf.replace(
        "- Contract tests.\r\n\r\n", "- Contract tests.\r\n\r\n" + BLOCK.replace("\n", "\r\n")
    )
    assert "\n" not in updated.replace("\r\n", "")
    assert update_story_block(updated, SOURCES) == updated
    assert update_story_block(updated, []) == crlf


def test_block_ignores_dev_notes_heading_inside_code_fence() -> None:
    text = "# Story 1.1: A\n\n```\n## Dev Notes\n```\n\n## Dev Notes\n\nReal notes.\n"

    assert update_story_block(text, SOURCES) == text + BLOCK


def test_block_at_end_of_last_section_without_newline() -> None:
    assert update_story_block("## Dev Notes\n\nNotes.", SOURCES) == "## Dev Notes\n\nNotes.\n" + BLOCK


def test_stray_start_marker_does_not_swallow_text() -> None:
    text = f"{BLOCK_START}\nkeep me\n\n## Dev Notes\n\nNotes.\n"

    once = update_story_block(text, SOURCES)

    assert once == text + BLOCK
    assert update_story_block(once, SOURCES) == once
    assert update_story_block(once, []) == text


def test_two_blocks_after_a_merge_become_one() -> None:
    stale = f"{BLOCK_START}\n- [old](old.md)\n{BLOCK_END}\n"
    text = f"# Story 1.1: A\n\n## Dev Notes\n\n{stale}\nMore notes.\n\n{stale}"

    once = update_story_block(text, SOURCES)

    assert once == f"# Story 1.1: A\n\n## Dev Notes\n\n{BLOCK}\nMore notes.\n\n"
    assert update_story_block(once, SOURCES) == once
    assert update_story_block(text, []) == "# Story 1.1: A\n\n## Dev Notes\n\n\nMore notes.\n\n"


def test_block_entries_are_sorted_deduplicated_and_escaped() -> None:
    updated = update_story_block("## Dev Notes\n", [("b]x", "my docs/b.md"), ("a", "a.md"), ("a", "a.md")])

    assert "- [a](a.md)\n- [b\\]x](<my docs/b.md>)\n" in updated
    with pytest.raises(ValueError, match="one line"):
        update_story_block("", [("bad\nname", "x.md")])


def test_block_entries_are_not_citations(tmp_path: Path) -> None:
    stories = tmp_path / "docs" / "stories"
    stories.mkdir(parents=True)
    story = stories / "1.2.story.md"
    story.write_text(update_story_block(STORY, [("orders", "../../sources/orders.yaml")]))

    assert find_stories(tmp_path).citations == ()
    assert find_stories(tmp_path).stories == (Story("1.2", "Add customers", "Draft", story, "v4", 1),)


# Lines that exercise headings, fences, markers and line endings more often than random text would.
LINE = st.sampled_from(
    [
        "## Dev Notes",
        "### Dev Notes",
        "# Story 1.2: T",
        "## Status",
        "### Testing",
        "## Change Log",
        "```",
        "~~~~",
        "---",
        "",
        "   ",
        "text",
        "- item",
        BLOCK_START,
        BLOCK_END,
    ]
) | st.text(max_size=12)
TEXT = (
    st.builds(
        lambda lines, newline, final: newline.join(lines) + final,
        st.lists(LINE, max_size=14),
        st.sampled_from(["\n", "\r\n"]),
        st.sampled_from(["", "\n", "\r\n", "\r"]),
    )
    | st.text()
)
NAME = st.text("abcxyz_-.0123", min_size=1, max_size=8)
SOURCE_LIST = st.lists(st.tuples(NAME, st.text("abc./ ()", max_size=10)), max_size=4)
ADDED = re.compile(r"(\r?\n)?(\r?\n)?(## Dev Notes(\r?\n){2})?")


def without_block(text: str) -> str:
    """The text minus the managed block's lines."""
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if line.strip() == BLOCK_START]
    ends = [i for i, line in enumerate(lines) if line.strip() == BLOCK_END]
    assert len(starts) == len(ends) == 1
    return "\n".join(lines[: starts[0]] + lines[ends[0] + 1 :])


@settings(max_examples=400, deadline=None)
@given(text=TEXT, sources=SOURCE_LIST)
@example(text="abc\r", sources=[("a", "a.md")])
@example(text="\n".join([BLOCK_START, BLOCK_START, BLOCK_END, BLOCK_END]), sources=[])
def test_update_is_idempotent(text: str, sources: list[tuple[str, str]]) -> None:
    once = update_story_block(text, sources)

    assert update_story_block(once, sources) == once


@settings(max_examples=400, deadline=None)
@given(text=TEXT.filter(lambda t: "bmad-gitops:sources:" not in t), sources=SOURCE_LIST.filter(bool), other=SOURCE_LIST)
def test_update_only_adds_the_block(text: str, sources: list[tuple[str, str]], other: list[tuple[str, str]]) -> None:
    updated = update_story_block(text, sources)

    remaining = without_block(updated)
    assert remaining.startswith(text)
    assert ADDED.fullmatch(remaining[len(text) :])
    assert update_story_block(updated, []) == remaining
    if other:  # replacing a block gives what writing the new list fresh would have given
        assert update_story_block(updated, other) == update_story_block(text, other)
    for name, _ in set(sources):
        assert f"- [{name}](" in updated
