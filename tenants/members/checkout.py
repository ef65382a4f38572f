"""Checkout quotes: how many points a member can put towards an order, and what they
are worth (``tenants.program.redemption.checkout_quote`` decides).

``POST /v1/checkout/quotes`` computes and stores nothing (like ``/v1/program/simulate``),
so it answers 200 with a ``checkout_quote`` that has no id. The quote is advice: paying
is ``POST /v1/redemptions`` with ``order_id`` and ``order_amount``, which checks the same
rules again against the balance at that moment.
"""

from __future__ import annotations

from dataclasses import dataclass

from jifen.platform import clock, ledger
from jifen.platform.db import unit_of_work
from jifen.platform.errors import Unprocessable
from jifen.tenants.program.redemption import checkout_quote

from . import wallets
from .points import program_context
from .services import load_active_member


@dataclass(frozen=True)
class CheckoutQuoteView:
    member_id: str
    order_amount: int
    currency: str
    points: int  # the most points usable on the order
    money_value: int  # what they are worth, minor units
    cash_due: int  # what the member still pays
    available: int
    min_points: int
    step_points: int
    step_value: int
    max_order_share_pct: int
    program_version: int


def quote(tenant_id: str, *, member_id: str, order_amount: int, currency: str) -> CheckoutQuoteView:
    """Raises NotFound, MemberFrozen and Unprocessable (``currency_mismatch``)."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        session = uow.session
        context = program_context(session, tenant_id)
        program = context.program
        member = load_active_member(session, member_id, "member_id")
        expected = program.earning.currency
        if expected is not None and currency != expected:
            raise Unprocessable(
                f"This program redeems on {expected} orders, not {currency}.",
                param="currency",
                code="currency_mismatch",
            )
        wallet = wallets.member_wallet(session, member, context.asset)
        available = ledger.wallet_balance(session, wallet, now=clock.now()).available
        result = checkout_quote(program, available, order_amount)
        rules = program.redemption
        return CheckoutQuoteView(
            member_id=member.id,
            order_amount=order_amount,
            currency=currency,
            points=result.max_points,
            money_value=result.money_value,
            cash_due=result.cash_due,
            available=available,
            min_points=rules.min_points,
            step_points=rules.points,
            step_value=rules.per_amount,
            max_order_share_pct=rules.max_order_share_pct,
            program_version=context.version,
        )
