"""`init` and `new`: write the files a new repository or a new source starts from. Never overwrites silently."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from . import __version__
from .checks.names import NAME
from .checks.schema import SCHEMA_FILE, load_schema
from .errors import UsageError
from .packaged import packaged
from .project import Project

KIND_TEMPLATES = ("csv", "json", "excel", "postgres", "mysql", "api", "s3")
README_MARK = "<!-- bmad-gitops -->"


class ScaffoldError(UsageError):
    """A definition or the repository setup cannot be written; the message says why and what to do."""


def _template(name: str) -> str:
    return packaged("templates", name).read_text(encoding="utf-8")


def schema_reference(project: Project) -> str:
    """What a definition's editor line points at: the project's own schemas/ copy, else the published one."""
    schema = project.root / "schemas" / SCHEMA_FILE
    if schema.is_file():
        return Path(os.path.relpath(schema, project.sources_dir)).as_posix()
    return str(load_schema()["$id"])


def write_definition(project: Project, kind: str, name: str, *, force: bool = False) -> Path:
    if not NAME.match(name):
        raise ScaffoldError(
            f"'{name}' is not a valid source name: use lower snake_case, such as {name.lower().replace('-', '_')}"
        )
    if kind not in KIND_TEMPLATES:
        raise ScaffoldError(f"unknown kind '{kind}': choose one of {', '.join(KIND_TEMPLATES)}")
    target = project.sources_dir / f"{name}.yaml"
    if target.exists() and not force:
        raise ScaffoldError(f"{project.display(target)} already exists; pass --force to overwrite it")
    ref = schema_reference(project)
    text = _template(f"{kind}.yaml").replace("{schema}", ref).replace("{name}", name)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return Path(project.display(target))


# `init --bmad`: a BMad v4 expansion pack (agent, task, config) and a v6 skill, each naming the exact commands.
BMAD_FILES = {
    ".bmad-data-sources/config.yaml": "init/bmad/config.yaml",
    ".bmad-data-sources/agents/data-engineer.md": "init/bmad/data-engineer.md",
    ".bmad-data-sources/tasks/data-source-discovery.md": "init/bmad/data-source-discovery.md",
    "_bmad/bmad-gitops/skills/data-source-discovery/SKILL.md": "init/bmad/SKILL.md",
}


def init_repository(
    directory: Path, *, hook_repo: str | None = None, rev: str | None = None, shards: int = 1, bmad: bool = False
) -> Iterator[str]:
    """Create what is missing and say what was kept; running it twice changes nothing.

    By default the files work as written here and now, offline: the pre-commit hook runs the installed
    bmad-gitops (`repo: local`, `language: system`), so it names no repository or tag that may not exist. With
    `hook_repo` and `rev` (a published hook repository and its tag) the hook and CI install from there instead.
    """
    if not 1 <= shards <= 64:
        raise ScaffoldError(f"--shards {shards}: give 1 to 64 plan shares")
    if (hook_repo is None) != (rev is None):
        raise ScaffoldError("give the hook repository and its rev together (--hook-repo URL --rev TAG), or neither")
    if hook_repo is not None and rev is not None:
        precommit = _template("init/pre-commit-config-remote.yaml").replace("{hook_repo}", hook_repo)
        precommit = precommit.replace("{rev}", rev)
        install = f'pip install "bmad-gitops[live] @ git+{hook_repo}@{rev}"'
    else:
        precommit = _template("init/pre-commit-config.yaml")
        install = f'pip install "bmad-gitops[live]=={__version__}"'
    files = {
        "sources/.gitkeep": "",
        "schemas/" + SCHEMA_FILE: packaged("schemas", SCHEMA_FILE).read_text(encoding="utf-8"),
        ".pre-commit-config.yaml": precommit,
        ".github/workflows/bmad-gitops.yml": _workflow(install, shards),
    }
    if bmad:
        files.update({target: _template(source) for target, source in BMAD_FILES.items()})
    return _write_missing(directory.resolve(), files)


_SHARD_JOB = """\
  shard:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        shard: [{matrix}]
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: Install bmad-gitops
        run: {install}
      - name: Plan share ${{{{ matrix.shard }}}} of {shards}
        shell: bash
        run: |
          # Errors and changes are judged by the merge job, over the whole plan; a share only has to be written.
          bmad-gitops plan --shard "${{{{ matrix.shard }}}}/{shards}" --out "plan-share-${{{{ matrix.shard }}}}.json" > /dev/null || true
          test -s "plan-share-${{{{ matrix.shard }}}}.json"
      - uses: actions/upload-artifact@v4
        with:
          name: plan-share-${{{{ matrix.shard }}}}
          path: plan-share-${{{{ matrix.shard }}}}.json
