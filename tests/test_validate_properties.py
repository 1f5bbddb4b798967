"""Properties of validate on any input: it never raises, and every diagnostic is placed and coded."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bmad_gitops import load
from bmad_gitops.checks.schema import load_schema
from bmad_gitops.diagnostics import CODES, Diagnostic
from bmad_gitops.load import Document, parse_document
from bmad_gitops.project import Project, load_project
from bmad_gitops.validate import validate_files

REPO = Path(__file__).resolve().parent.parent
DISPLAY = "sources/customers.yaml"

SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A project root with the seed CSV, so generated `url: data/customers.csv` can pass the path check."""
    root = tmp_path_factory.mktemp("project")
    (root / ".git").mkdir()
    (root / "sources").mkdir()
    (root / "data").mkdir()
    shutil.copy(REPO / "data" / "customers.csv", root / "data" / "customers.csv")
    return load_project(root)


def diagnose(raw: bytes, project: Project) -> list[Diagnostic]:
    """Parse `raw` on its own, then validate it as the one file in sources/; both must agree on reading errors."""
    parsed = parse_document(raw, DISPLAY)
    path = project.root / DISPLAY
    path.write_bytes(raw)
    diagnostics = validate_files(project, [path])
    if not isinstance(parsed, Document):
        assert diagnostics == sorted(parsed)
    return diagnostics


def assert_well_formed(diagnostics: list[Diagnostic], raw: bytes) -> None:
    # Every way libyaml may count a line break is at most what splitlines() counts; +1 for the end-of-file line.
    lines = len(raw.decode("utf-8", "replace").splitlines()) + 1
    for d in diagnostics:
        assert d.code in CODES, d
        assert d.path == DISPLAY
        assert 1 <= d.line <= max(lines, 1), (d, lines)
        assert d.col >= 1, d
        assert d.message


@SETTINGS
@given(text=st.text())
@example(text="")
@example(text="\t")
@example(text="a: &a [*a]")
@example(text="? [a]\n: b")
@example(text="type: file\n~: x\n1: y\n")
@example(text="type: !!binary aGk=\nconfig: !!set {a}\n")
@example(text="\ufeff\ufefftype: file")
def test_arbitrary_text_never_raises(project: Project, text: str) -> None:
    raw = text.encode("utf-8")
    assert_well_formed(diagnose(raw, project), raw)


@SETTINGS
@given(raw=st.binary(max_size=4096))
@example(raw=b"\xff\xfe")
@example(raw=b"\xef\xbb\xbf")
@example(raw=b"type: file\n\x80")
@example(raw=b"\xed\xa0\x80")  # an encoded surrogate: not UTF-8
def test_arbitrary_bytes_never_raise(project: Project, raw: bytes) -> None:
    assert_well_formed(diagnose(raw, project), raw)


KEYS = st.sampled_from(
    [
        "type",
        "connector",
        "format",
        "config",
        "url",
        "provider",
        "storage",
        "password",
        "token",
        "name",
        "streams",
        "columns",
        "tags",
        "stories",
        "on_drift",
        "dataset_name",
        "host",
        "port",
        "<<",
        "? a",
        "- ",
        "- name",
        "a",
        "",
    ]
)
VALUES = st.sampled_from(
    [
        "file",
        "database",
        "api",
        "s3",
        "source-file",
        "source-postgres",
        "csv",
        "json",
        "local",
        "data/customers.csv",
        "../x.csv",
        "/etc/passwd",
        "&a",
        "&a x",
        "*a",
        "*b",
        "[",
        "]",
        "{",
        "}",
        "[a, *a]",
        "{a: *a}",
        "'",
        '"',
        "|",
        ">-",
        "!!str",
        "!!binary",
        "!!set",
        "${X}",
        "${1BAD}",
        "${FOO",
        "$$",
        "<host>",
        "123",
        "-1",
        "1e999",
        "0x1F",
        "~",
        "null",
        "yes",
        "2024-01-01",
        "#",
        "---",
        "...",
        ":",
        "-",
        "?",
        "&a [*a]",
        "hunter2",
        "\t",
        "",
    ]
)
INDENT = st.sampled_from(["", "", "  ", "    ", "      ", " ", "\t", "  - ", "- "])
SEPARATOR = st.sampled_from([": ", ":", " : ", " ", ": &a ", ": *a", ": [", ": {"])


