"""Time `bmad-gitops validate` (whole process, as pre-commit and CI run it) against check-jsonschema.

Generates a project of 1,000 valid, varied definitions in a temp folder, times each command several times and
prints a Markdown table of medians, the speed-up over check-jsonschema, the targets, and the imports that cost
the most start-up time. Run it with `make bench` (or `.venv/bin/python benchmarks/bench_validate.py --quick`).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BMAD_GITOPS = BIN / "bmad-gitops"
CHECK_JSONSCHEMA = BIN / "check-jsonschema"
SCHEMA = ROOT / "schemas" / "source.schema.json"

DEFINITIONS = 1_000
TARGET_SPEEDUP = 8.0  # check-jsonschema time / bmad-gitops time on 1,000 files
TARGET_ONE_FILE_S = 0.15

DOMAINS = [
    "customers", "orders", "invoices", "payments", "refunds", "shipments", "inventory", "products", "suppliers",
    "campaigns", "sessions", "tickets", "employees", "contracts", "ledger", "returns", "reviews", "subscriptions",
]  # fmt: skip
TEAMS = ["data-platform", "finance-data", "crm-team", "logistics", "growth@example.com", "backend-team", "support-ops"]
TAGS = ["pii", "finance", "crm", "oltp", "daily", "hourly", "gdpr", "tier-1", "tier-2", "raw", "eu", "us"]
COLUMN_TYPES = ["string", "integer", "number", "boolean", "date", "date-time"]
COLUMNS = ["id", "created_at", "updated_at", "email", "amount", "currency", "status", "country", "quantity", "sku"]
COMMENTS = [
    "# Owned by the team below; ask them before changing the schema.",
    "# Exported nightly at 02:00 UTC.",
    "# Keep streams in sync with the dashboard queries in analytics/.",
    "# Reviewed in the quarterly data audit.",
    "# Columns marked sensitive are masked in plan output.",
]
SHEETS = ["orders", "refunds", "summary", "q1", "q2", "q3", "q4"]

# Data files the generated `url`s point at, per format; a few files serve many definitions, as in a real repo.
DATA_FILES = {
    "csv": [f"data/{d}.csv" for d in DOMAINS],
    "jsonl": [f"data/{d}.jsonl" for d in DOMAINS],
    "json": [f"data/{d}.json" for d in DOMAINS[:6]],
    "excel": [f"data/{d}.xlsx" for d in DOMAINS[:6]],
}


# ---------------------------------------------------------------------------------------------- generation



def _workbook(target: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    assert first is not None
    first.title = SHEETS[0]
    for title in SHEETS[1:]:
        book.create_sheet(title)
    for sheet in book.worksheets:
        sheet.append(["id", "amount"])
        sheet.append([1, 9.5])
    book.save(target)

def _header(rng: random.Random, description: str) -> list[str]:
    lines = ["# yaml-language-server: $schema=../schemas/source.schema.json"]
    lines += rng.sample(COMMENTS, rng.randint(0, 2))
    return [*lines, f"# {description}"]


def _meta(rng: random.Random, description: str) -> list[str]:
    return [f"description: {description}", f"owner: {rng.choice(TEAMS)}"]


def _tail(rng: random.Random) -> list[str]:
    lines = []
    if rng.random() < 0.7:
        stories = sorted({f"{rng.randint(1, 9)}.{rng.randint(1, 12)}" for _ in range(rng.randint(1, 3))})
        lines.append("stories: [" + ", ".join(f'"{s}"' for s in stories) + "]")
    lines.append(f"on_drift: {rng.choice(['evolve', 'warn', 'freeze'])}")
    if rng.random() < 0.3:
        lines += ["extraction:", f"  sample: {rng.choice([50, 100, 500])}", "  max_violation_rate: 0.01"]
    if rng.random() < 0.8:
        lines.append("tags: [" + ", ".join(rng.sample(TAGS, rng.randint(1, 3))) + "]")
    return lines


def _streams(rng: random.Random, names: Sequence[str]) -> list[str]:
    lines = ["streams:"]
    for name in names:
        lines.append(f"  - name: {name}")
        columns = rng.sample(COLUMNS, rng.randint(2, 6))
        lines.append(f"    primary_key: [{columns[0]}]")
        if "created_at" in columns or "updated_at" in columns:
            lines.append(f"    cursor: {'updated_at' if 'updated_at' in columns else 'created_at'}")
        lines.append("    columns:")
        lines += [f"      {c}: {rng.choice(COLUMN_TYPES)}" for c in columns]
        if "email" in columns:
            lines.append("    sensitive: [email]")
    return lines


def _file_source(rng: random.Random, name: str, domain: str, kind: str) -> list[str]:
    connector_format = {"csv": "csv", "json": rng.choice(["json", "jsonl"]), "excel": "excel"}[kind]
    url = rng.choice(DATA_FILES[connector_format])
    description = f"{domain.title()} {kind.upper()} export."
    lines = _header(rng, description)
    lines += ["type: file", "connector: source-file", f"format: {kind}"]
    lines += _meta(rng, description)
    lines += ["config:", f"  dataset_name: {name}", f"  format: {connector_format}", f"  url: {url}", "  provider:"]
    lines += ["    storage: local      # bmad-gitops reads local files only"]
    if kind == "csv":
        lines += ["  format_options:", f'    delimiter: "{rng.choice([",", ";", "|"])}"', "    quote_char: '\"'"]
        lines += [f"    encoding: {rng.choice(['utf-8', 'latin-1'])}"]
        if rng.random() < 0.3:
            lines.append(f"    skip_rows: {rng.randint(1, 3)}")
    sheets = rng.sample(SHEETS, rng.randint(1, 3))
    if kind == "excel":
        lines += ["  format_options:", f"    sheets: [{', '.join(sheets)}]"]
    if rng.random() < 0.8:
        lines += _streams(rng, sheets if kind == "excel" else [name])
    return lines + _tail(rng)


def _database_source(rng: random.Random, name: str, domain: str, kind: str) -> list[str]:
    postgres = kind == "postgres"
    description = f"The {domain} {'PostgreSQL' if postgres else 'MySQL'} database."
    var = f"{name.upper()}_PASSWORD"
    lines = _header(rng, description)
    lines += ["type: database", f"connector: source-{kind}"]
    lines += _meta(rng, description)
    lines += ["config:", f"  host: {domain}-db-{rng.randint(1, 9)}.internal", f"  port: {5432 if postgres else 3306}"]
    lines += [f"  database: {domain}", f"  username: {rng.choice(['reader', 'etl', 'airbyte'])}"]
    lines += [f'  password: "${{{var}}}"     # set in the environment or .env']
    if postgres:
        lines += [f"  ssl: {rng.choice(['true', 'false'])}", f"  ssl_mode: {rng.choice(['prefer', 'require'])}"]
        lines += ["  schemas: [public]"]
    if rng.random() < 0.3:
        lines.append('  jdbc_url_params: "connectTimeout=10"')
    if rng.random() < 0.6:
        lines += _streams(rng, [f"{domain}_{i}" for i in range(rng.randint(1, 3))])
    return lines + _tail(rng)


def _api_source(rng: random.Random, name: str, domain: str, kind: str) -> list[str]:
    description = f"The {domain} REST API."
    auth = rng.choice(["bearer", "api_key", "basic", "none"])
    prefix = name.upper()
    lines = _header(rng, description)
    lines += ["type: api", "connector: source-declarative-manifest"]
    lines += _meta(rng, description)
    lines += ["config:", f"  base_url: https://api.{domain}.example.com/v{rng.randint(1, 3)}", "  auth:"]
    lines.append(f"    type: {auth}")
    if auth == "bearer":
        lines.append(f'    token: "${{{prefix}_TOKEN}}"')
    elif auth == "api_key":
        lines += [f'    api_key: "${{{prefix}_API_KEY}}"', "    header: X-API-Key"]
    elif auth == "basic":
        lines += [f'    username: "${{{prefix}_USER}}"', f'    password: "${{{prefix}_PASSWORD}}"']
    paging = rng.choice(["page", "offset", "cursor", "none"])
    lines += ["  pagination:", f"    type: {paging}"]
    if paging in ("page", "offset"):
        lines += [f"    page_param: {paging}", "    size_param: limit", f"    page_size: {rng.choice([50, 100, 250])}"]
    elif paging == "cursor":
        lines += ["    cursor_path: [meta, next]", "    cursor_param: cursor"]
    lines.append("  endpoints:")
    for i in range(rng.randint(1, 4)):
        lines += [f"    - name: {domain}_{i}", f"      path: /{domain}/{i}", "      records_path: [data]"]
        lines.append("      primary_key: [id]")
        if rng.random() < 0.4:
            lines += ["      params:", "        status: active", f"        limit: {rng.randint(10, 99)}"]
    return lines + _tail(rng)


def _s3_source(rng: random.Random, name: str, domain: str, kind: str) -> list[str]:
    description = f"{domain.title()} files in S3."
    lines = _header(rng, description)
    lines += ["type: s3", "connector: source-s3"]
    lines += _meta(rng, description)
    lines += ["config:", f"  bucket: acme-{domain}-exports", f"  region: {rng.choice(['eu-west-1', 'us-east-1'])}"]
    lines += ['  aws_access_key_id: "${AWS_ACCESS_KEY_ID}"', '  aws_secret_access_key: "${AWS_SECRET_ACCESS_KEY}"']
    lines.append("  streams:")
    for i in range(rng.randint(1, 3)):
        fmt = rng.choice(["csv", "jsonl", "parquet"])
        lines += [f"    - name: {domain}_{i}", f'      globs: ["exports/{domain}/{i}/*.{fmt}"]', f"      format: {fmt}"]
    return lines + _tail(rng)


GENERATORS: dict[str, Callable[[random.Random, str, str, str], list[str]]] = {
    "csv": _file_source,
    "json": _file_source,
    "excel": _file_source,
    "postgres": _database_source,
    "mysql": _database_source,
    "api": _api_source,
    "s3": _s3_source,
}


def generate_project(
    root: Path, count: int, kinds: Sequence[str] = tuple(GENERATORS), seed: int = 20261127
) -> list[Path]:
    """Write `count` valid definitions (cycling through `kinds`), the data files they name and the BMad stories
    they link to; return the definitions."""
    rng = random.Random(seed)
    (root / ".git").mkdir(parents=True)  # marks the project root, as a clone would
    (root / "data").mkdir()
    for paths in DATA_FILES.values():
        for rel in paths:
            target = root / rel
            if rel.endswith(".xlsx"):
                _workbook(target)  # every sheet the generated definitions may name: validate reads the titles
            elif rel.endswith(".csv"):
                target.write_text("id,created_at,amount\n1,2026-01-01T00:00:00Z,9.5\n", encoding="utf-8")
            else:
                target.write_text('{"id": 1, "created_at": "2026-01-01T00:00:00Z"}\n', encoding="utf-8")
    (root / "sources").mkdir()
    written = []
    cited: dict[str, list[str]] = {}  # story id -> sources that list it
    for i in range(count):
        kind = kinds[i % len(kinds)]
        domain = rng.choice(DOMAINS)
        name = f"{domain}_{kind}_{i:04d}"
        path = root / "sources" / f"{name}.yaml"
        lines = GENERATORS[kind](rng, name, domain, kind)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        written.append(path)
        for line in lines:
            if line.startswith("stories: ["):
                for story_id in re.findall(r'"([^"]+)"', line):
                    cited.setdefault(story_id, []).append(name)
    write_stories(root / "docs" / "stories", cited)
    return written


def write_stories(folder: Path, cited: dict[str, list[str]]) -> None:
    """BMad v4 stories (the default `docs/stories/` layout), each citing two of the sources that list it."""
    folder.mkdir(parents=True)
    for story_id, sources in sorted(cited.items()):
        first = sources[0]
        text = (
            f"# Story {story_id}: Use {first.replace('_', ' ')}\n\n## Status\n\nDone\n\n## Story\n\n"
            f"**As a** data analyst,\n**I want** {first} loaded,\n**so that** the dashboards stay current.\n\n"
            f"## Dev Notes\n\n- Data source: {', '.join(sources[:2])}\n"
            f"- Streams are described in [Source: lineage/{first}.md#streams].\n"
        )
        (folder / f"{story_id}.use-{first.replace('_', '-')}.md").write_text(text, encoding="utf-8")


@dataclass(frozen=True)
class Breakage:
    """Rewrite `old` to `new` in one definition (of `kind` if any holds `old`); the diagnostic must sit where `at`
    (inside `new`) starts."""

    kind: str
    old: str
    new: str
    at: str
    code: str


# One breakage per file; each is found by its own check family, and each must be reported at an exact place.
BREAKAGES = [
    Breakage("mysql", 'password: "${', "password: hunter2 #", "hunter2", "BG200"),
    Breakage("postgres", "username: ", "usernme: ", "usernme", "BG101"),
    Breakage("csv", "on_drift: ", "on_drift: sometimes #", "sometimes", "BG104"),
    Breakage("json", "url: data/", "url: data/missing/", "data/missing/", "BG400"),
    Breakage("excel", "url: data/", "url: ../outside/", "../outside/", "BG401"),
    Breakage("api", 'stories: ["', 'stories: ["99.1", "', '"99.1"', "BG500"),
    Breakage("s3", "region: ", "region: <region> #", "<region>", "BG105"),
    Breakage("mysql", "port: 3306", 'port: "3306"', '"3306"', "BG103"),
    Breakage("postgres", "database: ", "database: ${DB NAME} #", "${DB NAME}", "BG201"),
    Breakage("api", "owner: ", "owner: a\nowner: ", "owner: ", "BG003"),
]


def break_definitions(files: Sequence[Path], root: Path) -> list[str]:
    """Break one file per entry of BREAKAGES; return the `path:line:col: error[CODE]` each must produce."""
    expected = []
    used: set[Path] = set()
    for breakage in BREAKAGES:
        candidates = [p for p in files if p not in used and breakage.old in p.read_text(encoding="utf-8")]
        path = next((p for p in candidates if f"_{breakage.kind}_" in p.name), candidates[0])
        used.add(path)
        text = path.read_text(encoding="utf-8")
        start = text.index(breakage.old)
        text = text[:start] + breakage.new + text[start + len(breakage.old) :]
        offset = text.rindex(breakage.at, 0, start + len(breakage.new))
        line = text.count("\n", 0, offset) + 1
        col = offset - (text.rfind("\n", 0, offset) + 1) + 1
        path.write_text(text, encoding="utf-8")
        expected.append(f"{path.relative_to(root).as_posix()}:{line}:{col}: error[{breakage.code}]")
    return expected


# ---------------------------------------------------------------------------------------------- timing


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds per run, and the CPU seconds (user + system) the process used in each run.

    On a busy machine wall time is mostly waiting for a CPU; CPU time shows what the command itself costs.
    """

    label: str
    command: str
    seconds: list[float]
    cpu_seconds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_seconds)


