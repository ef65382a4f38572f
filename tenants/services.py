"""Onboarding: a merchant or alliance signs up and gets its tenant, currency, owner user,
first API client (every tenant scope) and publishable key in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from jifen.platform.auth import services as auth
from jifen.platform.auth.model import TENANT_SCOPES, Role
from jifen.platform.billing import services as billing
from jifen.platform.db import unit_of_work
from jifen.platform.errors import Conflict, JifenError, NotFound

from .model import Currency, Tenant


@dataclass
class Signup:
    tenant: Tenant
    currency: Currency
    api_client: auth.IssuedClient
    publishable_key: str
    plan: str


def sign_up(*, tenant: dict, currency: dict, owner: dict, plan: str = "free") -> Signup:
    """Raises Conflict when the slug, currency code or owner email is taken.

    The tenant's billing account starts on ``plan``; with Stripe configured, its Stripe
    customer and subscription are created by a job after this transaction commits."""
    with unit_of_work(platform=True) as uow:
        session = uow.session
        if session.scalar(select(Tenant.id).where(Tenant.slug == tenant["slug"])):
            raise Conflict(
                f"The slug {tenant['slug']} is taken.", code="slug_taken", param="tenant.slug"
            )
        if session.scalar(select(Currency.id).where(Currency.code == currency["code"])):
            raise Conflict(
                f"The currency code {currency['code']} is taken.",
                code="currency_code_taken",
                param="currency.code",
            )
        new_tenant = Tenant(name=tenant["name"], slug=tenant["slug"], kind=tenant["kind"])
        session.add(new_tenant)
        session.flush()
        new_currency = Currency(
            tenant=new_tenant, tenant_id=new_tenant.id, code=currency["code"], name=currency["name"]
        )
        session.add(new_currency)
        try:
            user = auth.new_staff_user(session, email=owner["email"], password=owner["password"])
        except JifenError as error:
            error.param = f"owner.{error.param}" if error.param else "owner"
            raise
        auth.grant_role(session, tenant_id=new_tenant.id, user_id=user.id, role=Role.OWNER)
        client = auth.new_client(
            session,
            tenant_id=new_tenant.id,
            name=f"{new_tenant.name} (created at signup)",
            scopes=list(TENANT_SCOPES),
        )
        account = billing.open_account(uow, tenant_id=new_tenant.id, plan=plan)
        result = Signup(new_tenant, new_currency, client, new_tenant.publishable_key, account.plan)
        try:
            uow.commit(result)
        except IntegrityError:
            raise Conflict(
                "The slug, currency code or email was taken meanwhile.", code="signup_conflict"
            ) from None
        return result


def get_tenant(tenant_id: str) -> Tenant:
    with unit_of_work(tenant_id=tenant_id) as uow:
        tenant = uow.session.get(Tenant, tenant_id)
        if tenant is None:
            raise NotFound(f"No such tenant: {tenant_id}")
        return tenant
