"""Find BMad-Method user stories (v4 and v6 layouts) and the data sources they cite.

The offline ``validate`` command runs this on every call, so it stays stdlib-only and imports PyYAML
lazily, only when a BMad config file is actually there to read. Nothing here raises on odd story files.
"""

from __future__ import annotations

import os
import re
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Literal

__all__ = [
    "BLOCK_END",
    "BLOCK_START",
    "Citation",
    "Layout",
    "Story",
    "StoryIndex",
    "find_stories",
    "normalize_story_id",
    "update_story_block",
]

Layout = Literal["v4", "v6"]

V4_CONFIG = Path(".bmad-core") / "core-config.yaml"
V4_DEFAULT_STORIES = Path("docs") / "stories"
V6_CONFIG = Path("_bmad") / "bmm" / "config.yaml"
V6_DEFAULT_ARTIFACTS = Path("_bmad-output") / "implementation-artifacts"
SPRINT_STATUS = "sprint-status.yaml"

BLOCK_START = "<!-- bmad-gitops:sources:start -->"
BLOCK_END = "<!-- bmad-gitops:sources:end -->"
BLOCK_HEADING = "### Data Sources"


@dataclass(frozen=True)
class Story:
    """One story file. ``title_line`` is 1-based, 0 when the file has no ``#`` title."""

    id: str
    title: str
    status: str
    path: Path
    layout: Layout
    title_line: int


@dataclass(frozen=True)
class Citation:
    """A story naming a data source; ``line`` and ``col`` (1-based, in characters) point at the name."""

    source: str
    story_id: str
    path: Path
    line: int
    col: int


@dataclass(frozen=True)
class StoryIndex:
    """Stories in id order (then path) and their citations in story, line, column order."""

    stories: tuple[Story, ...] = ()
    citations: tuple[Citation, ...] = ()

    def by_id(self, story_id: str) -> list[Story]:
        """All stories with this id: BMad projects do end up with one story in two files."""
        wanted = normalize_story_id(story_id)
        return [story for story in self.stories if story.id == wanted]

    def cited_sources(self) -> dict[str, list[Citation]]:
        """Citations grouped by source name, names sorted."""
        grouped: dict[str, list[Citation]] = {}
        for citation in self.citations:
            grouped.setdefault(citation.source, []).append(citation)
        return {name: grouped[name] for name in sorted(grouped)}


# --- story ids -------------------------------------------------------------------------------------

_SEGMENT = r"\d+[A-Za-z]?"
_ID = rf"{_SEGMENT}(?:[.\-_]{_SEGMENT})*"
# The lookahead stops "12abc" from passing as id "12A": an id ends at a separator or a non-alphanumeric.
_ID_PREFIX = re.compile(rf"(?:story\s+)?({_ID})(?![A-Za-z0-9])", re.IGNORECASE)
_ID_SEPARATOR = re.compile(r"[.\-_]")
_SEGMENT_PARTS = re.compile(r"(\d+)([A-Za-z]?)")
# v4 names ids with dots (1.2.add-customers.md, 1.2.story.md), v6 with dashes (1-2-add-customers.md).
_FILE_ID = re.compile(rf"(?P<id>{_SEGMENT}(?:\.{_SEGMENT})+|{_SEGMENT}(?:-{_SEGMENT})+)(?:[.\-].*)?\.md", re.IGNORECASE)


def normalize_story_id(text: str) -> str:
    """Canonical story id: ``1-2`` and ``1-2-add-customers`` → ``1.2``, ``01.5b`` → ``1.5B``.

    Text that does not start with an id comes back stripped but otherwise unchanged.
    """
    match = _ID_PREFIX.match(text.strip())
    if match is None:
        return text.strip()
    return ".".join(_normalize_segment(part) for part in _ID_SEPARATOR.split(match.group(1)))


def _normalize_segment(segment: str) -> str:
    parts = _SEGMENT_PARTS.fullmatch(segment)
    if parts is None:
        return segment
    return f"{int(parts.group(1))}{parts.group(2).upper()}"


def story_sort_key(story_id: str) -> tuple[tuple[int, str], ...]:
    """Natural order, so 1.10 follows 1.9 and 1.2 < 1.2A < 1.2.1 < 1.3."""
    key: list[tuple[int, str]] = []
    for segment in story_id.split("."):
        parts = _SEGMENT_PARTS.fullmatch(segment)
        key.append((int(parts.group(1)), parts.group(2)) if parts else (-1, segment))
    return tuple(key)