def run(cmd: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), cwd=cwd, capture_output=True, text=True)


def time_command(
    label: str, cmd: Sequence[str], cwd: Path, runs: int, check: Callable[[subprocess.CompletedProcess[str]], None]
) -> Timing:
    """One untimed warm-up run (checked), then `runs` timed runs of the whole process."""
    check(run(cmd, cwd))
    seconds, cpu_seconds = [], []
    for _ in range(runs):
        cpu_before = _children_cpu()
        start = time.perf_counter()
        done = run(cmd, cwd)
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(_children_cpu() - cpu_before)
        check(done)
    shown = " ".join(Path(cmd[0]).name if i == 0 else str(a) for i, a in enumerate(cmd[:4]))
    return Timing(label, shown + (" …" if len(cmd) > 4 else ""), seconds, cpu_seconds)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


_ERROR_FILE = re.compile(r"^(.+?):\d+:\d+: error\[", re.MULTILINE)


def expect_exit(
    code: int, *lines: str, only_these_fail: bool = False
) -> Callable[[subprocess.CompletedProcess[str]], None]:
    """Check the exit code and that each of `lines` is in the output; with `only_these_fail`, that no other file
    has an error."""

    def check(done: subprocess.CompletedProcess[str]) -> None:
        output = done.stdout + done.stderr
        if done.returncode != code:
            raise SystemExit(f"{done.args[:3]}: exit {done.returncode}, expected {code}\n{output[-3000:]}")
        missing = [line for line in lines if line not in output]
        if missing:
            raise SystemExit(f"{done.args[:3]}: output lacks {missing}\n{output[-3000:]}")
        extra = set(_ERROR_FILE.findall(output)) - {line.split(":")[0] for line in lines}
        if only_these_fail and extra:
            raise SystemExit(f"{done.args[:3]}: errors in files that were not broken: {sorted(extra)}")

    return check


