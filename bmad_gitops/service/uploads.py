"""Uploads: streamed to a temp file inside data/uploads/ in chunks, size-checked as they arrive, the type
decided by the bytes (CSV, JSON, JSONL, xlsx, Parquet) and not the name, zip bombs refused, then renamed
atomically to a generated name. A refused or interrupted upload leaves nothing behind.
"""

from __future__ import annotations

import csv
import json
import os
import re
import secrets
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from ..atomic import inside
from ..errors import BmadGitopsError

CHUNK = 1024 * 1024
_SNIFF_BYTES = 64 * 1024
_EXTENSIONS = {"csv": ".csv", "json": ".json", "jsonl": ".jsonl", "excel": ".xlsx", "parquet": ".parquet"}
_CLAIMED = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".xlsx": "excel", ".parquet": "parquet"}


class UploadRefused(BmadGitopsError):
    def __init__(self, message: str, hint: str, status: int = 415) -> None:
        super().__init__(message, hint)
        self.status = status


@dataclass(frozen=True)
class Stored:
    path: Path
    relative: str
    format: str
    size: int
    dataset: str


def upload_dir(root: Path) -> Path:
    return root / "data" / "uploads"


def safe_stem(filename: str | None) -> str:
    """A lower snake_case stem from whatever name the client sent (`../`, NUL, newlines, absolute paths gone)."""
    base = re.split(r"[\\/]", filename or "")[-1]
    stem = base.rsplit(".", 1)[0] if "." in base else base
    cleaned = re.sub(r"[^a-z0-9]+", "_", stem.lower()).strip("_")[:40]
    return cleaned if cleaned and cleaned[0].isalpha() else f"upload_{cleaned}".rstrip("_")


def claimed_format(filename: str | None) -> str | None:
    base = re.split(r"[\\/]", filename or "")[-1].lower()
    return next((fmt for ext, fmt in _CLAIMED.items() if base.endswith(ext)), None)


async def store_upload(
    root: Path, filename: str | None, chunks: AsyncIterator[bytes], *, max_bytes: int, max_unzipped: int, max_ratio: int
) -> Stored:
    folder = upload_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    if not inside(folder, root) or folder.is_symlink():
        raise UploadRefused(f"{folder} leaves the project root", "make data/uploads a plain folder", 500)
    token = secrets.token_hex(6)
    partial = folder / f".upload-{token}.part"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    size = 0
    try:
        with os.fdopen(fd, "wb") as handle:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise UploadRefused(f"upload larger than {max_bytes} bytes", "split the file or raise --max-upload", 413)
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        if size == 0:
            raise UploadRefused("the upload is empty", "send a file with data", 422)
        fmt = sniff(partial, max_unzipped=max_unzipped, max_ratio=max_ratio)
        claimed = claimed_format(filename)
        if claimed is not None and claimed != fmt and {claimed, fmt} != {"json", "jsonl"}:
            raise UploadRefused(f"the name says {claimed} but the content is {fmt}", "send the file under its real extension")
        stem = safe_stem(filename)
        final = folder / f"{stem}_{token}{_EXTENSIONS[fmt]}"
        os.replace(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return Stored(final, final.relative_to(root).as_posix(), fmt, size, f"{stem}_{token}")


def sniff(path: Path, *, max_unzipped: int, max_ratio: int) -> str:
    """The format the bytes say, or UploadRefused."""
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
        handle.seek(-min(4, path.stat().st_size), os.SEEK_END)
        tail = handle.read(4)
    if head.startswith(b"PAR1") and tail == b"PAR1":
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        _check_workbook(path, max_unzipped, max_ratio)
        return "excel"
    if b"\x00" in head:
        raise UploadRefused("binary content that is not xlsx or Parquet", "upload CSV, JSON, JSONL, xlsx or Parquet")
    text = head.decode("utf-8", errors="ignore" if len(head) == _SNIFF_BYTES else "strict") if _utf8(head) else None
    if text is None:
        raise UploadRefused("content is not UTF-8 text", "save the file as UTF-8")
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith(("{", "[")):
        return _json_kind(path, stripped)
    if _looks_csv(stripped):
        return "csv"
    raise UploadRefused("content is not CSV, JSON, JSONL, xlsx or Parquet", "check the file")


def _utf8(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return len(head) == _SNIFF_BYTES and exc.start >= len(head) - 3  # a character cut by the sniff window
    return True


def _json_kind(path: Path, text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    complete = lines[:-1] if len(text) >= _SNIFF_BYTES - 8 else lines
    if len(complete) >= 2 and all(_is_object(line) for line in complete[:20]):
        return "jsonl"
    if path.stat().st_size <= 16 * CHUNK:  # small enough to prove it parses; a big document is judged by its head
        try:
            json.loads(path.read_text(encoding="utf-8-sig"))
        except ValueError:
            if lines and _is_object(lines[0]):
                return "jsonl"
            raise UploadRefused("content starts like JSON but does not parse", "check the file") from None
    return "json"


def _is_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _looks_csv(text: str) -> bool:
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if len(lines) < 2:
        return False
    try:
        dialect = csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|")
    except csv.Error:
        return False
    rows = list(csv.reader(lines[:-1] if len(lines) > 2 else lines, dialect))
    return len(rows[0]) >= 2 and all(len(r) == len(rows[0]) for r in rows)


def _check_workbook(path: Path, max_unzipped: int, max_ratio: int) -> None:
    """Read only the zip's directory: the declared sizes decide, nothing is inflated."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        raise UploadRefused("a zip that cannot be read", "upload a real xlsx workbook") from None
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names:
        raise UploadRefused("a zip that is not an xlsx workbook (no xl/workbook.xml)", "upload a real xlsx workbook")
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if len(infos) > 10_000 or total > max_unzipped or total / packed > max_ratio:
        raise UploadRefused(
            f"the workbook expands to {total} bytes ({total // packed}x): refused as a zip bomb",
            "upload a workbook that is not crafted to expand",
            413,
        )
