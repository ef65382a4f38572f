"""Wallet sign-in links: a signed, short-lived URL that signs a card holder in.

A link carries the card id signed with the app's secret key (itsdangerous, salt
``jifen-wallet-link``) and is good for ``MAX_AGE``; it can be followed again within that
time (nothing is stored). Jifen has no mail delivery yet, so ``send`` writes the link to
the log (logger ``jifen.wallet.mail``) in development only: when the app runs in testing
or debug mode, or with ``JIFEN_MAIL_TO_LOG=1``. Elsewhere it logs that no mailer is
configured and sends nothing, so links never land in production logs.
"""

from __future__ import annotations

import logging
import os

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

log = logging.getLogger("jifen.wallet.mail")
MAX_AGE = 15 * 60


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="jifen-wallet-link")


def link_for(card_id: str) -> str:
    token = _serializer().dumps({"card": card_id})
    return f"{request.host_url.rstrip('/')}/wallet/link/{token}"


def card_for(token: str) -> str | None:
    """The card a link signs in, or None (tampered, expired)."""
    try:
        return _serializer().loads(token, max_age=MAX_AGE)["card"]
    except (BadSignature, KeyError, TypeError):
        return None


def send(email: str, card_id: str) -> None:
    if current_app.testing or current_app.debug or os.environ.get("JIFEN_MAIL_TO_LOG") == "1":
        log.info("wallet sign-in link for %s: %s", email, link_for(card_id))
    else:
        log.warning("no mailer configured: wallet sign-in link for %s not sent", email)
