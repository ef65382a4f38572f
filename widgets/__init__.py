"""Embeddable widgets and the consumer wallet (DESIGN.md, widgets/).

* ``/widgets/v1/jifen.js``: custom elements a merchant pastes into its pages; redeem and
  swap run in frames served from Jifen's origin (``pages``).
* ``/v1/widgets/settings`` and the card holder's ``/v1/me`` reads (``api``); the
  publishable key, CORS and token checks at the door of ``/v1/me`` (``guard``).
* ``/wallet``: the card holder's own pages, signed in with a one-time code, a sign-in
  link or (once set while signed in) a password (``wallet``, ``wallet_pages``).
"""

from __future__ import annotations


def init_app(app, api) -> None:
    """Register the widgets' API blueprints on ``api``, their pages and hooks on ``app``."""
    from . import api as widgets_api
    from . import guard, pages, wallet_pages

    for blueprint in widgets_api.BLUEPRINTS:
        api.register_blueprint(blueprint)
    guard.init_app(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(wallet_pages.bp)
