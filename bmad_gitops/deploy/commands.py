"""`bmad-gitops deploy plan|apply`: flags -> deploy pipeline -> view -> exit code, nothing else.

Exit codes as for `plan`: 0 no changes, 1 error, 2 changes (with --detailed-exitcode). `apply` exits 0 when
everything was carried out (or there was nothing to do), 1 otherwise.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

FORMATS = ("text", "json", "markdown", "github")  # tests check this matches DEPLOY_RENDERERS


def _color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


@click.group()
def deploy() -> None:
    """Deploy the sources to an Airbyte workspace (settings: `deploy.airbyte` in bmad-gitops.yaml)."""


@deploy.command("plan")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True, help="Output format.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 with no changes, 1 on error, 2 with changes.")
def plan_command(fmt: str, detailed_exitcode: bool) -> int:
    """Show what `deploy apply` would create, change or destroy in Airbyte (reads only)."""
    from ..engine import open_context
    from .pipeline import default_client, make_deploy_plan, read_deploy_settings
    from .render import DEPLOY_RENDERERS

    ctx = open_context(Path.cwd(), os.environ)
    settings = read_deploy_settings(ctx)
    with default_client(settings, ctx) as client:
        planned = make_deploy_plan(ctx, settings, client)
    click.echo(DEPLOY_RENDERERS[fmt](planned.plan, color=_color()), nl=False)
    if planned.plan.summary().errors:
        return 1
    return 2 if detailed_exitcode and planned.plan.has_changes else 0


@deploy.command("apply")
@click.option("--auto-approve", is_flag=True, help="Apply without asking.")
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True, help="Format of the plan shown."
)
def apply_command(auto_approve: bool, fmt: str) -> int:
    """Plan, ask, then create, update and delete the Airbyte sources (and connections) this project owns."""
    from ..engine import open_context
    from ..state import apply_lock
    from .pipeline import default_client, make_deploy_plan, read_deploy_settings, run_deploy
    from .render import DEPLOY_RENDERERS, render_report_line, render_report_summary

    ctx = open_context(Path.cwd(), os.environ)
    settings = read_deploy_settings(ctx)
    with apply_lock(ctx.project.root / ".bmad-gitops"), default_client(settings, ctx) as client:
        planned = make_deploy_plan(ctx, settings, client)
        click.echo(DEPLOY_RENDERERS[fmt](planned.plan, color=_color()), nl=False)
        failed = planned.plan.summary().errors > 0
        if not planned.plan.has_changes:
            return 1 if failed else 0
        if not auto_approve:
            if not sys.stdin.isatty():
                raise click.ClickException("refusing to deploy without confirmation: pass --auto-approve")
            if not click.confirm("Deploy these changes?", default=False):
                click.echo("Deploy cancelled.")
                return 1
        report = run_deploy(ctx, planned, client, lambda outcome: click.echo(render_report_line(outcome)))
    click.echo(render_report_summary(report))
    return 1 if report.failed or failed else 0
