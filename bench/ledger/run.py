"""bench/ledger: how fast Jifen posts earns, beside plain SQL on the same machine.

    .venv/bin/python -m bench.ledger [--seconds 10] [--workers 8]

All figures come from one run against one scratch PostgreSQL database:

(a) the ceiling: an earn in plpgsql (lock the member row, update its balance, insert the
    transaction and postings) driven by pgbench with 8 clients;
(b) Jifen's posting service without HTTP: a unit of work bound to the tenant, the
    member's wallet opened and locked, ``ledger.credit`` (transaction, two postings, a
    lot, the wallet's balance), commit; one earn per transaction, 8 worker processes;
(c) the same with 100 earns per transaction (what ``POST /v1/earn/batch`` does);
(d) ``POST /v1/earn`` over HTTP through gunicorn (``jifen serve``) with an
    ``Idempotency-Key`` on every request (token check, idempotency claim, member checks,
    program rules, posting), driven by wrk: peak rate, then p50/p99 latency at half the
    peak rate;
(e) (b) with every earn on one tenant, versus spread over 50 tenants. Both draw from
    the same number of members (the one tenant gets 50 × 40 of its own), so what is
    compared is the tenant-wide accounts, not how often two workers pick one member.

Then the floors of ``bench/ledger/floors.py``: (f), (g) and (h) are what the least
Python that can post an earn reaches on the same machine in the same run, so a ratio
target above them is out of reach of any Python service, not only of Jifen's.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine

from bench.common import (
    free_port,
    pgbench,
    report,
    run_workers,
    scratch_database,
    server_process,
)
from bench.ledger import floors

HERE = Path(__file__).parent
TENANTS = 50
MEMBERS_PER_TENANT = 40


# --- setup -------------------------------------------------------------------------------


def configure(url: str) -> None:
    os.environ["JIFEN_DATABASE_URL"] = url
    os.environ["JIFEN_LOG_FORMAT"] = "text"
    os.environ.setdefault("JIFEN_SECRET_KEY", "bench")


def make_app():
    import logging

    from jifen.platform.config import Config
    from jifen.platform.shell.app import create_app

    app = create_app(Config.from_env(log_json=False))
    logging.getLogger().setLevel(logging.WARNING)
    return app


def seed(url: str) -> dict:
    """50 tenants with 40 members each; returns their ids and one API token per tenant."""
    from jifen.migrations import upgrade

    upgrade(url)
    configure(url)
    app = make_app()
    from jifen.platform.auth.secrets import new_secret
    from jifen.platform.auth.services import find_client, save_access_token
    from jifen.tenants.members.services import create_member
    from jifen.tenants.services import sign_up

    tenants = []
    with app.app_context():
        for number in range(TENANTS):
            signup = sign_up(
                tenant={"name": f"Bench {number}", "slug": f"bench-{number}", "kind": "merchant"},
                currency={"code": f"B{number:03d}", "name": "Bench points"},
                owner={"email": f"owner{number}@bench.example", "password": "bench-password"},
                plan="scale",  # bench/exchange puts every currency in the exchange
            )
            members = [
                create_member(signup.tenant.id, external_id=f"m{index}").id
                for index in range(MEMBERS_PER_TENANT)
            ]
            token = new_secret("at")
            client = find_client(signup.api_client.client_id)
            save_access_token(client, token, client.scope, 24 * 3600)
            tenants.append(
                {
                    "id": signup.tenant.id,
                    "asset": signup.currency.code,
                    "members": members,
                    "token": token,
                }
            )
        first = tenants[0]
        first["all_members"] = first["members"] + [
            create_member(first["id"], external_id=f"wide{index}").id
            for index in range((TENANTS - 1) * MEMBERS_PER_TENANT)
        ]
    app.extensions["jifen.db"].dispose()
    return {"tenants": tenants}


# --- (b), (c), (e): the service without HTTP ------------------------------------------------


def _earn_worker(url, tenants, seconds, batch, ready, results):
    configure(url)
    app = make_app()
    from jifen.platform import ledger
    from jifen.platform.db import run_in_transaction, unit_of_work

    rng = random.Random(os.getpid())
    done = 0

    def post(tenant: dict, members: list[str]) -> None:
        def attempt() -> None:
            with unit_of_work(tenant_id=tenant["id"]) as uow:
                for member_id in members:
                    wallet = ledger.open_wallet(
                        uow.session,
                        tenant_id=tenant["id"],
                        asset=tenant["asset"],
                        owner_id=member_id,
                        lock=True,
                    )
                    ledger.credit(uow.session, wallet, 3, kind="earn", reference="bench")
                uow.commit()

        run_in_transaction(attempt)

    with app.app_context():
        ready.wait()  # every worker has built its app before the clock starts
        deadline = time.time() + seconds
        cpu = time.process_time()
        while time.time() < deadline:
            tenant = rng.choice(tenants)
            members = sorted(rng.choice(tenant["members"]) for _ in range(batch))
            post(tenant, members)
            done += batch
        cpu = time.process_time() - cpu
    results.put((done, cpu))


def service_rate(url, tenants, *, workers, seconds, batch=1) -> float:
    return service_figures(url, tenants, workers=workers, seconds=seconds, batch=batch)[0]


def service_figures(url, tenants, *, workers, seconds, batch=1) -> tuple[float, float]:
    """Earns per second over all workers, and the workers' Python CPU per earn in ms."""
    figures = run_workers(_earn_worker, (url, tenants, seconds, batch), workers=workers)
    total = sum(done for done, _ in figures)
    cpu = sum(cpu for _, cpu in figures)
    return total / seconds, 1000 * cpu / max(total, 1)