@st.composite
def yamlish(draw: st.DrawFn) -> str:
    """Lines that look like definitions: keys, colons, indentation, anchors, aliases and brackets, often broken."""
    lines = draw(
        st.lists(
            st.tuples(INDENT, KEYS, SEPARATOR, st.lists(VALUES, max_size=3).map(" ".join)).map("".join),
            max_size=25,
        )
    )
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return ending.join(lines) + draw(st.sampled_from(["", ending]))


@SETTINGS
@given(text=yamlish())
@example(text="type: file\nconnector: source-file\nformat: csv\nconfig:\n  url: &a [*a]\n")
@example(text="a: &a [x]\nb: &b [*a, *a]\nc: [*b, *b]\n")
def test_yamlish_text_never_raises(project: Project, text: str) -> None:
    raw = text.encode("utf-8")
    first = diagnose(raw, project)
    assert_well_formed(first, raw)
    assert diagnose(raw, project) == first  # deterministic


@SETTINGS
@given(
    extra=st.dictionaries(
        st.text(min_size=1, max_size=12),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
            max_leaves=10,
        ),
        max_size=4,
    )
)
def test_valid_yaml_of_any_shape_never_raises(project: Project, extra: dict[str, object]) -> None:
    # Well-formed YAML reaches every check (schema, secrets, names, paths), unlike most random text.
    base = {
        "type": "file",
        "connector": "source-file",
        "format": "csv",
        "config": {
            "dataset_name": "customers",
            "format": "csv",
            "url": "data/customers.csv",
            "provider": {"storage": "local"},
        },
    }
    raw = yaml.safe_dump({**extra, **base}, allow_unicode=True).encode("utf-8")
    diagnostics = diagnose(raw, project)
    assert_well_formed(diagnostics, raw)
    unknown = set(extra) - set(load_schema()["$defs"]["file"]["properties"])
    # A reading error (PyYAML may write keys such as NEL that a reader folds into a duplicate) stops the checks.
    if unknown and not any(d.code.startswith("BG0") for d in diagnostics):
        assert {"BG101"} <= {d.code for d in diagnostics}, "an unknown top-level key must be reported"


# Explicit scalar tags make PyYAML's constructors raise plain Python errors on values they cannot convert.
SCALAR_TAGS = st.sampled_from(["!!int", "!!float", "!!bool", "!!timestamp", "!!null", "!!str"])


@SETTINGS
@given(tag=SCALAR_TAGS, value=st.sampled_from(["", "x", "-", "0b_", "2024-02-30", "1", "true"]))
@example(tag="!!int", value="")
@example(tag="!!bool", value="x")
@example(tag="!!timestamp", value="x")
def test_explicit_scalar_tags_never_raise(project: Project, tag: str, value: str) -> None:
    raw = f"type: database\nconnector: source-postgres\nconfig:\n  port: {tag} {value}\n".encode()
    assert_well_formed(diagnose(raw, project), raw)


@SETTINGS
@given(value=VALUES)
@example(value="1.1")
@example(value="2024-01-01")
@example(value="yes")
def test_stories_of_any_value_never_raise(project: Project, value: str) -> None:
    raw = f"type: database\nconnector: source-postgres\nstories: {value}\n".encode()
    assert_well_formed(diagnose(raw, project), raw)


# The plain reading of "where a YAML 1.1-only scalar may start": at a line start or after `:`, `[`, `,` or `-`.
# load.py's prefilter is written to be faster; on any text it must find exactly what this finds.
_AT_LINE_START_OR_AFTER = re.compile(
    r"(?im)(?:^|[:\[,-])[ \t]*(?:(?:yes|no|on|off)[ \t]*(?:$|[,\]#:])|[-+]?(?:0[0-7_]+|\d[\d_]*:[0-5]?\d|0b[01]|\d+_\d))"
)
_PIECES = ["yes", "No", "ON", "off", "0", "017", "1:20", "0b1", "1_0", "9", "x", ":", "[", ",", "-", " ", "\t", "\n",
           "\r\n", "#", "]", "key", "+", "_"]  # fmt: skip


@given(pieces=st.lists(st.sampled_from(_PIECES), max_size=14))
@settings(max_examples=3000, deadline=None)
def test_the_yaml_version_prefilter_finds_what_the_plain_rule_finds(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert bool(load._MAYBE_DIFFERENT.search("\n" + text)) == bool(_AT_LINE_START_OR_AFTER.search(text))


def test_flow_nesting_is_found_where_it_gets_too_deep() -> None:
    text = "a: " + "[" * 70 + "]" * 70
    assert load._flow_depth_exceeds(text) == 3 + 64  # the 65th bracket
    assert load._flow_depth_exceeds("a: [" + "[], " * 100 + "]") is None  # many brackets, never deep
