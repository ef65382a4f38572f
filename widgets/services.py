"""Use cases behind the widgets: a tenant's allowed origins, what a publishable key
stands for, the small ``/v1/me`` reads and the redeem the reward frame runs.

Each function opens its own unit of work (or calls the service of the area that owns
the data) and returns plain objects; ``api.py`` and ``pages.py`` only parse and render.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from jifen.platform import clock
from jifen.platform.auth import secrets
from jifen.platform.auth.callers import Caller
from jifen.platform.db import unit_of_work
from jifen.platform.errors import NotFound, Unprocessable
from jifen.tenants.catalog import services as catalog
from jifen.tenants.members import points
from jifen.tenants.members.model import Member, MemberToken
from jifen.tenants.model import Currency, Tenant

from . import origins
from .model import WidgetSettings


@dataclass(frozen=True)
class SettingsView:
    tenant_id: str
    publishable_key: str
    allowed_origins: list[str] = field(default_factory=list)
    updated: datetime | None = None


@dataclass(frozen=True)
class KeyHolder:
    """The tenant a publishable key names, and where its widgets may run."""

    tenant_id: str
    tenant_name: str
    publishable_key: str
    allowed_origins: list[str]

    def allows(self, origin: str | None) -> bool:
        return origin is not None and origin in self.allowed_origins


def get_settings(tenant_id: str) -> SettingsView:
    with unit_of_work(tenant_id=tenant_id) as uow:
        tenant = uow.session.get(Tenant, tenant_id)
        row = uow.session.get(WidgetSettings, tenant_id)
        if row is None:
            return SettingsView(tenant_id, tenant.publishable_key)
        return SettingsView(tenant_id, tenant.publishable_key, row.allowed_origins, row.updated)


def put_settings(tenant_id: str, *, allowed_origins: list[str]) -> SettingsView:
    """Replace the tenant's allowed origins. Raises Unprocessable for an origin that is
    not ``https://host[:port]`` (``http`` only on loopback), a wildcard, or too many."""
    try:
        cleaned = origins.normalise_all(allowed_origins)
    except origins.InvalidOrigin as error:
        raise Unprocessable(str(error), code="invalid_origin", param="allowed_origins") from None
    with unit_of_work(tenant_id=tenant_id) as uow:
        _save_settings(uow.session, tenant_id, allowed_origins=cleaned)
        tenant = uow.session.get(Tenant, tenant_id)
        view = SettingsView(tenant_id, tenant.publishable_key, cleaned, clock.now())
        uow.commit(view)
        return view


def _save_settings(session, tenant_id: str, **changes) -> WidgetSettings:
    row = session.get(WidgetSettings, tenant_id)
    now = clock.now()
    if row is None:
        row = WidgetSettings(tenant_id=tenant_id, allowed_origins=[], created=now, updated=now)
        session.add(row)
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated = now
    return row


def key_holder(publishable_key: str | None) -> KeyHolder | None:
    """The tenant behind a publishable key, or None for a missing or unknown key.

    Keys are public: looked up across tenants in a platform unit of work."""
    if not publishable_key or not publishable_key.startswith("pk_"):
        return None
    with unit_of_work(platform=True) as uow:
        row = uow.session.execute(
            select(Tenant, WidgetSettings)
            .outerjoin(WidgetSettings, WidgetSettings.tenant_id == Tenant.id)
            .where(Tenant.publishable_key == publishable_key)
        ).one_or_none()
    if row is None:
        return None
    tenant, settings = row
    allowed = list(settings.allowed_origins) if settings is not None else []
    return KeyHolder(tenant.id, tenant.name, tenant.publishable_key, allowed)


def member_token_problem(token: str) -> str | None:
    """Why a member token that did not resolve was refused: ``expired``, ``revoked``,
    or None when no such token was ever issued (tampered or made up)."""
    if not token.startswith("mt_"):
        return None
    with unit_of_work(platform=True) as uow:
        row = uow.session.execute(
            select(MemberToken.expires_at, MemberToken.revoked_at).where(
                MemberToken.token_hash == secrets.digest(token)
            )
        ).one_or_none()
    if row is None:
        return None
    if row.revoked_at is not None:
        return "revoked"
    return "expired" if row.expires_at <= clock.now() else None


