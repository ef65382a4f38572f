"""The card holder's wallet at ``/wallet``: server-rendered pages, one service call each.

Signing in (no session yet; every form carries the cookie's CSRF token):

* ``POST /wallet/code`` {card_number, channel}: a one-time code to the card's contact
  (``holders.request_sign_in_code``), then the code form; the same answer whether or not
  the card exists or has a contact. ``POST /wallet/sign-in`` {card_number, code} trades
  it for a holder session (``holders.open_session``).
* ``POST /wallet/sign-in/password`` {card_number, password}: for a holder who set a
  password once signed in (``wallet.sign_in_with_password``).
* ``POST /wallet/link`` {email}: a one-use sign-in link by email, built from the
  configured base URL (``Config.public_url``), never from the request's Host header.
  ``GET /wallet/link/<token>`` shows a button and ``POST`` spends the link: mail scanners
  that fetch every link in a message must not use it up.
* Throttled (too many codes, links or failed sign-ins): 429 and the page says how long
  to wait.

Signed in (the holder session's token in the cookie, ``wallet_session``):
``GET /wallet``; ``POST /wallet/password`` (set or change); ``POST /wallet/quote`` then
``POST /wallet/swap`` {quote_id} (confirm); ``POST /wallet/holder-code`` (counter code
with its QR code); ``POST /wallet/sign-out`` (ends the session everywhere).
Countdowns run in ``/widgets/v1/wallet.js``: the pages' CSP allows no inline script.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime

from flask import Blueprint, Response, current_app, redirect, render_template, request

from jifen.exchange import settings as exchange_settings
from jifen.platform import clock
from jifen.platform.errors import InvalidCode, JifenError, RateLimited, Unprocessable
from jifen.tenants.holders import services as holders

from . import wallet
from .wallet_session import WalletSession

bp = Blueprint("wallet_pages", __name__, template_folder="templates")

SIGN_IN = "/wallet/sign-in"
FORM_EXPIRED = "The form expired; try again. 表单已过期，请重试。"
CODE_SENT = (
    "If this card has a contact on file, a code is on its way (valid 10 minutes). "
    "如果此卡登记了联系方式，验证码已发出（10 分钟内有效）。"
)
LINK_SENT = (
    "If that address is on file for a card, a sign-in link is on its way (15 minutes). "
    "如果此邮箱已登记，登录链接已发出（15 分钟内有效）。"
)


def _page(template: str, session: WalletSession, status: int = 200, **context) -> Response:
    html = render_template(template, csrf=session.csrf, **context)
    return session.save(Response(html, status=status, mimetype="text/html"))


def _sign_in_page(session: WalletSession, status: int = 200, **context) -> Response:
    return _page("widgets/sign_in.html", session, status, **context)


def _wallet_page(session: WalletSession, status: int = 200, **messages) -> Response:
    view = wallet.wallet(session.card_id)
    return _page(
        "widgets/wallet.html",
        session,
        status,
        wallet=view,
        history=wallet.history(view),
        notices=wallet.notices(view),
        rates={r.currency: r for r in exchange_settings.list_rates()},
        has_password=wallet.has_password(session.card_id),
        **messages,
    )


def _client_address() -> str:
    return request.remote_addr or "-"


def _locale() -> str:
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"], default="zh-CN")
    return "en" if best == "en" else "zh-CN"


def seconds_left(moment: datetime) -> int:
    """Whole seconds until ``moment``: the countdowns start from the server's clock, so a
    phone whose clock is off still counts right."""
    return max(0, int((moment - clock.now()).total_seconds()))


def anonymous_form(view: Callable[..., Response]) -> Callable[..., Response]:
    """A sign-in form: refused (400) unless it echoes the cookie's CSRF token."""

    @functools.wraps(view)
    def checked(**kwargs) -> Response:
        session = WalletSession.load()
        if not session.csrf_ok(request.form.get("csrf")):
            return _sign_in_page(session, 400, error=FORM_EXPIRED)
        return view(session, **kwargs)

    return checked


def holder_form(view: Callable[..., Response]) -> Callable[..., Response]:
    """A signed-in holder's form: a live holder session and the cookie's CSRF token."""

    @functools.wraps(view)
    def checked(**kwargs) -> Response:
        session = WalletSession.load()
        if session.card_id is None:
            return session.save(redirect(SIGN_IN))
        if not session.csrf_ok(request.form.get("csrf")):
            return _wallet_page(session, 400, error=FORM_EXPIRED)
        return view(session, **kwargs)

    return checked


# --- signing in ------------------------------------------------------------------------


@bp.get("/wallet")
def home() -> Response:
    session = WalletSession.load()
    if session.card_id is None:
        return session.save(redirect(SIGN_IN))
    return _wallet_page(session)


@bp.get(SIGN_IN)
def sign_in_page() -> Response:
    return _sign_in_page(WalletSession.load())


