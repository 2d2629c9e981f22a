# Two commands for a fresh machine: `make demo` and `make test`. Everything else is here so they can bootstrap.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
UV_VERSION := 0.13.8
UV := .tools/bin/uv
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/.venv
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy

.PHONY: setup demo test test-fast lint lock bench clean airflow-standalone

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

test: setup
	.venv/bin/ruff check .
	.venv/bin/sqlfluff lint sql --dialect duckdb
	.venv/bin/python -m pytest -ra

test-fast: setup
	.venv/bin/python -m pytest -ra -m "not integration"

lint: setup
	.venv/bin/ruff check .
	.venv/bin/sqlfluff lint sql --dialect duckdb

lock: $(UV)
	$(UV) lock --python "$(PYTHON)"

bench: setup
	.venv/bin/python bench/extraction.py --corpora ../shared/corpora

# the Airflow UI and scheduler on this machine (http://localhost:8080), with the same airflow_home as the demo
airflow-standalone: setup
	.venv/bin/python -m newsflow.airflow_runner standalone

clean:
	rm -rf .venv .tools airflow_home data .pytest_cache
