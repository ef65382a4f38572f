"""Helpers shared by the benchmarks: a scratch PostgreSQL database, pgbench, worker
processes, a server on a free port, reporting."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import secrets
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ADMIN_URL = os.environ.get(
    "JIFEN_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@contextlib.contextmanager
def scratch_database(prefix: str = "jifen_bench") -> Iterator[str]:
    """A fresh database for one run; dropped afterwards."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def libpq_args(url: str) -> list[str]:
    parsed = make_url(url)
    args = ["-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432)]
    args += ["-U", parsed.username or "postgres", parsed.database]
    return args


@dataclass
class PgbenchResult:
    tps: float
    latency_ms: float
    transactions: int


def pgbench(url: str, script: str, *, clients: int, seconds: int) -> PgbenchResult:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as handle:
        handle.write(script)
        path = handle.name
    try:
        output = subprocess.run(
            [
                "pgbench",
                "-n",
                "-c",
                str(clients),
                "-j",
                str(min(clients, 4)),
                "-T",
                str(seconds),
                "-f",
                path,
                *libpq_args(url),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        os.unlink(path)
    tps = float(re.search(r"tps = ([\d.]+)", output).group(1))
    latency = float(re.search(r"latency average = ([\d.]+) ms", output).group(1))
    count = int(re.search(r"number of transactions actually processed: (\d+)", output).group(1))
    return PgbenchResult(tps, latency, count)


def report(rows: list[tuple[str, float, str]], baseline: float) -> str:
    """Rows of (label, per-second figure, note) printed with their ratio to ``baseline``."""
    lines = [f"{'figure':<58} {'per s':>10} {'× (a)':>7}  note"]
    for label, value, note in rows:
        lines.append(f"{label:<58} {value:>10,.0f} {value / baseline:>7.2f}  {note}")
    return "\n".join(lines)


def run_workers(target: Callable[..., None], args: tuple, *, workers: int) -> list[Any]:
    """Run ``target(*args, ready, results)`` in ``workers`` spawned processes and return
    what each put on ``results``. Each waits on the barrier ``ready`` once set up, so the
    clock starts when all of them can work."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    ready = context.Barrier(workers)
    processes = [
        context.Process(target=target, args=(*args, ready, results)) for _ in range(workers)
    ]
    for process in processes:
        process.start()
    figures = [results.get() for _ in processes]
    for process in processes:
        process.join()
    return figures


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def server_process(command: list[str], port: int, env: dict, *, settle: float) -> Iterator[None]:
    """Start ``command`` (a server on ``port``) in its own session, wait until the port
    answers and ``settle`` seconds more; stop the whole process group afterwards."""
    server = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        time.sleep(settle)
        yield
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)
