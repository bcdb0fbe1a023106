"""A real small deployment on loopback: Postgres, Redis, Celery workers and the Dagster daemon.

Debian's `postgresql` and `redis-server` (installed by `make test-distributed` when missing) run
from a temporary directory on free loopback ports and are stopped afterwards; the workers and the
daemon are the documented commands (`dagster-celery worker start`, `dagster-daemon run`) with the
instance file `deploy/dagster.yaml`. The distributed tests and `benchmarks/backfill.py` use it.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

from impacting.settings import var

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent
DATABASE = "dagster"
# The commands deploy/docker-compose.yml and deploy/k8s/shared.yaml run (a test keeps them equal):
# a Celery worker taking one step at a time, and the daemon on the checkout's workspace.
WORKER_COMMAND = ["dagster-celery", "worker", "start", "-A", "dagster_celery.app", "-y", "deploy/celery.yaml"]
WORKER_OPTIONS = ["--", "--concurrency=1"]
DAEMON_COMMAND = ["dagster-daemon", "run", "-w", "workspace.yaml"]
MIGRATE_COMMAND = ["dagster", "instance", "migrate"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(ready, what: str, seconds: float = 120.0, process: subprocess.Popen | None = None,
             log: Path | None = None):
    """Poll `ready()` until it returns something true; fail saying what never came (with the
    tail of the process's log when it died)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"{what}: the process exited with {process.returncode}\n{tail}")
        try:
            value = ready()
        except Exception:
            value = None
        if value:
            return value
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise TimeoutError(f"{what}: not ready within {seconds:g} s\n{tail}")


def postgres_bin() -> Path:
    """Debian keeps the server's programs out of PATH, in /usr/lib/postgresql/<version>/bin."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    if shutil.which("initdb"):
        return Path(shutil.which("initdb")).parent
    raise RuntimeError("PostgreSQL is not installed: run `make test-distributed` (as root it installs "
                       "Debian's postgresql) or `apt-get install postgresql`")


def stop(process: subprocess.Popen, seconds: float = 30.0) -> None:
    """Stop a process started here in its own session, and whatever it started (its group)."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=seconds)
    except ProcessLookupError:
        pass


@contextmanager
def postgres():
    """A Postgres server on a free loopback port with password authentication and an empty
    `dagster` database; yields the DAGSTER_POSTGRES_* environment that reaches it."""
    import psycopg2

    bindir = postgres_bin()
    # Postgres refuses to run as root: as root the server runs as Debian's `postgres` user, in a
    # directory of its own (pytest's temporary folders are private to root).
    user = "postgres" if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="impacting-postgres-"))
    password = secrets.token_hex(12)
    (folder / "password").write_text(password)
    if user:
        shutil.chown(folder, user, user)
        shutil.chown(folder / "password", user, user)
    port = free_port()
    as_user = {"user": user, "group": user, "extra_groups": []} if user else {}
    log = folder / "postgres.log"
    process = None
    try:
        subprocess.run([str(bindir / "initdb"), "-D", str(folder / "data"), "-U", "impacting",
                        "--auth=scram-sha-256", f"--pwfile={folder / 'password'}", "-E", "UTF8",
                        "--no-sync"], check=True, capture_output=True, **as_user)
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [str(bindir / "postgres"), "-D", str(folder / "data"), "-p", str(port),
                 "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={folder}",
                 "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                 "-c", "max_connections=200"],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **as_user)
        dsn = {"host": "127.0.0.1", "port": port, "user": "impacting", "password": password}
        connection = wait_for(lambda: psycopg2.connect(dbname="postgres", **dsn), "Postgres",
                              process=process, log=log)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {DATABASE}")
        connection.close()
        yield {"DAGSTER_POSTGRES_HOST": "127.0.0.1", "DAGSTER_POSTGRES_PORT": str(port),
               "DAGSTER_POSTGRES_USER": "impacting", "DAGSTER_POSTGRES_PASSWORD": password,
               "DAGSTER_POSTGRES_DB": DATABASE}
    finally:
        if process is not None:
            stop(process)
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def redis():
    """A Redis server on a free loopback port with a password and nothing saved to disk; yields
    the broker and result-backend URLs (two databases of it)."""
    import redis as redis_client

    folder = Path(tempfile.mkdtemp(prefix="impacting-redis-"))
    password = secrets.token_hex(12)
    port = free_port()
    log = folder / "redis.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(folder), "--requirepass", password],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: redis_client.Redis(host="127.0.0.1", port=port, password=password).ping(),
                 "Redis", process=process, log=log)
        base = f"redis://:{password}@127.0.0.1:{port}"
        yield {var("distributed.celery_broker"): f"{base}/0", var("distributed.celery_backend"): f"{base}/1"}
    finally:
        stop(process)
        shutil.rmtree(folder, ignore_errors=True)


