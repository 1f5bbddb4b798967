"""A corpus of broken definitions: each must give one stable code at the exact line and column, and never a traceback.

Line and column are 1-based and point at what the user must change: the offending value, the key, or for a
whole-file problem the start of the file (or of its first key when comments come first).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bmad_gitops.diagnostics import CODES

# The shapes of the conftest fixtures (conftest is not imported: pytest owns it).
WriteSource = Callable[..., str]
RunCli = Callable[..., tuple[int, str, str]]
ValidateSource = Callable[..., tuple[int, dict[str, Any]]]

# The four seed examples, byte for byte as in sources/. Bad cases below are one edit away from these.
CSV = """\
# yaml-language-server: $schema=../schemas/source.schema.json
type: file
connector: source-file
format: csv
description: Customer master data, exported nightly from the CRM.
owner: data-platform@example.com
config:
  dataset_name: customers
  format: csv
  url: data/customers.csv
  provider:
    storage: local
  format_options:
    delimiter: ","
    quote_char: '"'
    encoding: utf-8
streams:
  - name: customers
    primary_key: [customer_id]
    cursor: created_at
    columns:
      customer_id: integer
      email: string
    sensitive: [email]
stories: ["1.1", "1.2"]
on_drift: warn
tags: [crm, pii]
"""

JSON = """\
# yaml-language-server: $schema=../schemas/source.schema.json
type: file
connector: source-file
format: json
description: Request logs of the public API, one JSON object per line.
owner: platform-team
config:
  dataset_name: api_logs
  format: jsonl
  url: data/api_logs.jsonl
  provider:
    storage: local
stories: ["2.1"]
on_drift: evolve
tags: [logs]
"""

POSTGRES = """\
# yaml-language-server: $schema=../schemas/source.schema.json
type: database
connector: source-postgres
description: The shop's PostgreSQL database.
owner: backend-team
config:
  host: 127.0.0.1
  port: 5432
  database: shop
  username: postgres
  password: "${POSTGRES_PASSWORD}"
  ssl: false
  ssl_mode: prefer
on_drift: warn
tags: [oltp]
"""

MYSQL = """\
# yaml-language-server: $schema=../schemas/source.schema.json
type: database
connector: source-mysql
description: The warehouse's MariaDB inventory database.
owner: logistics-team
config:
  host: 127.0.0.1
  port: 3306
  database: inventory
  username: root
  password: "${MYSQL_PASSWORD}"
on_drift: warn
tags: [oltp]
"""

S3 = """\
type: s3
connector: source-s3
config:
  bucket: shop-exports
  region: eu-west-1
  aws_access_key_id: "${AWS_ACCESS_KEY_ID}"
  aws_secret_access_key: "${AWS_SECRET_ACCESS_KEY}"
  streams:
    - name: orders
      globs: ["exports/*.csv"]
      format: csv
"""

API = """\
type: api
connector: source-declarative-manifest
config:
  base_url: https://api.example.com/v1
  auth:
    type: bearer
    token: "${API_TOKEN}"
  endpoints:
    - name: users
      path: /users
"""

SEEDS = {"customers.yaml": CSV, "api_logs.yaml": JSON, "orders_db.yaml": POSTGRES, "inventory_db.yaml": MYSQL}


def edit(text: str, old: str, new: str) -> str:
    """`text` with the one occurrence of `old` replaced, so a typo in a case fails loudly instead of testing nothing."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def with_config_password(text: str) -> str:
    return edit(text, "    storage: local\n", "    storage: local\n  password: hunter2\n")


DEEP_BLOCK = "".join("  " * i + f"k{i}:\n" for i in range(100)) + "  " * 100 + "leaf\n"
DEEP_BLOCK_SEQUENCE = "".join("  " * i + "-\n" for i in range(100)) + "  " * 100 + "leaf\n"
BILLION_LAUGHS = 'type: file\nlol0: &l0 "lol"\n' + "".join(
    f"lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 10)
)  # lol5 (line 7) is the first to expand past 100,000 values
TEN_MB = b"type: file\n" + b"# padding padding padding padding padding padding padding padding\n" * 160_000


def case(
    name: str,
    content: str | bytes,
    code: str,
    line: int,
    col: int,
    filename: str = "customers.yaml",
    bug: str = "",
) -> Any:
    """One bad input in `sources/<filename>`: the code it must produce and where; `bug` marks a known failure."""
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(content, filename, code, line, col, id=name, marks=marks)


