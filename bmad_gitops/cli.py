"""The `bmad-gitops` command line: parse flags, call the pipeline, pick a renderer, return an exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import __version__

if TYPE_CHECKING:
    from .project import Project
    from .resolve import ResolvedSource

FORMATS = click.Choice(["text", "json", "github"])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bmad-gitops")
def cli() -> None:
    """Config-as-code for data sources: validate, plan and apply the definitions in sources/."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=True, path_type=Path))
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True, help="Output format.")
def validate(paths: tuple[Path, ...], fmt: str) -> int:
    """Check definitions offline: YAML, schema, secrets, names and local paths.

    With no PATHS, checks every definition in sources/. With PATHS (as pre-commit passes them), checks those
    files (or the definitions inside those folders) plus the rules that span files. Exit 0 when valid, 1 when
    not, 2 on a usage error.
    """
    from .project import DEFINITION_SUFFIXES, ProjectConfigError, load_project
    from .render.diagnostics import RENDERERS
    from .validate import validate_files

    try:
        project = load_project()
    except ProjectConfigError as exc:
        raise click.UsageError(str(exc)) from None
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(p for p in path.rglob("*") if p.suffix in DEFINITION_SUFFIXES) if path.is_dir() else [path])
    diagnostics = validate_files(project, files)
    checked = len(files) if paths else len(project.definition_files())
    click.echo(RENDERERS[fmt](diagnostics, checked), nl=False)
    return 1 if any(d.severity == "error" for d in diagnostics) else 0


@cli.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
def init(directory: Path) -> int:
    """Set up a repository: sources/, pre-commit hook, CI workflow and a README snippet."""
    from .scaffold import init_repository

    for line in init_repository(directory):
        click.echo(line)
    return 0


@cli.command()
@click.argument("kind", type=click.Choice(["csv", "json", "excel", "postgres", "mysql", "api", "s3"]))
@click.argument("name")
@click.option("--force", is_flag=True, help="Overwrite an existing definition.")
def new(kind: str, name: str, force: bool) -> int:
    """Write a commented definition sources/NAME.yaml of KIND to fill in."""
    from .project import load_project
    from .scaffold import ScaffoldError, write_definition

    try:
        path = write_definition(load_project(), kind, name, force=force)
    except ScaffoldError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"wrote {path}; fill in the placeholders, then run `bmad-gitops validate {path}`")
    return 0


LIVE_HINT = "this command needs the live engine: pip install 'bmad-gitops[live]'"


def _require_live() -> None:
    from importlib.util import find_spec

    if find_spec("airbyte") is None or find_spec("pydantic") is None:
        raise click.ClickException(LIVE_HINT)


def _project() -> Project:
    from .project import ProjectConfigError, load_project

    try:
        return load_project()
    except ProjectConfigError as exc:
        raise click.UsageError(str(exc)) from None


def _one_source(project: Project, name: str) -> ResolvedSource:
    from .definitions import load_definitions
    from .resolve import ResolveError, load_env, resolve

    definitions, diagnostics = load_definitions(project)
    found = next((d for d in definitions if d.name == name), None)
    if found is None:
        broken = [d for d in diagnostics if Path(d.path).stem == name]
        if broken:
            first = broken[0]
            raise click.ClickException(
                f"{first.path}:{first.line}:{first.col}: {first.message} (run `bmad-gitops validate`)"
            )
        known = ", ".join(d.name for d in definitions) or "none"
        raise click.ClickException(
            f"no source named '{name}' in {project.display(project.sources_dir)}/ (known: {known})"
        )
    try:
        return resolve(found, load_env(project.root))
    except ResolveError as exc:
        raise click.ClickException(str(exc)) from None


@cli.command()
def connectors() -> int:
    """List the connectors bmad-gitops can run, with installed versions."""
    from .connectors.pyairbyte import installed_version
    from .connectors.registry import PLANNED, SUPPORTED

    for name, pinned in SUPPORTED.items():
        version = installed_version(name)
        state = f"installed {version}" if version else f"not installed yet (installs {pinned} on first use)"
        click.echo(f"{name:30} {state}")
    for name, reason in PLANNED.items():
        click.echo(f"{name:30} not available: {reason}")
    return 0


@cli.command()
@click.argument("source")
def check(source: str) -> int:
    """Test the connection to SOURCE."""
    _require_live()
    from .connectors.registry import backend_for
    from .discovery import connector_config
    from .errors import ConnectorError

    project = _project()
    resolved = _one_source(project, source)
    try:
        backend_for(resolved.call.connector).check(connector_config(resolved, project.root))
    except ConnectorError as exc:
        raise click.ClickException(f"{source}: check failed: {exc}") from None
    click.echo(f"{source}: connection OK")
    return 0