@bp.post("/wallet/code")
@anonymous_form
def request_code(session: WalletSession) -> Response:
    number = request.form.get("card_number", "")
    channel = request.form.get("channel")
    try:
        holders.request_sign_in_code(
            number,
            channel=channel if channel in holders.CHANNELS else None,
            locale=_locale(),
            client_address=_client_address(),
        )
    except (Unprocessable, RateLimited) as refused:  # not a card number at all, or throttled
        return _sign_in_page(session, refused.status, error=refused.message, card_number=number)
    return _page("widgets/code.html", session, card_number=number.strip(), notice=CODE_SENT)


@bp.post(SIGN_IN)
@anonymous_form
def sign_in_with_code(session: WalletSession) -> Response:
    number = request.form.get("card_number", "")
    try:
        issued = holders.open_session(
            number, request.form.get("code", ""), client_address=_client_address()
        )
    except (InvalidCode, RateLimited) as refused:
        return _page(
            "widgets/code.html", session, refused.status, card_number=number, error=refused.message
        )
    session.sign_in(issued)
    return session.save(redirect("/wallet"))


@bp.post("/wallet/sign-in/password")
@anonymous_form
def sign_in_with_password(session: WalletSession) -> Response:
    number = request.form.get("card_number", "")
    try:
        issued = wallet.sign_in_with_password(
            number, request.form.get("password", ""), client_address=_client_address()
        )
    except (wallet.SignInRefused, RateLimited) as refused:
        return _sign_in_page(
            session, refused.status, error=refused.message, card_number=number, by_password=True
        )
    session.sign_in(issued)
    return session.save(redirect("/wallet"))


@bp.post("/wallet/link")
@anonymous_form
def request_link(session: WalletSession) -> Response:
    try:
        holders.request_sign_in_link(
            request.form.get("email", ""),
            link_base=current_app.extensions["jifen.config"].public_url,
            locale=_locale(),
            client_address=_client_address(),
        )
    except RateLimited as refused:
        return _sign_in_page(session, refused.status, error=refused.message)
    return _sign_in_page(session, notice=LINK_SENT)


@bp.get("/wallet/link/<token>")
def follow_link(token: str) -> Response:
    return _page("widgets/link.html", WalletSession.load(), token=token)


@bp.post("/wallet/link/<token>")
@anonymous_form
def sign_in_with_link(session: WalletSession, token: str) -> Response:
    try:
        issued = holders.open_session_with_link(token)
    except InvalidCode:
        error = "This sign-in link has expired or was used. Ask for a new one. 链接已失效。"
        return _sign_in_page(session, 401, error=error)
    session.sign_in(issued)
    return session.save(redirect("/wallet"))


@bp.post("/wallet/sign-out")
def sign_out() -> Response:
    session = WalletSession.load()
    if session.csrf_ok(request.form.get("csrf")):
        session.sign_out()
    return session.save(redirect(SIGN_IN))


# --- signed in -------------------------------------------------------------------------


@bp.post("/wallet/password")
@holder_form
def set_password(session: WalletSession) -> Response:
    try:
        wallet.set_password(
            session.card_id,
            request.form.get("password", ""),
            request.form.get("repeat", ""),
            keep_token=session.token,
        )
    except JifenError as refused:
        return _wallet_page(session, refused.status, password_error=refused.message)
    return _wallet_page(
        session, notice="Your password is set: use it with the card number to sign in. 密码已设置。"
    )


@bp.post("/wallet/quote")
@holder_form
def ask_quote(session: WalletSession) -> Response:
    form = request.form
    try:
        amount = int(form.get("points", ""))
    except ValueError:
        amount = 0
    if amount <= 0:
        return _wallet_page(session, 422, error="Points must be a whole number above zero.")
    try:
        quote = wallet.quote(session.card_id, from_currency=form.get("from_currency", ""),
                             to_currency=form.get("to_currency", ""), points=amount)  # fmt: skip
    except JifenError as refused:
        return _wallet_page(session, refused.status, error=refused.message)
    return _page("widgets/quote.html", session, quote=quote, seconds=seconds_left(quote.expires_at))


@bp.post("/wallet/swap")
@holder_form
def confirm_swap(session: WalletSession) -> Response:
    try:
        done = wallet.confirm_swap(session.card_id, request.form.get("quote_id", ""))
    except JifenError as refused:
        return _wallet_page(session, refused.status, error=refused.message)
    return _wallet_page(
        session,
        notice=f"Swapped {done.from_points} {done.from_currency} for "
        f"{done.to_points} {done.to_currency}. 兑换完成。",
    )


@bp.post("/wallet/holder-code")
@holder_form
def counter_code(session: WalletSession) -> Response:
    code = wallet.counter_code(session.card_id)
    return _page(
        "widgets/counter_code.html", session, code=code, seconds=seconds_left(code.expires_at)
    )