CASES = [
    # 0xx: the file cannot be read as one YAML mapping
    case("yaml-unclosed-flow-sequence", "type: file\ntags: [a, b\nowner: x\n", "BG001", 3, 6),
    case("yaml-unclosed-quote", 'type: "file\nowner: x\n', "BG001", 3, 1),
    case("yaml-colon-in-plain-value", "type: file\nconnector: source-file: x\n", "BG001", 2, 23),
    case("yaml-bad-dedent", "type: file\nconfig:\n    a: 1\n  b: 2\n", "BG001", 4, 3),
    case("yaml-undefined-alias", "type: file\nowner: *nope\n", "BG001", 2, 8),
    case("yaml-reserved-indicator", "type: file\nowner: @me\n", "BG001", 2, 8),
    case("yaml-python-tag-refused", "type: !!python/object/apply:os.system [ls]\n", "BG001", 1, 7),
    case("yaml-unhashable-key", "? [a]\n: b\n", "BG001", 1, 3),
    case("tab-indentation", "type: file\nconfig:\n\tdataset_name: x\n", "BG002", 3, 1),
    case("tab-after-spaces", "type: file\nconfig:\n  \tdataset_name: x\n", "BG002", 3, 3),
    case("duplicate-top-level-key", POSTGRES + "type: api\n", "BG003", 16, 1, "orders_db.yaml"),
    case(
        "duplicate-nested-key",
        edit(CSV, "  url: data/customers.csv\n", "  url: data/customers.csv\n  format: json\n"),
        "BG003",
        11,
        3,
    ),
    case("empty-file", "", "BG004", 1, 1),
    case("whitespace-only", "\n   \n\n", "BG004", 1, 1),
    case("comments-only", "# nothing here yet\n  # still nothing\n", "BG004", 1, 1),
    case("two-documents", "type: file\n---\ntype: api\n", "BG005", 3, 1),
    case("explicit-document-markers", "---\ntype: file\n...\n---\ntype: api\n", "BG005", 5, 1),
    case("invalid-utf8", b"type: file\nowner: caf\xe9\n", "BG006", 2, 11),
    case("binary-png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10", "BG006", 3, 1),
    case("utf16-text", "type: file\n".encode("utf-16"), "BG006", 1, 4),
    case("nul-inside-a-value", b"type: file\nowner: a\x00b\n", "BG006", 2, 9),
    case("ten-megabytes", TEN_MB, "BG007", 1, 1),
    case("deep-block-mapping", DEEP_BLOCK, "BG008", 65, 129),
    case("deep-block-sequence", DEEP_BLOCK_SEQUENCE, "BG008", 65, 129),
    case("deep-flow-sequence", "[" * 10_000, "BG008", 1, 65),  # the 65th bracket
    case("deep-flow-mapping", "a: " + "{a: " * 10_000, "BG008", 1, 3 + 64 * 4 + 1),
    case("deep-flow-not-on-line-1", "type: file\ntags: " + "[" * 10_000, "BG008", 2, 6 + 65),
    case("billion-laughs", BILLION_LAUGHS, "BG009", 7, 7),
    case("recursive-alias-sequence", "type: file\nowner: &a [*a]\n", "BG009", 2, 8),
    case("recursive-alias-mapping", "type: file\nconfig: &c\n  self: *c\n", "BG009", 2, 9),
    case("top-level-list", "- type: file\n", "BG010", 1, 1),
    case("top-level-scalar", "just some text\n", "BG010", 1, 1),
    case("top-level-list-after-marker", "# note\n---\n- a\n", "BG010", 3, 1),
    # 1xx: schema
    case("unknown-key", edit(CSV, "description:", "desciption:"), "BG101", 5, 1),
    case(
        "unknown-key-yaml11-boolean",
        "type: file\nconnector: source-file\non: warn\n",
        "BG101",
        3,
        1,
    ),
    case("missing-config", "type: file\nconnector: source-file\nformat: csv\n", "BG102", 1, 1),
    case("missing-type", "connector: source-file\n", "BG102", 1, 1),
    case("missing-url", edit(CSV, "  url: data/customers.csv\n", ""), "BG102", 7, 1),
    case("port-as-string", edit(POSTGRES, "5432", '"5432"'), "BG103", 8, 9, "orders_db.yaml"),
    case("stories-as-number", MYSQL + "stories: 1.1\n", "BG103", 14, 10, "inventory_db.yaml"),
    case("stories-as-date", MYSQL + "stories: 2024-01-01\n", "BG103", 14, 10, "inventory_db.yaml"),
    case("tags-as-scalar", edit(POSTGRES, "tags: [oltp]", "tags: oltp"), "BG103", 15, 7, "orders_db.yaml"),
    case("config-as-list", "type: database\nconnector: source-postgres\nconfig: []\n", "BG103", 3, 9, "orders_db.yaml"),
    case("bad-enum-on-drift", edit(CSV, "on_drift: warn", "on_drift: sometimes"), "BG104", 26, 11),
    case("bad-enum-type", edit(CSV, "type: file", "type: flie"), "BG104", 2, 7),
    case("bad-enum-connector", edit(POSTGRES, "source-postgres", "source-postgress"), "BG104", 3, 12, "orders_db.yaml"),
    case("unfilled-placeholder", edit(POSTGRES, "127.0.0.1", "<db.example.com>"), "BG105", 7, 9, "orders_db.yaml"),
    case("unfilled-placeholder-url", edit(CSV, "data/customers.csv", "<path/to/file.csv>"), "BG105", 10, 8),
    case("config-format-disagrees", edit(CSV, "  format: csv\n", "  format: json\n"), "BG104", 9, 11),
    case("config-format-csv-under-json", edit(JSON, "format: jsonl", "format: csv"), "BG104", 9, 11, "api_logs.yaml"),
    case("tag-with-a-space", edit(POSTGRES, "tags: [oltp]", 'tags: ["o ltp"]'), "BG104", 15, 8, "orders_db.yaml"),
    case("column-type-python-name", edit(CSV, "customer_id: integer", "customer_id: float"), "BG104", 22, 20),
    # 2xx: secrets
    case("password-in-csv-source", with_config_password(CSV), "BG200", 13, 13),
    case("password-in-json-source", with_config_password(JSON), "BG200", 13, 13, "api_logs.yaml"),
    case(
        "password-in-postgres", edit(POSTGRES, '"${POSTGRES_PASSWORD}"', "hunter2"), "BG200", 11, 13, "orders_db.yaml"
    ),
    case("password-in-mysql", edit(MYSQL, '"${MYSQL_PASSWORD}"', "hunter2"), "BG200", 11, 13, "inventory_db.yaml"),
    case(
        "s3-secret-access-key",
        edit(S3, '"${AWS_SECRET_ACCESS_KEY}"', "wJalrXUtnFEMIK7MDENGbPxRfiCY"),
        "BG200",
        7,
        26,
        "exports.yaml",
    ),
    case("api-bearer-token", edit(API, '"${API_TOKEN}"', "abc123"), "BG200", 7, 12, "users_api.yaml"),
    case("env-ref-starts-with-digit", edit(POSTGRES, "127.0.0.1", '"${1BAD}"'), "BG201", 7, 9, "orders_db.yaml"),
    case("env-ref-with-dash", edit(POSTGRES, "127.0.0.1", '"${BAD-NAME}"'), "BG201", 7, 9, "orders_db.yaml"),
    case("env-ref-unclosed", edit(POSTGRES, "127.0.0.1", '"${FOO"'), "BG201", 7, 9, "orders_db.yaml"),
    case(
        "env-ref-without-braces-in-secret-field",
        edit(POSTGRES, '"${POSTGRES_PASSWORD}"', "$POSTGRES_PASSWORD"),
        "BG201",
        11,
        13,
        "orders_db.yaml",
    ),
    case(
        "env-ref-malformed-in-secret-field",
        edit(POSTGRES, '"${POSTGRES_PASSWORD}"', '"${1BAD}"'),
        "BG201",
        11,
        13,
        "orders_db.yaml",
    ),
    # credentials hiding outside fields named like secrets (the canary tests cover their values)
    case("cred-url-userinfo", edit(API, "https://api.example.com/v1", "https://bot:hunter22@api.example.com/v1"), "BG200", 4, 13, "api.yaml"),
    case("cred-query-api-key", edit(API, "https://api.example.com/v1", "https://api.example.com/v1?api_key=abc123"), "BG200", 4, 13, "api.yaml"),
    case("cred-query-signature", edit(API, "https://api.example.com/v1", "https://api.example.com/v1?sig=abc123&x=1"), "BG200", 4, 13, "api.yaml"),
    case("cred-jdbc-url-params", edit(POSTGRES, "  ssl: false\n", '  ssl: false\n  jdbc_url_params: "ssl=true&password=hunter22"\n'), "BG200", 13, 20, "orders_db.yaml"),
    case("cred-s3-endpoint-userinfo", edit(S3, "  region: eu-west-1\n", "  region: eu-west-1\n  endpoint: http://key:secret22@127.0.0.1:9000\n"), "BG200", 6, 13, "exports.yaml"),
    case("nan-violation-rate", CSV + "extraction:\n  max_violation_rate: .nan\n", "BG104", 29, 23),
    case("inf-sample", CSV + "extraction:\n  sample: .inf\n", "BG104", 29, 11),
    # 3xx: names
    case("name-differs-from-file", edit(CSV, "type: file\n", "type: file\nname: clients\n"), "BG301", 3, 7),
    case("file-name-not-snake-case", CSV, "BG302", 2, 1, "Customers-Data.yaml"),
    case("file-name-with-dash", POSTGRES, "BG302", 2, 1, "orders-db.yaml"),
    # 4xx: local paths
    case("local-file-missing", edit(CSV, "data/customers.csv", "data/missing.csv"), "BG400", 10, 8),
    case("url-escapes-with-dotdot", edit(CSV, "data/customers.csv", "../x.csv"), "BG401", 10, 8),
    case("url-absolute-outside", edit(CSV, "data/customers.csv", "/etc/passwd"), "BG401", 10, 8),
    case("url-too-long-for-the-os", edit(CSV, "data/customers.csv", "a" * 5000), "BG400", 10, 8),
    # 5xx: story links (the project fixture holds stories 1.1, 1.2 and 2.1)
    case("unknown-story-id", edit(CSV, 'stories: ["1.1", "1.2"]', 'stories: ["1.1", "9.9"]'), "BG500", 25, 18),
]