def _starts_with(story_id: str, prefix: str) -> bool:
    parts, head = story_id.split("."), prefix.split(".")
    return parts[: len(head)] == head


# --- markdown structure ----------------------------------------------------------------------------

_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
_HEADING = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))??(?:[ \t]+#+)?[ \t]*")
_TITLE = re.compile(rf"story[ \t]+(?P<id>{_ID})(?![A-Za-z0-9])[ \t]*(?:[:.\-\u2013\u2014][ \t]*)?(?P<title>.*)", re.I)
_STATUS_LINE = re.compile(
    r"[ \t]*(?:[-*+][ \t]+)?(?:\*\*|__)?status(?:\*\*|__)?[ \t]*:[ \t]*(?:\*\*|__)?(?P<value>.*)", re.I
)


def _outline(lines: Sequence[str]) -> Iterator[tuple[int, str, int, str]]:
    """Yield (index, line, heading level or 0, heading text) for lines outside front matter and fences.

    A code sample showing ``## Status`` is not the story's status section, hence the fence tracking.
    """
    start = 0
    if lines and lines[0].rstrip("\r\n") == "---":
        for index in range(1, len(lines)):
            if lines[index].rstrip("\r\n") in ("---", "..."):
                start = index + 1
                break
    fence = ""
    for index in range(start, len(lines)):
        line = lines[index].rstrip("\r\n")
        opening = _FENCE.match(line)
        if fence:
            if opening and _closes(fence, opening.group(1), opening.group(2)):
                fence = ""
            continue
        if opening:
            fence = opening.group(1)
            continue
        heading = _HEADING.fullmatch(line) if line[:4].lstrip(" ").startswith("#") else None
        if heading:
            yield index, line, len(heading.group(1)), (heading.group(2) or "").strip()
        else:
            yield index, line, 0, ""


def _closes(fence: str, marks: str, rest: str) -> bool:
    """Only a bare run of the fence's character, at least as long as the fence, closes it."""
    return marks[0] == fence[0] and len(marks) >= len(fence) and not rest.strip()


def _heading_is(heading: str, name: str) -> bool:
    return heading.rstrip(":").strip().casefold() == name


def _clean_status(value: str) -> str:
    return value.strip().strip("*_`").strip()


@dataclass(frozen=True)
class _Header:
    title_id: str | None
    title: str
    title_line: int
    status: str


def _read_header(lines: Sequence[str]) -> _Header:
    """Title (``# Story 1.2: Title``) and status (``## Status`` section or a ``Status:`` line)."""
    title_id: str | None = None
    title, title_line, status = "", 0, ""
    before_sections = True  # v6 writes "Status: x" between the title and the first ## section
    awaiting_status = False  # v4 puts the status on the first non-empty line under "## Status"
    for index, line, level, heading in _outline(lines):
        if level:
            if level == 1 and not title_line:
                title_line = index + 1
                title_id, title = _split_title(heading)
            elif level >= 2:
                before_sections = False
            awaiting_status = False
            if not status:
                inline = _STATUS_LINE.fullmatch(heading)
                if _heading_is(heading, "status"):
                    awaiting_status = True
                elif inline and _clean_status(inline.group("value")):
                    status = _clean_status(inline.group("value"))
        elif not status:
            if awaiting_status:
                if line.strip() and not line.lstrip().startswith("<!--"):
                    status = _clean_status(line)
                    awaiting_status = False
            elif before_sections:
                inline = _STATUS_LINE.fullmatch(line)
                if inline:
                    status = _clean_status(inline.group("value"))
        if status and title_line:
            break
    return _Header(title_id, title, title_line, status)


def _split_title(heading: str) -> tuple[str | None, str]:
    match = _TITLE.fullmatch(heading)
    if match is None:
        return None, heading
    return normalize_story_id(match.group("id")), match.group("title").strip()


# --- citations -------------------------------------------------------------------------------------

_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.\-]*?"
_NAME_END = r"(?![\w-]|\.\w)"  # "sources/x.yaml." ends a sentence; "sources/x.yaml.bak" is another file
_SOURCE_CITATION = re.compile(r"\[Source:([^\]\n]*)\]", re.IGNORECASE)
_LINEAGE_DOC = re.compile(rf"(?:^|(?<=[/\s]))lineage/(?P<name>{_NAME})\.md{_NAME_END}")
# Python's re scans slowly for patterns that open with a lookbehind, a line anchor or IGNORECASE, so
# the fast literal scan comes first and the context is checked after (see _find_citations).
_SOURCE_FILE = re.compile(rf"sources/(?P<name>{_NAME})\.ya?ml{_NAME_END}")
_PATH_CHAR = re.compile(r"[\w.\-]")
_EXPLICIT = re.compile(
    r"[ \t]*(?:>[ \t]*)?(?:[-*+][ \t]+|\d+[.)][ \t]+)?(?:\*\*|__)?data[ _-]?sources?(?:\*\*|__)?"
    r"[ \t]*:[ \t]*(?:\*\*|__)?(?P<value>[^\r\n]*)",
    re.IGNORECASE,
)
_EXPLICIT_ITEM = re.compile(rf"{_NAME}(?:\.ya?ml)?")
_DECORATION = " \t*_`'\"."
# "Data source: none" states that there is none; reporting "none" as an unknown source would be noise.
_NOT_A_SOURCE = frozenset({"none", "tbd", "todo"})


