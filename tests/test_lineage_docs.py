"""Lineage docs: per-source pages and the index, rendered from applied state and the BMad fixture stories."""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bmad_gitops.catalog import Column, Stream
from bmad_gitops.lineage.docs import (
    GENERATED_MARKER,
    LineageDocsError,
    render_index,
    render_source_doc,
    write_lineage,
)
from bmad_gitops.lineage.stories import StoryIndex, find_stories
from bmad_gitops.model import AppliedState, ChangeLogEntry, ColumnProfile, StreamProfile

FIXTURES = Path(__file__).parent / "fixtures"
CANARY = "canary-Sup3r-S3cret-value"


def _state_orders_db() -> AppliedState:
    orders = Stream(
        name="orders",
        columns=(
            Column(name="amount", type="number", nullable=True),
            Column(name="id", type="integer", nullable=False),
            Column(name="placed_at", type="date-time", nullable=True),
            Column(name="note|pipe", type="string", nullable=True),
        ),
        primary_key=("id",),
        cursor=("placed_at",),
        sync_modes=("incremental", "full_refresh"),
    )
    ends = Stream(name="end", columns=(Column(name="x", type="string"),))
    return AppliedState(
        source="orders",
        type="database",
        connector="source-postgres",
        connector_version="3.6.28",
        config_fingerprint="f" * 64,
        secret_refs=("ORDERS_DB_PASSWORD",),
        config={
            "host": "db.internal",
            "port": 5432,
            "database": "shop",
            "username": "reader",
            "password": "${ORDERS_DB_PASSWORD}",
            "schemas": ["public"],
            "ssl_mode": {"mode": "prefer"},
            "api_token": "leaked-into-state-by-mistake",
            "client_secret": 987654321,
        },
        streams=(orders, ends),
        profiles=(
            StreamProfile(
                stream="orders",
                records=40,
                violations=2,
                completeness=0.975,
                columns=(
                    ColumnProfile(name="amount", null_rate=0.25, violations=0),
                    ColumnProfile(name="id", null_rate=0.0, violations=0),
                    ColumnProfile(name="placed_at", null_rate=0.0, violations=2),
                ),
            ),
        ),
        stories=("1.5b", "9.9"),
        changelog=(
            ChangeLogEntry(date="2026-02-01", change="created (end, orders)", stories=("1.5B",)),
            ChangeLogEntry(date="2026-01-15", change="config changed: host | port", stories=()),
            ChangeLogEntry(
                date="2026-02-01", change="drift accepted: orders.placed_at added (date-time)", stories=("9.9", "1.5B")
            ),
        ),
    )


def _state_customers() -> AppliedState:
    return AppliedState(
        source="customers",
        type="file",
        connector="source-file",
        connector_version="0.5.39",
        config_fingerprint="c" * 64,
        config={
            "dataset_name": "customers",
            "format": "csv",
            "url": "data/customers.csv",
            "provider": {"storage": "local"},
        },
        streams=(Stream(name="customers", columns=(Column(name="email", type="string"),), primary_key=("email",)),),
        stories=("1.1",),
        changelog=(ChangeLogEntry(date="2026-01-10", change="created (customers)", stories=("1.1",)),),
    )


DEFINITIONS = {
    "orders": {
        "type": "database",
        "connector": "source-postgres",
        "description": "The shop's PostgreSQL database.",
        "owner": "backend-team",
        "tags": ["oltp", "finance"],
        "on_drift": "warn",
    }
}


@pytest.fixture
def v4(tmp_path: Path) -> Path:
    """The v4 fixture project (stories under planning/stories) plus a story whose title needs escaping."""
    root = tmp_path / "v4"
    shutil.copytree(FIXTURES / "bmad_v4" / "custom_dir", root)
    (root / "planning" / "stories" / "4.1.quotes.md").write_text(
        '# Story 4.1: Load "orders" <fast> & [safely] | `now`\n\n## Status\n\nDraft\n\n'
        "## Dev Notes\n\nData source: orders\n",
        encoding="utf-8",
    )
    (root / "sources").mkdir()
    (root / "sources" / "orders.yaml").write_text("type: database\n", encoding="utf-8")
    return root