def dagster_home(folder: Path) -> Path:
    """A DAGSTER_HOME holding the deployment's instance file."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(DEPLOY / "dagster.yaml", folder / "dagster.yaml")
    return folder


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """A process from the checkout (relative paths as in the image), in a session of its own so
    that `stop` ends whatever it starts, its output in `log`."""
    with open(log, "wb") as out:
        return subprocess.Popen([str(BIN / command[0]), *command[1:]], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def worker_ready(process: subprocess.Popen, log: Path) -> None:
    wait_for(lambda: b" ready." in log.read_bytes(), f"Celery worker ({log.name})", seconds=300,
             process=process, log=log)


def daemon_ready(process: subprocess.Popen, log: Path) -> None:
    wait_for(lambda: b"QUEUED_RUN_COORDINATOR" in log.read_bytes() or b"Instance is configured" in
             log.read_bytes(), "Dagster daemon", seconds=300, process=process, log=log)


@contextmanager
def cluster(folder: Path, settings: dict[str, str], workers: int = 2, daemon: bool = True):
    """Postgres, Redis, `workers` Celery workers and (optionally) the daemon, all sharing one
    environment: the deployment's instance file, `settings` (IMPACTING_*), the Celery executor.
    Yields that environment; every process started here is stopped on the way out."""
    logs = folder / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        env = {**os.environ, **settings,
               "DAGSTER_HOME": str(dagster_home(folder / "dagster_home")),
               var("distributed.executor"): "celery",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               # `dagster-celery worker start` runs `celery` from PATH.
               "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")]),
               "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
        env.update(stack.enter_context(postgres()))
        env.update(stack.enter_context(redis()))
        # The schema first, once, as deploy/docker-compose.yml's `instance-migrate` does: workers and
        # the daemon starting together on an empty database would each create it, and race.
        dagster(env, *MIGRATE_COMMAND[1:])
        processes: list[subprocess.Popen] = []
        stack.callback(lambda: [stop(p) for p in reversed(processes)])
        # Started together, then awaited: each spends its first seconds importing Dagster.
        waiting = []
        for n in range(1, workers + 1):
            # a Celery worker as deploy/ starts it: one step at a time (`--concurrency=1`)
            log = logs / f"worker-{n}.log"
            processes.append(start([*WORKER_COMMAND, "-n", f"worker-{n}", *WORKER_OPTIONS], env, log))
            waiting.append((worker_ready, processes[-1], log))
        if daemon:
            # the run queue, backfills, run monitoring, schedules and sensors
            processes.append(start(DAEMON_COMMAND, env, logs / "daemon.log"))
            waiting.append((daemon_ready, processes[-1], logs / "daemon.log"))
        for ready, process, log in waiting:
            ready(process, log)
        yield env


def dagster(env: dict[str, str], *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """A `dagster` command in `env`, failing with its output when it fails."""
    done = subprocess.run([str(BIN / "dagster"), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"dagster {' '.join(args)} exited {done.returncode}\n{done.stdout[-3000:]}\n"
                           f"{done.stderr[-5000:]}")
    return done