def _find_citations(text: str, lines: Sequence[str]) -> list[tuple[str, int, int]]:
    """(source name, line, column) of every citation outside the managed block, in text order."""
    offsets: list[tuple[str, int]] = []
    for citation in _SOURCE_CITATION.finditer(text):
        body, base = citation.group(1), citation.start(1)
        offsets.extend((doc["name"], base + doc.start("name")) for doc in _LINEAGE_DOC.finditer(body))
    for path in _SOURCE_FILE.finditer(text):
        if not (path.start() and _PATH_CHAR.match(text, path.start() - 1)):  # not my-sources/, .sources/
            offsets.append((path["name"], path.start("name")))
    found: list[tuple[str, int, int]] = []
    if offsets:
        starts = [0, *accumulate(len(line) + 1 for line in lines[:-1])]  # + 1: the "\n" split removed
        for name, offset in offsets:
            number = bisect_right(starts, offset)
            found.append((name, number, offset - starts[number - 1] + 1))
    if "source" in text.lower():
        for index, line in enumerate(lines):
            explicit = _EXPLICIT.match(line) if "source" in line.lower() else None
            if explicit:
                found.extend((name, index + 1, col) for name, col in _explicit_names(explicit))
    if not found or BLOCK_END not in text:
        return sorted(found, key=lambda item: item[1:])
    # The managed block lists what the story already cites; counting it would make a citation
    # removed from the story live on through the block.
    blocked = _block_spans(lines)
    kept = [item for item in found if not any(first < item[1] <= last + 1 for first, last in blocked)]
    return sorted(kept, key=lambda item: item[1:])


def _explicit_names(explicit: re.Match[str]) -> Iterator[tuple[str, int]]:
    """Names listed after ``Data source(s):``, with their 1-based columns."""
    col = explicit.start("value") + 1
    for item in explicit.group("value").split(","):
        stripped = item.strip(_DECORATION)
        at = col + len(item) - len(item.lstrip(_DECORATION))
        col += len(item) + 1
        if "/" in stripped or stripped.casefold() in _NOT_A_SOURCE or not _EXPLICIT_ITEM.fullmatch(stripped):
            continue  # a path is already counted as a sources/ path; prose is not a name
        yield re.sub(r"\.ya?ml$", "", stripped), at


# --- reading a project -----------------------------------------------------------------------------


def find_stories(root: Path, stories_dir: Path | None = None) -> StoryIndex:
    """Index the stories of the BMad project at ``root`` (v4 and/or v6) and the sources they cite.

    ``stories_dir`` (relative to ``root`` or absolute) replaces detection, e.g. from project config.
    Stories are ordered by id (naturally), then path; citations by story, then line and column.
    """
    if stories_dir is not None:
        directory = root / stories_dir
        places: list[tuple[Path, Layout]] = [
            (directory, "v6" if (directory / SPRINT_STATUS).is_file() else "v4"),
        ]
    else:
        places = [(_v4_stories_dir(root), "v4"), (_v6_artifacts_dir(root), "v6")]
    found: list[tuple[Story, list[Citation]]] = []
    seen: set[str] = set()
    for directory, layout in places:
        key = os.path.normcase(os.path.abspath(directory))
        if key not in seen:
            seen.add(key)
            found.extend(_scan_dir(directory, layout))
    found.sort(key=lambda item: (story_sort_key(item[0].id), str(item[0].path)))
    return StoryIndex(
        stories=tuple(story for story, _ in found),
        citations=tuple(citation for _, citations in found for citation in citations),
    )


