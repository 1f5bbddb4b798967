"""`plan` and `apply` end to end: real git, real files, real PyAirbyte and the real source-file connector.

Each test changes a fresh copy of one applied baseline project (customers CSV, api_logs JSONL, sales workbook;
see conftest.py), drives `bmad_gitops.cli.main` and asserts on exact plan lines and exact state file bytes.
Connector starts cost seconds each, so every test says how many it needs and most need none (warm cache).
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import json
import os
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from bmad_gitops.cli import main
from bmad_gitops.model import AppliedState

from .conftest import REPO, Baseline, RunCli

pytestmark = pytest.mark.live

TODAY = datetime.date.today().isoformat()
NO_CHANGES = "No changes. Your sources match the applied state and the live schemas.\n"
WILL = "bmad-gitops will perform the following actions:\n\n"
SINCE = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}"


# ── helpers ──────────────────────────────────────────────────────────────────────────────────────────────────────


def edit(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of `old`, so a test fails loudly if the seed file changes under it."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path}: expected one {old!r}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def rewrite_csv(path: Path, change: Callable[[list[list[str]]], list[list[str]]]) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(change(rows))


def add_customers_segment(root: Path) -> None:
    rewrite_csv(
        root / "data" / "customers.csv",
        lambda rows: [[*rows[0], "segment"]] + [[*r, "smb" if i % 2 else "enterprise"] for i, r in enumerate(rows[1:])],
    )


def drop_customers_column(root: Path, column: str) -> None:
    def drop(rows: list[list[str]]) -> list[list[str]]:
        index = rows[0].index(column)
        return [r[:index] + r[index + 1 :] for r in rows]

    rewrite_csv(root / "data" / "customers.csv", drop)


def rewrite_jsonl(path: Path, change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    path.write_text("".join(json.dumps(change(r)) + "\n" for r in rows), encoding="utf-8")


def untimed(out: str) -> str:
    """apply's report without the extraction times, which move from run to run."""
    return re.sub(r" \(\d+\.\d\d s(, [\d,]+ records/s)?\)", "", out)


def apply_report(out: str) -> str:
    """apply's own report: the plan, per-source results and the "Apply complete" line.

    The `progress: NAME OUTCOME` lines come from parallel workers in no fixed order (see `progress`), and what
    follows the summary (lineage docs, OpenLineage events) belongs to other features and their tests.
    """
    head, sep, tail = untimed(out).partition("\nApply complete: ")
    assert sep, out
    report = head + sep + tail.partition("\n")[0] + "\n"
    return "".join(line for line in report.splitlines(keepends=True) if not line.startswith("progress: "))


def progress(out: str) -> list[str]:
    return sorted(line.split()[1] for line in out.splitlines() if line.startswith("progress: "))


def state_text(root: Path, name: str) -> str:
    return (root / "state" / f"{name}.json").read_text(encoding="utf-8")