"""
_DOWNLOAD_SHARES = """\
      - name: Download the plan shares
        uses: actions/download-artifact@v4
        with:
          pattern: plan-share-*
          path: shares
          merge-multiple: true
"""


def _workflow(install: str, shards: int) -> str:
    """The pull-request workflow; with shards, N matrix jobs plan a share each and the plan job merges them
    (the same steps, reading the shares instead of planning)."""
    text = _template("init/workflow.yml").replace("{install}", install)
    if shards == 1:
        return text
    job = _SHARD_JOB.format(matrix=", ".join(str(k) for k in range(1, shards + 1)), shards=shards, install=install)
    edits = (
        (
            "jobs:\n  plan:\n    runs-on: ubuntu-latest\n",
            "jobs:\n" + job + "  plan:\n    needs: shard\n    runs-on: ubuntu-latest\n",
        ),
        ("      - name: Validate\n", _DOWNLOAD_SHARES + "      - name: Validate\n"),
        (
            "bmad-gitops plan --format markdown --detailed-exitcode $PLAN_ARGS",
            "bmad-gitops plan-merge shares/*.json --format markdown --detailed-exitcode",
        ),
        ("bmad-gitops plan --format github $PLAN_ARGS", "bmad-gitops plan-merge shares/*.json --format github"),
    )
    for old, new in edits:
        if text.count(old) != 1:  # the template changed: fail loudly rather than write a half-sharded workflow
            raise ScaffoldError(f"cannot shard the workflow template: '{old.strip()[:40]}' not found once")
        text = text.replace(old, new)
    return text


# What a project must never commit: secrets (.env), caches and run records (.bmad-gitops/), and saved plans,
# which hold the config of every planned source.
GITIGNORE = (".env", ".bmad-gitops/", "*.plan.json", "plan.json")


def _write_missing(root: Path, files: dict[str, str]) -> Iterator[str]:
    for relative, content in files.items():
        target = root / relative
        if target.exists():
            yield f"kept    {relative} (already there)"
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
        yield f"created {relative}"
    yield _update_gitignore(root / ".gitignore")
    readme = root / "README.md"
    existing = readme.read_text(encoding="utf-8") if readme.exists() else ""
    if README_MARK in existing:
        yield "kept    README.md (already has the bmad-gitops section)"
    else:
        separator = "\n" if existing and not existing.endswith("\n\n") else ""
        readme.write_text(existing + separator + _template("init/README-snippet.md"), encoding="utf-8")
        yield ("updated" if existing else "created") + " README.md (bmad-gitops section)"
    yield "next: `bmad-gitops new csv my_source`, then `pre-commit install`"


def _update_gitignore(path: Path) -> str:
    """Append the patterns the file lacks, once; lines the user wrote are never touched."""
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    present = {line.strip() for line in existing.splitlines()}
    missing = [pattern for pattern in GITIGNORE if pattern not in present]
    if not missing:
        return "kept    .gitignore (already ignores what bmad-gitops needs)"
    block = "# bmad-gitops: secrets, caches and saved plans\n" + "".join(f"{p}\n" for p in missing)
    if existing:
        separator = "\n" if existing.endswith("\n") else "\n\n"
        path.write_text(existing + separator + block, encoding="utf-8")
        return f"updated .gitignore (added {', '.join(missing)})"
    path.write_text(block, encoding="utf-8")
    return "created .gitignore"