def story_inputs(root: Path, stories_dir: Path | None = None) -> list[Path]:
    """Every file and folder `find_stories` reads (the BMad configs that place the stories, the story folders and
    what is in them): what an answer built from the story index depends on."""
    places = [root / stories_dir] if stories_dir is not None else [_v4_stories_dir(root), _v6_artifacts_dir(root)]
    found: list[Path] = [] if stories_dir is not None else [root / V4_CONFIG, root / V6_CONFIG]
    for place in places:
        found.append(place)
        for folder, _dirs, names in os.walk(place):
            found.append(Path(folder))
            found.extend(Path(folder, n) for n in names)
    return found


def _v4_stories_dir(root: Path) -> Path:
    config = _load_yaml(root / V4_CONFIG)
    location = config.get("devStoryLocation") if isinstance(config, dict) else None
    return _config_path(root, location) or root / V4_DEFAULT_STORIES


def _v6_artifacts_dir(root: Path) -> Path:
    config = _load_yaml(root / V6_CONFIG)
    location = config.get("implementation_artifacts") if isinstance(config, dict) else None
    return _config_path(root, location) or root / V6_DEFAULT_ARTIFACTS


def _config_path(root: Path, value: object) -> Path | None:
    """A directory from a BMad config value; v6 writes ``{project-root}/...``. None if unusable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.startswith("{project-root}"):
        text = text[len("{project-root}") :].lstrip("/\\") or "."
    if "{" in text:
        return None  # another placeholder ({output_folder}, ...) that only BMad itself resolves
    from ..atomic import inside

    folder = root / text
    return folder if inside(folder, root) else None  # the project root is a wall, for reading stories too


def _load_yaml(path: Path) -> object:
    """Parsed YAML, or None when the file is missing or unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    import yaml  # here, not at the top: projects without BMad config files never pay for PyYAML

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)
    except (yaml.YAMLError, ValueError, RecursionError):  # ValueError: timestamps like 2025-13-45
        return None