def found(report: dict[str, Any]) -> set[tuple[str, int, int]]:
    return {(d["code"], d["line"], d["col"]) for d in report["diagnostics"]}


@pytest.mark.parametrize(("content", "filename", "code", "line", "col"), CASES)
def test_bad_input_is_pinpointed(
    validate_source: ValidateSource, content: str | bytes, filename: str, code: str, line: int, col: int
) -> None:
    exit_code, report = validate_source(content, filename)
    assert exit_code == 1
    assert report["valid"] is False
    assert (code, line, col) in found(report), report["diagnostics"]
    assert all(d["path"] == f"sources/{filename}" for d in report["diagnostics"])


@pytest.mark.parametrize(("content", "filename", "code", "line", "col"), CASES)
def test_bad_input_renders_in_every_format(
    write_source: WriteSource,
    run_cli: RunCli,
    content: str | bytes,
    filename: str,
    code: str,
    line: int,
    col: int,
) -> None:
    path = write_source(content, filename)

    exit_code, out, err = run_cli("validate", path)
    assert exit_code == 1
    assert "Traceback" not in out + err and "internal error" not in err
    assert re.search(rf"^{re.escape(path)}:{line}:{col}: error\[{code}\]: \S", out, re.MULTILINE), out

    exit_code, out, err = run_cli("validate", "--format", "github", path)
    assert exit_code == 1
    assert "Traceback" not in out + err and "internal error" not in err
    lines = out.splitlines()
    assert lines and all(GITHUB_LINE.match(ln) for ln in lines), out
    assert any(re.match(rf"::error file={re.escape(path)},line={line},col={col},title={code}::", ln) for ln in lines)