def as_state_file(data: dict[str, Any]) -> str:
    """The bytes a state file must have: sorted keys, two-space indent, one final newline."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def state_files(root: Path) -> dict[str, bytes]:
    folder = root / "state"
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


def assert_states_unchanged(root: Path, baseline: Baseline, *, except_: tuple[str, ...] = ()) -> None:
    for name in ("api_logs", "customers", "sales"):
        if name not in except_:
            assert (root / "state" / f"{name}.json").read_bytes() == baseline.state_bytes(name), name


def customers_with_segment(baseline: Baseline) -> dict[str, Any]:
    """The customers state after accepting the added `segment` column: schema, profile and change log."""
    expected = json.loads(baseline.state_bytes("customers"))
    expected["streams"][0]["columns"].append(
        {"json_schema": {"type": ["string", "null"]}, "name": "segment", "nullable": True, "type": "string"}
    )
    expected["profiles"][0]["columns"].append({"name": "segment", "null_rate": 0.0, "violations": 0})
    expected["changelog"].append(
        {"change": "drift accepted: customers.segment added (string)", "date": TODAY, "stories": ["1.1", "1.2"]}
    )
    return expected


def segment_plan(version: str) -> str:
    return (
        WILL + f"  ~ customers (file, source-file {version})    <- update\n"
        "      drift (on_drift: warn):\n"
        "          + customers.segment  string    (expansion)\n"
        "\n"
        "Plan: 0 to add, 1 to change, 0 to destroy. Drift: 1 change (0 breaking).\n"
    )


# Every way CPython starts a process raises one of these audit events.
_SPAWN_EVENTS = frozenset(
    {"subprocess.Popen", "os.posix_spawn", "os.exec", "os.spawn", "os.fork", "os.forkpty", "os.system"}
)


class _SpawnCounter:
    """An audit hook that records process starts while a test asks it to, and is inert otherwise.

    Audit hooks cannot be removed, so it is installed once and switched on and off.
    """

    def __init__(self) -> None:
        self.events: list[str] | None = None
        self.installed = False

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if self.events is not None and event in _SPAWN_EVENTS:
            self.events.append(f"{event} {str(args[:2])[:200]}")

    @contextlib.contextmanager
    def counting(self) -> Iterator[list[str]]:
        if not self.installed:
            sys.addaudithook(self)
            self.installed = True
        self.events = []
        try:
            yield self.events
        finally:
            self.events = None


SPAWNS = _SpawnCounter()


# ── drift: expansion, contraction, amendment, new stream ─────────────────────────────────────────────────────────


def test_added_csv_column_is_a_non_breaking_expansion_and_apply_accepts_it(
    live_project: Path, baseline: Baseline, run: RunCli
) -> None:
    """Connector starts: 1 discovery, 2 for the test extraction."""
    add_customers_segment(live_project)

    assert run("plan", "--detailed-exitcode") == (2, segment_plan(baseline.connector_version), "")

    code, out, err = run("apply", "--auto-approve")
    assert (code, err) == (0, ""), out
    assert apply_report(out) == segment_plan(baseline.connector_version) + (
        "= api_logs: unchanged\n"
        "✓ customers: applied\n"
        "    customers: 10 records sampled, 0 with type violations, completeness 100%\n"
        "= sales: unchanged\n"
        "Apply complete: 1 applied, 0 deleted, 2 unchanged, 0 skipped, 0 failed.\n"
    )
    assert progress(out) == ["api_logs", "customers", "sales"]

    assert run("plan", "--detailed-exitcode") == (0, NO_CHANGES, "")
    assert state_text(live_project, "customers") == as_state_file(customers_with_segment(baseline))
    assert_states_unchanged(live_project, baseline, except_=("customers",))


def test_dropped_column_is_breaking_refused_under_freeze_and_accepted_under_warn(
    live_project: Path, baseline: Baseline, run: RunCli
) -> None:
    """Connector starts: 1 discovery (shared by both policies), 2 for the test extraction under warn."""
    version = baseline.connector_version
    definition = live_project / "sources" / "customers.yaml"
    drop_customers_column(live_project, "country")
    edit(definition, "on_drift: warn", "on_drift: freeze")

    frozen_plan = (
        WILL + f"  ~ customers (file, source-file {version})    <- update\n"
        "      ~ on_drift: warn -> freeze\n"
        "      drift (on_drift: freeze):\n"
        "          - customers.country    (contraction, BREAKING)\n"
        "      affects stories 1.1, 1.2\n"
        "      error: sources/customers.yaml:18:11: 1 breaking drift change under on_drift: freeze; "
        "update the definition or set on_drift: evolve\n"
        "\n"
        "Plan: 0 to add, 1 to change, 0 to destroy. Drift: 1 change (1 breaking). Errors: 1.\n"
    )
    assert run("plan", "--detailed-exitcode") == (1, frozen_plan, "")
    code, out, err = run("apply", "--auto-approve")
    assert (code, err) == (1, "")
    assert apply_report(out) == frozen_plan + (
        "= api_logs: unchanged\n"
        "✗ customers: failed (not applied: 1 breaking drift change under on_drift: freeze; "
        "update the definition or set on_drift: evolve)\n"
        "= sales: unchanged\n"
        "Apply complete: 0 applied, 0 deleted, 2 unchanged, 0 skipped, 1 failed.\n"
    )
    assert_states_unchanged(live_project, baseline)

    edit(definition, "on_drift: freeze", "on_drift: warn")
    warned_plan = (
        WILL + f"  ~ customers (file, source-file {version})    <- update\n"
        "      drift (on_drift: warn):\n"
        "          - customers.country    (contraction, BREAKING)\n"
        "      affects stories 1.1, 1.2\n"
        "      warning: sources/customers.yaml:18:11: 1 breaking drift change; apply will accept it (on_drift: warn)\n"
        "\n"
        "Plan: 0 to add, 1 to change, 0 to destroy. Drift: 1 change (1 breaking).\n"
    )
    assert run("plan") == (0, warned_plan, "")
    assert run("plan", "--detailed-exitcode") == (2, warned_plan, "")
    code, out, err = run("apply", "--auto-approve")
    assert (code, err) == (0, ""), out
    assert "✓ customers: applied\n    customers: 10 records sampled, 0 with type violations, completeness 100%\n" in untimed(out)

    expected = json.loads(baseline.state_bytes("customers"))
    expected["streams"][0]["columns"] = [c for c in expected["streams"][0]["columns"] if c["name"] != "country"]
    expected["profiles"][0]["columns"] = [c for c in expected["profiles"][0]["columns"] if c["name"] != "country"]
    expected["changelog"].append(
        {"change": "drift accepted: customers.country removed", "date": TODAY, "stories": ["1.1", "1.2"]}
    )
    assert state_text(live_project, "customers") == as_state_file(expected)
    assert run("plan") == (0, NO_CHANGES, "")


def test_changed_column_type_is_a_breaking_amendment(live_project: Path, baseline: Baseline, run: RunCli) -> None:
    """Connector starts: 1 discovery. api_logs.latency_ms goes from numbers to text such as "12.5 ms"."""

    def as_text(row: dict[str, Any]) -> dict[str, Any]:
        if row.get("latency_ms") is not None:
            row["latency_ms"] = f"{row['latency_ms']} ms"
        return row

    rewrite_jsonl(live_project / "data" / "api_logs.jsonl", as_text)

    assert run("plan", "--detailed-exitcode") == (
        2,
        WILL + f"  ~ api_logs (file, source-file {baseline.connector_version})    <- update\n"
        "      drift (on_drift: evolve):\n"
        "          ~ api_logs.latency_ms  number -> string    (amendment, BREAKING)\n"
        "      affects stories 2.1\n"
        "      info: sources/api_logs.yaml:2:1: 1 breaking drift change accepted at apply (on_drift: evolve)\n"
        "\n"
        "Plan: 0 to add, 1 to change, 0 to destroy. Drift: 1 change (1 breaking).\n",
        "",
    )
    assert_states_unchanged(live_project, baseline)


def test_new_excel_sheet_is_a_new_stream(live_project: Path, baseline: Baseline, run: RunCli) -> None:
    """Connector starts: 3 discoveries (one per sheet, in parallel)."""
    workbook = live_project / "data" / "sales.xlsx"
    source = load_workbook(workbook)
    book = Workbook()
    book.remove(book.active)
    for sheet in source.worksheets:
        copy = book.create_sheet(sheet.title)
        for row in sheet.iter_rows(values_only=True):
            copy.append(row)
    lines = book.create_sheet("Order Lines")
    for row in (("order_id", "sku", "quantity"), (1001, "SKU-1", 2), (1002, "SKU-7", 1)):
        lines.append(row)
    book.save(workbook)
    assert [s.title for s in load_workbook(workbook).worksheets] == ["orders", "refunds", "Order Lines"]

    assert run("plan", "--detailed-exitcode") == (
        2,
        WILL + f"  ~ sales (file, source-file {baseline.connector_version})    <- update\n"
        "      drift (on_drift: freeze):\n"
        "          + stream order_lines    (expansion)\n"
        "\n"
        "Plan: 0 to add, 1 to change, 0 to destroy. Drift: 1 change (0 breaking).\n",
        "",
    )


# ── destroy, stale plans, locks, kill -9 ─────────────────────────────────────────────────────────────────────────


def test_deleted_definition_is_destroyed_and_apply_removes_its_state(
    live_project: Path, baseline: Baseline, run: RunCli
) -> None:
    """Connector starts: none."""
    (live_project / "sources" / "api_logs.yaml").unlink()
    destroy_plan = (
        WILL + "  - api_logs (file, source-file)    <- destroy\n"
        "\n"
        "Plan: 0 to add, 0 to change, 1 to destroy. Drift: none.\n"
    )
    assert run("plan", "--detailed-exitcode") == (2, destroy_plan, "")
    code, out, err = run("apply", "--auto-approve")
    assert (code, err) == (0, "")
    assert apply_report(out) == destroy_plan + (
        "- api_logs: deleted\n"
        "= customers: unchanged\n"
        "= sales: unchanged\n"
        "Apply complete: 0 applied, 1 deleted, 2 unchanged, 0 skipped, 0 failed.\n"
    )
    assert sorted(state_files(live_project)) == ["customers.json", "sales.json"]
    assert_states_unchanged(live_project, baseline, except_=("api_logs",))
    assert run("plan") == (0, NO_CHANGES, "")


def test_stale_plan_is_refused_and_writes_nothing(live_project: Path, baseline: Baseline, run: RunCli) -> None:
    """Connector starts: none (the change is to stories only, so discovery comes from the cache)."""
    definition = live_project / "sources" / "customers.yaml"
    edit(definition, 'stories: ["1.1", "1.2"]', 'stories: ["1.1", "1.2", "2.1"]')
    code, out, err = run("plan", "--out", "p.json")
    assert (code, err) == (0, "")
    assert out == (
        WILL + f"  ~ customers (file, source-file {baseline.connector_version})    <- update\n"
        "      ~ stories: 1.1, 1.2 -> 1.1, 1.2, 2.1\n"
        "\n"
        "Plan: 0 to add, 1 to change, 0 to destroy. Drift: none.\n"
        "Saved the plan to p.json; apply exactly it with `bmad-gitops apply p.json`.\n"
    )
    planned = definition.read_text(encoding="utf-8")

    edit(definition, "description: Customer master data", "description: The customer master data")
    assert run("apply", "p.json") == (
        1,
        "",
        "error: plan is stale: sources/customers.yaml changed since the plan was made\n"
        "  hint: run `bmad-gitops plan --out FILE` again and apply the new plan\n",
    )
    assert_states_unchanged(live_project, baseline)
    assert not (live_project / ".bmad-gitops" / "apply.lock.json").exists()

    definition.write_text(planned, encoding="utf-8")
    api_logs_state = live_project / "state" / "api_logs.json"
    touched = api_logs_state.read_text(encoding="utf-8").replace('"version": 1', '"version":  1')
    api_logs_state.write_text(touched, encoding="utf-8")
    assert run("apply", "p.json") == (
        1,
        "",
        "error: plan is stale: the applied state of 'api_logs' changed since the plan was made\n"
        "  hint: run `bmad-gitops plan --out FILE` again and apply the new plan\n",
    )
    assert api_logs_state.read_text(encoding="utf-8") == touched
    assert_states_unchanged(live_project, baseline, except_=("api_logs",))


def test_concurrent_apply_is_refused_with_the_holders_pid(live_project: Path, baseline: Baseline, run: RunCli) -> None:
    """Connector starts: none. Another process holds the apply lock; ours must fail at once and name it."""
    assert run("plan", "--out", "p.json")[0] == 0
    holder_code = (
        "import time\n"
        "from pathlib import Path\n"
        "from bmad_gitops.state import apply_lock\n"
        "with apply_lock(Path('.bmad-gitops')):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(600)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", holder_code], cwd=live_project, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "held\n"
        started = time.monotonic()
        code, out, err = run("apply", "p.json")
        assert time.monotonic() - started < 30, "a locked apply must fail at once, not wait"
        assert (code, out) == (1, "")
        assert re.fullmatch(
            rf"error: state is locked by pid {holder.pid} since {SINCE}\n  hint: wait for that apply to finish\n", err
        ), err
        assert_states_unchanged(live_project, baseline)
    finally:
        holder.kill()
        holder.wait()
    # The kernel dropped the dead holder's lock: the same plan now applies (nothing to change, nothing written).
    code, out, err = run("apply", "p.json")
    assert (code, err) == (0, "")
    assert apply_report(out).endswith("Apply complete: 0 applied, 0 deleted, 3 unchanged, 0 skipped, 0 failed.\n")
    assert_states_unchanged(live_project, baseline)


class _Apply:
    """A real `bmad-gitops apply --auto-approve` in its own process group, its output read line by line."""

    def __init__(self, root: Path) -> None:
        exe = Path(sys.executable).with_name("bmad-gitops")
        command = [str(exe)] if exe.exists() else [sys.executable, "-c", "from bmad_gitops.cli import run; run()"]
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            [*command, "apply", "--auto-approve"],
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # so SIGKILL reaches its connector processes too
        )
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def wait_for_line(self, prefix: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=0.05)
            except queue.Empty:
                continue
            if line is None:
                return False
            self.output.append(line)
            if line.startswith(prefix):
                return True
        raise AssertionError(f"no {prefix!r} line within {timeout} s: {''.join(self.output)}")

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=60)
        self._reader.join(timeout=60)


def _stat_states(folder: Path) -> dict[str, tuple[int, int, int]]:
    found = {}
    for name in os.listdir(folder):
        with contextlib.suppress(FileNotFoundError):
            st = os.stat(folder / name)
            found[name] = (st.st_ino, st.st_size, st.st_mtime_ns)
    return found


def _kill_at_first_state_write(apply: _Apply, folder: Path, timeout: float) -> None:
    """SIGKILL as soon as a temp file appears in state/ or any state file is replaced or removed."""
    before = _stat_states(folder)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and apply.proc.poll() is None:
        now = _stat_states(folder)
        if now != before or any(n.endswith(".tmp") for n in now):
            break
        time.sleep(0.0005)
    apply.kill()


def _assert_states_parse(folder: Path) -> None:
    for path in sorted(folder.iterdir()):
        if path.suffix == ".json":
            AppliedState.model_validate_json(path.read_bytes())  # a partial file raises here
        else:
            # The only other thing allowed: the temp file of an interrupted atomic write.
            assert path.name.startswith(".") and path.name.endswith(".tmp"), path.name


def test_kill_9_during_apply_leaves_every_state_file_old_or_new(
    live_project: Path, baseline: Baseline, run: RunCli
) -> None:
    """Connector starts: 3 discoveries, then about 2 per changed source per attempt that gets that far."""
    add_customers_segment(live_project)
    rewrite_jsonl(live_project / "data" / "api_logs.jsonl", lambda row: {**row, "region": "eu"})
    eu = (live_project / "data" / "customers.csv").read_text(encoding="utf-8").splitlines()[:4]
    (live_project / "data" / "customers_eu.csv").write_text("\n".join(eu) + "\n", encoding="utf-8")
    (live_project / "sources" / "customers_eu.yaml").write_text(
        "type: file\n"
        "connector: source-file\n"
        "format: csv\n"
        "description: EU customers, exported on their own.\n"
        "owner: data-platform@example.com\n"
        "config:\n"
        "  dataset_name: customers_eu\n"
        "  format: csv\n"
        "  url: data/customers_eu.csv\n"
        "  provider:\n"
        "    storage: local\n"
        "on_drift: warn\n",
        encoding="utf-8",
    )
    (live_project / "sources" / "sales.yaml").unlink()
    folder = live_project / "state"
    old = state_files(live_project)
    seed = int(os.environ.get("BMAD_GITOPS_KILL_SEED", "0")) or random.SystemRandom().randrange(1, 2**31)
    delay = random.Random(seed).uniform(0.5, 15.0)
    snapshots: list[tuple[str, dict[str, bytes]]] = []

    first = _Apply(live_project)  # plans (3 discoveries, cached for the next attempts), then applies
    first.wait_for_line("progress: ", timeout=900)
    first.kill()
    snapshots.append(("after the first `progress:` line", state_files(live_project)))

    second = _Apply(live_project)
    _kill_at_first_state_write(second, folder, timeout=900)
    snapshots.append(("at the first state write", state_files(live_project)))

    third = _Apply(live_project)
    time.sleep(delay)
    third.kill()
    snapshots.append((f"after {delay:.2f} s (BMAD_GITOPS_KILL_SEED={seed})", state_files(live_project)))

    for when, files in snapshots:
        assert set(n for n in files if n.endswith(".json")) <= set(old) | {"customers_eu.json"}, when
    _assert_states_parse(folder)

    # An interrupted write's temp file is never read as state, not even when it holds half a state file.
    half = old["customers.json"][: len(old["customers.json"]) // 2]
    (folder / ".customers.json.k1ll3d.tmp").write_bytes(half)

    code, out, err = run("apply", "--auto-approve")  # the lock died with its holder
    assert (code, err) == (0, ""), out
    assert "k1ll3d" not in out and ".customers" not in out
    assert run("plan") == (0, NO_CHANGES, "")
    final = state_files(live_project)
    assert sorted(n for n in final if n.endswith(".json")) == ["api_logs.json", "customers.json", "customers_eu.json"]
    assert final["customers.json"].decode() == as_state_file(customers_with_segment(baseline))
    _assert_states_parse(folder)
    for when, files in snapshots:
        for name, data in files.items():
            if name.endswith(".json"):
                assert data in (old.get(name), final.get(name)), f"{name} {when} is neither the old nor the new state"


# ── secrets, failures, missing variables ────────────────────────────────────────────────────────────────────────


def test_canary_secret_never_appears_in_output_or_files(
    live_project: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """Connector starts: none. The database sources that hold the canary point at a closed port on 127.0.0.1, so
    every live command fails on them: the failure paths are where a secret would leak."""
    canary = "canary-Xy9-value"
    monkeypatch.setenv("CANARY_SECRET", canary)
    (live_project / ".env").write_text(f"CANARY_SECRET={canary}\n", encoding="utf-8")
    for name, variable, port in (("orders_db", "POSTGRES_PASSWORD", "5432"), ("inventory_db", "MYSQL_PASSWORD", "3306")):
        target = live_project / "sources" / f"{name}.yaml"
        shutil.copy(REPO / "sources" / f"{name}.yaml", target)
        edit(target, "${" + variable + "}", "${CANARY_SECRET}")
        edit(target, f"port: {port}", "port: 1")

    outputs: dict[str, tuple[int, str]] = {}

    def invoke(*args: str) -> int:
        capfd.readouterr()
        code = main(list(args))
        captured = capfd.readouterr()
        outputs[" ".join(args)] = (code, captured.out + captured.err)
        return code

    assert invoke("validate") == 0
    invoke("validate", "--format", "json")
    invoke("validate", "--format", "github")
    assert invoke("plan") == 1
    invoke("plan", "--format", "json", "--out", "p.json")
    invoke("plan", "--format", "markdown", "--detailed-exitcode")
    invoke("plan", "--format", "github")
    assert invoke("apply", "p.json") == 1
    assert invoke("apply", "--auto-approve") == 1
    assert invoke("check", "orders_db") == 1
    assert invoke("check", "inventory_db") == 1
    assert invoke("discover", "orders_db") == 1

    assert "orders_db" in outputs["plan"][1] and "connection refused" in outputs["plan"][1].lower()
    assert "✗ orders_db: failed" in outputs["apply p.json"][1]
    for command, (_, text) in outputs.items():
        assert canary not in text, command
    leaks = [
        p.relative_to(live_project).as_posix()
        for p in sorted(live_project.rglob("*"))
        if p.is_file() and p != live_project / ".env" and canary.encode() in p.read_bytes()
    ]
    assert leaks == []


def test_connector_crash_fails_only_its_own_source(live_project: Path, baseline: Baseline, run: RunCli) -> None:
    """Connector starts: 2 failing discoveries of the broken file (not cached), 1 discovery and 2 reads of customers."""
    (live_project / "data" / "broken.csv").write_bytes(b"id,name\n1," + bytes(range(128, 256)) * 4 + b"\n")
    (live_project / "sources" / "broken.yaml").write_text(
        "type: file\n"
        "connector: source-file\n"
        "format: csv\n"
        "description: An export that says UTF-8 and is not.\n"
        "owner: data-platform@example.com\n"
        "config:\n"
        "  dataset_name: broken\n"
        "  format: csv\n"
        "  url: data/broken.csv\n"
        "  provider:\n"
        "    storage: local\n"
        "  format_options:\n"
        "    encoding: utf-8\n"
        "on_drift: warn\n",
        encoding="utf-8",
    )
    add_customers_segment(live_project)

    code, out, err = run("plan")
    assert (code, err) == (1, "")
    lines = out.splitlines()
    version = baseline.connector_version
    assert lines[:3] == [
        "bmad-gitops will perform the following actions:",
        "",
        "  ! broken (file, source-file)              <- error",
    ]
    # The connector's text quotes the bad bytes; plan, apply and state get a summary instead (the full text
    # stays in the connector log).
    reason = (
        "discovery failed: source-file: the file is not valid UTF-8 at byte 10; set `format_options.encoding` "
        "(for example latin-1)"
    )
    assert lines[3].startswith("      error: sources/broken.yaml:1:1: " + reason), lines[3]
    assert lines[4:] == [
        f"  ~ customers (file, source-file {version})    <- update",
        "      drift (on_drift: warn):",
        "          + customers.segment  string    (expansion)",
        "",
        "Plan: 0 to add, 1 to change, 0 to destroy. Drift: 1 change (0 breaking). Errors: 1.",
    ]

    code, out, err = run("apply", "--auto-approve")
    assert (code, err) == (1, "")
    assert "Traceback" not in out
    tail = apply_report(out).splitlines()[-6:]
    assert tail[0] == "= api_logs: unchanged"
    assert tail[1].startswith("✗ broken: failed (not applied: " + reason), tail[1]
    assert tail[2:] == [
        "✓ customers: applied",
        "    customers: 10 records sampled, 0 with type violations, completeness 100%",
        "= sales: unchanged",
        "Apply complete: 1 applied, 0 deleted, 2 unchanged, 0 skipped, 1 failed.",
    ]
    assert sorted(state_files(live_project)) == ["api_logs.json", "customers.json", "sales.json"]
    assert state_text(live_project, "customers") == as_state_file(customers_with_segment(baseline))


def test_missing_env_var_is_one_line_naming_it_and_where(live_project: Path, baseline: Baseline, run: RunCli) -> None:
    """Connector starts: none."""
    (live_project / "sources" / "remote_customers.yaml").write_text(
        "type: file\n"
        "connector: source-file\n"
        "format: csv\n"
        "description: The customer export, wherever DATA_DIR says it is.\n"
        "owner: data-platform@example.com\n"
        "config:\n"
        "  dataset_name: customers\n"
        "  format: csv\n"
        "  provider:\n"
        "    storage: local\n"
        '  url: "${DATA_DIR}/customers.csv"\n'
        "on_drift: warn\n",
        encoding="utf-8",
    )
    message = (
        "sources/remote_customers.yaml:11:8: environment variable DATA_DIR is not set; "
        "export it or add DATA_DIR=... to .env"
    )
    assert run("plan") == (
        1,
        "bmad-gitops has no changes to apply, but found the following:\n"
        "\n"
        "  ! remote_customers (file, source-file)    <- error\n"
        f"      error: {message}\n"
        "\n"
        "Plan: 0 to add, 0 to change, 0 to destroy. Drift: none. Errors: 1.\n",
        "",
    )
    assert run("check", "remote_customers") == (
        1,
        "",
        "error: sources/remote_customers.yaml:11:8: environment variable DATA_DIR is not set\n"
        "  hint: export it or add DATA_DIR=... to .env\n",
    )
    code, out, err = run("apply", "--auto-approve")
    assert (code, err) == (1, "")
    assert [line for line in out.splitlines() if "DATA_DIR" in line] == [f"      error: {message}"]
    assert_states_unchanged(live_project, baseline)


# ── the discovery cache, and which sources a plan looks at ───────────────────────────────────────────────────────


def test_warm_no_change_plan_starts_no_process_and_a_cold_one_does(live_project: Path, run: RunCli) -> None:
    """Connector starts: 1 (the cold discovery of customers)."""
    with SPAWNS.counting() as spawned:
        assert run("plan") == (0, NO_CHANGES, "")
    assert spawned == []

    shutil.rmtree(live_project / ".bmad-gitops" / "cache")
    with SPAWNS.counting() as spawned:
        assert run("plan", "--target", "customers") == (0, NO_CHANGES, "")
    assert len(spawned) > 0  # the hook sees connector starts, so the zero above means something

    with SPAWNS.counting() as spawned:
        assert run("plan", "--target", "customers") == (0, NO_CHANGES, "")
    assert spawned == []


def test_no_refresh_plans_from_state_without_discovery(live_project: Path, run: RunCli) -> None:
    """Connector starts: none; upstream drift is invisible without discovery."""
    add_customers_segment(live_project)
    with SPAWNS.counting() as spawned:
        assert run("plan", "--no-refresh", "--detailed-exitcode") == (0, NO_CHANGES, "")
    assert spawned == []


def test_target_paths_and_formats(live_project: Path, baseline: Baseline, run: RunCli) -> None:
    """Connector starts: 1 discovery of customers; everything after it is served from the cache."""
    version = baseline.connector_version
    add_customers_segment(live_project)
    with SPAWNS.counting() as spawned:
        assert run("plan", "--target", "api_logs", "--target", "sales") == (0, NO_CHANGES, "")
    assert spawned == []
    assert run("plan", "--target", "customers", "--detailed-exitcode") == (2, segment_plan(version), "")
    assert run("plan", "sources/customers.yaml") == (0, segment_plan(version), "")
    assert run("plan", "sources/sales.yaml", "sources/api_logs.yaml") == (0, NO_CHANGES, "")

    code, out, err = run("plan", "--format", "json")
    assert (code, err) == (0, "")
    payload = json.loads(out)
    assert payload["summary"] == {"add": 0, "breaking": 0, "change": 1, "destroy": 0, "drift": 1, "errors": 0, "skipped": 0, "unapplied": 0}
    assert payload["has_changes"] is True
    assert [(s["name"], s["action"]) for s in payload["sources"]] == [
        ("api_logs", "no-op"),
        ("customers", "update"),
        ("sales", "no-op"),
    ]
    customers = payload["sources"][1]
    assert customers["drift"] == [
        {
            "breaking": False,
            "column": "segment",
            "kind": "expansion",
            "new": "string",
            "old": None,
            "stream": "customers",
        }
    ]
    assert customers["state_sha"] is not None and customers["definition_path"] == "sources/customers.yaml"

    assert run("plan", "--format", "markdown") == (
        0,
        "### bmad-gitops plan\n"
        "\n"
        "**Plan: 0 to add, 1 to change, 0 to destroy. Drift: 1 change (0 breaking).**\n"
        "\n"
        "| Source | Action | Drift | Breaking | Stories |\n"
        "| --- | --- | ---: | ---: | --- |\n"
        "| customers | update | 1 | 0 | 1.1, 1.2 |\n"
        "\n"
        f"<details><summary>customers (file, source-file {version}): update, drift 1 (0 breaking)</summary>\n"
        "\n"
        "```diff\n"
        "  drift (on_drift: warn):\n"
        "+     customers.segment  string    (expansion)\n"
        "```\n"
        "\n"
        "</details>\n",
        "",
    )


def test_changed_since_head_plans_only_changed_definitions(live_project: Path, baseline: Baseline, run: RunCli) -> None:
    """Connector starts: none. customers' data drifts, but its definition did not change, so it is not planned."""
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "add", "-A"], cwd=live_project, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "applied"], cwd=live_project, check=True)
    edit(live_project / "sources" / "api_logs.yaml", 'stories: ["2.1"]', 'stories: ["1.1", "2.1"]')
    add_customers_segment(live_project)

    assert run("plan", "--changed-since", "HEAD") == (
        0,
        WILL + f"  ~ api_logs (file, source-file {baseline.connector_version})    <- update\n"
        "      ~ stories: 2.1 -> 1.1, 2.1\n"
        "\n"
        "Plan: 0 to add, 1 to change, 0 to destroy. Drift: none.\n",
        "",
    )
    subprocess.run([*git, "commit", "-q", "-am", "api_logs feeds story 1.1"], cwd=live_project, check=True)
    assert run("plan", "--changed-since", "HEAD") == (0, NO_CHANGES, "")


