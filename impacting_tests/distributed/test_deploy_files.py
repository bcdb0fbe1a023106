"""deploy/ cannot be started here (no container runtime): these checks keep it parseable and
consistent with what the distributed tests run and with the settings schema."""

import re

import pytest
import yaml

from impacting.settings import GROUPS
from impacting_tests.distributed.servers import (
    DAEMON_COMMAND,
    DEPLOY,
    MIGRATE_COMMAND,
    ROOT,
    WORKER_COMMAND,
    WORKER_OPTIONS,
)

COMPOSE = DEPLOY / "docker-compose.yml"
DECLARED = {info.json_schema_extra["env"] for group in GROUPS for info in group.model_fields.values()}
# Besides our settings, only variables Dagster, the Postgres image or the Python/model runtime read.
FOREIGN = re.compile(r"^(DAGSTER_\w+|POSTGRES_(USER|PASSWORD|DB)|PYTHONDONTWRITEBYTECODE|PIP_NO_CACHE_DIR|"
                     r"HF_HUB_OFFLINE|TRANSFORMERS_OFFLINE|TOKENIZERS_PARALLELISM)$")


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _used_variables(text: str) -> set[str]:
    """Every environment variable a deploy file sets or reads."""
    patterns = [r"\$\{([A-Z_][A-Z0-9_]*)",                   # ${NAME...} (compose)
                r"^\s*([A-Z][A-Z0-9_]{2,}):",                  # NAME: value (compose environment)
                r"(?:^|^ENV\s+|^\s+)([A-Z][A-Z0-9_]{2,})=",    # NAME=value (.env, Dockerfile ENV)
                r"name:\s*([A-Z][A-Z0-9_]{2,})",               # - name: NAME (Kubernetes env)
                r"env:\s*([A-Z][A-Z0-9_]+)",                   # env: NAME (Dagster configuration)
                r"--from-literal=([A-Z][A-Z0-9_]+)="]           # kubectl create secret
    return {name for pattern in patterns for name in re.findall(pattern, text, re.M)}


@pytest.mark.parametrize("name", ["dagster.yaml", "celery.yaml", "docker-compose.yml", "k8s/values.yaml"])
def test_every_deploy_file_parses(name):
    assert yaml.safe_load((DEPLOY / name).read_text(encoding="utf-8"))
    assert list(yaml.safe_load_all((DEPLOY / "k8s" / "shared.yaml").read_text(encoding="utf-8")))


def test_the_instance_file_is_valid_dagster_configuration(tmp_path):
    from dagster._core.instance.config import dagster_instance_config

    (tmp_path / "dagster.yaml").write_text((DEPLOY / "dagster.yaml").read_text())
    config, _ = dagster_instance_config(str(tmp_path))
    assert config["storage"]["postgres"]["postgres_db"]["password"] == {"env": "DAGSTER_POSTGRES_PASSWORD"}
    assert config["concurrency"]["pools"]["default_limit"] == 1
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    # A killed run is failed and its pool slot freed, or it would block every later run.
    monitoring = config["run_monitoring"]
    assert monitoring["enabled"] and monitoring["free_slots_after_run_end_seconds"] > 0
    assert 0 < monitoring["max_runtime_seconds"] and 0 < monitoring["start_timeout_seconds"]


def test_the_instance_limits_the_pool_the_code_declares(tmp_path, monkeypatch):
    """The limit applies to WAREHOUSE_POOL: the instance built from deploy/dagster.yaml (Postgres
    settings aside) gives that pool one slot."""
    import dagster as dg

    from impacting.defs.resources import WAREHOUSE_POOL

    config = yaml.safe_load((DEPLOY / "dagster.yaml").read_text(encoding="utf-8"))
    del config["storage"]  # a local instance: the pool settings are what is checked here
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        assert instance.event_log_storage.initialize_concurrency_limit_to_default(WAREHOUSE_POOL)
        assert instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL).slot_count == 1


