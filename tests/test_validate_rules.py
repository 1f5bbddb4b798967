"""Rules validate knows offline that a connector would otherwise reject later, each one problem reported once.

Format keys that disagree, Excel sheets named as streams, unfilled placeholders, `$VAR` without braces in a
secret, Python or SQL names for column types. Every diagnostic says what to do about it (a hint).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bmad_gitops.checks.sheets import sheet_stream_name, workbook_sheet_titles
from bmad_gitops.cli import main
from bmad_gitops.scaffold import KIND_TEMPLATES

WriteSource = Callable[..., str]
ValidateSource = Callable[..., tuple[int, dict[str, Any]]]

REPO = Path(__file__).resolve().parent.parent

CSV = """\
type: file
connector: source-file
format: csv
config:
  dataset_name: customers
  format: csv
  url: data/customers.csv
  provider:
    storage: local
streams:
  - name: customers
    columns:
      customer_id: integer
"""

EXCEL = """\
type: file
connector: source-file
format: excel
config:
  dataset_name: sales
  format: excel
  url: data/sales.xlsx
  provider:
    storage: local
  format_options:
    sheets: [SHEETS]
"""

POSTGRES = """\
type: database
connector: source-postgres
config:
  host: 127.0.0.1
  port: 5432
  database: shop
  username: reader
  password: PASSWORD
