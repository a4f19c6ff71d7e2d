# drivetrain — the two commands of the README, and a few helpers.
#   make demo   create .venv, install, run the main job on embedded defaults
#   make test   create .venv if needed, install dev extras, lint, type-check, check
#               the architecture contract, run the tests
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
PIP_FLAGS := --disable-pip-version-check --quiet

.PHONY: demo test lint typecheck contract pytest bench lock clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "drivetrain needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install $(PIP_FLAGS) --upgrade pip

$(VENV)/.runtime: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) install $(PIP_FLAGS) -c constraints.txt -e .
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime
	$(PIP) install $(PIP_FLAGS) -c constraints.txt -e ".[dev]"
	@touch $@

# make demo SERVE=1 leaves the web console running on the demo's data afterwards.
demo: $(VENV)/.runtime
	$(BIN)/drivetrain demo $(if $(SERVE),--serve)

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests benchmarks

typecheck: $(VENV)/.dev
	$(BIN)/mypy

contract: $(VENV)/.dev
	$(BIN)/lint-imports

pytest: $(VENV)/.dev
	$(BIN)/pytest

test: lint typecheck contract pytest

bench: $(VENV)/.dev
	$(BIN)/python benchmarks/bench_simulator.py

# Re-pin every dependency after changing pyproject.toml.
lock: $(BIN)/python
	$(PIP) install $(PIP_FLAGS) -e ".[dev]"
	$(PIP) freeze --exclude-editable | grep -v '^-e ' > constraints.txt

clean:
	rm -rf $(VENV) .drivetrain .pytest_cache .mypy_cache .ruff_cache