def _write(root: Path, states: list[AppliedState]) -> list[Path]:
    stories = find_stories(root)
    paths = {"orders": root / "sources" / "orders.yaml"}
    return write_lineage(states, stories, root / "docs" / "lineage", root, DEFINITIONS, paths)


# --- one source page -----------------------------------------------------------------------------


def test_source_page_shows_what_the_source_is(v4: Path) -> None:
    page = render_source_doc(
        _state_orders_db(),
        find_stories(v4),
        definition=DEFINITIONS["orders"],
        doc_dir=v4 / "docs" / "lineage",
        root=v4,
        definition_path=v4 / "sources" / "orders.yaml",
    )
    lines = page.splitlines()
    assert lines[0] == GENERATED_MARKER
    assert lines[2] == "# orders"
    assert "The shop's PostgreSQL database." in lines
    for row in (
        "| Type | `database` |",
        "| Connector | `source-postgres` 3.6.28 |",
        "| Owner | backend-team |",
        "| Tags | `finance`, `oltp` |",
        "| On drift | `warn` |",
        "| Definition | [orders.yaml](../../sources/orders.yaml) |",
        "| Streams | 2 |",
    ):
        assert row in lines, row
    assert [line for line in lines if line.startswith("## ")] == [
        "## Lineage",
        "## Configuration",
        "## Schema",
        "## Last test extraction",
        "## Stories",
        "## Change Log",
    ]


