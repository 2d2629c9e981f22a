# newsflow image: Airflow 3 + the newsflow package, installed from uv.lock.
#
# One image serves every Airflow component (api-server, scheduler, dag-processor,
# triggerer, celery worker); docker-compose.yaml picks the command.
#
#   docker-compose build            # or: docker build -t newsflow:latest .
#
# Only wheels are installed (uv.lock has a manylinux wheel for every package), so
# no compiler or -dev packages are needed in the image.
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_PROJECT_ENVIRONMENT=/opt/newsflow/.venv \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    AIRFLOW_HOME=/opt/airflow \
    NEWSFLOW_DATA_DIR=/opt/airflow/data \
    NEWSFLOW_WAREHOUSE=/opt/airflow/data/warehouse \
    NEWSFLOW_SQL_DIR=/opt/airflow/sql
ENV PATH=/opt/newsflow/.venv/bin:$PATH
# The same HOME for every uid: Docker gives a uid this image's /etc/passwd does not know (AIRFLOW_UID=$(id -u))
# HOME=/, which it cannot write, and DuckDB installs the lake's extensions under ~/.duckdb (every open failed).
# /opt/airflow is group-0 writable (below), as the uid's group always is.
ENV HOME=/opt/airflow

RUN pip install uv==0.13.8

# The project is synced from /opt/airflow so that the editable install of
# `newsflow` points at /opt/airflow/plugins: the code baked into the image and
# the ./plugins bind mount of docker-compose.yaml live at the same path, and
# newsflow.config.project_root() resolves to /opt/airflow (sql/, data/).
WORKDIR /opt/airflow

# 1) third-party dependencies only (cached while pyproject.toml/uv.lock are unchanged)
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --extra celery --no-install-project

# 2) the newsflow package itself
COPY plugins/ ./plugins/
RUN uv sync --frozen --no-dev --extra celery

COPY dags/ ./dags/
COPY sql/ ./sql/
COPY config/ ./config/

# Non-root user as in the official Airflow image: uid 50000, group 0 (so an
# arbitrary uid with gid 0 also works). data/ and logs/ are created here with
# the right owner: Docker copies that ownership into a fresh named volume.
RUN useradd --uid 50000 --gid 0 --home-dir /opt/airflow --no-create-home --shell /bin/bash airflow \
    && mkdir -p /opt/airflow/data /opt/airflow/logs /opt/airflow/auth \
    && chown -R 50000:0 /opt/airflow \
    && chmod -R g+rwX /opt/airflow

USER 50000
EXPOSE 8080

CMD ["airflow", "version"]
