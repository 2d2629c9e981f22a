# Two commands for a fresh machine: `make demo` and `make test`. Everything else is here so they can bootstrap.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
UV_VERSION := 0.13.8
UV := .tools/bin/uv
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/.venv
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy

.PHONY: setup demo up up-demo down status test test-fast test-scaleout lint lock bench clean

# A venv keeps its absolute path in its scripts' first line and in the editable install of plugins/: once the
# project folder is renamed, moved or copied, `newsflow` fails with "bad interpreter" (or runs the old folder's
# code). Such a venv is made again here; the lake needs nothing (README, "The warehouse").
VENV_PYTHON := $(shell sed -n '1s/^..//p' .venv/bin/newsflow 2>/dev/null)
ifneq ($(VENV_PYTHON),)
ifneq ($(VENV_PYTHON),$(CURDIR)/.venv/bin/python)
$(info newsflow: .venv was made in another folder ($(VENV_PYTHON)); making it again here)
$(shell rm -rf .venv)
endif
endif

$(UV):
	@$(PYTHON) -m venv .tools || { rm -rf .tools; \
	  echo "newsflow: '$(PYTHON) -m venv' failed. On Debian/Ubuntu install venv support first:" >&2; \
	  echo "  sudo apt-get install python3-venv   (or python3.11-venv)" >&2; exit 1; }
	.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

# the marker is newer than the lock file once the venv matches it exactly. Bytecode is compiled at install, as
# a deployment image would: uv leaves it to first import, and where .pyc files cannot be written (read-only
# installs, PYTHONDONTWRITEBYTECODE) every `newsflow ingest` then recompiled Airflow and its stack (~2 s a run).
.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --extra dev --compile-bytecode --python "$(PYTHON)"
	touch $@

setup: .venv/.synced

demo: setup
	.venv/bin/newsflow demo

# Two pytest-xdist workers, each taking whole files in collection order, slowest first (tests/conftest.py): on two
# cores pytest took 1,029 s against ~1,600 s in one process, since most of the suite waits on Airflow (scheduler
# ticks, servers starting). Session 14 found timing-sensitive tests failing in 3 of 4 such runs and made one
# process the default; each was fixed, and session 32's three runs with two workers had no timing failure (one
# beside a load average of 10). Each worker has its own Airflow home, data folders and ports, and collects the tests
# itself: a parameter id made from the clock differs between them and fails the run (give such cases ids=).
# PYTEST_WORKERS=0: one process. A worker that dies (session 33: DuckLake's merge_adjacent_files aborted its
# process, once in the nine runs of the suite on record) ends the run at once: xdist replaced it, and the run then
# sat at 99% with both workers idle until it was killed. Every test that runs a maintenance pass, where each such
# abort was seen, runs it in a child process (tests/support/maintain_apart.py).
PYTEST_WORKERS ?= 2

test: setup
	.venv/bin/ruff check .
	.venv/bin/sqlfluff lint sql --dialect duckdb
	.venv/bin/python -m pytest -ra --durations=25 -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder \
		--max-worker-restart=0

test-fast: setup
	.venv/bin/python -m pytest -ra -n $(PYTEST_WORKERS) --dist loadfile --max-worker-restart=0 \
		-m "not integration and not scaleout"

# The multi-machine layout on loopback (tests/scaleout): PostgreSQL and Redis from Debian's packages, Airflow with
# the CeleryExecutor and two Celery workers. Needs `apt-get install postgresql redis-server` (.ci/run does it);
# without them the test skips and says why. The celery extra (Celery, Redis and Postgres clients) is added to the
# venv here only; `setup` syncs the venv exactly, so the marker is remade after every setup sync. No --python:
# a pyenv shim path never matches the venv's interpreter, and uv would then rebuild the whole venv.
.venv/.synced-celery: .venv/.synced
	$(UV) sync --frozen --inexact --extra dev --extra celery --compile-bytecode
	touch $@

test-scaleout: .venv/.synced-celery
	.venv/bin/python -m pytest -ra -s -m scaleout tests/scaleout

lint: setup
	.venv/bin/ruff check .
	.venv/bin/sqlfluff lint sql --dialect duckdb

lock: $(UV)
	$(UV) lock --python "$(PYTHON)"

bench: setup
	.venv/bin/python bench/extraction.py --corpora ../shared/corpora

# the always-on service in the background: scheduler, dag-processor, triggerer and UI on http://127.0.0.1:8080
# (PORT=... or NEWSFLOW_PORT to move it), scheduling config/sources.yaml (or $$NEWSFLOW_SOURCES); `make down` stops it
up: setup
	.venv/bin/newsflow up $(if $(PORT),--port $(PORT))

# the same with the live sample newsroom, scheduled every minute; contacts nothing outside this machine
up-demo: setup
	.venv/bin/newsflow up --demo $(if $(PORT),--port $(PORT))

down: setup
	.venv/bin/newsflow down

status: setup
	.venv/bin/newsflow status

clean:
	rm -rf .venv .tools airflow_home data .pytest_cache
