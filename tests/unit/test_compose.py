"""Validate the docker-compose deployment (CeleryExecutor) and its Dockerfile.

Two independent layers:

* if a Compose implementation is on PATH (`docker-compose`, Debian package
  ``docker-compose``; or the ``docker compose`` plugin), ``config -q`` must accept
  the file, and its resolved output must pass the same structural checks;
* always: the YAML is parsed with PyYAML, interpolated like Compose does
  (``${VAR:-default}`` with an empty environment, i.e. the defaults), validated
  against the Compose JSON schema vendored in tests/fixtures/compose/, and its
  structure is checked.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
SCHEMA = ROOT / "tests" / "fixtures" / "compose" / "compose_spec.json"

AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}
# Long-running Airflow components (everything but the one-shot init).
AIRFLOW_DAEMONS = AIRFLOW_SERVICES - {"airflow-init"}
REQUIRED_SERVICES = AIRFLOW_SERVICES | {"postgres", "redis"}
PROJECT_MOUNTS = {
    "./dags": "/opt/airflow/dags",
    "./plugins": "/opt/airflow/plugins",
    "./sql": "/opt/airflow/sql",
    "./config": "/opt/airflow/config",
}
DATA_VOLUME = "newsflow-data"
DATA_DIR = "/opt/airflow/data"

# Compose reads .env and the process environment; the checks below are about the
# file's own defaults, so the tools run with these variables removed.
COMPOSE_VARS = (
    "NEWSFLOW_IMAGE",
    "AIRFLOW_UID",
    "AIRFLOW_FERNET_KEY",
    "AIRFLOW_JWT_SECRET",
    "AIRFLOW_API_SECRET_KEY",
    "AIRFLOW_APISERVER_HOST",
    "AIRFLOW_APISERVER_PORT",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "POSTGRES_HOST",
    "POSTGRES_PORT",
    "POSTGRES_DB",
    "NEWSFLOW_LAKE_DB",
    "NEWSFLOW_LAKE_DATA",
    "REDIS_HOST",
    "REDIS_PASSWORD",
    "_AIRFLOW_WWW_USER_USERNAME",
    "_AIRFLOW_WWW_USER_PASSWORD",
)
# No default for these (anyone who knows the JWT secret signs himself an admin token): a deployment sets them in .env.
SECRETS = {"AIRFLOW_JWT_SECRET": "test-jwt-secret-0123456789abcdef", "AIRFLOW_API_SECRET_KEY": "test-api-secret"}

_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate(value, env: dict[str, str]):
    """Resolve Compose variable interpolation in every string of ``value``."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["named"]
        op, arg = match["op"], match["arg"]
        current = env.get(name)
        if op in (":-", ":?"):
            missing = not current
        else:
            missing = current is None
        if op and op.endswith("-") and missing:
            return arg
        if op and op.endswith("?") and missing:
            raise ValueError(f"required variable {name} is missing: {arg}")
        return current or ""

    return _INTERPOLATION.sub(substitute, value)


def env_dict(environment) -> dict[str, str]:
    if isinstance(environment, dict):
        return {key: "" if value is None else str(value) for key, value in environment.items()}
    result = {}
    for item in environment or []:
        key, _, value = item.partition("=")
        result[key] = value
    return result


def mounts(service: dict) -> dict[str, tuple[str, str]]:
    """target -> (source, mode) for short- and long-syntax volume entries."""
    result = {}
    for entry in service.get("volumes", []):
        if isinstance(entry, dict):
            mode = "ro" if entry.get("read_only") else "rw"
            result[entry["target"]] = (str(entry.get("source", "")), mode)
            continue
        parts = entry.split(":")
        source, target = parts[0], parts[1]
        mode = parts[2] if len(parts) > 2 else "rw"
        result[target] = (source, mode)
    return result


def command_text(service: dict) -> str:
    command = service.get("command", "")
    return command if isinstance(command, str) else "\n".join(map(str, command))


def is_project_source(source: str, relative: str) -> bool:
    """``./dags`` in the raw file, an absolute path under ROOT once Compose resolved it."""
    return source == relative or Path(source) == ROOT / relative


def _clean_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in COMPOSE_VARS}
    env["AIRFLOW_UID"] = "50000"
    env.update(SECRETS)
    return env


def compose_commands() -> list[list[str]]:
    commands = []
    if shutil.which("docker-compose"):
        commands.append(["docker-compose"])
    if shutil.which("docker"):
        probe = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, text=True, timeout=60, check=False
        )
        if probe.returncode == 0:
            commands.append(["docker", "compose"])
    return commands


