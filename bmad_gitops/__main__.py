"""`python -m bmad_gitops` runs the CLI (this repo's own pre-commit hook uses it)."""

from .cli import run

if __name__ == "__main__":  # the service's spawned workers import this module: they must not run the CLI
    run()