@pytest.mark.parametrize(("content", "filename", "code", "line", "col"), CASES)
def test_every_diagnostic_says_what_to_do(
    validate_source: ValidateSource, content: str | bytes, filename: str, code: str, line: int, col: int
) -> None:
    _, report = validate_source(content, filename)
    assert report["diagnostics"]
    assert [d for d in report["diagnostics"] if not d["hint"].strip()] == []


GITHUB_LINE = re.compile(r"::(error|warning) file=[^,:]+,line=[1-9]\d*,col=[1-9]\d*,title=BG\d{3}::\S.*\Z")
JSON_FIELDS = {"path": str, "line": int, "col": int, "severity": str, "code": str, "message": str, "hint": str}


def test_json_report_has_every_field(validate_source: ValidateSource) -> None:
    exit_code, report = validate_source(with_config_password(CSV))
    assert exit_code == 1
    assert set(report) == {"valid", "files_checked", "diagnostics"}
    assert report["valid"] is False
    assert report["files_checked"] == 1
    assert report["diagnostics"]
    for d in report["diagnostics"]:
        assert {k: type(v) for k, v in d.items()} == JSON_FIELDS
        assert d["code"] in CODES
        assert d["severity"] == CODES[d["code"]][0]
        assert d["line"] >= 1 and d["col"] >= 1
        assert d["message"] and "hunter2" not in d["message"] + d["hint"]


