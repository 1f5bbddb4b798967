"""The `bmad-gitops` command line: parse flags, call the pipeline, pick a renderer, return an exit code."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from . import __version__

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
    return int(result) if isinstance(result, int) else 0


def run() -> None:
    sys.exit(main())