def test_the_helm_values_carry_the_same_pool_limit_and_run_monitoring():
    values = yaml.safe_load((DEPLOY / "k8s" / "values.yaml").read_text(encoding="utf-8"))
    instance = yaml.safe_load((DEPLOY / "dagster.yaml").read_text(encoding="utf-8"))
    assert values["concurrency"]["pools"]["defaultLimit"] == instance["concurrency"]["pools"]["default_limit"]
    monitoring = values["dagsterDaemon"]["runMonitoring"]
    assert monitoring["enabled"] and monitoring["freeSlotsAfterRunEndSeconds"] == (
        instance["run_monitoring"]["free_slots_after_run_end_seconds"])


def test_the_worker_file_is_valid_celery_executor_configuration(monkeypatch):
    from dagster_celery.cli import get_validated_config

    monkeypatch.setenv("IMPACTING_CELERY_BROKER", "redis://broker:6379/0")
    monkeypatch.setenv("IMPACTING_CELERY_BACKEND", "redis://broker:6379/1")
    config = get_validated_config(str(DEPLOY / "celery.yaml"))
    assert (config["broker"], config["backend"]) == ("redis://broker:6379/0", "redis://broker:6379/1")


def test_compose_services_volumes_and_files_exist():
    compose = _compose()
    services = compose["services"]
    assert {"postgres", "redis", "webserver", "daemon", "worker", "site"} <= set(services)
    declared_volumes = set(compose["volumes"])
    for name, service in services.items():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name} mounts {source}, which does not exist"
            else:
                assert source in declared_volumes, f"{name} mounts the undeclared volume {source}"
        for dependency in service.get("depends_on", {}):
            assert dependency in services
        build = service.get("build")
        if build:
            assert (DEPLOY / build["context"] / build["dockerfile"]).is_file()
    shared = {"impacting", "dagster_storage"}
    for name in ("webserver", "daemon", "worker"):
        assert shared <= {m.split(":")[0] for m in services[name]["volumes"]}, f"{name} must share state"


def test_compose_runs_what_the_distributed_tests_run():
    services = _compose()["services"]
    assert services["worker"]["command"] == [*WORKER_COMMAND, "-n", "worker", *WORKER_OPTIONS]
    assert services["daemon"]["command"] == DAEMON_COMMAND
    assert services["instance-migrate"]["command"] == MIGRATE_COMMAND
    for name in ("webserver", "daemon", "worker"):
        migrate = services[name]["depends_on"]["instance-migrate"]
        assert migrate["condition"] == "service_completed_successfully"
    environment = services["worker"]["environment"]
    assert environment["IMPACTING_EXECUTOR"] == "celery"
    for relative in ("deploy/celery.yaml", "workspace.yaml"):
        assert relative in WORKER_COMMAND + DAEMON_COMMAND and (ROOT / relative).is_file()
    [worker] = [d for d in yaml.safe_load_all((DEPLOY / "k8s" / "shared.yaml").read_text())
                if d["kind"] == "Deployment" and d["metadata"]["name"] == "impacting-worker"]
    assert worker["spec"]["template"]["spec"]["containers"][0]["command"] == services["worker"]["command"]


def test_the_image_installs_the_cpu_torch_wheel_pinned_in_pyproject():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    [pin] = re.findall(r'"torch==([\d.]+)"', (ROOT / "pyproject.toml").read_text())
    assert f"pip install torch=={pin} --index-url https://download.pytorch.org/whl/cpu" in dockerfile
    for source in re.findall(r"^COPY\s+(.+?)\s+\S+$", dockerfile, re.M):
        for path in source.split():
            assert (ROOT / path).exists(), f"the Dockerfile copies {path}, which does not exist"


@pytest.mark.parametrize("name", ["docker-compose.yml", "Dockerfile", "k8s/values.yaml", "k8s/shared.yaml",
                                  "dagster.yaml", "celery.yaml", ".env.example"])
def test_every_environment_variable_is_a_setting_or_dagsters_or_postgres(name):
    used = _used_variables((DEPLOY / name).read_text(encoding="utf-8"))
    assert used, f"the scan finds the variables of {name}"
    unknown = {v for v in used if v not in DECLARED and not FOREIGN.match(v)}
    assert not unknown, f"{name} uses {sorted(unknown)}: declare them in impacting/settings.py"
