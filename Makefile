# Two commands set everything up on a fresh machine with Python 3.10+: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench specs schemas clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip --progress-bar off
	$(BIN)/python -m pip install --progress-bar off -e '.[live,dev]' --config-settings editable_mode=compat
	touch $@

demo: $(BIN)/.installed
	PATH="$(abspath $(BIN)):$$PATH" bash scripts/demo.sh

lint: $(BIN)/.installed
	$(BIN)/ruff check bmad_gitops tests benchmarks scripts
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_validate.py

specs: $(BIN)/.installed
	$(BIN)/python scripts/snapshot_connector_specs.py

schemas: $(BIN)/.installed
	$(BIN)/python scripts/build_schemas.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .bmad-gitops