def test_unknown_key_suggests_the_close_match(validate_source: ValidateSource) -> None:
    _, report = validate_source(edit(CSV, "description:", "desciption:"))
    (unknown,) = [d for d in report["diagnostics"] if d["code"] == "BG101"]
    assert "'desciption'" in unknown["message"]
    assert unknown["hint"] == "did you mean 'description'?"


def test_every_error_in_a_file_is_reported(validate_source: ValidateSource) -> None:
    broken = with_config_password(CSV)
    broken = edit(broken, "description:", "desciption:")
    broken = edit(broken, "owner: data-platform@example.com", "owner: <team or e-mail>")
    broken = edit(broken, "on_drift: warn", "on_drift: sometimes")
    broken = edit(broken, '    delimiter: ","\n', "    delimiter: 7\n")
    exit_code, report = validate_source(broken)
    assert exit_code == 1
    assert found(report) == {
        ("BG101", 5, 1),  # desciption
        ("BG105", 6, 8),  # owner placeholder
        ("BG101", 13, 3),  # password is not a file config key ...
        ("BG200", 13, 13),  # ... and is a plaintext secret
        ("BG103", 15, 16),  # delimiter is a number
        ("BG104", 27, 11),  # on_drift
    }


def test_diagnostics_are_sorted_by_position(validate_source: ValidateSource) -> None:
    _, report = validate_source(edit(with_config_password(CSV), "on_drift: warn", "on_drift: sometimes"))
    positions = [(d["line"], d["col"]) for d in report["diagnostics"]]
    assert positions == sorted(positions)


@pytest.mark.parametrize("filename", sorted(SEEDS))
def test_seed_examples_validate_unchanged(validate_source: ValidateSource, filename: str) -> None:
    exit_code, report = validate_source(SEEDS[filename], filename)
    assert (exit_code, report["diagnostics"]) == (0, [])


def test_s3_and_api_bases_are_valid(validate_source: ValidateSource) -> None:
    # The bases of the s3 and api cases above, so those cases fail for their one edit only.
    assert validate_source(S3, "exports.yaml") == (0, {"valid": True, "files_checked": 1, "diagnostics": []})
    assert validate_source(API, "users_api.yaml") == (0, {"valid": True, "files_checked": 1, "diagnostics": []})


def test_all_seeds_together_are_valid(write_source: WriteSource, run_cli: RunCli) -> None:
    for filename, content in SEEDS.items():
        write_source(content, filename)
    exit_code, out, _ = run_cli("validate")
    assert exit_code == 0
    assert out == "4 files valid.\n"


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_nonexistent_path_is_a_usage_error(project: Path, run_cli: RunCli, fmt: str) -> None:
    exit_code, out, err = run_cli("validate", "--format", fmt, "sources/nope.yaml")
    assert exit_code == 2
    assert "nope.yaml" in err
    assert "Traceback" not in out + err


def test_unknown_format_is_a_usage_error(project: Path, run_cli: RunCli) -> None:
    exit_code, _, err = run_cli("validate", "--format", "xml")
    assert exit_code == 2
    assert "Traceback" not in err


@pytest.mark.parametrize("args", [(), ("sources/a.yaml",), ("sources/sub",)])
def test_duplicate_source_names_across_folders(
    write_source: WriteSource, run_cli: RunCli, args: tuple[str, ...]
) -> None:
    write_source(CSV, "a.yaml")
    write_source(CSV, "sub/a.yml")
    exit_code, out, _ = run_cli("validate", "--format", "json", *args)
    assert exit_code == 1
    report = json.loads(out)
    assert [(d["path"], d["code"], d["line"], d["col"]) for d in report["diagnostics"]] == [
        ("sources/sub/a.yml", "BG300", 1, 1)
    ]
    assert "sources/a.yaml" in report["diagnostics"][0]["message"]


def test_alias_bomb_is_refused_without_expanding(validate_source: ValidateSource) -> None:
    # A billion values if expanded; finishing at all (with one BG009) is the assertion.
    deeper = BILLION_LAUGHS + "".join(f"more{i}: &m{i} [{', '.join(['*l9'] * 10)}]\n" for i in range(3))
    exit_code, report = validate_source(deeper)
    assert exit_code == 1
    assert [d["code"] for d in report["diagnostics"]] == ["BG009"]