# --- (d): HTTP through gunicorn -------------------------------------------------------------


WRK_SCRIPT = """
local tenants = {TENANTS}
local counter = 0
local pause_ms = {PAUSE}
function setup(thread)
  thread:set("tid", tostring(math.random(1, 1e9)))
end
function request()
  counter = counter + 1
  local tenant = tenants[math.random(#tenants)]
  local member = tenant.members[math.random(#tenant.members)]
  local key = tid .. "-" .. counter
  local body = '{"member_id":"' .. member .. '","order_id":"' .. key ..
    '","amount":35800,"currency":"CNY"}'
  return wrk.format("POST", "/v1/earn", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tenant.token,
    ["Idempotency-Key"] = key,
  }, body)
end
function delay()
  return pause_ms
end
function done(summary, latency, requests)
  local line = "JSON {\\"requests\\": %d, \\"p50_ms\\": %.2f, " ..
    "\\"p99_ms\\": %.2f, \\"non2xx\\": %d}\\n"
  io.write(string.format(line, summary.requests, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.errors.status))
end
"""


def _lua_tenants(tenants) -> str:
    items = []
    for tenant in tenants:
        members = ", ".join(f'"{m}"' for m in tenant["members"])
        items.append(f'{{token = "{tenant["token"]}", members = {{{members}}}}}')
    return "{" + ", ".join(items) + "}"