@cli.command()
@click.argument("source")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def discover(source: str, fmt: str) -> int:
    """Show SOURCE's streams, columns and types, keys, cursors and sync modes."""
    _require_live()
    from .connectors.registry import known_version
    from .discovery import discover_cached
    from .errors import ConnectorError
    from .planner import cache_dir
    from .render.catalog_text import render_catalog_json, render_catalog_text

    project = _project()
    resolved = _one_source(project, source)
    version = known_version(resolved.call.connector) or "unknown"
    try:
        catalog = discover_cached(resolved, project.root, cache_dir(project), version)
    except ConnectorError as exc:
        raise click.ClickException(f"{source}: discovery failed: {exc}") from None
    render = render_catalog_json if fmt == "json" else render_catalog_text
    click.echo(render(source, resolved.call.connector, version, catalog), nl=False)
    return 0


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Save the plan (JSON) for `apply PLAN_FILE`."
)
@click.option("--target", "targets", multiple=True, metavar="NAME", help="Plan only this source (repeatable).")
@click.option("--changed-since", metavar="GIT_REF", help="Plan only sources whose definition changed since GIT_REF.")
@click.option(
    "--parallelism", type=click.IntRange(1, 64), default=4, show_default=True, help="Sources discovered at once."
)
@click.option(
    "--refresh/--no-refresh",
    default=True,
    show_default=True,
    help="Discover live schemas (cached while inputs are unchanged).",
)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 with no changes, 1 on error, 2 with changes.")
def plan(
    paths: tuple[Path, ...],
    fmt: str,
    out: Path | None,
    targets: tuple[str, ...],
    changed_since: str | None,
    parallelism: int,
    refresh: bool,
    detailed_exitcode: bool,
) -> int:
    """Show what apply would change: config vs applied state, live drift, config vs live."""
    _require_live()
    from .planner import PlanOptions, UnknownTargetError, make_plan
    from .render.diagnostics import render_text
    from .render.plan_json import render_plan_json
    from .render.plan_markdown import render_plan_markdown
    from .render.plan_text import render_plan_text

    project = _project()
    changed = _changed_since(project, changed_since) if changed_since else None
    options = PlanOptions(targets=targets, paths=paths, changed=changed, parallelism=parallelism, refresh=refresh)
    try:
        result = make_plan(project, options)
    except UnknownTargetError as exc:  # exit 1, not 2: --detailed-exitcode gives 2 the meaning "changes"
        raise click.ClickException(str(exc)) from None
    if result.diagnostics:
        click.echo(render_text(result.diagnostics, len({d.path for d in result.diagnostics})), err=True, nl=False)
    if out is not None:
        out.write_text(render_plan_json(result.plan), encoding="utf-8")
    if fmt == "json":
        click.echo(render_plan_json(result.plan), nl=False)
    elif fmt == "markdown":
        click.echo(render_plan_markdown(result.plan), nl=False)
    else:
        click.echo(render_plan_text(result.plan, color=_color()), nl=False)
    if out is not None and fmt == "text":
        click.echo(f"Saved the plan to {out}; apply exactly it with `bmad-gitops apply {out}`.")
    if result.diagnostics or result.plan.summary().errors:
        return 1
    if detailed_exitcode and (result.plan.has_changes or result.plan.summary().drift):
        return 2
    return 0