_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| *(\S+)")


@dataclass(frozen=True)
class ImportCost:
    name: str  # a module, or a top-level package summed over its modules
    self_ms: float
    cumulative_ms: float  # for a package: its heaviest single import
    modules: int = 1


def import_costs(cmd: Sequence[str], cwd: Path, runs: int) -> list[ImportCost]:
    """`-X importtime` of `cmd` (through PYTHONPROFILEIMPORTTIME), per module, median over `runs` runs."""
    samples: dict[str, list[tuple[float, float]]] = {}
    for _ in range(runs):
        done = subprocess.run(
            list(cmd), cwd=cwd, capture_output=True, text=True, env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
        )
        for m in _IMPORT_LINE.finditer(done.stderr):
            samples.setdefault(m.group(3), []).append((int(m.group(1)) / 1000, int(m.group(2)) / 1000))
    return [
        ImportCost(module, statistics.median(s for s, _ in times), statistics.median(c for _, c in times))
        for module, times in samples.items()
    ]


def by_package(modules: Sequence[ImportCost]) -> list[ImportCost]:
    packages: dict[str, list[ImportCost]] = {}
    for cost in modules:
        packages.setdefault(cost.name.split(".")[0], []).append(cost)
    return [
        ImportCost(
            name,
            sum(c.self_ms for c in members),
            max(c.cumulative_ms for c in members),
            len(members),
        )
        for name, members in packages.items()
    ]


