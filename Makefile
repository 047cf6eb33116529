# berdaya: every set-up step lives here, so a fresh clone needs only Python 3.11 and git.
# `make help` lists the targets.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
STUDY  ?= data/raw/demo/study.yml
OUT    ?= reports
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help report test test-fast bytecode lint typecheck pytest lab lock browser bench clean-reports demo-data

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	@echo "setting up $(VENV) from requirements.lock (the first time: a minute or two) ..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	# Exact pins from the lock file, then the project itself without re-resolving; compiled to
	# bytecode now, as part of the set-up, so neither the first run nor the first test pays it.
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	# The kernel lives inside .venv, so papermill and JupyterLab run the same interpreter.
	$(BIN)/python -m ipykernel install --sys-prefix --name berdaya --display-name "Python (berdaya)" >/dev/null
	# git strips notebooks as it reads them, so opening one in JupyterLab changes nothing to commit.
	bash scripts/strip-notebooks.sh $(BIN)/python
	touch $(STAMP)

report: $(STAMP) ## create .venv and run the whole pipeline on the demo survey into reports/
	$(BIN)/berdaya run $(STUDY) --out $(OUT)

test: $(STAMP) browser bytecode ## create or refresh .venv, then ruff, the import contracts, and mypy on src/ beside pytest
	$(BIN)/ruff check src tests $(wildcard benchmarks)
	$(BIN)/lint-imports
	bash scripts/test.sh $(BIN) $(PYTEST_ARGS)

test-fast: $(STAMP) bytecode ## pytest without the end-to-end tier (pipeline runs, notebooks, browser): the inner loop
	$(BIN)/python -m pytest -m "not slow and not e2e" $(PYTEST_ARGS)

# Every kernel, worker and command of a run imports pandas, matplotlib, statsmodels and nbconvert
# afresh: compiled once, each start costs half the CPU. Python writes these files itself unless
# PYTHONDONTWRITEBYTECODE is set (as in some containers); compileall writes them regardless, and
# only recompiles what changed (a second call takes about 3 s).
bytecode: $(STAMP) ## compile .venv and src/ to bytecode (__pycache__), so kernels and commands start fast
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib src

lint: $(STAMP) ## ruff and the import contracts of .importlinter (one-way layers, no cycles)
	$(BIN)/ruff check src tests $(wildcard benchmarks)
	$(BIN)/lint-imports

typecheck: $(STAMP) ## mypy on src/ only
	$(BIN)/mypy

lab: $(STAMP) ## open JupyterLab on notebooks/ with the project's kernel
	$(BIN)/jupyter lab notebooks/

browser: ## install Debian chromium for the report-rendering tests when it is missing
	@command -v chromium >/dev/null 2>&1 || bash scripts/install-chromium.sh

bench: $(STAMP) ## run the benchmarks (slow)
	$(BIN)/python -m pytest -m slow benchmarks -q -s

demo-data: $(STAMP) ## regenerate the bundled demo survey under data/raw/demo
	$(BIN)/berdaya demo-data --out data/raw/demo

lock: ## re-resolve requirements.lock from pyproject.toml (the documented way to upgrade pins)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip compile --quiet --universal --python-version 3.11 --extra dev pyproject.toml -o requirements.lock

clean-reports: ## delete generated reports and processed data
	rm -rf $(OUT)/* data/processed/*
	touch $(OUT)/.gitkeep data/processed/.gitkeep
