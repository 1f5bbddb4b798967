"""The `bmad-gitops` command line: parse flags, call the pipeline, pick a renderer, return an exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from . import __version__

if TYPE_CHECKING:
    from .engine import Context
    from .model import Plan

# Format names, listed here so `--help` needs no renderer import; tests check they match the renderer tables.
DIAGNOSTIC_FORMATS = ("github", "json", "text")
PLAN_FORMATS = ("text", "json", "markdown", "github")
CATALOG_FORMATS = ("json", "text")
APPLY_FORMATS = ("text", "json")
F = TypeVar("F", bound=Callable[..., Any])
PLAN_FORMAT_HELP = "text for people, json for tools, markdown for a PR comment, github for workflow annotations."


def _format_option(choices: Sequence[str], help_text: str) -> Callable[[F], F]:
    """The one `--format` option: its choices are a renderer table's keys (a test keeps them equal)."""
    return click.option(
        "--format", "fmt", type=click.Choice(list(choices)), default="text", show_default=True, help=help_text
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bmad-gitops")
def cli() -> None:
    """Config-as-code for data sources: validate, plan and apply the definitions in sources/."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=True, path_type=Path))
@_format_option(sorted(DIAGNOSTIC_FORMATS), "Output format.")
def validate(paths: tuple[Path, ...], fmt: str) -> int:
    """Check definitions offline: YAML, schema, secrets, names and local paths.

    With no PATHS, checks every definition in sources/. With PATHS (as pre-commit passes them), checks those
    files (or the definitions inside those folders) plus the rules that span files. Exit 0 when valid, 1 when
    not, 2 on a usage error (including outside a project).
    """
    from . import engine
    from .render.diagnostics import RENDERERS

    result = engine.validate(engine.open_project(Path.cwd()), paths)
    click.echo(RENDERERS[fmt](result.diagnostics, result.checked), nl=False)
    return 0 if result.ok else 1


@cli.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--hook-repo",
    metavar="URL",
    help="Published hook repository to pin in .pre-commit-config.yaml and CI (with --rev).",
)
@click.option("--rev", metavar="TAG", help="Tag or commit of --hook-repo.")
@click.option(
    "--shards",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Split the pull-request plan over N matrix jobs and merge it back (large monorepos).",
)
@click.option(
    "--bmad",
    is_flag=True,
    help="Also install a BMad v4 data-source task and agent, and a v6 skill, that drive bmad-gitops.",
)
def init(directory: Path, hook_repo: str | None, rev: str | None, shards: int, bmad: bool) -> int:
    """Set up a repository: sources/, pre-commit hook, pull-request workflow and a README snippet (offline)."""
    from .scaffold import init_repository

    for line in init_repository(directory, hook_repo=hook_repo, rev=rev, shards=shards, bmad=bmad):
        click.echo(line)
    return 0


@cli.command()
@click.argument("kind", type=click.Choice(["csv", "json", "excel", "postgres", "mysql", "api", "s3"]))
@click.argument("name")
@click.option("--force", is_flag=True, help="Overwrite an existing definition.")
def new(kind: str, name: str, force: bool) -> int:
    """Write a commented definition sources/NAME.yaml of KIND to fill in."""
    from . import engine
    from .scaffold import write_definition

    path = write_definition(engine.open_project(Path.cwd(), require=False), kind, name, force=force)
    click.echo(f"wrote {path}; fill in the placeholders, then run `bmad-gitops validate {path}`")
    return 0


LIVE_HINT = "this command needs the live engine: pip install 'bmad-gitops[live]'"


def _require_live() -> None:
    from importlib.util import find_spec

    if find_spec("airbyte") is None or find_spec("pydantic") is None:
        raise click.ClickException(LIVE_HINT)


def _context() -> Context:
    import os

    from . import engine

    _library_logs_to_file()
    return engine.open_context(Path.cwd(), os.environ)


def _library_logs_to_file() -> None:
    """Libraries' log lines (urllib3 retries, connector LOG records) go to a file, never raw to the terminal."""
    import logging

    from .cachedir import cache_dir

    root = logging.getLogger()
    if any(getattr(h, "_bmad_gitops", False) for h in root.handlers):
        return
    try:
        folder = cache_dir() / "logs"
        folder.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(folder / "bmad-gitops.log", encoding="utf-8")
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._bmad_gitops = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    logging.captureWarnings(True)


@cli.command()
def connectors() -> int:
    """List the connectors bmad-gitops can run: family, pinned and installed versions, availability."""
    from . import engine

    for info in engine.connectors():
        if info.unavailable:
            state = f"not available: {info.unavailable}"
        elif info.pinned == "native":
            state = f"ready ({info.installed or 'built in'}, nothing to install)"
        elif info.installed:
            state = f"installed {info.installed}"
        else:
            state = f"not installed yet (installs {info.pinned} on first use)"
        click.echo(f"{info.connector:30} {info.family:9} {state}")
    return 0


@cli.command()
@click.argument("source")
def check(source: str) -> int:
    """Test the connection to SOURCE (a definition's name)."""
    _require_live()
    from . import engine

    engine.check(_context(), source)
    click.echo(f"{source}: connection OK")
    return 0


@cli.command()
@click.argument("source", required=False)
@click.option("--openapi", metavar="URL", help="List the endpoints of an API's OpenAPI 3 document instead.")
@_format_option(sorted(CATALOG_FORMATS), "Output format.")
@click.option(
    "--sample",
    type=click.IntRange(0, 1000),
    default=0,
    show_default=True,
    help="Also read this many records per stream (sensitive columns masked).",
)
def discover(source: str | None, fmt: str, sample: int, openapi: str | None) -> int:
    """Show SOURCE's streams, columns and types, keys, cursors and sync modes (table sizes for databases, objects
    for buckets); with --openapi URL, the endpoints an API's OpenAPI document offers instead."""
    _require_live()
    from . import engine
    from .render.catalog_text import CATALOG_RENDERERS

    if openapi is not None:
        base, endpoints = engine.openapi_endpoints(openapi)
        click.echo(
            f"{openapi}: {len(endpoints)} GET endpoint(s) returning lists of objects (base URL: {base or 'none'})"
        )
        for endpoint in endpoints:
            where = ".".join(endpoint.records_path) or "(the response itself)"
            key = ", ".join(endpoint.primary_key) or "none"
            click.echo(f"  {endpoint.name}  GET {endpoint.path}  records: {where}  primary key: {key}")
            for column, kind in sorted(endpoint.columns.items()):
                click.echo(f"    {column}  {kind}")
        return 0
    if source is None:
        raise click.UsageError("give a SOURCE, or --openapi URL")
    found = engine.discover(_context(), source, sample=sample)
    click.echo(CATALOG_RENDERERS[fmt](found), nl=False)
    return 0


@cli.command(name="import")
@click.argument("kind", type=click.Choice(["postgres", "mysql", "file", "api"]))
@click.argument("target", metavar="NAME_OR_PATH")
@click.option("--host", help="Database host (postgres, mysql).")
@click.option("--port", type=int, help="Database port (default 5432 for postgres, 3306 for mysql).")
@click.option("--database", help="Database name (postgres, mysql).")
@click.option("--username", help="User to connect as (postgres, mysql).")
@click.option("--password-env", metavar="VAR", help="Env var holding the password; the definition gets ${VAR}.")
@click.option("--schema", "schemas", multiple=True, help="PostgreSQL schema to discover (repeatable; default public).")
@click.option("--tables", default="", help="Tables to select, comma-separated fnmatch patterns ('orders,customers*').")
@click.option("--name", help="Source name for `import file` (default: the file's name in snake_case).")
@click.option("--openapi", metavar="URL", help="`import api NAME --openapi URL`: the API's OpenAPI 3 document.")
@click.option("--endpoints", default="", help="Endpoints to select for `import api`, comma-separated patterns.")
@click.option("--force", is_flag=True, help="Overwrite an existing definition.")
def import_(
    kind: str,
    target: str,
    host: str | None,
    port: int | None,
    database: str | None,
    username: str | None,
    password_env: str | None,
    schemas: tuple[str, ...],
    tables: str,
    name: str | None,
    openapi: str | None,
    endpoints: str,
    force: bool,
) -> int:
    """Write sources/NAME.yaml from a live source: its streams, keys, cursor candidates and expected columns.

    `import postgres NAME --host ... --database ... --username ... --password-env VAR` selects tables of a
    database; `import file data/x.csv` describes a local file; `import api NAME --openapi URL` chooses endpoints.
    """
    _require_live()
    from . import engine
    from .importer import parse_table_patterns
    from .render.diagnostics import render_text

    ctx = _context()
    if kind == "file":
        result = engine.import_file(ctx, target, name=name, force=force)
    elif kind == "api":
        if openapi is None:
            raise click.UsageError("`import api NAME` needs --openapi URL")
        result = engine.import_api(ctx, target, openapi, endpoints=parse_table_patterns(endpoints), force=force)
    else:
        connection: dict[str, object] = {
            "host": host,
            "port": port or (5432 if kind == "postgres" else 3306),
            "database": database,
            "username": username,
        }
        if schemas:
            connection["schemas"] = list(schemas)
        result = engine.import_database(
            ctx, kind, target, connection, password_env=password_env, tables=parse_table_patterns(tables), force=force
        )
    shown = ctx.project.display(result.path)
    if result.diagnostics:
        click.echo(render_text(result.diagnostics, 1), err=True, nl=False)
    click.echo(f"wrote {shown} with {result.streams} stream(s); review it, then run `bmad-gitops plan`")
    return 1 if any(d.severity == "error" for d in result.diagnostics) else 0


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_format_option(PLAN_FORMATS, PLAN_FORMAT_HELP)
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
    help="Discover live schemas (file sources cached while their inputs are unchanged; remote ones always asked).",
)
@click.option(
    "--remote-cache",
    "remote_cache",
    type=click.FloatRange(min=0),
    default=None,
    metavar="SECONDS",
    help="Reuse a database, bucket or API catalog discovered at most SECONDS ago (default: ask them every time).",
)
@click.option(
    "--shard",
    metavar="K/N",
    callback=lambda ctx, param, value: _parse_shard(value),
    help="Plan only share K of N (e.g. 2/4) for a CI matrix; `plan-merge` joins the saved shares.",
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
    remote_cache: float | None,
    shard: tuple[int, int] | None,
    detailed_exitcode: bool,
) -> int:
    """Show what apply would change: config vs applied state, live drift, config vs live.

    PATHS limit the plan to those definition files.
    """
    _require_live()
    from . import engine
    from .planner import PlanOptions
    from .render.diagnostics import render_text
    from .render.plan_json import render_plan_json
    from .render.views import PLAN_RENDERERS

    ctx = _context()
    changed = engine.changed_since(ctx.project, changed_since) if changed_since else None
    options = PlanOptions(
        targets=targets,
        paths_given=bool(paths),
        changed=changed,
        parallelism=parallelism,
        refresh=refresh,
        shard=shard,
        remote_cache_ttl=remote_cache,
    )
    with _progress("discovering") as status:
        result = engine.plan(ctx, options, paths, lambda name: status(f"discovering {name}"))
    if result.diagnostics:
        click.echo(render_text(result.diagnostics, len({d.path for d in result.diagnostics})), err=True, nl=False)
    if out is not None:
        from .atomic import atomic_write_text

        atomic_write_text(out.absolute(), render_plan_json(result.plan), root=ctx.project.root)
    click.echo(PLAN_RENDERERS[fmt](result.plan, color=_color()), nl=False)
    if out is not None and fmt == "text":
        click.echo(f"Saved the plan to {out}; apply exactly it with `bmad-gitops apply {out}`.")
    return _plan_exit_code(result.plan, bool(result.diagnostics), detailed_exitcode)


