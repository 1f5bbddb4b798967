"""`python -m bmad_gitops` runs the CLI (this repo's own pre-commit hook uses it)."""

from .cli import run

run()