def test_many_anchors_reused_within_limits_are_fine(validate_source: ValidateSource) -> None:
    # Anchors and aliases are fine in moderation: three copies of one column map.
    reused = edit(CSV, "    columns:\n", "    columns: &cols\n")
    copies = "".join(f"  - name: copy{i}\n    columns: *cols\n" for i in range(3))
    reused = edit(reused, "    sensitive: [email]\n", "    sensitive: [email]\n" + copies)
    exit_code, report = validate_source(reused)
    assert (exit_code, report["diagnostics"]) == (0, [])


def test_yaml_error_hint_and_message_never_leak_python(validate_source: ValidateSource) -> None:
    _, report = validate_source("type: !!python/object/apply:os.system [ls]\n")
    (d,) = report["diagnostics"]
    assert "Traceback" not in d["message"] and 'File "' not in d["message"]


# Bugs found while writing this corpus: each test states what should happen.


# Values PyYAML's constructors cannot convert: they raise ValueError, IndexError, KeyError or AttributeError.
UNREADABLE_VALUES = {
    "huge-integer": "9" * 5000,
    "impossible-date": "2024-02-30",
    "empty-binary-integer": "0b_",
    "int-tag-on-text": "!!int x",
    "int-tag-without-value": "!!int",
    "bool-tag-on-text": "!!bool x",
    "timestamp-tag-on-text": "!!timestamp x",
}


@pytest.mark.parametrize("value", UNREADABLE_VALUES.values(), ids=UNREADABLE_VALUES.keys())
def test_unreadable_value_is_a_diagnostic_not_a_crash(validate_source: ValidateSource, value: str) -> None:
    exit_code, report = validate_source(edit(POSTGRES, "port: 5432", f"port: {value}"), "orders_db.yaml")
    assert exit_code == 1
    assert [d["code"] for d in report["diagnostics"]] == ["BG001"]


@pytest.mark.parametrize("value", UNREADABLE_VALUES.values(), ids=UNREADABLE_VALUES.keys())
def test_unreadable_value_is_placed_at_the_value(validate_source: ValidateSource, value: str) -> None:
    _, report = validate_source(edit(POSTGRES, "port: 5432", f"port: {value}"), "orders_db.yaml")
    assert [(d["code"], d["line"], d["col"]) for d in report["diagnostics"]] == [("BG001", 8, 9)]


def test_stories_as_a_string_is_only_a_type_error(validate_source: ValidateSource) -> None:
    _, report = validate_source(MYSQL + 'stories: "1.1"\n', "inventory_db.yaml")
    assert [(d["code"], d["line"], d["col"]) for d in report["diagnostics"]] == [("BG103", 14, 10)]


def test_tab_inside_block_scalar_content_is_allowed(validate_source: ValidateSource) -> None:
    text = edit(
        POSTGRES, "description: The shop's PostgreSQL database.\n", "description: |\n  Columns:\n  \tid\tinteger\n"
    )
    exit_code, report = validate_source(text, "orders_db.yaml")
    assert (exit_code, report["diagnostics"]) == (0, [])


def test_file_name_hint_suggests_a_valid_name(validate_source: ValidateSource) -> None:
    _, report = validate_source(POSTGRES, "2orders.yaml")
    (d,) = [d for d in report["diagnostics"] if d["code"] == "BG302"]
    suggested = re.search(r"rename the file to (\S+)\.yaml", d["hint"])
    assert suggested and re.fullmatch(r"[a-z][a-z0-9_]*", suggested.group(1)), d["hint"]


@pytest.mark.skipif(not os.path.exists("/dev/zero") or sys.platform != "linux", reason="needs Linux /dev/zero")
def test_endless_file_is_refused_without_reading_it_all(project: Path) -> None:
    # Run in a child with a 1 GB address-space cap, so a regression shows as MemoryError, not a stalled machine.
    limit = "import resource; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30));"
    run = "from bmad_gitops.cli import main; raise SystemExit(main(['validate', '--format', 'json', '/dev/zero']))"
    proc = subprocess.run([sys.executable, "-c", limit + run], capture_output=True, text=True, timeout=120, cwd=project)
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert proc.returncode == 1
    codes = [d["code"] for d in json.loads(proc.stdout)["diagnostics"]]
    assert codes in (["BG007"], ["BG011"])
