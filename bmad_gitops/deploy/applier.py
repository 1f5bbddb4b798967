"""Carry out a DeployPlan against Airbyte, recording each success in the deploy state as soon as it happens.

Order matters: connections go before the sources they read from, sources are created before their
connections. The state is saved after every call, so a failure half-way leaves every created id recorded
(the next plan updates instead of creating twice). The first failure stops the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from .client import AirbyteClient
from .desired import DesiredSet, DesiredSource
from .errors import CredentialsError, DeployError
from .model import DeployChange, DeployPlan
from .planner import pair_records
from .state import ConnectionRecord, DeployState


@dataclass(frozen=True)
class Outcome:
    change: DeployChange
    remote_id: str | None = None
    error: str | None = None  # None: done


@dataclass(frozen=True)
class DeployReport:
    outcomes: tuple[Outcome, ...]
    not_attempted: int = 0

    @property
    def failed(self) -> bool:
        return any(o.error is not None for o in self.outcomes)


def _step(change: DeployChange) -> int:
    if change.kind == "connection" and change.action == "delete":
        return 0
    if change.kind == "source" and change.action == "delete":
        return 1
    return 2 if change.kind == "source" else 3


def apply_deploy(
    plan: DeployPlan,
    desired: DesiredSet,
    state: DeployState,
    client: AirbyteClient,
    save: Callable[[DeployState], None],
    on_done: Callable[[Outcome], None] = lambda _: None,
) -> DeployReport:
    wanted = {d.source: d for d in desired.sources}
    renamed = pair_records(desired, state).renamed
    todo = sorted(
        (c for c in plan.changes if c.action in ("create", "update", "delete")), key=lambda c: (_step(c), c.source)
    )
    outcomes: list[Outcome] = []
    for index, change in enumerate(todo):
        try:
            remote_id, state = _carry_out(change, wanted, renamed, state, client, plan.workspace_id)
        except CredentialsError:
            raise  # one line naming the variables, whatever was done so far is already saved
        except DeployError as exc:
            outcome = Outcome(change, change.remote_id, exc.message)
            outcomes.append(outcome)
            on_done(outcome)
            return DeployReport(tuple(outcomes), len(todo) - index - 1)
        save(state)
        outcome = Outcome(change, remote_id)
        outcomes.append(outcome)
        on_done(outcome)
    return DeployReport(tuple(outcomes))


def _carry_out(
    change: DeployChange,
    wanted: dict[str, DesiredSource],
    renamed: dict[str, str],
    state: DeployState,
    client: AirbyteClient,
    workspace_id: str,
) -> tuple[str | None, DeployState]:
    name = change.source
    record = state.sources.get(name) or (state.sources.get(renamed[name]) if name in renamed else None)
    if change.action == "delete":
        assert change.remote_id is not None
        if change.kind == "connection":
            client.delete_connection(change.remote_id)
            kept = state.sources.get(name)
            if kept is not None and kept.connection is not None and kept.connection.remote_id == change.remote_id:
                state = state.with_source(name, replace(kept, connection=None))
            return change.remote_id, state
        client.delete_source(change.remote_id)  # a 404 counts as done: it is gone either way
        held = state.sources.get(name)
        return change.remote_id, state.with_source(name, None) if held and held.remote_id == change.remote_id else state
    d = wanted[name]
    if change.kind == "source":
        if change.action == "create":
            created = client.create_source(d.create_body(workspace_id))
            remote_id = str(created["sourceId"])
            connection = None  # a new source has no connection yet, whatever an old record said
        else:
            assert change.remote_id is not None
            client.patch_source(change.remote_id, d.patch_body())
            remote_id = change.remote_id
            connection = record.connection if record is not None else None
        if name in renamed:
            state = state.with_source(renamed[name], None)
        return remote_id, state.with_source(name, d.record(remote_id, connection))
    assert d.connection is not None
    current = state.sources[name]  # the source step ran first and recorded it
    if change.action == "create":
        created = client.create_connection(d.connection.create_body(current.remote_id))
        connection_id = str(created["connectionId"])
    else:
        assert change.remote_id is not None
        client.patch_connection(change.remote_id, d.connection.patch_body())
        connection_id = change.remote_id
    linked = replace(current, connection=ConnectionRecord(connection_id, d.connection.fingerprint))
    return connection_id, state.with_source(name, linked)