@cli.command()
@click.argument("plan_file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--auto-approve", is_flag=True, help="Apply without asking.")
@click.option(
    "--sample",
    type=click.IntRange(1, 100000),
    default=None,
    help="Records read per stream in the test extraction (default: the definition's extraction.sample, else 100).",
)
@click.option("--show-sample", is_flag=True, help="Print a few sampled records (sensitive columns masked).")
@click.option(
    "--update-stories", is_flag=True, help="Maintain a marked 'Data Sources' block in each linked BMad story."
)
@click.option(
    "--parallelism", type=click.IntRange(1, 64), default=4, show_default=True, help="Sources extracted at once."
)
def apply(
    plan_file: Path | None,
    auto_approve: bool,
    sample: int | None,
    show_sample: bool,
    update_stories: bool,
    parallelism: int,
) -> int:
    """Apply PLAN_FILE exactly, or plan first and ask; run test extractions and record the applied state."""
    _require_live()
    import datetime

    from .applier import ApplyOptions, PlanFileError, StalePlanError, apply_plan, read_plan_file
    from .planner import make_plan
    from .render.apply_text import render_apply_text
    from .render.plan_text import render_plan_text
    from .state import StateLockedError

    project = _project()
    if plan_file is not None:
        try:
            the_plan = read_plan_file(plan_file)
        except PlanFileError as exc:
            raise click.ClickException(str(exc)) from None
    else:
        result = make_plan(project)
        if result.diagnostics:
            from .render.diagnostics import render_text

            click.echo(render_text(result.diagnostics, len({d.path for d in result.diagnostics})), err=True, nl=False)
        the_plan = result.plan
        click.echo(render_plan_text(the_plan, color=_color()), nl=False)
        if not the_plan.has_changes:
            return 1 if result.diagnostics or the_plan.summary().errors else 0
        if not auto_approve:
            if not sys.stdin.isatty():
                raise click.ClickException(
                    "refusing to apply without confirmation: pass --auto-approve or apply a saved plan"
                )
            if not click.confirm("Apply these changes?", default=False):
                click.echo("Apply cancelled.")
                return 1
    options = ApplyOptions(
        sample=sample, today=datetime.date.today().isoformat(), update_stories=update_stories, parallelism=parallelism
    )
    try:
        with _progress(len(the_plan.sources)) as progress:
            report = apply_plan(project, the_plan, options, progress=progress)
    except (StalePlanError, StateLockedError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(render_apply_text(report, show_samples=show_sample, root=project.root), nl=False)
    return 1 if any(r.outcome == "failed" for r in report.results) else 0


@cli.command()
@click.option(
    "--update-stories", is_flag=True, help="Maintain a marked 'Data Sources' block in each linked BMad story."
)
def lineage(update_stories: bool) -> int:
    """Rebuild docs/lineage/ from the applied state and the BMad stories, touching no source."""
    _require_live()
    from .definitions import load_definitions
    from .lineage.docs import LineageDocsError
    from .lineage.refresh import refresh_lineage

    project = _project()
    try:
        result = refresh_lineage(project, load_definitions(project)[0], update_stories=update_stories)
    except LineageDocsError as exc:
        raise click.ClickException(str(exc)) from None
    for path in (*result.docs, *result.stories):
        click.echo(f"updated {project.display(path)}")
    if not result.docs and not result.stories:
        click.echo("Lineage docs are up to date.")
    return 0


def _color() -> bool:
    import os

    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


@contextmanager
def _progress(total: int) -> Iterator[Callable[[str], None]]:
    """A rich progress bar on a terminal; plain `applying NAME` lines in logs, pipes and under NO_COLOR."""
    if not _color():
        yield lambda name: click.echo(f"applying {name}")
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), transient=True
    ) as bar:
        task = bar.add_task("applying", total=total)
        started = 0

        def show(name: str) -> None:
            nonlocal started
            bar.update(task, description=f"applying {name}", completed=started)
            started += 1

        yield show
        bar.update(task, completed=total)


def _changed_since(project: Project, ref: str) -> frozenset[str]:
    import subprocess

    from .checks.names import source_name

    command = ["git", "diff", "--name-only", "--no-renames", ref, "--", str(project.sources_dir)]
    done = subprocess.run(command, cwd=project.root, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise click.UsageError(
            f"--changed-since {ref}: git could not compare ({done.stderr.strip().splitlines()[-1] if done.stderr.strip() else 'unknown error'})"
        )
    untracked = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard", "--", str(project.sources_dir)],
        cwd=project.root,
        capture_output=True,
        text=True,
        check=False,
    )
    files = [*done.stdout.splitlines(), *untracked.stdout.splitlines()]
    return frozenset(source_name(Path(f)) for f in files if f.endswith((".yaml", ".yml")))


def main(argv: Sequence[str] | None = None) -> int:
    try:
        result = cli.main(args=list(argv) if argv is not None else None, prog_name="bmad-gitops", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return int(exc.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        return 1
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    except Exception as exc:  # the last guard: a user gets one line, a developer sets BMAD_GITOPS_DEBUG=1
        import os

        if os.environ.get("BMAD_GITOPS_DEBUG"):
            raise
        click.echo(
            f"error: {type(exc).__name__}: {exc} (internal error; rerun with BMAD_GITOPS_DEBUG=1 for details)", err=True
        )
        return 1
    return int(result) if isinstance(result, int) else 0


def run() -> None:
    sys.exit(main())
