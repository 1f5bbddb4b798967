"""Regenerate `data/sales.xlsx`, the two-sheet workbook the Excel examples and live tests read.

The output is byte-for-byte stable: workbook timestamps and zip entry times are fixed, so re-running the script
leaves git with nothing to commit.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.writer.excel import ExcelWriter

# A fixed instant for every timestamp the file carries; any value works as long as it never changes.
FIXED_TIME = dt.datetime(2024, 1, 1, 0, 0, 0)
ZIP_TIME = (2024, 1, 1, 0, 0, 0)

ORDERS: list[tuple[int, int, float, str]] = [
    (1001, 1, 120.50, "2024-06-01T09:12:00Z"),
    (1002, 2, 89.99, "2024-06-01T11:45:00Z"),
    (1003, 3, 249.00, "2024-06-02T08:30:00Z"),
    (1004, 5, 15.75, "2024-06-02T16:05:00Z"),
    (1005, 6, 310.20, "2024-06-03T10:00:00Z"),
    (1006, 8, 42.00, "2024-06-04T13:25:00Z"),
]

REFUNDS: list[tuple[int, int, float, str]] = [
    (1, 1003, 249.00, "damaged in transit"),
    (2, 1002, 20.00, "partial refund: late delivery"),
    (3, 1006, 42.00, "duplicate order"),
    (4, 1005, 10.20, "price adjustment"),
    (5, 1001, 120.50, "customer changed mind"),
]


def build_workbook() -> Workbook:
    wb = Workbook()
    orders = wb.active
    assert orders is not None  # a new Workbook always has one sheet
    orders.title = "orders"
    orders.append(["order_id", "customer_id", "amount", "ordered_at"])
    for row in ORDERS:
        orders.append(list(row))
    refunds = wb.create_sheet("refunds")
    refunds.append(["refund_id", "order_id", "amount", "reason"])
    for row in REFUNDS:
        refunds.append(list(row))
    wb.properties.creator = "bmad-gitops sample data"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    return wb


def workbook_bytes(wb: Workbook) -> bytes:
    # `Workbook.save()` stamps `modified` with the current time, so drive ExcelWriter directly.
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).save()
    # Zip entries carry the local time they were written; rewrite them with a fixed one.
    stable = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(stable, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, src.read(info.filename))
    return stable.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    target = Path(args[0]) if args else Path(__file__).resolve().parent.parent / "data" / "sales.xlsx"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(workbook_bytes(build_workbook()))
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
