"""The wallet's cookie: a signed, HTTP-only cookie scoped to ``/wallet``.

It holds a random CSRF token that every wallet form echoes in a hidden field (a POST
whose token differs is refused) and, once the holder has signed in, the token of their
holder session (``hs_…``, see ``tenants.holders``) — never a card id. On each request
the card comes from ``holders.session_card(token)``: a session that was ended (signing
out, anywhere) or has expired signs nobody in, whatever the cookie says.

The cookie is signed with the app's secret key (itsdangerous), expires after
``MAX_AGE``, is ``SameSite=Lax`` and ``Secure`` except over plain HTTP on a loopback host
(development). ``save`` also sets the wallet pages' security headers.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Response, current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from jifen.tenants.holders import services as holders

COOKIE = "jifen_wallet"
MAX_AGE = 8 * 3600
LOOPBACK = {"localhost", "127.0.0.1", "[::1]", "::1"}
_UNREAD = object()


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="jifen-wallet")


class WalletSession:
    def __init__(self, csrf: str | None = None, token: str | None = None):
        self.csrf = csrf or secrets.token_urlsafe(32)
        self.token = token  # the holder session's hs_… token, or None
        self._card: object = _UNREAD

    @classmethod
    def load(cls) -> WalletSession:
        raw = request.cookies.get(COOKIE)
        if raw:
            try:
                data = _serializer().loads(raw, max_age=MAX_AGE)
                return cls(csrf=data["csrf"], token=data.get("hs"))
            except (BadSignature, KeyError, TypeError):
                pass
        return cls()

    @property
    def card_id(self) -> str | None:
        """The signed-in card, read once per request from the live holder session."""
        if self._card is _UNREAD:
            self._card = holders.session_card(self.token) if self.token else None
            if self._card is None:
                self.token = None  # ended or expired: forget it
        return self._card  # type: ignore[return-value]

    def csrf_ok(self, sent: str | None) -> bool:
        return bool(sent) and hmac.compare_digest(sent, self.csrf)

    def sign_in(self, issued: holders.IssuedSession) -> None:
        if self.token:
            holders.end_session(self.token)  # one session per browser
        self.token, self._card = issued.token, issued.card_id
        self.csrf = secrets.token_urlsafe(32)  # a fresh token after privilege changes

    def sign_out(self) -> None:
        """End the holder session everywhere its token is kept, not only here."""
        if self.token:
            holders.end_session(self.token)
        self.token, self._card = None, None
        self.csrf = secrets.token_urlsafe(32)

    def save(self, response: Response) -> Response:
        value = _serializer().dumps({"csrf": self.csrf, "hs": self.token})
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