def test_config_table_shows_secrets_by_name_only(v4: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERS_DB_PASSWORD", CANARY)
    page = render_source_doc(_state_orders_db(), find_stories(v4), definition=None, doc_dir=v4, root=v4)
    lines = page.splitlines()
    for row in (
        "| `database` | `shop` |",
        "| `host` | `db.internal` |",
        "| `password` | secret `ORDERS_DB_PASSWORD` |",
        "| `port` | `5432` |",
        '| `schemas` | `["public"]` |',
        "| `ssl_mode.mode` | `prefer` |",
        "| `username` | `reader` |",
        "| `api_token` | (sensitive) |",
        "| `client_secret` | (sensitive) |",
    ):
        assert row in lines, row
    assert CANARY not in page
    assert "leaked-into-state-by-mistake" not in page
    assert "987654321" not in page
    assert "${ORDERS_DB_PASSWORD}" not in page


def test_schema_profile_and_change_log_tables(v4: Path) -> None:
    doc_dir = v4 / "docs" / "lineage"
    page = render_source_doc(_state_orders_db(), find_stories(v4), definition=None, doc_dir=doc_dir, root=v4)
    lines = page.splitlines()
    assert "### orders" in lines and "### end" in lines
    assert lines.index("### end") < lines.index("### orders"), "streams sorted by name"
    assert "Primary key: `id` · Cursor: `placed_at` · Sync modes: `full_refresh`, `incremental`" in lines
    for row in (
        "| Column | Type | Nullable | Key | Null rate | Type violations |",
        "| `amount` | `number` | yes |  | 25.0% | 0 |",
        "| `id` | `integer` | no | PK | 0.0% | 0 |",
        "| `placed_at` | `date-time` | yes |  | 0.0% | 2 |",
        "| `note\\|pipe` | `string` | yes |  | — | — |",
        "| `orders` | 40 | 2 | 97.5% |",
    ):
        assert row in lines, row
    story = "[1.5B](../../planning/stories/1.5B.story.md)"
    log = lines[lines.index("## Change Log") + 2 :]
    assert log[:5] == [
        "| Date | Change | Story |",
        "| --- | --- | --- |",
        "| 2026-01-15 | config changed: host \\| port | — |",
        f"| 2026-02-01 | created (end, orders) | {story} |",
        f"| 2026-02-01 | drift accepted: orders.placed_at added (date-time) | {story}, 9.9 |",
    ]


def test_stories_declared_and_citing_with_titles_statuses_and_links(v4: Path) -> None:
    doc_dir = v4 / "docs" / "lineage"
    page = render_source_doc(_state_orders_db(), find_stories(v4), definition=None, doc_dir=doc_dir, root=v4)
    lines = page.splitlines()
    table = lines[lines.index("## Stories") + 2 : lines.index("## Change Log") - 1]
    assert table == [
        "| Story | Title | Status | Link |",
        "| --- | --- | --- | --- |",
        "| [1.2](../../planning/stories/1.2.add-customers.md) | Add customers | Ready for Review | cites |",
        "| [1.5B](../../planning/stories/1.5B.story.md) | Backfill orders | InProgress | declared, cites |",
        '| [4.1](../../planning/stories/4.1.quotes.md) | Load "orders" <fast> & [safely] \\| `now` | Draft | cites |',
        "| 9.9 | — | not found | declared |",
    ]


def test_no_stories_and_no_profiles_say_so(tmp_path: Path) -> None:
    state = _state_customers().model_copy(update={"stories": (), "changelog": (), "streams": ()})
    page = render_source_doc(state, StoryIndex(), definition=None, doc_dir=tmp_path, root=tmp_path)
    for text in (
        "No streams selected.",
        "No test extraction recorded.",
        "No BMad story declares or cites this source.",
        "No changes recorded.",
    ):
        assert text in page


# --- mermaid -------------------------------------------------------------------------------------

_NODE_ID = r"[A-Za-z][A-Za-z0-9_]*"
_LABEL = r'"[^"\n]*"'
_MERMAID_LINE = re.compile(
    rf"flowchart LR|end|subgraph {_NODE_ID} \[{_LABEL}\]"
    rf"|(?P<decl>{_NODE_ID})(?:\[\({_LABEL}\)\]|\[{_LABEL}\]|\({_LABEL}\))"
    rf"|(?P<src>{_NODE_ID}) --> (?P<dst>{_NODE_ID})"
)


def mermaid_blocks(page: str) -> list[list[str]]:
    return [block.strip("\n").splitlines() for block in re.findall(r"^```mermaid\n(.*?)^```$", page, re.M | re.S)]


def check_mermaid(block: list[str]) -> None:
    """Well-formed for GitHub: one flowchart, quoted labels without raw quotes, edges between declared nodes."""
    assert block[0] == "flowchart LR"
    declared: set[str] = set()
    edges = []
    depth = 0
    for line in block[1:]:
        text = line.strip()
        match = _MERMAID_LINE.fullmatch(text)
        assert match, f"not a line we write: {line!r}"
        if text.startswith("subgraph "):
            depth += 1
            declared.add(text.split()[1])
        elif text == "end":
            depth -= 1
        elif match["decl"]:
            assert match["decl"] not in declared, f"node declared twice: {match['decl']}"
            declared.add(match["decl"])
        else:
            edges.append((match["src"], match["dst"]))
    assert depth == 0
    assert edges
    for src, dst in edges:
        assert src in declared and dst in declared, (src, dst)


def test_mermaid_diagrams_are_well_formed(v4: Path) -> None:
    _write(v4, [_state_orders_db(), _state_customers()])
    doc_dir = v4 / "docs" / "lineage"
    pages = {path.name: path.read_text(encoding="utf-8") for path in doc_dir.glob("*.md")}
    assert set(pages) == {"README.md", "orders.md", "customers.md"}
    for name, page in pages.items():
        blocks = mermaid_blocks(page)
        assert len(blocks) == 1, name
        check_mermaid(blocks[0])
    orders = mermaid_blocks(pages["orders.md"])[0]
    assert '  source_orders[("orders (source-postgres)")]' in orders
    assert '    stream_end["end"]' in orders, "a node named like a keyword gets a prefix"
    assert '  story_4_1("Story 4.1: Load #quot;orders#quot; #lt;fast#gt; #amp; [safely] | #96;now#96;")' in orders
    assert "  streams_orders --> story_9_9" in orders


def test_mermaid_ids_stay_unique_when_names_sanitise_alike(tmp_path: Path) -> None:
    streams = tuple(Stream(name=name) for name in ("a-b", "a.b", "a b"))
    state = _state_customers().model_copy(update={"streams": streams, "profiles": ()})
    block = mermaid_blocks(render_source_doc(state, StoryIndex(), definition=None, doc_dir=tmp_path, root=tmp_path))[0]
    check_mermaid(block)
    assert {line.split("[")[0].strip() for line in block if line.startswith("    ")} == {
        "stream_a_b",
        "stream_a_b_2",
        "stream_a_b_3",
    }


MERMAID_PARSE = """
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { readFileSync } from "node:fs";
const require = createRequire(process.env.MERMAID_DIR.replace(/\\/?$/, "/") + "package.json");
const { JSDOM } = require("jsdom");
const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import(pathToFileURL(require.resolve("mermaid")).href);
mermaid.initialize({ startOnLoad: false });
const blocks = [...readFileSync(0, "utf8").matchAll(/```mermaid\\n([\\s\\S]*?)```/g)].map((m) => m[1]);
if (!blocks.length) { console.error("no mermaid block"); process.exit(2); }
for (const block of blocks) { await mermaid.parse(block); }
"""


@pytest.mark.skipif(
    not os.environ.get("MERMAID_DIR") or shutil.which("node") is None,
    reason="set MERMAID_DIR to a folder where `npm install mermaid jsdom` ran, to parse with Mermaid itself",
)
def test_mermaid_itself_parses_every_diagram(v4: Path, tmp_path: Path) -> None:
    _write(v4, [_state_orders_db(), _state_customers()])
    script = tmp_path / "parse.mjs"
    script.write_text(MERMAID_PARSE, encoding="utf-8")
    for page in sorted((v4 / "docs" / "lineage").glob("*.md")):
        done = subprocess.run(
            ["node", str(script)], input=page.read_text(encoding="utf-8"), capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"{page.name}: {done.stderr}"


# --- links ---------------------------------------------------------------------------------------

_LINK = re.compile(r"\]\((<[^>]+>|[^)\s]+)\)")


def test_every_relative_link_resolves_to_an_existing_file(v4: Path, tmp_path: Path) -> None:
    v6 = tmp_path / "v6"
    shutil.copytree(FIXTURES / "bmad_v6", v6)
    customers_v6 = _state_customers().model_copy(update={"stories": ("1.2", "2.1")})
    for root, states in ((v4, [_state_orders_db(), _state_customers()]), (v6, [customers_v6])):
        stories = find_stories(root)
        doc_dir = root / "docs" / "lineage"
        write_lineage(states, stories, doc_dir, root, DEFINITIONS, {"orders": v4 / "sources" / "orders.yaml"})
        targets = []
        for page in doc_dir.glob("*.md"):
            for target in _LINK.findall(page.read_text(encoding="utf-8")):
                target = target.strip("<>")
                assert not target.startswith(("/", "http:", "https:", "file:")), target
                assert (doc_dir / target.split("#")[0]).is_file(), f"{page.name}: {target}"
                targets.append(target)
        assert targets
    v6_page = (v6 / "docs" / "lineage" / "customers.md").read_text(encoding="utf-8")
    assert "[2.1](../../_bmad-output/implementation-artifacts/2-1-3-way-merge.md)" in v6_page


def test_index_lists_sources_and_stories(v4: Path) -> None:
    doc_dir = v4 / "docs" / "lineage"
    index = render_index([_state_orders_db(), _state_customers()], find_stories(v4), doc_dir=doc_dir, root=v4)
    lines = index.splitlines()
    assert lines[0] == GENERATED_MARKER
    for row in (
        "| [customers](customers.md) | `file` | `source-file` 0.5.39 | 1 | [1.1](../../planning/stories/1.1.connect-crm.md), "
        "[1.2](../../planning/stories/1.2.add-customers.md), [1.5B](../../planning/stories/1.5B.story.md) |",
        "| [orders](orders.md) | `database` | `source-postgres` 3.6.28 | 2 | [1.2](../../planning/stories/1.2.add-customers.md), "
        "[1.5B](../../planning/stories/1.5B.story.md), [4.1](../../planning/stories/4.1.quotes.md), 9.9 |",
        "| [1.1](../../planning/stories/1.1.connect-crm.md) | Connect the CRM | Done | `crm_contacts`, [customers](customers.md) |",
        "| [1.0.1](../../planning/stories/1.0.1.hotfix-currency.md) | — | Approved | `fx_rates` |",
        "| [3.1](../../planning/stories/draft-payments.md) | Payments draft | Draft | — |",
        "| 9.9 | — | not found | [orders](orders.md) |",
    ):
        assert row in lines, row
    story_rows = [line for line in lines[lines.index("## Stories") :] if line.startswith("| [")]
    assert [row.split("]")[0][3:] for row in story_rows] == [
        "1.0.1",
        "1.1",
        "1.2",
        "1.2",
        "1.5B",
        "1.10",
        "2.1",
        "2.2",
        "3.1",
        "4.1",
    ]


# --- writing -------------------------------------------------------------------------------------


def test_rendering_is_deterministic_whatever_the_input_order(v4: Path) -> None:
    states = [_state_orders_db(), _state_customers()]
    stories = find_stories(v4)
    doc_dir = v4 / "docs" / "lineage"
    first = render_index(states, stories, doc_dir=doc_dir, root=v4)
    shuffled = states[:]
    random.Random(7).shuffle(shuffled)
    assert render_index(list(reversed(states)), stories, doc_dir=doc_dir, root=v4) == first
    assert render_index(shuffled, stories, doc_dir=doc_dir, root=v4) == first
    page = render_source_doc(states[0], stories, definition=None, doc_dir=doc_dir, root=v4)
    assert render_source_doc(states[0], stories, definition=None, doc_dir=doc_dir, root=v4) == page
    assert not re.search(r"\d{2}:\d{2}:\d{2}", first + page), "no timestamps"


def test_writing_twice_changes_nothing_the_second_time(v4: Path) -> None:
    doc_dir = v4 / "docs" / "lineage"
    written = _write(v4, [_state_orders_db(), _state_customers()])
    assert written == sorted(doc_dir / name for name in ("README.md", "customers.md", "orders.md"))
    before = {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in doc_dir.iterdir()}
    assert _write(v4, [_state_customers(), _state_orders_db()]) == []
    assert {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in doc_dir.iterdir()} == before


def test_a_changed_source_rewrites_its_page_and_the_index_only(v4: Path) -> None:
    doc_dir = v4 / "docs" / "lineage"
    _write(v4, [_state_orders_db(), _state_customers()])
    changed = _state_customers().model_copy(update={"connector_version": "0.5.40"})
    assert _write(v4, [_state_orders_db(), changed]) == [doc_dir / "README.md", doc_dir / "customers.md"]


def test_pages_of_removed_sources_go_but_hand_written_files_stay(v4: Path) -> None:
    doc_dir = v4 / "docs" / "lineage"
    _write(v4, [_state_orders_db(), _state_customers()])
    (doc_dir / "notes.md").write_text("# Notes a person wrote\n", encoding="utf-8")
    (doc_dir / "diagram.png").write_bytes(b"\x89PNG")
    assert _write(v4, [_state_customers()]) == [doc_dir / "README.md", doc_dir / "orders.md"]
    assert sorted(p.name for p in doc_dir.iterdir()) == ["README.md", "customers.md", "diagram.png", "notes.md"]
    assert "orders.md" not in (doc_dir / "README.md").read_text(encoding="utf-8")


def test_a_hand_written_page_in_the_way_stops_the_write(v4: Path) -> None:
    doc_dir = v4 / "docs" / "lineage"
    doc_dir.mkdir(parents=True)
    (doc_dir / "customers.md").write_text("# Customers, by hand\n", encoding="utf-8")
    with pytest.raises(LineageDocsError, match=r"customers\.md: exists and was not generated by bmad-gitops"):
        _write(v4, [_state_orders_db(), _state_customers()])
    assert sorted(p.name for p in doc_dir.iterdir()) == ["customers.md"], "nothing written"
    assert (doc_dir / "customers.md").read_text(encoding="utf-8") == "# Customers, by hand\n"


def test_the_canary_secret_never_reaches_a_file(v4: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERS_DB_PASSWORD", CANARY)
    _write(v4, [_state_orders_db(), _state_customers()])
    for path in (v4 / "docs" / "lineage").iterdir():
        assert CANARY not in path.read_text(encoding="utf-8")