# ── discover, check, connectors ──────────────────────────────────────────────────────────────────────────────────


def test_discover_check_and_connectors(live_project: Path, baseline: Baseline, run: RunCli) -> None:
    """Connector starts: 1 (check); discover is served from the cache."""
    version = baseline.connector_version
    assert run("discover", "customers") == (
        0,
        f"customers (source-file {version}): 1 stream\n"
        "  customers  (primary key: none; cursor: none; sync modes: full_refresh)\n"
        "    country      string\n"
        "    created_at   string\n"
        "    customer_id  number\n"
        "    email        string\n"
        "    name         string\n",
        "",
    )
    code, out, err = run("discover", "customers", "--format", "json")
    assert (code, err) == (0, "")
    payload = json.loads(out)
    assert (payload["source"], payload["connector"], payload["connector_version"]) == (
        "customers",
        "source-file",
        version,
    )
    assert [(s["name"], [(c["name"], c["type"]) for c in s["columns"]]) for s in payload["streams"]] == [
        (
            "customers",
            [
                ("country", "string"),
                ("created_at", "string"),
                ("customer_id", "number"),
                ("email", "string"),
                ("name", "string"),
            ],
        )
    ]
    assert run("check", "customers") == (0, "customers: connection OK\n", "")
    code, out, err = run("connectors")
    assert (code, err) == (0, "")
    assert f"{'source-file':30} {'file':9} installed {version}" in out.splitlines(), out


