"""Card enrolment: how a card comes to hold a membership in a program, the one way.

Whoever enrols a card (the merchant with ``POST /v1/members``, a swap into a program the
card has not joined, an alliance earn) goes through ``enrol``: it checks the plan's member
limit, writes the member with one plain INSERT that gives way to a membership or an
external id made meanwhile, and emits ``member.created``. ``join_card`` is the variant
for joins the holder did not ask the program for (swaps, alliance earns): the member is
named after the card, and a program at its plan's member limit refuses the points with
422 ``limit_exceeded`` rather than telling the caller about another tenant's plan.

The limit is checked one of two ways. By default the tenant's billing row is locked and
its members counted before the INSERT (exact, also under concurrent enrolments). A hot
path that has read the plan with its other reads (a swap) passes it, and the INSERT
itself counts (``INSERT ... SELECT ... WHERE count < limit``): no extra round trip, at the
price that enrolments racing at the very edge of the limit may pass it together. Such a
caller may also take the ``member.created`` event (``announce``) and write it with its
own events. Nothing of this runs on a swap or an earn into a membership that exists.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, cast, func, select
from sqlalchemy.dialects import postgresql, sqlite

from jifen.platform import clock
from jifen.platform.billing.limits import PlanLimit, check_member_limit
from jifen.platform.billing.plans import Plan
from jifen.platform.db import UnitOfWork
from jifen.platform.errors import LimitExceeded
from jifen.platform.ids import new_id
from jifen.platform.webhooks.events import PendingEvent, emit

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


def _insert_statement(dialect_insert: Any, *, counted: bool, typed: bool) -> Any:
    """The member's INSERT; ``counted``: only while the tenant has fewer than ``:limit``
    members. ``typed``: the selected values carry their column's type (PostgreSQL types
    the parameters of a SELECT list from their use; SQLite would mangle a cast date)."""
    columns = Member.__table__.c
    values = [
        cast(bindparam(name), columns[name].type)
        if typed
        else bindparam(name, type_=columns[name].type)
        for name in _COLUMNS
    ]
    if counted:
        members = (
            select(func.count())
            .select_from(Member)
            .where(Member.tenant_id == bindparam("tenant_id"))
            .scalar_subquery()
        )
        rows = select(*values).where(members < bindparam("limit"))
        statement = dialect_insert(Member).from_select(list(_COLUMNS), rows)
    else:
        statement = dialect_insert(Member).values(dict(zip(_COLUMNS, values, strict=True)))
    return statement.on_conflict_do_nothing().returning(Member.id)


@cache
def _insert(dialect: str, *, counted: bool) -> Any:
    """The statement for ``dialect``, built on first use: by then the foreign keys' column
    types are resolved (``members.tenant_id`` takes its type from ``tenants.id``)."""
    if dialect == "postgresql":
        return _insert_statement(postgresql.insert, counted=counted, typed=counted)
    return _insert_statement(sqlite.insert, counted=counted, typed=False)


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
    plan: Plan | None = None,
    announce: list[PendingEvent] | None = None,
) -> str | None:
    """Give the card an active membership in ``tenant_id`` and emit ``member.created``
    (or, given ``announce``, add the event there for the caller to emit); the new
    member's id. None when the card already holds a membership there or the external id
    is taken (then nothing is written or emitted). ``plan``: the tenant's plan, already
    read; the INSERT then checks its limit. Never commits.

    Raises PlanLimit (403 ``plan_limit``) when the tenant's plan allows no more members.
    """
    session = uow.session
    limit = None
    if plan is None:
        check_member_limit(session, tenant_id)
    else:
        limit = plan.members
    dialect = session.get_bind().dialect.name
    params = {
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
    }
    if limit is None:
        member_id = session.connection().scalar(_insert(dialect, counted=False), params)
    else:
        member_id = session.connection().scalar(
            _insert(dialect, counted=True), {**params, "limit": limit}
        )
        if member_id is None:
            check_member_limit(session, tenant_id)  # full, or a conflict: which one?
    if member_id is None:
        return None
    event = PendingEvent(
        tenant_id, "member.created", {"member": member_id, "external_id": external_id}
    )
    if announce is None:
        emit(uow, tenant_id=event.tenant_id, type=event.type, data=event.data)
    else:
        announce.append(event)
    return member_id


def join_card(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    card_id: str,
    card_number: str,
    param: str,
    now: datetime | None = None,
    plan: Plan | None = None,
    announce: list[PendingEvent] | None = None,
) -> tuple[str, str, bool]:
    """The card's membership in ``tenant_id`` as ``(member id, status, joined just now)``,
    enrolling the card (``enrol``) under the name ``card:<number>`` if it has none. Another
    swap or earn of the card may enrol it meanwhile: this then gives way to theirs.
    ``plan`` and ``announce`` are passed to ``enrol``.

    Raises LimitExceeded (422 ``limit_exceeded``, naming ``param``) when the program's plan
    allows no more members.
    """
    joined = _join(uow, tenant_id, card_id, f"card:{card_number}", param, now, plan, announce)
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
    joined = _join(uow, tenant_id, card_id, name, param, now, plan, announce)
    return joined, MemberStatus.ACTIVE.value, True


def _join(
    uow: UnitOfWork,
    tenant_id: str,
    card_id: str,
    name: str,
    param: str,
    now: datetime | None,
    plan: Plan | None,
    announce: list[PendingEvent] | None,
) -> str | None:
    try:
        return enrol(
            uow,
            tenant_id=tenant_id,
            card_id=card_id,
            external_id=name,
            now=now,
            plan=plan,
            announce=announce,
        )
    except PlanLimit:
        raise LimitExceeded("This program takes no new members.", param=param) from None
