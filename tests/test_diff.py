"""The pure planner: hand-made catalogs and states in, plans out (the collaborators here are plain values)."""

from __future__ import annotations

from bmad_gitops.catalog import Catalog, Column, Stream
from bmad_gitops.diff import Desired, Expectation, column_drift, plan_source
from bmad_gitops.model import AppliedState, Location


def stream(name: str, *cols: tuple[str, str], pk: tuple[str, ...] = ()) -> Stream:
    return Stream(name=name, columns=tuple(Column(name=c, type=t) for c, t in cols), primary_key=pk)


def desired(on_drift: str = "warn", expectations: tuple[Expectation, ...] | None = None, fingerprint: str = "f1", **config: object) -> Desired:
    return Desired(
        name="src",
        type="file",
        connector="source-file",
        path="sources/src.yaml",
        sha="sha",
        fingerprint=fingerprint,
        public_config={"url": "data/a.csv", **config},
        secret_refs=(),
        on_drift=on_drift,
        stories=("1.2",),
        expectations=expectations,
    )


def state(*streams: Stream, fingerprint: str = "f1", **config: object) -> AppliedState:
    return AppliedState(
        source="src",
        type="file",
        connector="source-file",
        connector_version="0.5.39",
        config_fingerprint=fingerprint,
        config={"url": "data/a.csv", **config},
        streams=streams,
        stories=("1.2",),
    )


BASE = stream("s", ("id", "number"), ("name", "string"))


def test_no_state_is_create_with_live_catalog() -> None:
    plan = plan_source("src", desired(), None, Catalog(streams=(BASE,)), connector_version="0.5.39")
    assert plan.action == "create"
    assert plan.catalog == (BASE,)


def test_unchanged_is_noop() -> None:
    plan = plan_source("src", desired(), state(BASE), Catalog(streams=(BASE,)), connector_version="0.5.39")
    assert plan.action == "no-op"
    assert plan.drift == () and plan.config_changes == () and plan.messages == ()


def test_added_column_is_non_breaking_expansion() -> None:
    live = stream("s", ("id", "number"), ("name", "string"), ("email", "string"))
    plan = plan_source("src", desired(), state(BASE), Catalog(streams=(live,)), connector_version="0.5.39")
    assert plan.action == "update"
    assert [(c.column, c.kind, c.breaking, c.new) for c in plan.drift] == [("email", "expansion", False, "string")]
    assert plan.messages == ()


def test_dropped_column_and_type_change_are_breaking_and_freeze_errors() -> None:
    live = stream("s", ("id", "string"))
    plan = plan_source("src", desired("freeze"), state(BASE), Catalog(streams=(live,)), connector_version="0.5.39")
    assert [(c.column, c.kind, c.breaking, c.old, c.new) for c in plan.drift] == [
        ("id", "amendment", True, "number", "string"),
        ("name", "contraction", True, "string", None),
    ]
    assert plan.has_errors
    assert "on_drift: freeze" in plan.messages[0].text


def test_warn_and_evolve_do_not_error() -> None:
    live = stream("s", ("id", "number"))
    warn = plan_source("src", desired("warn"), state(BASE), Catalog(streams=(live,)))
    evolve = plan_source("src", desired("evolve"), state(BASE), Catalog(streams=(live,)))
    assert not warn.has_errors and warn.messages[0].level == "warning"
    assert not evolve.has_errors and evolve.messages[0].level == "info"


def test_new_stream_when_selecting_all_and_vanished_stream_is_breaking() -> None:
    other = stream("t", ("x", "string"))
    grown = plan_source("src", desired(), state(BASE), Catalog(streams=(BASE, other)))
    assert [(c.stream, c.column, c.kind) for c in grown.drift] == [("t", None, "expansion")]
    shrunk = plan_source("src", desired(), state(BASE, other), Catalog(streams=(BASE,)))
    assert [(c.stream, c.kind, c.breaking) for c in shrunk.drift] == [("t", "contraction", True)]


def test_declared_stream_and_column_missing_are_errors_at_their_lines() -> None:
    where = Location(path="sources/src.yaml", line=9, col=7)
    col_where = Location(path="sources/src.yaml", line=12, col=9)
    expectations = (
        Expectation(name="s", where=where, columns={"email": ("string", col_where), "id": ("integer", col_where)}),
        Expectation(name="ghost", where=Location(path="sources/src.yaml", line=14, col=7)),
    )
    plan = plan_source("src", desired(expectations=expectations), None, Catalog(streams=(BASE,)))
    texts = [(m.level, m.where.line if m.where else None, m.text) for m in plan.messages]
    assert texts == [
        ("error", 12, "declared column 'email' is missing from stream s"),
        ("error", 12, "declared column 'id' is integer, but the source has number; this connector reports every numeric column as number (CSV files carry no integer type), so declare it as number"),
        ("error", 14, "declared stream 'ghost' does not exist in the source (it has: s)"),
    ]


def test_declared_primary_key_is_applied_to_catalog() -> None:
    expectations = (Expectation(name="s", where=Location(path="p"), primary_key=("id",)),)
    plan = plan_source("src", desired(expectations=expectations), None, Catalog(streams=(BASE,)))
    assert plan.catalog[0].primary_key == ("id",)


def test_config_change_lists_fields_and_marks_secrets() -> None:
    plan = plan_source(
        "src",
        desired(fingerprint="f2", password="${NEW_PW}"),
        state(BASE, password="${OLD_PW}"),
        Catalog(streams=(BASE,)),
        secret_keys=frozenset({"password"}),
    )
    assert [(c.field, c.sensitive) for c in plan.config_changes] == [("config.password", True)]


def test_env_value_change_shows_fingerprint() -> None:
    plan = plan_source("src", desired(fingerprint="f2"), state(BASE), Catalog(streams=(BASE,)))
    assert [c.field for c in plan.config_changes] == ["config_fingerprint"]


def test_deleted_definition_is_delete() -> None:
    plan = plan_source("src", None, state(BASE), None, state_sha="abc")
    assert plan.action == "delete" and plan.state_sha == "abc"


def test_column_order_is_not_a_change() -> None:
    a = stream("s", ("a", "string"), ("b", "number"))
    b = stream("s", ("b", "number"), ("a", "string"))
    assert column_drift(a, b) == []


def test_primary_key_change_is_amendment() -> None:
    changes = column_drift(stream("s", ("id", "number"), pk=("id",)), stream("s", ("id", "number")))
    assert [(c.column, c.kind, c.old, c.new) for c in changes] == [("(primary key)", "amendment", "id", "none")]