COMPOSE_COMMANDS = compose_commands()


def load_raw() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def raw() -> dict:
    return load_raw()


def _resolved_by_tool(command: list[str]) -> dict:
    result = subprocess.run(
        [*command, "-f", str(COMPOSE_FILE), "config"],
        cwd=ROOT,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


SOURCES = ["pyyaml"] + [" ".join(command) for command in COMPOSE_COMMANDS]


@pytest.fixture(scope="module", params=SOURCES)
def compose(request) -> dict:
    """The compose model: our own interpolation of the raw YAML, and each tool's `config` output."""
    if request.param == "pyyaml":
        return interpolate(load_raw(), {"AIRFLOW_UID": "50000", **SECRETS})
    return _resolved_by_tool(request.param.split())


# --------------------------------------------------------------------------- real tools


@pytest.mark.skipif(not COMPOSE_COMMANDS, reason="no docker-compose / docker compose on PATH")
@pytest.mark.parametrize("command", COMPOSE_COMMANDS, ids=" ".join)
def test_compose_config_is_valid(command):
    result = subprocess.run(
        [*command, "-f", "docker-compose.yaml", "config", "-q"],
        cwd=ROOT,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(not COMPOSE_COMMANDS, reason="no docker-compose / docker compose on PATH")
@pytest.mark.parametrize("command", COMPOSE_COMMANDS, ids=" ".join)
def test_compose_tool_rejects_a_broken_file(command, tmp_path):
    """Guard against a `config -q` that accepts anything."""
    broken = load_raw()
    broken["services"]["redis"]["no_such_key"] = True
    path = tmp_path / "docker-compose.yaml"
    path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    result = subprocess.run(
        [*command, "-f", str(path), "config", "-q"],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0


def test_schema_validation(raw):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft201909Validator(schema)
    document = interpolate(raw, {"AIRFLOW_UID": "50000", **SECRETS})
    errors = sorted(validator.iter_errors(document), key=lambda error: list(error.path))
    assert not errors, [f"{list(error.path)}: {error.message}" for error in errors]
    broken = interpolate(raw, SECRETS)
    broken["services"]["airflow-worker"]["scale_me"] = 3
    assert list(validator.iter_errors(broken))


def test_interpolation_helper():
    env = {"SET": "x", "EMPTY": ""}
    assert interpolate("${UNSET:-d}|${EMPTY:-d}|${EMPTY-d}|${SET:-d}|$$HOME|$SET", env) == "d|d||x|$HOME|x"
    with pytest.raises(ValueError):
        interpolate("${UNSET:?needed}", env)


# --------------------------------------------------------------------------- structure


def test_required_services(compose):
    assert REQUIRED_SERVICES <= set(compose["services"])


def test_worker_can_scale(compose):
    worker = compose["services"]["airflow-worker"]
    assert "container_name" not in worker
    # A published host port would collide between replicas on one host.
    assert not worker.get("ports")
    assert worker.get("deploy", {}).get("replicas", 1) >= 1
    assert command_text(worker).split() == ["python", "-m", "airflow", "celery", "worker"]


def test_airflow_services_share_the_image(raw, compose):
    common = raw["x-airflow-common"]
    assert common["build"] in (".", {"context": "."})
    services = compose["services"]
    images = {services[name]["image"] for name in AIRFLOW_SERVICES}
    assert len(images) == 1, images
    for name in AIRFLOW_SERVICES:
        build = services[name].get("build")
        context = build if isinstance(build, str) else (build or {}).get("context")
        assert context is not None, f"{name} has no build"
        assert Path(context) in (Path("."), ROOT), f"{name} builds from {context}"
    # The raw file really uses the anchor for every Airflow service.
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    for name in AIRFLOW_SERVICES:
        block = re.search(rf"^  {re.escape(name)}:\n((?:    .*\n|\s*\n)*)", text, re.MULTILINE)
        assert block and "<<: *airflow-common\n" in block.group(1), name


def test_commands(compose):
    services = compose["services"]
    assert command_text(services["airflow-apiserver"]).split() == ["airflow", "api-server"]
    assert command_text(services["airflow-scheduler"]).split() == ["airflow", "scheduler"]
    assert command_text(services["airflow-dag-processor"]).split() == ["airflow", "dag-processor"]
    assert command_text(services["airflow-triggerer"]).split() == ["airflow", "triggerer"]
    # the metadata clean runs beside the scheduler, with the DB the scheduler has (tasks cannot reach it)
    housekeeper = services["newsflow-housekeeper"]
    assert command_text(housekeeper).split() == ["python", "-m", "newsflow.housekeeper"]
    assert housekeeper["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql")
    assert str(housekeeper["environment"]["NEWSFLOW_METADATA_RETENTION_DAYS"]) == "30"
    ports = [_port_text(port) for port in services["airflow-apiserver"]["ports"]]
    assert any(port.endswith("8080:8080") for port in ports), ports


def test_workers_call_the_api_server_at_its_port(raw):
    """AIRFLOW_APISERVER_PORT is the port of the UI, REST API and Task Execution API (.env.example), and a worker
    machine calls the Task Execution API at AIRFLOW_APISERVER_HOST (docs/deploy.md): with another port than 8080
    the api-server was published there while every remote worker called port 8080 of the control machine."""
    resolved = interpolate(raw, {"AIRFLOW_UID": "50000", "AIRFLOW_JWT_SECRET": "jwt", "AIRFLOW_API_SECRET_KEY": "api",
                                 "AIRFLOW_APISERVER_PORT": "18080", "AIRFLOW_APISERVER_HOST": "control.example"})
    api = resolved["services"]["airflow-apiserver"]
    worker = env_dict(resolved["services"]["airflow-worker"]["environment"])
    assert worker["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://control.example:18080/execution/"
    # published at the port the api-server listens on in its container, and its healthcheck asks there
    listens = env_dict(api["environment"]).get("AIRFLOW__API__PORT", "8080")
    assert [_port_text(port) for port in api["ports"]] == [f"18080:{listens}"]
    assert listens == "18080"
    assert "localhost:${AIRFLOW__API__PORT}/" in " ".join(api["healthcheck"]["test"])


def _port_text(port) -> str:
    if isinstance(port, dict):
        return f"{port.get('published')}:{port.get('target')}"
    return str(port)


def test_airflow_environment(compose):
    services = compose["services"]
    jwt_secrets = set()
    for name in AIRFLOW_SERVICES:
        env = env_dict(services[name]["environment"])
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert (
            env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
            == "postgresql+psycopg2://airflow:airflow@postgres:5432/airflow"
        )
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+postgresql://airflow:airflow@postgres:5432/airflow"
        assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://:@redis:6379/0"
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"].lower() == "false"
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
        assert "AIRFLOW__CORE__FERNET_KEY" in env
        assert env["AIRFLOW__API_AUTH__JWT_SECRET"], name
        jwt_secrets.add(env["AIRFLOW__API_AUTH__JWT_SECRET"])
        assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"].endswith(":admin")
        assert env["NEWSFLOW_DATA_DIR"] == DATA_DIR
        assert env["NEWSFLOW_SQL_DIR"] == "/opt/airflow/sql"
        # the lake: catalog in a database of its own in the compose Postgres, data files on the shared volume
        assert env["NEWSFLOW_WAREHOUSE"] == "postgres:dbname=newsflow_lake host=postgres port=5432 user=airflow"
        assert env["NEWSFLOW_LAKE_DATA"] == DATA_DIR + "/lake"
        assert env["PGPASSWORD"] == "airflow"
    # Scheduler signs, api-server validates: one secret for all components.
    assert len(jwt_secrets) == 1


def test_jwt_secret_comes_from_env(raw):
    env = raw["x-airflow-common"]["environment"]
    assert re.fullmatch(r"\$\{AIRFLOW_JWT_SECRET:\?.+\}", env["AIRFLOW__API_AUTH__JWT_SECRET"])
    assert re.fullmatch(r"\$\{AIRFLOW_FERNET_KEY:-\}", env["AIRFLOW__CORE__FERNET_KEY"])
    override = interpolate(
        raw, {**SECRETS, "AIRFLOW_JWT_SECRET": "s3cret", "POSTGRES_HOST": "db.example", "POSTGRES_PORT": "5433",
              "NEWSFLOW_LAKE_DB": "lake2", "NEWSFLOW_LAKE_DATA": "s3://bucket/lake/"}
    )
    worker_env = env_dict(override["services"]["airflow-worker"]["environment"])
    assert worker_env["AIRFLOW__API_AUTH__JWT_SECRET"] == "s3cret"
    assert worker_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@db.example:5433/airflow")
    # the lake's catalog follows the same server settings as the metadata DB
    assert worker_env["NEWSFLOW_WAREHOUSE"] == "postgres:dbname=lake2 host=db.example port=5433 user=airflow"
    assert worker_env["NEWSFLOW_LAKE_DATA"] == "s3://bucket/lake/"


def test_no_known_secret_signs_tokens(raw, tmp_path):
    """The JWT secret signs the users' API tokens too: with a default (or .env.example's placeholder, copied as
    it is) anyone who read this repository signed himself an admin token for the REST API on the published port.
    Without the secrets in .env, Compose refuses to start, naming the variable."""
    for name in SECRETS:
        with pytest.raises(ValueError, match=name):
            interpolate(raw, {**SECRETS, name: ""})
    env_file = tmp_path / ".env"
    shutil.copy(ROOT / ".env.example", env_file)
    example = dict(line.split("=", 1) for line in env_file.read_text(encoding="utf-8").splitlines()
                   if line and not line.startswith("#"))
    for name in SECRETS:
        assert not example[name], f".env.example gives {name} a value a copied .env would keep: {example[name]!r}"
    for command in COMPOSE_COMMANDS:
        env = {key: value for key, value in _clean_env().items() if key not in SECRETS}
        result = subprocess.run([*command, "-f", str(COMPOSE_FILE), "--env-file", str(env_file), "config", "-q"],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode != 0 and "AIRFLOW_JWT_SECRET" in result.stderr, (command, result.stderr[-500:])


def test_env_file_settings_reach_the_components(raw, tmp_path):
    """docs/deploy.md has the deployer set AIRFLOW__API__BASE_URL (the alerts' links to the UI) and NEWSFLOW_SOURCES
    (the sources file scheduled) with the alert settings in .env; Compose only substitutes .env into the file, so a
    name the file did not pass on reached no component, and nothing said so."""
    settings = {"AIRFLOW__API__BASE_URL": "https://airflow.example.org",
                "NEWSFLOW_SOURCES": "/opt/airflow/config/sources.local.yaml"}
    resolved = interpolate(raw, {"AIRFLOW_UID": "50000", "AIRFLOW_JWT_SECRET": "jwt", "AIRFLOW_API_SECRET_KEY": "api",
                                 **settings})
    for name in AIRFLOW_SERVICES:
        env = env_dict(resolved["services"][name]["environment"])
        assert {key: env.get(key) for key in settings} == settings, name
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{key}={value}\n" for key, value in settings.items())
                        + "AIRFLOW_JWT_SECRET=jwt\nAIRFLOW_API_SECRET_KEY=api\n", encoding="utf-8")
    for command in COMPOSE_COMMANDS:
        result = subprocess.run([*command, "-f", str(COMPOSE_FILE), "--env-file", str(env_file), "config"],
                                cwd=ROOT, env=_clean_env(), capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stderr
        worker = env_dict(yaml.safe_load(result.stdout)["services"]["airflow-worker"]["environment"])
        assert {key: worker.get(key) for key in settings} == settings, command


def test_same_settings_as_the_scaleout_test(compose):
    """make test-scaleout sets the names docker-compose.yaml sets: what passes there is what compose runs."""
    from tests.support import cluster

    harness = cluster.airflow_environment(Path("/tmp/home"), "postgresql+psycopg2://u@h:1/airflow",
                                          "redis://h:2/0", 3, 2)
    harness |= cluster.warehouse_env("postgres", Path("/tmp/data"), "dbname=lake host=h port=1 user=u")
    worker = env_dict(compose["services"]["airflow-worker"]["environment"])
    shared = {
        "AIRFLOW__CORE__EXECUTOR", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__RESULT_BACKEND",
        "AIRFLOW__CELERY__BROKER_URL", "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__API__SECRET_KEY", "AIRFLOW__CORE__FERNET_KEY", "NEWSFLOW_DATA_DIR", "NEWSFLOW_WAREHOUSE",
        "NEWSFLOW_LAKE_DATA",
    }
    assert shared <= set(harness), sorted(shared - set(harness))
    assert shared <= set(worker), sorted(shared - set(worker))
    assert harness["AIRFLOW__CORE__EXECUTOR"] == worker["AIRFLOW__CORE__EXECUTOR"]
    # the same URL shapes: the metadata DB doubles as the result backend, the catalog is a libpq string
    assert worker["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+" + worker["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace(
        "+psycopg2", "")
    assert harness["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+" + harness[
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("+psycopg2", "")
    for env in (harness, worker):
        assert env["NEWSFLOW_WAREHOUSE"].startswith("postgres:dbname=")
        assert env["NEWSFLOW_LAKE_DATA"].startswith(env["NEWSFLOW_DATA_DIR"] + "/")


def test_backing_service_healthchecks(compose):
    services = compose["services"]
    assert services["postgres"]["image"].split(":")[1].startswith("16")
    assert services["redis"]["image"].split(":")[1].startswith("7")
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "redis-cli ping" in " ".join(services["redis"]["healthcheck"]["test"])
    assert "/api/v2/" in " ".join(services["airflow-apiserver"]["healthcheck"]["test"])
    for name in AIRFLOW_DAEMONS:
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_depends_on_health(compose):
    services = compose["services"]
    for name in AIRFLOW_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
    for name in AIRFLOW_DAEMONS:
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    assert services["airflow-worker"]["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"


def test_project_folders_mounted_read_only(compose):
    services = compose["services"]
    for name in AIRFLOW_SERVICES:
        volumes = mounts(services[name])
        for relative, target in PROJECT_MOUNTS.items():
            assert target in volumes, f"{name} does not mount {relative}"
            source, mode = volumes[target]
            assert is_project_source(source, relative), (name, source)
            assert "ro" in mode.split(","), f"{name} mounts {relative} writable"


def test_data_volume_is_shared(compose):
    assert DATA_VOLUME in compose["volumes"]
    declaration = compose["volumes"][DATA_VOLUME] or {}
    assert not declaration.get("external", False) or declaration.get("name")
    services = compose["services"]
    for name in AIRFLOW_SERVICES:
        source, mode = mounts(services[name])[DATA_DIR]
        assert source == DATA_VOLUME, f"{name} mounts {source} at {DATA_DIR}"
        assert mode == "rw", name


def test_init_creates_duckdb_write_pool(compose):
    init = compose["services"]["airflow-init"]
    script = command_text(init)
    commands = [shlex.split(line) for line in script.splitlines() if line.strip().startswith("airflow ")]
    assert ["airflow", "db", "migrate"] in commands
    pools = [command for command in commands if command[:3] == ["airflow", "pools", "set"]]
    assert pools, "airflow-init does not create a pool"
    assert any(command[3:5] == ["duckdb_write", "1"] for command in pools), pools
    # The migration must come before the pool (the pool table lives in the metadata DB).
    assert commands.index(["airflow", "db", "migrate"]) < commands.index(pools[0])
    assert init.get("restart", "no") == "no"


def test_init_prepares_the_lake(compose):
    """airflow-init creates the catalog database and migrates the lake once, before any worker loads."""
    init = compose["services"]["airflow-init"]
    lines = [line.strip() for line in command_text(init).splitlines()]
    assert "python -m newsflow.warehouse_init" in lines
    assert lines.index("airflow db migrate") < lines.index("python -m newsflow.warehouse_init")
    env = env_dict(init["environment"])
    assert env["NEWSFLOW_WAREHOUSE"].startswith("postgres:") and env["PGPASSWORD"]


# --------------------------------------------------------------------------- Dockerfile


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", text)
    result = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def test_dockerfile():
    assert DOCKERFILE.is_file()
    instructions = _dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim-bookworm")
    runs = [rest for keyword, rest in instructions if keyword == "RUN"]
    envs = " ".join(rest for keyword, rest in instructions if keyword == "ENV")
    assert any("pip install uv==0.13.8" in run for run in runs)
    syncs = [shlex.split(run) for run in runs if "uv sync" in run]
    assert syncs and all({"--frozen", "--no-dev"} <= set(sync) for sync in syncs)
    assert all(sync[sync.index("--extra") + 1] == "celery" for sync in syncs)
    assert any("--no-install-project" not in sync for sync in syncs), "the project itself is never installed"
    assert "UV_PROJECT_ENVIRONMENT=/opt/newsflow/.venv" in envs
    assert "PATH=/opt/newsflow/.venv/bin:" in envs
    assert "AIRFLOW_HOME=/opt/airflow" in envs
    assert "NEWSFLOW_DATA_DIR=/opt/airflow/data" in envs
    assert "NEWSFLOW_WAREHOUSE=/opt/airflow/data/warehouse" in envs
    assert any("useradd" in run and "--uid 50000" in run and " airflow" in run for run in runs)
    users = [rest for keyword, rest in instructions if keyword == "USER"]
    assert users and users[-1] in ("airflow", "50000", "50000:0", "airflow:0")
    copied = {
        source.rstrip("/")
        for keyword, rest in instructions
        if keyword == "COPY"
        for source in shlex.split(rest)[:-1]
    }
    assert {"pyproject.toml", "uv.lock", "plugins", "dags", "sql", "config"} <= copied
    for source in ("pyproject.toml", "uv.lock", "plugins"):
        assert (ROOT / source).exists(), source


def test_image_home_is_writable_by_any_uid():
    """AIRFLOW_UID may be any uid with group 0 (.env.example suggests `id -u`). Docker gives a uid the image's
    /etc/passwd does not know HOME=/, which it cannot write, and DuckDB installs the lake's extensions under
    ~/.duckdb: every warehouse open failed there (`Failed to create directory "/.duckdb": Permission denied`)."""
    instructions = _dockerfile_instructions()
    homes = [home for keyword, rest in instructions if keyword == "ENV"
             for home in re.findall(r"(?:^|\s)HOME=(\S+)", rest)]
    assert homes, "the image leaves HOME to /etc/passwd: '/' for an AIRFLOW_UID it does not know"
    group_writable = [folder for keyword, rest in instructions if keyword == "RUN"
                      for folder in re.findall(r"chmod -R g\+rwX (\S+)", rest)]
    assert any(Path(folder) in (Path(homes[-1]), *Path(homes[-1]).parents) for folder in group_writable), (
        homes[-1], group_writable)


def test_dockerignore():
    entries = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for needed in (".venv", ".tools", "data", "airflow_home", ".git"):
        assert needed in entries, needed
    assert entries & {"__pycache__", "**/__pycache__"}


@pytest.mark.skipif(not (ROOT / ".git").exists() or not shutil.which("git"), reason="not a git checkout")
def test_env_file_is_ignored_by_git():
    """.env holds the JWT secret, the database password and the webhook's token (.env.example: "Never commit
    .env"); a deployer's `git add -A` in the checkout the compose file mounts from took it along."""
    result = subprocess.run(["git", "check-ignore", "--no-index", ".env", ".env.example"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.stdout.split() == [".env"]


def test_env_example_documents_the_variables():
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^#?\s*([A-Z_][A-Z0-9_]*)=", example, re.MULTILINE))
    # ${VAR} is interpolated by Compose; $${VAR} is left to the container's shell.
    used = set(re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)", COMPOSE_FILE.read_text(encoding="utf-8")))
    assert used <= documented, sorted(used - documented)


# settings the package reads that a compose deployment has no use for, and why
NOT_FOR_COMPOSE = {
    "NEWSFLOW_PORT": "newsflow up's API server port; compose publishes AIRFLOW_APISERVER_PORT",
    "NEWSFLOW_SERVICE_LOG_MB": "newsflow up's own log files; compose's components log to Docker",
    "NEWSFLOW_SERVICE_LOG_FILES": "newsflow up's own log files; compose's components log to Docker",
    "NEWSFLOW_WORKER_HOSTNAME": "docs/deploy.md: set per worker machine, in that machine's compose override",
}


def test_every_setting_the_package_reads_reaches_the_containers(compose):
    """README documents each NEWSFLOW_* variable as a setting: a deployer who put the snapshot retention or the
    writers' memory cap in .env found them reaching no container (compose passes on only what the file names),
    and the defaults ran with nothing said. The housekeeper's own settings reach the housekeeper."""
    read = set()
    for path in (ROOT / "plugins" / "newsflow").rglob("*.py"):
        read |= set(re.findall(r"[\"'](NEWSFLOW_[A-Z0-9_]+)[\"']", path.read_text(encoding="utf-8")))
    housekeeper = {"NEWSFLOW_METADATA_RETENTION_DAYS", "NEWSFLOW_DISK_LOW_GB", "NEWSFLOW_HOUSEKEEPER_WATCH_S"}
    assert housekeeper <= read and set(NOT_FOR_COMPOSE) <= read
    worker = env_dict(compose["services"]["airflow-worker"]["environment"])
    kept = env_dict(compose["services"]["newsflow-housekeeper"]["environment"])
    assert sorted(read - housekeeper - set(NOT_FOR_COMPOSE) - set(worker)) == []
    assert sorted(housekeeper - set(kept)) == []
    assert worker["NEWSFLOW_DUCKDB_MEMORY_LIMIT"] == "1GB" and worker["NEWSFLOW_SNAPSHOT_RETENTION_DAYS"] == "7"
