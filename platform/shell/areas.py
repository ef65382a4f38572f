"""The areas manifest: every area's parts that the app registers, imported by name.

A part missing here is missing from the app, visibly: nothing is found by scanning or
by module names in strings. ``tests/architecture`` checks that every module defining a
periodic job, an audit check or tables is listed.
"""

from __future__ import annotations

from types import ModuleType

from flask import Flask
from flask_smorest import Blueprint
from sqlalchemy import MetaData

from jifen import widgets
from jifen.exchange import api as exchange_api
from jifen.exchange import audit as exchange_audit
from jifen.exchange import jobs as exchange_jobs
from jifen.exchange import model as exchange_model
from jifen.exchange.settings import spu_rate_of
from jifen.platform import audit as platform_audit
from jifen.platform import housekeeping, idempotency, jobs_api, throttle
from jifen.platform.auth import model as auth_model
from jifen.platform.auth.callers import TokenResolver
from jifen.platform.auth.services import resolve_access_token
from jifen.platform.billing import api as billing_api
from jifen.platform.billing import jobs as billing_jobs
from jifen.platform.billing import model as billing_model
from jifen.platform.billing.stripe_webhooks import EventHandler
from jifen.platform.clearing import install_spu_rates
from jifen.platform.clearing import records as clearing_records
from jifen.platform.db import Base
from jifen.platform.http import JifenApi
from jifen.platform.ledger import audit as ledger_audit
from jifen.platform.ledger import jobs as ledger_jobs
from jifen.platform.ledger import model as ledger_model
from jifen.platform.messages import model as messages_model
from jifen.platform.messages import services as messages_services
from jifen.platform.webhooks import api as webhooks_api
from jifen.platform.webhooks import delivery as webhook_delivery
from jifen.platform.webhooks import model as webhooks_model
from jifen.settlement import api as settlement_api
from jifen.settlement import audit as settlement_audit
from jifen.settlement import jobs as settlement_jobs
from jifen.settlement import model as settlement_model
from jifen.settlement import stripe_events as settlement_stripe_events
from jifen.tenants import api as tenants_api
from jifen.tenants import audit as tenants_audit
from jifen.tenants import model as tenants_model
from jifen.tenants.alliances import api as alliances_api
from jifen.tenants.alliances import model as alliances_model
from jifen.tenants.catalog import api as catalog_api
from jifen.tenants.catalog import model as catalog_model
from jifen.tenants.holders import api as holders_api
from jifen.tenants.holders import model as holders_model
from jifen.tenants.holders.services import resolve_holder_session
from jifen.tenants.lottery import api as lottery_api
from jifen.tenants.lottery import model as lottery_model
from jifen.tenants.members import api as members_api
from jifen.tenants.members import jobs as members_jobs
from jifen.tenants.members import model as members_model
from jifen.tenants.members import orders as members_orders
from jifen.tenants.members.tokens import resolve_member_token
from jifen.tenants.program import api as program_api
from jifen.tenants.program import history as program_history
from jifen.tenants.program import model as program_model
from jifen.widgets import model as widgets_model

from .console import activity as console_activity

# Every module that defines tables: migrations, the schema test and the app load these.
MODEL_MODULES: tuple[ModuleType, ...] = (
    auth_model,
    idempotency,
    tenants_model,
    program_model,
    ledger_model,
    members_model,
    webhooks_model,
    billing_model,
    exchange_model,
    clearing_records,
    settlement_model,
    members_orders,
    program_history,
    catalog_model,
    widgets_model,
    alliances_model,
    lottery_model,
    console_activity,
    holders_model,
    throttle,
    messages_model,
)

# The public API's blueprints, in the order the OpenAPI document lists them.
BLUEPRINTS: tuple[Blueprint, ...] = (
    tenants_api.blp,
    program_api.blp,
    members_api.blp,
    members_api.me,
    *holders_api.BLUEPRINTS,
    catalog_api.blp,
    alliances_api.blp,
    *lottery_api.BLUEPRINTS,
    jobs_api.blp,
    webhooks_api.blp,
    *exchange_api.BLUEPRINTS,
    billing_api.blp,
    *settlement_api.BLUEPRINTS,
)

# Modules defining periodic jobs (``@jobs.periodic``).
PERIODIC_JOB_MODULES: tuple[ModuleType, ...] = (
    housekeeping,
    webhook_delivery,
    messages_services,
    ledger_jobs,
    exchange_jobs,
    billing_jobs,
    settlement_jobs,
    members_jobs,
)

# Modules defining ``jifen audit`` checks (``@audit.invariant``).
AUDIT_MODULES: tuple[ModuleType, ...] = (
    platform_audit,
    tenants_audit,
    ledger_audit,
    exchange_audit,
    settlement_audit,
)

# How a bearer token becomes a caller: API clients' access tokens (``at_``), member
# tokens (``mt_``), holder sessions (``hs_``).
TOKEN_RESOLVERS: tuple[TokenResolver, ...] = (
    resolve_access_token,
    resolve_member_token,
    resolve_holder_session,
)

# The areas' takers of verified Stripe events (``billing.stripe_webhooks``).
STRIPE_EVENT_HANDLERS: tuple[EventHandler, ...] = (settlement_stripe_events.take,)


def load_models() -> MetaData:
    """Every table of Jifen (the modules above are imported, so all are declared)."""
    return Base.metadata


def register_api(app: Flask, api: JifenApi) -> None:
    """The areas' API blueprints on ``api``; the widgets' pages and hooks on ``app``."""
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    install_spu_rates(app, spu_rate_of)  # the clearing port prices with the exchange's rates
    widgets.init_app(app, api)
