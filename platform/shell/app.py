"""The application factory: ``create_app(config)`` builds the base app and registers
every area on it from the manifest (``areas``)."""

from __future__ import annotations

from flask import Flask

from jifen.platform import audit, jobs
from jifen.platform.app import base_app, install_error_handlers, new_api
from jifen.platform.auth import callers
from jifen.platform.billing import stripe_webhooks
from jifen.platform.config import Config

from . import areas, console
from .console.errors import page_for as console_page


def create_app(config: Config | None = None) -> Flask:
    app = base_app(config or Config.from_env())
    callers.init_app(app, resolvers=list(areas.TOKEN_RESOLVERS))
    jobs.register_periodic(app, areas.PERIODIC_JOB_MODULES)
    audit.register_checks(app, areas.AUDIT_MODULES)
    stripe_webhooks.register_event_handlers(app, list(areas.STRIPE_EVENT_HANDLERS))
    api = new_api(app)
    areas.register_api(app, api)
    # Console pages get HTML error pages; everything else keeps the JSON envelope.
    install_error_handlers(app, api, console_page)
    console.init_app(app)
    return app
