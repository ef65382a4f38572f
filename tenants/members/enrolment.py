"""Card enrolment: how a card comes to hold a membership in a program, the one way.

Whoever enrols a card (the merchant with ``POST /v1/members``, a swap into a program the
card has not joined, an alliance earn) goes through ``enrol``: it checks the plan's member
limit, writes the member with one plain INSERT that gives way to a membership or an
external id made meanwhile, and emits ``member.created``. ``join_card`` is the variant
for joins the holder did not ask the program for (swaps, alliance earns): the member is
named after the card, and a program at its plan's member limit refuses the points with
422 ``limit_exceeded`` rather than telling the caller about another tenant's plan.

The limit check reads and locks the tenant's billing row and counts its members (two
statements), and the event costs what every event costs; both happen only when a card
actually joins, never on a swap or earn into a membership that exists.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from jifen.platform import clock
from jifen.platform.billing.limits import PlanLimit, check_member_limit
from jifen.platform.db import UnitOfWork
from jifen.platform.errors import LimitExceeded
from jifen.platform.ids import new_id
from jifen.platform.webhooks.events import emit

from .model import Enrolment, Member, MemberStatus

_COLUMNS = (
    "id",
    "tenant_id",
    "card_id",
    "external_id",
    "email",
    "phone",
    "name",
    "birthday",
    "status",
    "enrolled",
    "created",
)


def _insert_statement(dialect_insert: Any) -> Any:
    return (
        dialect_insert(Member)
        .values({name: bindparam(name) for name in _COLUMNS})
        .on_conflict_do_nothing()  # the card's membership or the external id, made meanwhile
        .returning(Member.id)
    )


_INSERT = {
    "postgresql": _insert_statement(postgresql.insert),
    "sqlite": _insert_statement(sqlite.insert),
}


def enrol(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    card_id: str,
    external_id: str,
    enrolled: Enrolment = Enrolment.JOINED,
    email: str | None = None,
    phone: str | None = None,
    name: str | None = None,
    birthday: date | None = None,
    now: datetime | None = None,
) -> str | None:
    """Give the card an active membership in ``tenant_id`` and emit ``member.created``;
    the new member's id. None when the card already holds a membership there or the
    external id is taken (then nothing is written or emitted). Never commits.

    Raises PlanLimit (403 ``plan_limit``) when the tenant's plan allows no more members.
    """
    session = uow.session
    check_member_limit(session, tenant_id)
    member_id = session.connection().scalar(
        _INSERT[session.get_bind().dialect.name],
        {
            "id": new_id("mem"),
            "tenant_id": tenant_id,
            "card_id": card_id,
            "external_id": external_id,
            "email": email,
            "phone": phone,
            "name": name,
            "birthday": birthday,
            "status": MemberStatus.ACTIVE.value,
            "enrolled": Enrolment(enrolled).value,
            "created": now or clock.now(),
        },
    )
    if member_id is not None:
        emit(
            uow,
            tenant_id=tenant_id,
            type="member.created",
            data={"member": member_id, "external_id": external_id},
        )
    return member_id


def join_card(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    card_id: str,
    card_number: str,
    param: str,
    now: datetime | None = None,
) -> tuple[str, str, bool]:
    """The card's membership in ``tenant_id`` as ``(member id, status, joined just now)``,
    enrolling the card (``enrol``) under the name ``card:<number>`` if it has none. Another
    swap or earn of the card may enrol it meanwhile: this then gives way to theirs.

    Raises LimitExceeded (422 ``limit_exceeded``, naming ``param``) when the program's plan
    allows no more members.
    """
    joined = _join(uow, tenant_id, card_id, f"card:{card_number}", param, now)
    if joined is not None:
        return joined, MemberStatus.ACTIVE.value, True
    theirs = uow.session.connection().execute(
        select(Member.id, Member.status).where(
            Member.tenant_id == tenant_id, Member.card_id == card_id
        )
    )
    member = theirs.one_or_none()
    if member is not None:
        return member.id, member.status, False
    # the tenant named one of its own members card:<number> (before such names were
    # reserved): the card joins under a name of its own
    name = f"card:{card_number}:{new_id('j')[2:10]}"
    return _join(uow, tenant_id, card_id, name, param, now), MemberStatus.ACTIVE.value, True


def _join(
    uow: UnitOfWork, tenant_id: str, card_id: str, name: str, param: str, now: datetime | None
) -> str | None:
    try:
        return enrol(uow, tenant_id=tenant_id, card_id=card_id, external_id=name, now=now)
    except PlanLimit:
        raise LimitExceeded("This program takes no new members.", param=param) from None