def _load_sprint_status(directory: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Story statuses from v6 ``sprint-status.yaml``, keyed by file stem and by story id."""
    data = _load_yaml(directory / SPRINT_STATUS)
    statuses = data.get("development_status") if isinstance(data, dict) else None
    by_stem: dict[str, str] = {}
    by_id: dict[str, str] = {}
    if not isinstance(statuses, dict):
        return by_stem, by_id
    for key, value in statuses.items():
        if not isinstance(key, str) or not key[:1].isdigit() or value is None:
            continue  # epic-1, epic-1-retrospective: not stories
        status = str(value).strip()
        by_stem[key] = status
        by_id.setdefault(normalize_story_id(key), status)
    return by_stem, by_id


def _scan_dir(directory: Path, default_layout: Layout) -> Iterator[tuple[Story, list[Citation]]]:
    try:
        with os.scandir(directory) as entries:
            names = sorted(entry.name for entry in entries if entry.name.lower().endswith(".md") and _is_file(entry))
    except OSError:
        return
    sprint_by_stem, sprint_by_id = _load_sprint_status(directory)
    for name in names:
        path = directory / name
        text = _read_text(path)
        if text is None:
            continue
        named = _FILE_ID.fullmatch(name)
        lines = text.split("\n")
        header = _read_header(lines)
        story_id = _resolve_id(normalize_story_id(named.group("id")) if named else None, header.title_id)
        if story_id is None:
            continue  # README.md, tech-spec-*.md, retrospectives: not stories
        layout: Layout = default_layout
        if named:
            layout = "v6" if "-" in named.group("id") else "v4"
        status = header.status or sprint_by_stem.get(path.stem) or sprint_by_id.get(story_id, "")
        story = Story(story_id, header.title, status, path, layout, header.title_line)
        yield story, _citations_of(story, text, lines)


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def _read_text(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    # A stray bad byte should not hide a whole story, so decode leniently rather than skip.
    return data.decode("utf-8-sig", errors="replace")


def _resolve_id(file_id: str | None, title_id: str | None) -> str | None:
    """The file name's id, unless the title's id is a prefix of it.

    ``2-1-3-way-merge.md`` reads as 2.1.3 by name alone; its title ``Story 2.1: 3-way merge`` settles it.
    """
    if file_id is None:
        return title_id
    if title_id and _starts_with(file_id, title_id):
        return title_id
    return file_id


def _citations_of(story: Story, text: str, lines: Sequence[str]) -> list[Citation]:
    return [Citation(name, story.id, story.path, line, col) for name, line, col in _find_citations(text, lines)]


# --- writing the managed block ---------------------------------------------------------------------


def update_story_block(text: str, sources: Sequence[tuple[str, str]]) -> str:
    """Story text with the managed data-source block listing ``(name, link)`` pairs, sorted by name.

    The block sits at the end of the story's ``Dev Notes`` section (a section is appended when there
    is none); an existing block is replaced where it stands, and no sources removes it. Only the block
    lines change: applying twice equals applying once, and other bytes, line endings included, stay.
    Marker lines are reserved: whatever stands between a start and an end marker is the block's.
    """
    lines, anchor, block_newline = _strip_blocks(_split_lines(text))
    newline = block_newline or _newline_of(text)
    block = _render_block(sources, newline)
    if anchor is not None:
        return "".join(lines[:anchor] + block + lines[anchor:])
    if not block:
        return text
    at = _dev_notes_end(lines)
    if at is None:
        prefix = text
        if prefix and not prefix.endswith("\n"):
            prefix += newline
        if prefix and lines[-1].strip():
            prefix += newline
        return prefix + "## Dev Notes" + newline + newline + "".join(block)
    if at == len(lines) and not lines[-1].endswith("\n"):
        lines[-1] += newline
    return "".join(lines[:at] + block + lines[at:])


def _split_lines(text: str) -> list[str]:
    """Lines with their endings, split on "\\n" only, so that joining them gives back ``text``."""
    pieces = text.split("\n")
    lines = [piece + "\n" for piece in pieces[:-1]]
    if pieces[-1]:
        lines.append(pieces[-1])
    return lines


def _newline_of(text: str) -> str:
    end = text.find("\n")
    return "\r\n" if end > 0 and text[end - 1] == "\r" else "\n"


def _block_spans(lines: Sequence[str]) -> list[tuple[int, int]]:
    """Line indexes (start, end) of managed blocks: each end marker with the start marker nearest it.

    Pairing with the nearest start keeps a stray start marker from swallowing the lines between it
    and a real block.
    """
    spans = []
    start: int | None = None
    for index, line in enumerate(lines):
        if "bmad-gitops:sources:" not in line:
            continue
        marker = line.strip()
        if marker == BLOCK_START:
            start = index
        elif marker == BLOCK_END and start is not None:
            spans.append((start, index))
            start = None
    return spans


def _strip_blocks(lines: list[str]) -> tuple[list[str], int | None, str | None]:
    """Lines without managed blocks, the line index where the first one stood, and its newline.

    Removing a block can pair up stray markers around it (a merge may leave two blocks nested), so
    removal repeats until no pair is left; otherwise a second run would find a block the first left.
    """
    anchor: int | None = None
    newline: str | None = None
    while spans := _block_spans(lines):
        start, end = spans[0]
        if newline is None:
            newline = _newline_of(lines[start])
        if anchor is None or start <= anchor <= end:
            anchor = start
        elif anchor > end:
            anchor -= end - start + 1
        del lines[start : end + 1]
    return lines, anchor, newline


def _dev_notes_end(lines: Sequence[str]) -> int | None:
    """Where the block goes in ``Dev Notes``: after its last content and one blank line, if any."""
    outline = [(index, level, heading) for index, _, level, heading in _outline(lines) if level]
    for position, (index, level, heading) in enumerate(outline):
        if not _heading_is(heading, "dev notes"):
            continue
        end = next((i for i, lvl, _ in outline[position + 1 :] if lvl <= level), len(lines))
        last = index
        for candidate in range(end - 1, index, -1):
            if lines[candidate].strip():
                last = candidate
                break
        at = last + 1
        if at < end and not lines[at].strip():
            at += 1
        return at
    return None


def _render_block(sources: Sequence[tuple[str, str]], newline: str) -> list[str]:
    entries = sorted(set(sources))
    for name, link in entries:
        if any(char in name + link for char in "\r\n"):
            raise ValueError(f"data source name and link must be one line each: {name!r} -> {link!r}")
    if not entries:
        return []
    items = [f"- [{_escape_label(name)}]({_escape_link(link)})" for name, link in entries]
    return [line + newline for line in [BLOCK_START, BLOCK_HEADING, "", *items, BLOCK_END]]


def _escape_label(name: str) -> str:
    return re.sub(r"([\\\[\]])", r"\\\1", name)


def _escape_link(link: str) -> str:
    if any(char in link for char in " \t()<>"):
        return "<" + link.replace("<", "%3C").replace(">", "%3E") + ">"
    return link