def _plan_exit_code(the_plan: Plan, invalid: bool, detailed: bool) -> int:
    summary = the_plan.summary()
    if invalid or summary.errors:
        return 1
    if detailed and (the_plan.has_changes or summary.drift or summary.unapplied):
        return 2
    return 0


def _parse_shard(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    k, sep, n = value.partition("/")
    if not (sep and k.isascii() and n.isascii() and k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
        raise click.BadParameter(f"'{value}' is not K/N with 1 <= K <= N, e.g. 2/4")
    return int(k), int(n)


@cli.command(name="plan-merge")
@click.argument("plan_files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_format_option(PLAN_FORMATS, PLAN_FORMAT_HELP)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Save the merged plan (JSON).")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 with no changes, 1 on error, 2 with changes.")
def plan_merge(plan_files: tuple[Path, ...], fmt: str, out: Path | None, detailed_exitcode: bool) -> int:
    """Merge the saved shares of `plan --shard K/N --out FILE` into one plan, shown like `plan` shows it."""
    from . import engine
    from .render.plan_json import render_plan_json
    from .render.views import PLAN_RENDERERS

    merged = engine.merge_plans(plan_files)
    if out is not None:
        from .atomic import atomic_write_text

        project = engine.open_project(Path.cwd(), require=False)
        atomic_write_text(out.absolute(), render_plan_json(merged), root=project.root)
    click.echo(PLAN_RENDERERS[fmt](merged, color=_color()), nl=False)
    return _plan_exit_code(merged, False, detailed_exitcode)


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
@_format_option(APPLY_FORMATS, "How to print the apply report: text for people, json for tools.")
def apply(
    plan_file: Path | None,
    auto_approve: bool,
    sample: int | None,
    show_sample: bool,
    update_stories: bool,
    parallelism: int,
    fmt: str,
) -> int:
    """Apply PLAN_FILE exactly, or plan first and ask; run test extractions and record the applied state."""
    _require_live()
    from . import engine
    from .applier import ApplyOptions, SourceResult
    from .planner import PlanResult
    from .render.diagnostics import render_text
    from .render.plan_text import render_plan_text
    from .render.views import apply_renderers

    ctx = _context()

    status = _Status("discovering")

    def confirm(result: PlanResult) -> bool:
        status.pause()  # the plan and the question need the terminal to themselves
        if result.diagnostics:
            click.echo(render_text(result.diagnostics, len({d.path for d in result.diagnostics})), err=True, nl=False)
        # With --format json, stdout carries the report alone: the plan goes to stderr.
        click.echo(render_plan_text(result.plan, color=_color()), nl=False, err=fmt == "json")
        if not auto_approve:
            if not sys.stdin.isatty():
                raise click.ClickException(
                    "refusing to apply without confirmation: pass --auto-approve or apply a saved plan"
                )
            if not click.confirm("Apply these changes?", default=False):
                click.echo("Apply cancelled.")
                return False
        status.resume()
        status(f"applying {sum(1 for s in result.plan.sources if s.action != 'no-op')} source(s)")
        return True

    options = ApplyOptions(
        sample=sample, today=ctx.clock().date().isoformat(), update_stories=update_stories, parallelism=parallelism
    )

    done: list[str] = []

    def applied(result: SourceResult) -> None:  # as each source finishes, not when it starts
        done.append(result.name)
        if _color():
            status(f"applied {len(done)} source(s); last: {result.name} ({result.outcome})")
        else:
            click.echo(f"progress: {result.name} {result.outcome}", err=fmt == "json")

    status.resume()
    try:
        run = engine.apply(
            ctx,
            options,
            plan_file=plan_file,
            confirm=confirm,
            on_plan_progress=lambda name: status(f"discovering {name}"),
            on_applied=applied,
        )
    finally:
        status.pause()
    if run.report is None:
        if not run.plan.plan.has_changes:  # confirm() never ran: say here what the plan found
            if run.plan.diagnostics:
                diagnostics = run.plan.diagnostics
                click.echo(render_text(diagnostics, len({d.path for d in diagnostics})), err=True, nl=False)
            click.echo(render_plan_text(run.plan.plan, color=_color()), nl=False)
            return 1 if run.plan.diagnostics or run.plan.plan.summary().errors else 0
        return 1
    view = apply_renderers()[fmt]
    click.echo(view(run.report, show_samples=show_sample, root=ctx.project.root), nl=False)
    return 1 if any(r.outcome == "failed" for r in run.report.results) else 0


@cli.command()
@click.option(
    "--update-stories", is_flag=True, help="Maintain a marked 'Data Sources' block in each linked BMad story."
)
def lineage(update_stories: bool) -> int:
    """Rebuild docs/lineage/ from the applied state and the BMad stories, touching no source."""
    _require_live()
    from . import engine

    ctx = _context()
    result = engine.lineage(ctx, update_stories=update_stories)
    for path in (*result.docs, *result.stories):
        click.echo(f"updated {ctx.project.display(path)}")
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if not result.docs and not result.stories:
        click.echo("Lineage docs are up to date.")
    return 0


def _color() -> bool:
    import os

    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


class _Status:
    """A transient spinner on stderr naming what is being worked on; nothing at all in logs and pipes."""

    def __init__(self, verb: str) -> None:
        self._live = None
        if _color():
            from rich.console import Console

            self._live = Console(stderr=True).status(f"{verb}...")

    def __call__(self, what: str) -> None:
        if self._live is not None:
            self._live.update(what)

    def pause(self) -> None:
        if self._live is not None:
            self._live.stop()

    def resume(self) -> None:
        if self._live is not None:
            self._live.start()


@contextmanager
def _progress(verb: str) -> Iterator[_Status]:
    status = _Status(verb)
    status.resume()
    try:
        yield status
    finally:
        status.pause()


def _register_front_ends() -> None:
    """Command groups that live with their feature (cheap to import: click only; the rest loads on use)."""
    from .deploy.commands import deploy
    from .service.commands import features, keys, serve

    for command in (deploy, serve, keys, features):
        cli.add_command(command)


_register_front_ends()


def main(argv: Sequence[str] | None = None) -> int:
    from .errors import BmadGitopsError, ProjectError, UsageError

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
    except BmadGitopsError as exc:  # a mistake the user can fix: one line, and what to do
        click.echo(f"error: {exc.message}", err=True)
        if exc.hint:
            click.echo(f"  hint: {exc.hint}", err=True)
        return 2 if isinstance(exc, (ProjectError, UsageError)) else 1
    except Exception as exc:  # anything else is a bug: one line, and how to see the details
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
