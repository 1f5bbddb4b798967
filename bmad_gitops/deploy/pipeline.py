"""Deploy for any front end: read settings, definitions and deploy state once, ask Airbyte, plan, apply.

Built on the engine's own stages (`open_context`, `load_inputs`), so deploy sees exactly the definitions
`plan` sees. Nothing here prints or reads os.environ: the context carries the environment.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..engine import Context, load_inputs
from .applier import DeployReport, Outcome, apply_deploy
from .client import AirbyteClient
from .desired import DesiredSet, desired_sources
from .model import DeployPlan
from .planner import plan_deploy
from .settings import AirbyteSettings, read_settings
from .state import DeployState, deploy_state_path, read_deploy_state, write_deploy_state


def default_client(settings: AirbyteSettings, ctx: Context) -> AirbyteClient:
    return AirbyteClient(settings.api_url, ctx.env)


@dataclass(frozen=True)
class PlannedDeploy:
    settings: AirbyteSettings
    desired: DesiredSet
    state: DeployState
    state_path: Path
    plan: DeployPlan


def make_deploy_plan(ctx: Context, settings: AirbyteSettings, client: AirbyteClient) -> PlannedDeploy:
    """One list of sources (and of connections when a destination is set), paginated; no call per source.

    The lists are fetched in threads while the definitions are read: the two waits overlap instead of adding up.
    """
    path = deploy_state_path(ctx.project.state_dir, settings.workspace_id)
    state = read_deploy_state(path, settings.workspace_id)
    recorded_connections = any(r.connection is not None for r in state.sources.values())
    with ThreadPoolExecutor(max_workers=2) as pool:
        sources = pool.submit(client.list_sources, settings.workspace_id)
        connections = (
            pool.submit(client.list_connections, settings.workspace_id)
            if settings.destination_id or recorded_connections
            else None
        )
        inputs = load_inputs(ctx)
        desired = desired_sources(inputs.definitions, inputs.diagnostics, inputs.states.good, ctx.env, settings)
        remote = sources.result()  # re-raises the client's error, if any
        listed = connections.result() if connections is not None else []
    plan = plan_deploy(settings, desired, state, remote, listed)
    return PlannedDeploy(settings, desired, state, path, plan)


def run_deploy(
    ctx: Context, planned: PlannedDeploy, client: AirbyteClient, on_done: Callable[[Outcome], None] = lambda _: None
) -> DeployReport:
    def save(state: DeployState) -> None:
        write_deploy_state(planned.state_path, state, root=ctx.project.root)

    return apply_deploy(planned.plan, planned.desired, planned.state, client, save, on_done)


def read_deploy_settings(ctx: Context) -> AirbyteSettings:
    return read_settings(ctx.project.root)
