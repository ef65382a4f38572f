"""A hypothesis state machine drives the ledger with random operations and compares it
with a small pure-Python model after every step, then runs every audit check.

The model keeps lots as plain objects and re-derives the ledger's rules from their
statement: spend nearest expiry first then oldest (never-expiring last); expired points
are not spendable except where pending holds need them; a sweep moves the rest to
breakage; a reversal restores the lots a debit took, and takes back a credit's own lot
first. Each step runs at its own frozen moment, one minute or more after the last, so no
two lots tie on (expiry, creation) and the model's order is the ledger's order.

Bounded for CI (``derandomize``: the same examples every run); set
``JIFEN_LEDGER_EXAMPLES`` to explore more. A failure prints the steps that reproduce it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from ledger_support import Books, at, new_tenant

from jifen.platform import clock
from jifen.platform.errors import JifenError

START = at(2026, 1, 1)
EXPIRY_CHOICES = [None, -1, 1, 3, 7, 20]  # days from START; -1: an import already expired
WALLETS = 3


@dataclass
class MLot:
    wallet: int
    remaining: int
    expires_at: datetime | None
    created: datetime
    txn: str


@dataclass
class MHold:
    wallet: int
    points: int
    expires_at: datetime
    status: str = "pending"


@dataclass
class MTxn:
    kind: str
    amounts: dict[int, int]  # wallet index -> signed amount
    consumed: list[tuple[MLot, int]] = field(default_factory=list)
    reversed: bool = False


class Model:
    def __init__(self) -> None:
        self.lots: list[MLot] = []
        self.held = [0] * WALLETS
        self.holds: dict[str, MHold] = {}
        self.txns: dict[str, MTxn] = {}

    def balance(self, wallet: int) -> int:
        return sum(lot.remaining for lot in self.lots if lot.wallet == wallet)

    def ordered(self, wallet: int, first_txn: str | None = None) -> list[MLot]:
        def key(lot: MLot):
            never = lot.expires_at is None
            return (lot.txn != first_txn, never, lot.expires_at or START, lot.created)

        return sorted((lot for lot in self.lots if lot.wallet == wallet), key=key)

    def dead(self, wallet: int, now: datetime) -> dict[int, int]:
        due = [
            lot
            for lot in self.ordered(wallet)
            if lot.expires_at is not None and lot.expires_at <= now and lot.remaining > 0
        ]
        left = min(sum(lot.remaining for lot in due), self.balance(wallet) - self.held[wallet])
        dead = {}
        for lot in due:
            if left <= 0:
                break
            dead[id(lot)] = min(lot.remaining, left)
            left -= dead[id(lot)]
        return dead

    def available(self, wallet: int, now: datetime, releasing: int = 0) -> int:
        dead = sum(self.dead(wallet, now).values())
        return self.balance(wallet) - self.held[wallet] + releasing - dead

    def take(self, wallet: int, points: int, now: datetime, first_txn: str | None = None):
        dead = self.dead(wallet, now)
        plan = []
        for lot in self.ordered(wallet, first_txn):
            live = lot.remaining - dead.get(id(lot), 0)
            if points == 0:
                break
            if live > 0:
                taken = min(live, points)
                plan.append((lot, taken))
                points -= taken
        assert points == 0
        return plan

    @staticmethod
    def apply(plan) -> None:
        for lot, taken in plan:
            lot.remaining -= taken

    def expiring(self, wallet: int, now: datetime) -> list[tuple[int, datetime]]:
        dead = self.dead(wallet, now)
        totals: dict[datetime, int] = {}
        for lot in self.lots:
            left = lot.remaining - dead.get(id(lot), 0)
            if lot.wallet == wallet and lot.expires_at is not None and left > 0:
                totals[lot.expires_at] = totals.get(lot.expires_at, 0) + left
        return [(points, moment) for moment, points in sorted(totals.items())]


points = st.integers(min_value=1, max_value=60)
wallet = st.integers(min_value=0, max_value=WALLETS - 1)
pick = st.integers(min_value=0, max_value=10_000)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.books = Books(*new_tenant())
        self.wallets = [self.books.wallet() for _ in range(WALLETS)]
        self.model = Model()
        self.now = START

    def step(self, minutes: int = 1) -> datetime:
        self.now += timedelta(minutes=minutes)
        return self.now

    def outcome(self, call) -> tuple[str, object]:
        with clock.frozen_at(self.now):
            try:
                return "ok", call()
            except JifenError as error:
                return error.code, None

    # --- rules ----------------------------------------------------------------------

    @rule(w=wallet, p=points, expiry=st.sampled_from(EXPIRY_CHOICES))
    def credit(self, w, p, expiry):
        now = self.step()
        expires_at = None if expiry is None else START + timedelta(days=expiry)
        result, txn = self.outcome(
            lambda: self.books.credit(self.wallets[w], p, expires_at=expires_at)
        )
        assert result == "ok"
        self.model.lots.append(MLot(w, p, expires_at, now, txn))
        self.model.txns[txn] = MTxn("earn", {w: p})

    @rule(w=wallet, p=points)
    def debit(self, w, p):
        now = self.step()
        expected = "ok" if self.model.available(w, now) >= p else "insufficient_points"
        result, txn = self.outcome(lambda: self.books.debit(self.wallets[w], p))
        assert result == expected
        if result == "ok":
            plan = self.model.take(w, p, now)
            self.model.apply(plan)
            self.model.txns[txn] = MTxn("redeem", {w: -p}, plan)

    @rule(giver=wallet, receiver=wallet, p=points)
    def transfer(self, giver, receiver, p):
        now = self.step()
        if giver == receiver:
            expected = "same_wallet"
        elif self.model.available(giver, now) < p:
            expected = "insufficient_points"
        else:
            expected = "ok"
        result, txn = self.outcome(
            lambda: self.books.transfer(self.wallets[giver], self.wallets[receiver], p)
        )
        assert result == expected
        if result == "ok":
            plan = self.model.take(giver, p, now)
            self.model.apply(plan)
            by_expiry: dict[datetime | None, int] = {}
            for lot, taken in plan:
                by_expiry[lot.expires_at] = by_expiry.get(lot.expires_at, 0) + taken
            for expires_at, taken in by_expiry.items():
                self.model.lots.append(MLot(receiver, taken, expires_at, now, txn))
            self.model.txns[txn] = MTxn("transfer", {giver: -p, receiver: p}, plan)

    @rule(w=wallet, p=points, days=st.integers(min_value=1, max_value=10))
    def hold(self, w, p, days):
        now = self.step()
        expires_at = now + timedelta(days=days)
        expected = "ok" if self.model.available(w, now) >= p else "insufficient_points"
        result, hold = self.outcome(
            lambda: self.books.hold(self.wallets[w], p, expires_at=expires_at)
        )
        assert result == expected
        if result == "ok":
            self.model.held[w] += p
            self.model.holds[hold] = MHold(w, p, expires_at)

    @rule(which=pick, part=st.none() | points)
    def capture(self, which, part):
        if not self.model.holds:
            return
        now = self.step()
        hold_id = sorted(self.model.holds)[which % len(self.model.holds)]
        hold = self.model.holds[hold_id]
        if hold.status != "pending" or hold.expires_at <= now:
            expected = "invalid_state"
        elif part is not None and part > hold.points:
            expected = "capture_exceeds_hold"
        else:
            expected = "ok"
        result, txn = self.outcome(lambda: self.books.capture(hold_id, part))
        assert result == expected
        if result == "ok":
            captured = hold.points if part is None else part
            plan = self.model.take(hold.wallet, captured, now)  # dead counted before release
            self.model.held[hold.wallet] -= hold.points
            self.model.apply(plan)
            hold.status = "captured"
            self.model.txns[txn] = MTxn("capture", {hold.wallet: -captured}, plan)

    @rule(which=pick)
    def void(self, which):
        if not self.model.holds:
            return
        self.step()
        hold_id = sorted(self.model.holds)[which % len(self.model.holds)]
        hold = self.model.holds[hold_id]
        expected = "ok" if hold.status == "pending" else "invalid_state"
        result, _ = self.outcome(lambda: self.books.void(hold_id))
        assert result == expected
        if result == "ok":
            self.model.held[hold.wallet] -= hold.points
            hold.status = "voided"

    @rule(which=pick)
    def reverse(self, which):
        if not self.model.txns:
            return
        now = self.step()
        txn_id = sorted(self.model.txns)[which % len(self.model.txns)]
        original = self.model.txns[txn_id]
        takes = {w: amount for w, amount in original.amounts.items() if amount > 0}
        if original.kind == "reverse" or original.reversed:
            expected = "invalid_state"
        elif any(self.model.available(w, now) < p for w, p in takes.items()):
            expected = "insufficient_points"
        else:
            expected = "ok"
        result, mirror = self.outcome(lambda: self.books.reverse(txn_id))
        assert result == expected
        if result == "ok":
            plans = [self.model.take(w, p, now, first_txn=txn_id) for w, p in takes.items()]
            for lot, taken in original.consumed:
                lot.remaining += taken
            consumed = []
            for plan in plans:
                self.model.apply(plan)
                consumed += plan
            original.reversed = True
            amounts = {w: -amount for w, amount in original.amounts.items()}
            self.model.txns[mirror] = MTxn("reverse", amounts, consumed)

    @rule(days=st.integers(min_value=0, max_value=12))
    def sweep(self, days):
        now = self.step(minutes=days * 24 * 60 + 1)
        with clock.frozen_at(now):
            self.books.expire_holds(now)
            self.books.expire(now)
        for hold in self.model.holds.values():
            if hold.status == "pending" and hold.expires_at <= now:
                hold.status = "expired"
                self.model.held[hold.wallet] -= hold.points
        for w in range(WALLETS):
            dead = self.model.dead(w, now)
            for lot in self.model.lots:
                lot.remaining -= dead.get(id(lot), 0)

    # --- after every step -------------------------------------------------------------

    @invariant()
    def wallets_match_the_model(self):
        with clock.frozen_at(self.now):
            for w, wallet_id in enumerate(self.wallets):
                model = self.model
                assert self.books.cached(wallet_id) == (model.balance(w), model.held[w])
                shown = self.books.balance(wallet_id, now=self.now)
                points_now = model.balance(w) - sum(model.dead(w, self.now).values())
                assert (shown.points, shown.held, shown.available) == (
                    points_now,
                    model.held[w],
                    points_now - model.held[w],
                )
                assert [(e.points, e.expires_at) for e in shown.expiring] == model.expiring(
                    w, self.now
                )

    @invariant()
    def audit_is_clean(self):
        self.books.assert_clean()


def test_the_ledger_behaves_like_its_model(app):
    examples = int(os.environ.get("JIFEN_LEDGER_EXAMPLES", "25"))
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=30,
            derandomize=examples <= 25,
            database=None,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        ),
    )
