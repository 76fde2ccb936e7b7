# Every target sets itself up: a fresh clone needs only python3 (3.11+) and make.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The installed command (pyproject.toml [project.scripts]); `python -m flows.…` forms still work.
CLI := $(VENV)/bin/recsys-nightly
STAMP := $(VENV)/.installed
STATE := $(CURDIR)/.state

# Prefect state stays inside the repo unless the user points elsewhere.
export PREFECT_HOME ?= $(STATE)/prefect
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 90

OUTPUT_DIR ?= out
PARAMS ?= {"output_dir": "$(OUTPUT_DIR)"}

# make test's pytest-xdist workers, a test file at a time. Much of the suite waits on
# servers and subprocesses, so more workers than cores pay: on 2 cores the clean-clone suite
# took 15:34 with 3, 19:06-20:13 with 2, 23-28 min in one process. 0: one process.
TEST_WORKERS ?= 3

PREFECT_PORT ?= 4200
POOL ?= recsys
LOCAL_API := http://127.0.0.1:$(PREFECT_PORT)/api

# A server started by `make server` is used by the CLI targets too: otherwise each would
# start an ephemeral API on the same SQLite database the server has open.
SERVER_UP := $(shell curl -sf -m 1 $(LOCAL_API)/health > /dev/null 2>&1 && echo yes)
ifneq ($(SERVER_UP),)
run tune backfill: export PREFECT_API_URL ?= $(LOCAL_API)
endif

.PHONY: install run tune test test-fast lint format docs bench clean server deploy worker backfill \
	migrate report

install: $(STAMP)  ## virtual environment in .venv with pinned dependencies (quick when done)
	@mkdir -p "$$PREFECT_HOME"  # Prefect cannot create it when its parent is missing

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --constraint constraints.txt --editable ".[dev]"
	touch $(STAMP)

run: install  ## nightly flow on the embedded sample; last line is the snapshot folder
	$(CLI) run --params '$(PARAMS)'

tune: install  ## tuning flow on the embedded sample; last line is best_params.json
	$(CLI) tune --params '$(PARAMS)'

test: install  ## every test, slow ones included (as CI runs them); the 25 slowest listed last
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadscope --durations=25

test-fast: install  ## the quick loop
	$(PY) -m pytest -m "not slow"

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

docs: install  ## the documentation site: generated pages, then mkdocs build --strict into .state/site
	$(PY) docs/generate.py
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --quiet

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

server: install  ## local Prefect server on 127.0.0.1 (state in .state/), unless PREFECT_API_URL is set
	@if [ -n "$$PREFECT_API_URL" ]; then \
		echo "PREFECT_API_URL is set ($$PREFECT_API_URL): using that server, not starting one."; \
	else \
		echo "Prefect UI/API on $(LOCAL_API) (PREFECT_HOME=$$PREFECT_HOME)"; \
		$(VENV)/bin/prefect server start --host 127.0.0.1 --port $(PREFECT_PORT); \
	fi

# deploy/worker talk to PREFECT_API_URL, defaulting to the server `make server` starts.
deploy worker: export PREFECT_API_URL ?= $(LOCAL_API)

deploy: install  ## create the work pool if missing, then deploy everything in prefect.yaml
	$(VENV)/bin/prefect work-pool inspect $(POOL) > /dev/null 2>&1 \
		|| $(VENV)/bin/prefect work-pool create $(POOL) --type process
	$(VENV)/bin/prefect --no-prompt deploy --all

worker: install  ## a process worker on the pool (Ctrl-C twice, or kill, to stop)
	$(VENV)/bin/prefect worker start --pool $(POOL)

backfill: install  ## make backfill START=2026-11-18 END=2026-11-20 [OVERWRITE=1] [PARAMS='{...}']
	$(CLI) backfill --start $(START) --end $(END) $(if $(OVERWRITE),--overwrite) \
		--params '$(PARAMS)'

report: install  ## make report OUTPUT_DIR=out: history table of published nights + _report/history.png
	$(CLI) report $(OUTPUT_DIR)

migrate: install  ## make migrate OUTPUT_DIR=out: a schema v1 output folder to v2, in place
	$(PY) -m recsys_core.migrate $(OUTPUT_DIR)

bench: install  ## benchmark on ../shared Gowalla (or INPUT=path; SCALE=10: a synthetic 10x Gowalla, in process and on Dask)
	$(if $(SCALE),$(PY) -m benchmarks.scale --scale $(SCALE),$(PY) -m benchmarks.bench $(if $(INPUT),--input $(INPUT))) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(STATE) out .pytest_cache .ruff_cache