"""


def diagnostics(report: dict[str, Any]) -> list[tuple[str, int, int]]:
    return [(d["code"], d["line"], d["col"]) for d in report["diagnostics"]]


def only(report: dict[str, Any]) -> dict[str, Any]:
    (diagnostic,) = report["diagnostics"]
    assert diagnostic["hint"].strip(), diagnostic
    result: dict[str, Any] = diagnostic
    return result


# --- top-level format vs config.format


@pytest.mark.parametrize(
    ("top", "config", "hint"),
    [
        ("csv", "json", "write `format: csv` here, or change the top-level format to `format: json`"),
        ("csv", "jsonl", "write `format: csv` here, or change the top-level format to `format: json`"),
        (
            "json",
            "csv",
            "write `format: json` or `format: jsonl` here, or change the top-level format to `format: csv`",
        ),
        ("excel", "csv", "write `format: excel` here, or change the top-level format to `format: csv`"),
        (
            "json",
            "excel",
            "write `format: json` or `format: jsonl` here, or change the top-level format to `format: excel`",
        ),
    ],
)
def test_config_format_must_agree_with_the_source_format(
    validate_source: ValidateSource, top: str, config: str, hint: str
) -> None:
    text = CSV.replace("format: csv\nconfig", f"format: {top}\nconfig").replace("  format: csv", f"  format: {config}")
    exit_code, report = validate_source(text)
    assert exit_code == 1
    d = only(report)
    assert (d["code"], d["line"], d["col"]) == ("BG104", 6, 11)
    assert d["message"] == f"config.format is '{config}' but the source's format is '{top}'"
    assert d["hint"] == hint


@pytest.mark.parametrize("config", ["json", "jsonl"])
def test_json_source_accepts_json_and_jsonl(validate_source: ValidateSource, config: str) -> None:
    text = CSV.replace("format: csv\nconfig", "format: json\nconfig").replace("  format: csv", f"  format: {config}")
    text = text.replace("data/customers.csv", "data/api_logs.jsonl")
    assert validate_source(text)[1]["diagnostics"] == []


def test_unknown_config_format_is_only_the_schema_error(validate_source: ValidateSource) -> None:
    _, report = validate_source(CSV.replace("  format: csv", "  format: parquet"))
    assert diagnostics(report) == [("BG104", 6, 11)]
    assert "expected one of" in report["diagnostics"][0]["message"]


# --- Excel sheets, read offline from the workbook


def write_workbook(path: Path, titles: list[str]) -> None:
    """The least of an .xlsx that names its sheets: validate reads xl/workbook.xml and nothing else."""
    sheets = "".join(f'<sheet name="{t}" sheetId="{i}" r:id="rId{i}"/>' for i, t in enumerate(titles, 1))
    workbook = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f"<sheets>{sheets}</sheets></workbook>"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as book:
        book.writestr("xl/workbook.xml", workbook)


@pytest.fixture
def workbook(project: Path) -> Path:
    path = project / "data" / "sales.xlsx"
    write_workbook(path, ["Order Lines", "Refunds", "FX Rates 2024"])
    return path


def test_sheet_given_as_stream_name_says_which_title_to_write(validate_source: ValidateSource, workbook: Path) -> None:
    exit_code, report = validate_source(EXCEL.replace("SHEETS", "order_lines, Refunds"), "sales.yaml")
    assert exit_code == 1
    d = only(report)
    assert (d["code"], d["line"], d["col"]) == ("BG104", 11, 14)
    assert d["message"] == "sheet 'order_lines' not in data/sales.xlsx; write 'Order Lines'"


def test_unknown_sheet_lists_the_sheets_there_are(validate_source: ValidateSource, workbook: Path) -> None:
    _, report = validate_source(EXCEL.replace("SHEETS", "Refunds, invoices"), "sales.yaml")
    d = only(report)
    assert (d["code"], d["line"], d["col"]) == ("BG104", 11, 23)
    assert d["message"] == "sheet 'invoices' not in data/sales.xlsx"
    assert d["hint"] == "sheets in the workbook: 'Order Lines', 'Refunds', 'FX Rates 2024'"


def test_sheet_titles_as_written_are_valid(validate_source: ValidateSource, workbook: Path) -> None:
    exit_code, report = validate_source(EXCEL.replace("SHEETS", "'Order Lines', FX Rates 2024"), "sales.yaml")
    assert (exit_code, report["diagnostics"]) == (0, [])


def test_unreadable_workbook_is_left_to_the_connector(validate_source: ValidateSource, project: Path) -> None:
    (project / "data" / "sales.xlsx").write_text("not a zip", encoding="utf-8")
    assert validate_source(EXCEL.replace("SHEETS", "anything"), "sales.yaml")[1]["diagnostics"] == []


def test_workbook_titles_match_the_real_workbook() -> None:
    assert workbook_sheet_titles(REPO / "data" / "sales.xlsx") == ["orders", "refunds"]


def test_workbook_with_a_dtd_is_not_parsed(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w") as book:
        book.writestr("xl/workbook.xml", '<!DOCTYPE w [<!ENTITY a "aaaa">]><workbook><sheets/></workbook>')
    assert workbook_sheet_titles(path) is None


@pytest.mark.parametrize(
    ("title", "stream"),
    [
        ("Order Lines", "order_lines"),
        ("OrderLines", "order_lines"),
        ("FX Rates 2024", "fx_rates_2024"),
        ("***", "sheet"),
    ],
)
def test_sheet_stream_name(title: str, stream: str) -> None:
    assert sheet_stream_name(title) == stream


def test_sheet_check_does_not_import_openpyxl(project: Path, workbook: Path) -> None:
    (project / "sources" / "sales.yaml").write_text(EXCEL.replace("SHEETS", "order_lines"), encoding="utf-8")
    probe = (
        "import sys; from bmad_gitops.cli import main; code = main(['validate']);"
        "print('openpyxl' in sys.modules); raise SystemExit(code)"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=project, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "write 'Order Lines'" in done.stdout
    assert done.stdout.rstrip().endswith("False")


# --- one problem, one diagnostic: placeholders

PLACEHOLDER = re.compile(r"<[^<>\n]+>")


@pytest.mark.parametrize("kind", KIND_TEMPLATES)
def test_unfilled_template_gives_one_diagnostic_per_placeholder(
    kind: str, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["new", kind, "my_source"]) == 0
    path = project / "sources" / "my_source.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    expected = sorted(
        (number, match.start() + 1 - (1 if line[match.start() - 1] == '"' else 0))
        for number, line in enumerate(lines, 1)
        if not line.lstrip().startswith("#")
        for match in PLACEHOLDER.finditer(line.split(" #")[0])
    )
    capsys.readouterr()
    assert main(["validate", "--format", "json", str(path)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert diagnostics(report) == [("BG105", line, col) for line, col in expected]


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("port: 5432", "port: <5432>", (5, 9)),  # not also "must be an integer"
        ("host: 127.0.0.1", "host: <db.example.com>", (4, 9)),
        ("database: shop", "database: <>x", None),  # not a placeholder: valid text
    ],
)
def test_placeholder_is_not_also_a_schema_error(
    validate_source: ValidateSource, old: str, new: str, where: tuple[int, int] | None
) -> None:
    text = POSTGRES.replace("PASSWORD", '"${PG_PASSWORD}"').replace(old, new)
    _, report = validate_source(text, "shop.yaml")
    assert diagnostics(report) == ([("BG105", *where)] if where else [])


def test_placeholder_url_is_not_also_a_missing_file(validate_source: ValidateSource) -> None:
    _, report = validate_source(CSV.replace("data/customers.csv", "<path/to/file.csv>"))
    assert diagnostics(report) == [("BG105", 7, 8)]


def test_placeholder_story_and_name_are_one_diagnostic_each(validate_source: ValidateSource) -> None:
    _, report = validate_source("name: <my_source>\n" + CSV + 'stories: ["<1.1>"]\n')
    assert diagnostics(report) == [("BG105", 1, 7), ("BG105", 15, 11)]


def test_placeholder_in_a_secret_field_asks_for_a_reference(validate_source: ValidateSource) -> None:
    _, report = validate_source(POSTGRES.replace("PASSWORD", "<password>"), "shop.yaml")
    d = only(report)
    assert (d["code"], d["line"], d["col"]) == ("BG105", 8, 13)
    assert d["hint"] == 'write `password: "${PASSWORD}"` and set PASSWORD in the environment or .env'


# --- `$VAR` without braces in a secret field


def test_unbraced_reference_in_a_secret_is_malformed_not_plaintext(validate_source: ValidateSource) -> None:
    _, report = validate_source(POSTGRES.replace("PASSWORD", "$PGPASS"), "shop.yaml")
    d = only(report)
    assert (d["code"], d["line"], d["col"]) == ("BG201", 8, 13)
    assert "${PGPASS}" in d["hint"]


@pytest.mark.parametrize("value", ["$$PGPASS", "pa$PGPASS", "hunter2"])
def test_dollar_inside_a_secret_is_still_plaintext(validate_source: ValidateSource, value: str) -> None:
    _, report = validate_source(POSTGRES.replace("PASSWORD", f'"{value}"'), "shop.yaml")
    d = only(report)
    assert d["code"] == "BG200"
    assert "PGPASS" not in d["message"] + d["hint"] and "hunter2" not in d["message"] + d["hint"]


# --- column types people write from Python, SQL or pandas


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("float", "number"),
        ("int", "integer"),
        ("str", "string"),
        ("text", "string"),
        ("varchar", "string"),
        ("bool", "boolean"),
        ("datetime", "date-time"),
        ("timestamp", "date-time"),
        ("json", "object"),
        ("dict", "object"),
        ("list", "array"),
        ("String", "string"),
        ("intger", "integer"),
    ],
)
def test_column_type_did_you_mean(validate_source: ValidateSource, written: str, meant: str) -> None:
    _, report = validate_source(CSV.replace("customer_id: integer", f"customer_id: {written}"))
    d = only(report)
    assert (d["code"], d["line"], d["col"]) == ("BG104", 13, 20)
    assert d["hint"] == f"did you mean '{meant}'?"