# ── regressions: bugs these tests caught, fixed meanwhile ────────────────────────────────────────────────────────


def test_a_definition_that_fails_validation_keeps_its_applied_state(
    live_project: Path, baseline: Baseline, run: RunCli
) -> None:
    """Connector starts: none. A typo must read as an error, never as "the definition is gone: destroy it"."""
    edit(live_project / "sources" / "customers.yaml", "owner: data-platform@example.com", "owner: 42")
    invalid_plan = (
        "bmad-gitops has no changes to apply, but found the following:\n"
        "\n"
        "  ! customers (file, source-file)    <- error\n"
        "      error: sources/customers.yaml:6:8: definition is invalid: owner must be a string, not an integer "
        "(run `bmad-gitops validate`)\n"
        "\n"
        "Plan: 0 to add, 0 to change, 0 to destroy. Drift: none. Errors: 1.\n"
    )
    diagnostic = "sources/customers.yaml:6:8: error[BG103]: owner must be a string, not an integer"
    code, out, err = run("plan", "--detailed-exitcode")
    assert (code, out, err.splitlines()[0]) == (1, invalid_plan, diagnostic)
    code, out, err = run("apply", "--auto-approve")
    assert (code, out, err.splitlines()[0]) == (1, invalid_plan, diagnostic)
    assert_states_unchanged(live_project, baseline)


