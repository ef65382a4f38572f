"""The wallet's sign-in session: a signed, HTTP-only cookie scoped to ``/wallet``.

It holds the signed-in card id (none before sign-in) and a random CSRF token that every
wallet form echoes in a hidden field; a POST whose token differs is refused. The cookie
is signed with the app's secret key (itsdangerous), expires after ``MAX_AGE``, is
``SameSite=Lax`` and ``Secure`` except over plain HTTP on a loopback host (development).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field

from flask import Response, current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "jifen_wallet"
MAX_AGE = 8 * 3600
LOOPBACK = {"localhost", "127.0.0.1", "[::1]", "::1"}


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="jifen-wallet")


@dataclass
class WalletSession:
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    card_id: str | None = None

    @classmethod
    def load(cls) -> WalletSession:
        raw = request.cookies.get(COOKIE)
        if raw:
            try:
                data = _serializer().loads(raw, max_age=MAX_AGE)
                return cls(csrf=data["csrf"], card_id=data.get("card"))
            except (BadSignature, KeyError, TypeError):
                pass
        return cls()

    def csrf_ok(self, sent: str | None) -> bool:
        return bool(sent) and hmac.compare_digest(sent, self.csrf)

    def sign_in(self, card_id: str) -> None:
        self.card_id = card_id
        self.csrf = secrets.token_urlsafe(32)  # a fresh token after privilege changes

    def sign_out(self) -> None:
        self.card_id = None
        self.csrf = secrets.token_urlsafe(32)

    def save(self, response: Response) -> Response:
        value = _serializer().dumps({"csrf": self.csrf, "card": self.card_id})
        response.set_cookie(
            COOKIE,
            value,
            max_age=MAX_AGE,
            path="/wallet",
            httponly=True,
            samesite="Lax",
            secure=_secure_cookie(),
        )
        response.headers["Cache-Control"] = "no-store"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response


def _secure_cookie() -> bool:
    return request.is_secure or request.host.rsplit(":", 1)[0] not in LOOPBACK
