# Every target sets itself up: a fresh clone needs only python3 (3.11+) and make.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STATE := $(CURDIR)/.state

# Prefect state stays inside the repo unless the user points elsewhere.
export PREFECT_HOME ?= $(STATE)/prefect
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 90

OUTPUT_DIR ?= out
PARAMS ?= {"output_dir": "$(OUTPUT_DIR)"}

.PHONY: install run test test-fast lint format bench clean

install: $(STAMP)  ## virtual environment in .venv with pinned dependencies (quick when done)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --constraint constraints.txt --editable ".[dev]"
	touch $(STAMP)

run: install  ## nightly flow on the embedded sample; last line is the snapshot folder
	$(PY) -m flows.nightly --params '$(PARAMS)'

test: install  ## every test, slow ones included (as CI runs them)
	$(PY) -m pytest

test-fast: install  ## the quick loop
	$(PY) -m pytest -m "not slow"

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) $(STATE) out .pytest_cache .ruff_cache
