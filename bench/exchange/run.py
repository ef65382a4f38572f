"""Quote + swap throughput beside the single-earn figure of ``bench/ledger``, in one run.

Seeds ``bench/ledger``'s 50 tenants × 40 members on a scratch PostgreSQL database, puts
every currency in the exchange (rate 1, both directions, 2% fee) and funds every member,
then measures, with the same worker processes and duration:

* earn: ``bench.ledger.run.service_rate`` (one ``ledger.credit`` per transaction);
* swap: ``swaps.quote_and_swap`` for a random member of a random tenant into another
  random tenant's currency (one transaction: two ledger postings, limits, clearing).

and, as a reference for what a swap cannot go below,

* two credits: two ``ledger.credit`` calls into two tenants' wallets in one transaction,
  the ledger work of a swap's two legs with nothing else (no quote, limits, lots,
  clearing record, swap row, events or memberships).

Prints one JSON line with the rates and their ratios to the earn (target: swap ≥ 0.6).
``python -m bench.exchange [--workers N] [--seconds S]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time

from bench.common import run_workers, scratch_database
from bench.ledger.run import configure, make_app, seed, service_rate

FUNDING = 1_000_000


def prepare(url: str, tenants: list[dict]) -> list[dict]:
    """Opt every currency in, fund every member; returns tenants with card ids."""
    configure(url)
    app = make_app()
    from jifen.exchange import settings
    from jifen.platform import ledger
    from jifen.platform.db import unit_of_work
    from jifen.platform.ledger.model import Kind
    from jifen.tenants.members.model import Member
    from jifen.tenants.members.wallets import currency_code

    with app.app_context():
        settings.put_fee_schedule("bench", {"swap": {"bps": 200}})
        for tenant in tenants:
            if "asset" not in tenant:
                with unit_of_work(tenant_id=tenant["id"]) as uow:
                    tenant["asset"] = currency_code(uow.session, tenant["id"])
            settings.put_settings(
                tenant["id"], {"spu_rate": 1_000_000, "inbound": True, "outbound": True}
            )
            with unit_of_work(tenant_id=tenant["id"]) as uow:
                cards = {}
                for member in uow.session.query(Member).all():
                    wallet = ledger.open_wallet(
                        uow.session,
                        tenant_id=tenant["id"],
                        asset=tenant["asset"],
                        owner_id=member.id,
                    )
                    ledger.credit(uow.session, wallet, FUNDING, kind=Kind.AWARD)
                    cards[member.id] = member.card_id
                uow.commit()
            tenant["cards"] = [cards[m] for m in tenant["members"]]
    app.extensions["jifen.db"].dispose()
    return tenants


def _swap_worker(url, tenants, seconds, ready, results):
    configure(url)
    app = make_app()
    from jifen.exchange import swaps

    rng = random.Random(os.getpid())
    done = 0
    with app.app_context():
        ready.wait()  # every worker has built its app before the clock starts
        deadline = time.time() + seconds
        while time.time() < deadline:
            source, target = rng.sample(tenants, 2)
            card_id = rng.choice(source["cards"])
            swaps.quote_and_swap(
                swaps.Party("bench", card_id=card_id),
                from_currency=source["asset"],
                to_currency=target["asset"],
                points=100,
            )
            done += 1
    results.put(done)


def swap_rate(url, tenants, *, workers, seconds) -> float:
    return sum(run_workers(_swap_worker, (url, tenants, seconds), workers=workers)) / seconds


def _two_credits_worker(url, tenants, seconds, ready, results):
    configure(url)
    app = make_app()
    from jifen.platform import ledger
    from jifen.platform.db import run_in_transaction, unit_of_work

    rng = random.Random(os.getpid())

    def two_credits() -> None:
        with unit_of_work(platform=True) as uow:
            for tenant in sorted(rng.sample(tenants, 2), key=lambda t: t["id"]):
                wallet = ledger.open_wallet(
                    uow.session,
                    tenant_id=tenant["id"],
                    asset=tenant["asset"],
                    owner_id=rng.choice(tenant["members"]),
                    lock=True,
                )
                ledger.credit(uow.session, wallet, 3, kind="earn", reference="bench")
            uow.commit()

    done = 0
    with app.app_context():
        ready.wait()
        deadline = time.time() + seconds
        while time.time() < deadline:
            run_in_transaction(two_credits)
            done += 1
    results.put(done)


def two_credits_rate(url, tenants, *, workers, seconds) -> float:
    done = run_workers(_two_credits_worker, (url, tenants, seconds), workers=workers)
    return sum(done) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    with scratch_database("jifen_bench_exchange") as url:
        tenants = prepare(url, seed(url)["tenants"])
        earn = service_rate(url, tenants, workers=args.workers, seconds=args.seconds)
        swap = swap_rate(url, tenants, workers=args.workers, seconds=args.seconds)
        two = two_credits_rate(url, tenants, workers=args.workers, seconds=args.seconds)
    print(
        json.dumps(
            {
                "workers": args.workers,
                "seconds": args.seconds,
                "earn_per_s": round(earn, 1),
                "swap_per_s": round(swap, 1),
                "swap_to_earn": round(swap / earn, 3) if earn else None,
                "two_credits_per_s": round(two, 1),
                "two_credits_to_earn": round(two / earn, 3) if earn else None,
            }
        )
    )