def wrk(port: int, tenants, *, seconds: int, connections: int, pause_ms: int) -> dict:
    script = WRK_SCRIPT.replace("{TENANTS}", _lua_tenants(tenants)).replace(
        "{PAUSE}", str(pause_ms)
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        output = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{connections}",
                f"-d{seconds}s",
                "-s",
                handle.name,
                f"http://127.0.0.1:{port}",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        os.unlink(handle.name)
    line = next(line for line in output.splitlines() if line.startswith("JSON "))
    figures = json.loads(line[5:])
    figures["rate"] = figures["requests"] / seconds
    return figures


HTTP_WORKERS = 3


def http_figures(url, tenants, *, seconds) -> dict:
    if shutil.which("wrk") is None:
        sys.exit("(d) needs wrk: apt-get install wrk")
    port = free_port()
    env = {**os.environ, "JIFEN_DATABASE_URL": url, "JIFEN_LOG_FORMAT": "text"}
    command = [sys.executable, "-m", "jifen.platform.shell.cli", "serve", "--port", str(port)]
    with server_process([*command, "--workers", str(HTTP_WORKERS)], port, env, settle=2):
        peak = wrk(port, tenants, seconds=seconds, connections=8, pause_ms=0)
        half_rate = peak["rate"] / 2
        connections = 8
        pause = max(1, int(connections / half_rate * 1000))
        half = wrk(port, tenants, seconds=seconds, connections=connections, pause_ms=pause)
    return {"peak": peak, "half": half}


# --- (a) ----------------------------------------------------------------------------------


def baseline_rate(url: str, *, seconds: int, clients: int) -> float:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql((HERE / "baseline.sql").read_text())
    engine.dispose()
    script = "\\set w random(1, 10000)\nSELECT bench_earn(:w, 10);\n"
    return pgbench(url, script, clients=clients, seconds=seconds).tps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--skip-http", action="store_true")
    options = parser.parse_args()
    seconds, workers = options.seconds, options.workers

    with scratch_database() as url:
        print(f"seeding {TENANTS} tenants × {MEMBERS_PER_TENANT} members …", flush=True)
        tenants = seed(url)["tenants"]
        a = baseline_rate(url, seconds=seconds, clients=8)
        print(f"(a) done: {a:,.0f}/s", flush=True)
        b, b_cpu = service_figures(url, tenants, workers=workers, seconds=seconds)
        print(f"(b) done: {b:,.0f}/s, {b_cpu:.2f} ms Python CPU per earn", flush=True)
        c, c_cpu = service_figures(url, tenants, workers=workers, seconds=seconds, batch=100)
        print(f"(c) done: {c:,.0f}/s, {c_cpu:.2f} ms Python CPU per earn", flush=True)
        one_tenant = [{**tenants[0], "members": tenants[0]["all_members"]}]
        e_one = service_rate(url, one_tenant, workers=workers, seconds=seconds)
        print(f"(e) one tenant done: {e_one:,.0f}/s", flush=True)
        d = None if options.skip_http else http_figures(url, tenants, seconds=seconds)
        f = floors.client_floor(url, workers=workers, seconds=seconds)
        g = floors.client_floor(url, workers=workers, seconds=seconds, batch=100)
        print(f"(f), (g) done: {f:,.0f}/s, {g:,.0f}/s", flush=True)
        h = None
        if not options.skip_http:
            h = floors.http_floor(
                url,
                seconds=seconds,
                workers=HTTP_WORKERS,
                wrk=lambda port, seconds: wrk(
                    port, tenants, seconds=seconds, connections=8, pause_ms=0
                ),
            )

    rows = [
        ("(a) plpgsql earn via pgbench, 8 clients", a, "baseline"),
        (
            f"(b) earn service, 1 earn/txn, {workers} workers, 50 tenants",
            b,
            f"target ≥ 0.5× (a) and ≥ 1,000/s; {b_cpu:.2f} ms CPU/earn",
        ),
        (
            f"(c) posting service, 100 earns/txn, {workers} workers",
            c,
            f"target ≥ 5× (a); {c_cpu:.2f} ms CPU/earn",
        ),
    ]
    if d is not None:
        rows.append(
            (
                "(d) POST /v1/earn via gunicorn, peak (wrk, 8 conns)",
                d["peak"]["rate"],
                f"target ≥ 0.2× (a); non-2xx {d['peak']['non2xx']}",
            )
        )
        rows.append(
            (
                "(d) … at half the peak rate",
                d["half"]["rate"],
                f"p50 {d['half']['p50_ms']:.1f} ms, p99 {d['half']['p99_ms']:.1f} ms "
                "(target p99 < 50 ms)",
            )
        )
    rows.append(
        (
            "(e) (b) with every earn on one tenant",
            e_one,
            f"one/spread = {e_one / b:.2f} (target ≥ 0.8)",
        )
    )
    rows.append(
        (
            f"(f) floor: bare psycopg, plpgsql earn, 1/txn, {workers} procs",
            f,
            f"any Python client's ceiling for (b); (b)/(f) = {b / f:.2f}",
        )
    )
    rows.append(
        (
            f"(g) floor: bare psycopg, set-based 100 earns/txn, {workers} procs",
            g,
            f"ceiling for (c); (c)/(g) = {c / g:.2f}",
        )
    )
    if h is not None:
        rows.append(
            (
                f"(h) floor: gunicorn ({HTTP_WORKERS}) + bare WSGI plpgsql earn",
                h["rate"],
                f"ceiling for (d); (d)/(h) = {d['peak']['rate'] / h['rate']:.2f}",
            )
        )
    print()
    print(report(rows, a))


if __name__ == "__main__":
    main()