# --- the card holder's reads and redeem (member token or holder session) ---------------


def membership_of(caller: Caller, currency: str | None) -> tuple[str, str]:
    """``(tenant id, member id)`` of the membership a ``/v1/me`` call is about: a member
    token's own, or, for a holder session, the card's membership in ``currency``.

    Raises Unprocessable (a holder session must name ``currency``) and NotFound (the
    card holds no membership there; a member token naming another currency)."""
    if caller.kind == "member":
        if currency is not None and currency != _currency_of(caller.tenant_id):
            raise NotFound(f"This member token holds no {currency} points.", param="currency")
        return caller.tenant_id, caller.id
    if currency is None:
        raise Unprocessable(
            "A holder session covers every program of the card: name the currency.",
            param="currency",
        )
    with unit_of_work(platform=True) as uow:
        row = uow.session.execute(
            select(Member.tenant_id, Member.id)
            .join(Currency, Currency.tenant_id == Member.tenant_id)
            .where(Member.card_id == caller.card_id, Currency.code == currency)
        ).one_or_none()
    if row is None:
        raise NotFound(f"The card holds no {currency} points.", param="currency")
    return row.tenant_id, row.id


def _currency_of(tenant_id: str) -> str | None:
    with unit_of_work(platform=True) as uow:
        return uow.session.scalar(select(Currency.code).where(Currency.tenant_id == tenant_id))


def my_balance(caller: Caller, currency: str | None = None) -> points.BalanceView:
    """Raises NotFound if the member is gone, and what ``membership_of`` raises."""
    return points.balance(*membership_of(caller, currency))


def my_transactions(caller: Caller, args: dict) -> dict:
    args = dict(args)
    tenant_id, member_id = membership_of(caller, args.pop("currency", None))
    return points.member_transactions(tenant_id, member_id, args)


def my_rewards(caller: Caller, args: dict) -> dict:
    """The tenant's active rewards (what the member can spend points on)."""
    args = dict(args)
    tenant_id, _member = membership_of(caller, args.pop("currency", None))
    return catalog.list_rewards(tenant_id, {**args, "status": "active"})


def redeem_reward(caller: Caller, reward_id: str, *, quantity: int, currency: str | None = None):
    """The member buys ``quantity`` of a reward. Raises what ``catalog.redeem`` raises."""
    tenant_id, member_id = membership_of(caller, currency)
    return catalog.redeem(tenant_id, reward_id, member_id=member_id, quantity=quantity)


# --- the demo merchant page -----------------------------------------------------------


@dataclass(frozen=True)
class DemoPage:
    tenant_name: str
    publishable_key: str
    member_token: str
    expires_at: datetime


def set_demo_member(tenant_id: str, member_id: str, allowed_origins: list[str]) -> None:
    """``jifen demo``: the member the demo merchant page mints tokens for, and the
    origins the demo is served from (added to those already registered)."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        row = uow.session.get(WidgetSettings, tenant_id)
        known = list(row.allowed_origins) if row is not None else []
        merged = known + [o for o in origins.normalise_all(allowed_origins) if o not in known]
        _save_settings(uow.session, tenant_id, allowed_origins=merged, demo_member_id=member_id)
        uow.commit()


def demo_page() -> DemoPage | None:
    """A fresh member token for the demo member, or None when ``jifen demo`` has not
    named one (then there is no demo page)."""
    from jifen.tenants.members.tokens import issue_member_token

    with unit_of_work(platform=True) as uow:
        row = uow.session.execute(
            select(WidgetSettings, Tenant)
            .join(Tenant, Tenant.id == WidgetSettings.tenant_id)
            .where(WidgetSettings.demo_member_id.is_not(None))
            .order_by(WidgetSettings.updated.desc())
            .limit(1)
        ).one_or_none()
    if row is None:
        return None
    settings, tenant = row
    issued = issue_member_token(tenant.id, settings.demo_member_id, expires_in=3600)
    return DemoPage(tenant.name, tenant.publishable_key, issued.token, issued.expires_at)
