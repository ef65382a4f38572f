"""The consoles: web pages for merchants' staff and the platform's finance team.

Server-rendered Jinja templates under ``/console`` (no JavaScript; charts are inline
SVG), in Chinese and English. Staff sign in with the users and roles of
``platform.auth``; ``permissions`` says which role may do what, and every view declares
its action (``security.require``).

This package is part of the composition root (``platform.shell``): its views import the
services of ``tenants``, ``exchange`` and ``settlement``, because it composes every area;
nothing in the base imports it. Views stay thin: parse the form, call one service,
render; every rule lives in the services they call.

Modules: ``security`` (session, CSRF, throttling, headers, the role guard),
``permissions`` (the table), ``i18n`` (Flask-Babel, money and dates), ``metrics`` (the
dashboard's aggregates), ``charts`` (SVG), ``errors`` (HTML error pages), ``queues`` (RQ
as the operator sees it), and the views: ``views_auth``, ``views_merchant`` (dashboard,
members, webhooks, statements), ``views_settings`` (API clients and key rotation, exchange
settings, the program editor and draft simulation), ``views_catalog`` (rewards, code
pools, redemption orders), ``views_lottery``, ``views_alliance``, ``views_finance``
(settlement batches: approve, pay, reconcile, reports),
``views_operator`` (tenants and their plans, fees, SPU value, job queues, audit),
``views_outbox`` (messages to people: the outbox of ``platform.messages``),
``views_people`` (a tenant's Team, the platform's Staff, invitation links),
``views_payouts`` (the tenant's Stripe Connect account and its onboarding),
``views_activity`` (the staff activity log that ``activity`` records for every form),
and ``replies`` (flash texts for refused actions, downloads).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, g, request

HERE = Path(__file__).parent
blp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


def init_app(app: Flask) -> None:
    """Register the consoles on ``app`` (called by ``create_app``)."""
    from datetime import timedelta

    from . import (  # noqa: F401
        errors,
        i18n,
        security,
        views_activity,
        views_alliance,
        views_auth,
        views_catalog,
        views_finance,
        views_lottery,
        views_merchant,
        views_operator,
        views_outbox,
        views_payouts,
        views_people,
        views_settings,
    )

    config = app.extensions["jifen.config"]
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=not (config.testing or app.debug),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=security.SESSION_HOURS),
    )
    i18n.init_babel(app)
    app.register_blueprint(blp)
    app.before_request(i18n.forget_cached_locale)


def is_console_request() -> bool:
    return request.path == "/console" or request.path.startswith("/console/")


@blp.before_request
def _load_staff() -> None:
    from . import security

    g.staff = security.load_staff()
    if g.staff is not None and g.staff.tenant_id is not None:
        from . import queries

        name, time_zone = queries.tenant_names([g.staff.tenant_id])[g.staff.tenant_id]
        g.tenant_name, g.console_time_zone = name, time_zone
    if request.method == "POST":
        g.error_flashes_before = security.error_flashes()
        security.check_csrf()


@blp.after_request
def _headers(response):
    from . import security

    security.record_activity(response)
    return security.add_security_headers(response)


@blp.app_context_processor
def _template_globals() -> dict:
    from . import i18n, security

    if not is_console_request():
        return {}
    return {
        "staff": g.get("staff"),
        "csrf_token": security.csrf_token,
        "languages": i18n.LANGUAGES,
        "current_language": i18n.language(),
        "tenant_name": g.get("tenant_name"),
    }