def test_apply_samples_as_many_records_as_the_definition_asks(live_project: Path, run: RunCli) -> None:
    """Connector starts: 2 (the test extraction; a stories change needs no discovery). customers has 10 rows."""
    edit(
        live_project / "sources" / "customers.yaml",
        'stories: ["1.1", "1.2"]',
        'stories: ["1.1", "1.2", "2.1"]\nextraction:\n  sample: 3',
    )
    code, out, err = run("apply", "--auto-approve")
    assert (code, err) == (0, ""), out
    assert "    customers: 3 records sampled, 0 with type violations, completeness 100%\n" in untimed(out)


# ── found as bugs, now fixed ─────────────────────────────────────────────────────────────────────────────────────


def test_a_moved_project_reuses_its_discovery_cache(
    live_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: RunCli
) -> None:
    """Connector starts: none (the cache key holds paths inside the project and contents, not mtimes)."""
    moved = tmp_path / "moved"
    shutil.copytree(live_project, moved, symlinks=True)  # contents, mtimes and the cache all kept
    monkeypatch.chdir(moved)
    with SPAWNS.counting() as spawned:
        assert run("plan", "--target", "customers") == (0, NO_CHANGES, "")
    assert spawned == []


def test_an_unknown_target_is_an_error(live_project: Path, run: RunCli) -> None:
    """Connector starts: none."""
    code, _, err = run("plan", "--target", "custmers", "--detailed-exitcode")
    assert code == 1
    assert "custmers" in err
