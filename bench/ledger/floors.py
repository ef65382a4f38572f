"""What any Python client can reach on this machine: the floors under (b), (c) and (d).

The targets of bench/ledger compare Jifen, a Python service, with pgbench, a C client.
On a 2-core machine the client's own CPU competes with PostgreSQL's, so a Python client
has a ceiling of its own, well under pgbench's. These figures measure that ceiling with
the least Python that can still post an earn, against the baseline's own tables and
function (``baseline.sql``), so they say how far a target is reachable at all:

(f) one earn per transaction: 8 processes, plain psycopg, each transaction one call of
    the plpgsql ``bench_earn`` — no ORM, no pool, no tenant, no checks;
(g) 100 earns per transaction: the same processes send each batch as one set-based
    statement (lock the wallets, update them, insert the transactions and postings);
(h) one earn per HTTP request: gunicorn with the same worker count as (d) serving a
    bare WSGI function that calls ``bench_earn``, driven by the same wrk settings.
"""

from __future__ import annotations

import os
import random
import sys
import time

from sqlalchemy.engine import make_url

from bench.common import free_port, run_workers, server_process

WALLETS = 10_000  # rows baseline.sql creates

BATCH_EARN = """
WITH earns AS (
    SELECT wallet, points, row_number() OVER () AS n
      FROM unnest(%(wallets)s::bigint[], %(points)s::bigint[]) AS e (wallet, points)
), updated AS (
    UPDATE bench_wallets w SET balance = w.balance + e.points, version = w.version + 1
      FROM earns e WHERE w.id = e.wallet
), headers AS (
    INSERT INTO bench_transactions (kind, reference)
    SELECT 'earn', 'bench' FROM earns ORDER BY n RETURNING id
), numbered AS (
    SELECT id, row_number() OVER (ORDER BY id) AS n FROM headers
)
INSERT INTO bench_postings (transaction_id, account, amount)
SELECT h.id, account, amount
  FROM numbered h JOIN earns e USING (n),
       LATERAL (VALUES ('wallet:' || e.wallet, e.points), ('issuance', -e.points))
           AS legs (account, amount)
"""


def libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _client(url: str, seconds: float, batch: int, ready, results) -> None:
    import psycopg

    connection = psycopg.connect(libpq_url(url), prepare_threshold=None)
    rng = random.Random(os.getpid())
    done = 0
    ready.wait()
    deadline = time.time() + seconds
    while time.time() < deadline:
        with connection.transaction():
            if batch == 1:
                connection.execute("SELECT bench_earn(%s, 10)", (rng.randint(1, WALLETS),))
            else:
                wallets = sorted(rng.sample(range(1, WALLETS + 1), batch))
                connection.execute(
                    "SELECT 1 FROM bench_wallets WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                    (wallets,),
                )
                connection.execute(BATCH_EARN, {"wallets": wallets, "points": [10] * batch})
        done += batch
    connection.close()
    results.put(done)


def client_floor(url: str, *, workers: int, seconds: float, batch: int = 1) -> float:
    """Earns per second of ``workers`` bare psycopg processes (figures (f) and (g))."""
    return sum(run_workers(_client, (url, seconds, batch), workers=workers)) / seconds


# (h): the module gunicorn imports is this file itself, as ``bench.ledger.floors:wsgi``.
_connection = None


def wsgi(environ, start_response):
    global _connection
    if _connection is None:
        import psycopg

        _connection = psycopg.connect(os.environ["BENCH_FLOOR_URL"], prepare_threshold=None)
    length = int(environ.get("CONTENT_LENGTH") or 0)
    environ["wsgi.input"].read(length)
    with _connection.transaction():
        _connection.execute("SELECT bench_earn(%s, 10)", (random.randint(1, WALLETS),))
    body = b'{"object": "transaction"}'
    start_response("201 Created", [("Content-Type", "application/json")])
    return [body]


def http_floor(url: str, *, seconds: int, workers: int, wrk) -> dict:
    """Peak rate of gunicorn + a bare WSGI earn, with the (d) wrk driver ``wrk``."""
    port = free_port()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "BENCH_FLOOR_URL": libpq_url(url), "PYTHONPATH": root}
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers)]
    command += ["--bind", f"127.0.0.1:{port}", "bench.ledger.floors:wsgi"]
    with server_process(command, port, env, settle=1):
        return wrk(port, seconds=seconds)
