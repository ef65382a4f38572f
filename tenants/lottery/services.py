"""Lottery use cases: create (commit to a seed), draw, close (reveal), read.

Creating a lottery takes 32 bytes from ``seed_source`` (``secrets.token_bytes`` unless a
test injects a seeded one) and publishes only their SHA-256. The prize table is fixed at
creation: odds cannot change under a running lottery.

A draw is one transaction: lock the lottery row (this numbers the draw and serialises a
lottery's draws, so stock is read and taken under the lock), compute the outcome
(``rules.outcome``), take one unit of the prize's stock with ``UPDATE ... WHERE stock > 0``
(checked by row count), debit ``cost_points`` from the member's wallet through the ledger
(kind ``lottery``), and write the draw. A roll landing on a sold-out prize is still
recorded (outcome ``sold_out``, no points spent), so the numbering stays contiguous and
every outcome stays verifiable. Lock order: lottery, then wallet.

Closing (by the tenant, or by ``closes_at`` passing) ends draws; from then on the seed is
shown by the API and the public odds page.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from jifen.platform import clock, ledger
from jifen.platform.db import run_in_transaction, unit_of_work
from jifen.platform.errors import InvalidState, MemberFrozen, NotFound, Unprocessable
from jifen.platform.ids import new_id
from jifen.platform.ledger.model import Kind
from jifen.platform.paging import cursor_page
from jifen.platform.webhooks.events import emit
from jifen.tenants.members import wallets
from jifen.tenants.members.services import load_member, looks_like_id

from . import rules
from .model import Lottery, LotteryDraw, LotteryPrize, LotteryStatus

SEED_BYTES = 32


@dataclass(frozen=True)
class LotteryView:
    lottery: Lottery
    prizes: list[LotteryPrize]

    @property
    def is_closed(self) -> bool:
        return is_closed(self.lottery, clock.now())

    @property
    def revealed_seed(self) -> str | None:
        return self.lottery.server_seed if self.is_closed else None

    @property
    def odds(self) -> list[tuple[LotteryPrize, rules.Odds]]:
        return list(zip(self.prizes, rules.odds([p.weight for p in self.prizes]), strict=True))


def is_closed(lottery: Lottery, now: datetime) -> bool:
    return lottery.status == LotteryStatus.CLOSED or (
        lottery.closes_at is not None and lottery.closes_at <= now
    )


def create_lottery(
    tenant_id: str, body: dict, *, seed_source: Callable[[int], bytes] = secrets.token_bytes
) -> LotteryView:
    """A new open lottery with its prize table and a committed seed.

    Raises Unprocessable naming ``prizes`` (empty, a weight below 1, too large a total)
    or ``closes_at`` (not in the future).
    """
    problem = rules.check_prizes(body["prizes"])
    if problem:
        raise Unprocessable(problem, param="prizes")
    now = clock.now()
    if body.get("closes_at") is not None and body["closes_at"] <= now:
        raise Unprocessable("closes_at must be in the future.", param="closes_at")
    seed = seed_source(SEED_BYTES).hex()
    with unit_of_work(tenant_id=tenant_id) as uow:
        lottery = Lottery(
            id=new_id("ltr"),
            tenant_id=tenant_id,
            name=body["name"],
            cost_points=body["cost_points"],
            status=LotteryStatus.OPEN.value,
            seed_hash=rules.seed_hash(seed),
            server_seed=seed,
            draws_count=0,
            closes_at=body.get("closes_at"),
            created=now,
        )
        uow.session.add(lottery)
        uow.session.flush()
        prizes = [
            LotteryPrize(
                id=new_id("lpz"),
                tenant_id=tenant_id,
                lottery_id=lottery.id,
                position=position,
                name=prize["name"],
                weight=prize["weight"],
                stock=prize.get("stock"),
                initial_stock=prize.get("stock"),
            )
            for position, prize in enumerate(body["prizes"])
        ]
        uow.session.add_all(prizes)
        uow.session.flush()
        view = LotteryView(lottery, prizes)
        uow.commit(view)
        return view


def get_lottery(tenant_id: str, lottery_id: str) -> LotteryView:
    """Raises NotFound (also for another tenant's lottery)."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        return _view(uow.session, _load(uow.session, lottery_id))


def list_lotteries(tenant_id: str, args: dict) -> dict:
    """The tenant's lotteries, newest first, each with its prize table (a cursor page of
    ``LotteryView``)."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        page = cursor_page(uow.session, select(Lottery), Lottery, args)
        return {**page, "data": [_view(uow.session, row) for row in page["data"]]}


def public_lottery(lottery_id: str) -> tuple[LotteryView, list[LotteryDraw]]:
    """Any lottery by id, for the public odds page; its draws once it has closed (to
    verify them). Raises NotFound."""
    with unit_of_work(platform=True) as uow:
        view = _view(uow.session, _load(uow.session, lottery_id))
        draws = _draws(uow.session, lottery_id) if view.is_closed else []
        return view, draws


def close_lottery(tenant_id: str, lottery_id: str) -> LotteryView:
    """End the draws and reveal the seed. Raises NotFound and InvalidState (closed)."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        lottery = _load(uow.session, lottery_id, lock=True)
        if lottery.status == LotteryStatus.CLOSED:
            raise InvalidState("This lottery is closed already.", param="id")
        lottery.status = LotteryStatus.CLOSED.value
        lottery.closed_at = clock.now()
        uow.session.flush()
        view = _view(uow.session, lottery)
        uow.commit(view)
        return view


@dataclass(frozen=True)
class DrawView:
    draw: LotteryDraw
    prize: LotteryPrize | None
    balance_after: int | None


def draw(tenant_id: str, lottery_id: str, member_id: str) -> DrawView:
    """One draw for the member.

    Raises NotFound (lottery or member), InvalidState (``lottery_closed``), MemberFrozen
    and InsufficientPoints. Nothing changes when it raises.
    """

    def attempt() -> DrawView:
        with unit_of_work(tenant_id=tenant_id) as uow:
            session = uow.session
            lottery = _load(session, lottery_id, lock=True)
            now = clock.now()
            if is_closed(lottery, now):
                raise InvalidState("This lottery is closed.", code="lottery_closed", param="id")
            member = load_member(session, member_id, param="member_id")
            if member.is_frozen:
                raise MemberFrozen(f"Member {member.id} is frozen.", param="member_id")
            prizes = _prizes(session, lottery.id)
            sequence = lottery.draws_count + 1
            identifier = rules.draw_id(lottery.id, sequence)
            rolled, index = rules.outcome(
                lottery.server_seed, identifier, member.id, [p.weight for p in prizes]
            )
            prize = prizes[index]
            won = _take_one(session, prize)
            transaction, balance_after = None, None
            if won:
                wallet = wallets.member_wallet(session, member)
                transaction = ledger.debit(
                    session,
                    wallet,
                    lottery.cost_points,
                    kind=Kind.LOTTERY,
                    reference=identifier,
                    metadata={"lottery": lottery.id, "draw": identifier, "prize": prize.id},
                )
                balance_after = wallets.entry(transaction, wallet, member.id).balance_after
            lottery.draws_count = sequence
            row = LotteryDraw(
                id=identifier,
                tenant_id=tenant_id,
                lottery_id=lottery.id,
                sequence=sequence,
                member_id=member.id,
                roll=rolled,
                digest=rules.digest(lottery.server_seed, identifier, member.id),
                outcome="won" if won else "sold_out",
                prize_id=prize.id if won else None,
                points=lottery.cost_points if won else 0,
                transaction_id=transaction.id if transaction else None,
                created=now,
            )
            session.add(row)
            session.flush()
            if transaction is not None:
                emit(
                    uow,
                    tenant_id=tenant_id,
                    type="points.redeemed",
                    data={
                        "transaction": transaction.id,
                        "member": member.id,
                        "kind": transaction.kind,
                        "points": -lottery.cost_points,
                        "reference": identifier,
                    },
                )
            view = DrawView(row, prize if won else None, balance_after)
            uow.commit(view)
            return view

    return run_in_transaction(attempt)


def list_draws(tenant_id: str, lottery_id: str, args: dict) -> dict:
    """The lottery's draws, newest first. Raises NotFound."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        _load(uow.session, lottery_id)
        statement = select(LotteryDraw).where(LotteryDraw.lottery_id == lottery_id)
        return cursor_page(uow.session, statement, LotteryDraw, args)


def _take_one(session: Session, prize: LotteryPrize) -> bool:
    """Take one unit of stock; False when none is left (unlimited prizes always give)."""
    if prize.stock is None and prize.initial_stock is None:
        return True
    result = session.execute(
        update(LotteryPrize)
        .where(LotteryPrize.id == prize.id, LotteryPrize.stock > 0)
        .values(stock=LotteryPrize.stock - 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    session.refresh(prize)
    return True


def _load(session: Session, lottery_id: str, *, lock: bool = False) -> Lottery:
    row = None
    if looks_like_id(lottery_id):
        statement = select(Lottery).where(Lottery.id == lottery_id)
        if lock:
            statement = statement.with_for_update().execution_options(populate_existing=True)
        row = session.scalar(statement)
    if row is None:
        raise NotFound(f"No such lottery: {lottery_id}", param="id")
    return row


def _prizes(session: Session, lottery_id: str) -> list[LotteryPrize]:
    return list(
        session.scalars(
            select(LotteryPrize)
            .where(LotteryPrize.lottery_id == lottery_id)
            .order_by(LotteryPrize.position)
        )
    )


def _draws(session: Session, lottery_id: str) -> list[LotteryDraw]:
    return list(
        session.scalars(
            select(LotteryDraw)
            .where(LotteryDraw.lottery_id == lottery_id)
            .order_by(LotteryDraw.sequence)
        )
    )


def _view(session: Session, lottery: Lottery) -> LotteryView:
    return LotteryView(lottery, _prizes(session, lottery.id))