# ---------------------------------------------------------------------------------------------- report


def _met(ok: bool) -> str:
    return "yes" if ok else "NO"


def machine_facts() -> str:
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return f"nproc {nproc}, {platform.system()} {platform.release()}, Python {platform.python_version()}, load {load}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 timed runs per command instead of 7")
    parser.add_argument("--runs", type=int, help="timed runs per command (overrides --quick)")
    parser.add_argument("--keep", type=Path, help="write the generated project here and keep it")
    parser.add_argument(
        "--kinds", default=",".join(GENERATORS), help="comma-separated kinds to generate (default: all of them)"
    )
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    if not kinds or set(kinds) - set(GENERATORS):
        parser.error(f"--kinds takes a comma-separated subset of {','.join(GENERATORS)}")
    runs = args.runs or (3 if args.quick else 7)
    for exe in (BMAD_GITOPS, CHECK_JSONSCHEMA):
        if not exe.is_file():
            raise SystemExit(f"{exe} is missing: run `make` targets from the project venv (pip install -e '.[dev]')")

    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        base = args.keep or Path(tmp)
        if args.keep and base.exists():
            shutil.rmtree(base)
        valid = base / "valid"
        files = generate_project(valid, DEFINITIONS, kinds)
        rel = [str(p.relative_to(valid)) for p in files]
        broken = base / "broken"
        shutil.copytree(valid, broken)
        expected = break_definitions([broken / r for r in rel], broken)
        one = rel[len(rel) // 2]

        size = sum(p.stat().st_size for p in files) // 1024
        print(f"Generated {len(files):,} definitions ({', '.join(kinds)}; {size} KiB) in {base}")
        print(f"Machine: {machine_facts()}; {runs} timed runs per command after one warm-up; medians.\n")
        valid_summary = f"{len(files)} files valid."
        timings = [
            time_command(
                f"(a) bmad-gitops validate, {len(files):,} files",
                [str(BMAD_GITOPS), "validate"],
                valid,
                runs,
                expect_exit(0, valid_summary),
            ),
            time_command(
                f"(a') bmad-gitops validate, {len(files):,} paths as pre-commit passes them",
                [str(BMAD_GITOPS), "validate", *rel],
                valid,
                runs,
                expect_exit(0, valid_summary),
            ),
            time_command(
                f"(b) check-jsonschema, {len(files):,} files",
                [str(CHECK_JSONSCHEMA), "--schemafile", str(SCHEMA), *rel],
                valid,
                runs,
                expect_exit(0),
            ),
            time_command(
                f"(c) bmad-gitops validate, 1 file (in a project of {len(files):,})",
                [str(BMAD_GITOPS), "validate", one],
                valid,
                runs,
                expect_exit(0, "1 file valid."),
            ),
            time_command(
                f"(d) bmad-gitops validate, {len(files):,} files, {len(expected)} broken",
                [str(BMAD_GITOPS), "validate"],
                broken,
                runs,
                expect_exit(1, *expected, only_these_fail=True),
            ),
            time_command("(baseline) python -c pass", [sys.executable, "-c", "pass"], valid, runs, expect_exit(0)),
        ]
        costs = import_costs([str(BMAD_GITOPS), "validate", one], valid, runs)

    print("| benchmark | wall median (s) | wall min–max (s) | CPU median (s) | command |")
    print("|---|---:|---:|---:|---|")
    for t in timings:
        print(
            f"| {t.label} | {t.median:.3f} | {min(t.seconds):.3f}–{max(t.seconds):.3f} | {t.cpu_median:.3f}"
            f" | `{t.command}` |"
        )

    many, check_jsonschema, single = timings[0], timings[2], timings[3]
    speedup = check_jsonschema.median / many.median
    cpu_speedup = check_jsonschema.cpu_median / many.cpu_median
    print()
    print("| target | wall | met | CPU | met |")
    print("|---|---:|:-:|---:|:-:|")
    print(
        f"| check-jsonschema / bmad-gitops on {len(files):,} files ≥ {TARGET_SPEEDUP:g}× | {speedup:.1f}× |"
        f" {_met(speedup >= TARGET_SPEEDUP)} | {cpu_speedup:.1f}× | {_met(cpu_speedup >= TARGET_SPEEDUP)} |"
    )
    print(
        f"| one file ≤ {TARGET_ONE_FILE_S:.2f} s | {single.median:.3f} s | {_met(single.median <= TARGET_ONE_FILE_S)}"
        f" | {single.cpu_median:.3f} s | {_met(single.cpu_median <= TARGET_ONE_FILE_S)} |"
    )
    print(f"\n(d) reported every broken file at its exact place, for example `{expected[0]}`.")

    by_self = sorted(costs, key=lambda c: -c.self_ms)
    print(
        f"\nImport time of `bmad-gitops validate {one}`: {sum(c.self_ms for c in costs):.1f} ms in {len(costs)} modules."
    )
    print("\nTop 8 top-level packages (self time summed over their modules):\n")
    print("| package | self (ms) | modules | heaviest import, cumulative (ms) |")
    print("|---|---:|---:|---:|")
    for cost in sorted(by_package(costs), key=lambda c: -c.self_ms)[:8]:
        print(f"| {cost.name} | {cost.self_ms:.1f} | {cost.modules} | {cost.cumulative_ms:.1f} |")
    print("\nTop 8 single modules (self time):\n")
    print("| module | self (ms) | cumulative (ms) |")
    print("|---|---:|---:|")
    for cost in by_self[:8]:
        print(f"| {cost.name} | {cost.self_ms:.1f} | {cost.cumulative_ms:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
