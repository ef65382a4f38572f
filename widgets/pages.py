"""Pages and files the widgets and the wallet serve (HTML, not the JSON API).

* ``/widgets/v1/jifen.js`` and ``/widgets/v1/frame.js``: the scripts (no build step).
* ``/widgets/v1/config``: tells a widget whether the page's origin may use a key, so it
  can say so instead of failing silently (open to every origin; says nothing else).
* ``/widgets/v1/frame/rewards`` and ``/frame/swap``: the frames redeem and swap run in.
  They answer with ``Content-Security-Policy: frame-ancestors <registered origins>`` and
  refuse a ``parent_origin`` that the key's tenant has not registered.
* ``/demo/merchant``: a merchant page with every widget, for ``jifen demo`` (404 until
  ``jifen demo`` has named a demo member).
* ``/wallet``: the card holder's wallet (``wallet_session`` keeps the sign-in; a
  sign-in link by email: ``sign_in_links``).

Views stay thin: they read the request, call one service, render a template.
"""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    Response,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
)

from jifen.exchange import settings as exchange_settings
from jifen.exchange.pricing import format_spu
from jifen.platform.errors import JifenError

from . import origins, services, sign_in_links, wallet
from .wallet_session import WalletSession

STATIC = Path(__file__).parent / "static"
VERSION = "v1"
FRAME_KINDS = {"rewards", "swap"}

bp = Blueprint("widget_pages", __name__, template_folder="templates")


# --- widgets ---------------------------------------------------------------------------


@bp.get(f"/widgets/{VERSION}/<any('jifen.js', 'frame.js'):name>")
def script(name: str) -> Response:
    response = send_from_directory(STATIC, name, max_age=300, mimetype="text/javascript")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get(f"/widgets/{VERSION}/<any('widget.css', 'frame.css', 'wallet.css'):name>")
def stylesheet(name: str) -> Response:
    return send_from_directory(STATIC, name, max_age=300, mimetype="text/css")


@bp.get(f"/widgets/{VERSION}/config")
def config() -> Response:
    holder = services.key_holder(request.args.get("publishable_key"))
    origin = request.headers.get("Origin") or _own_origin()
    body = {
        "object": "widget_config",
        "known_key": holder is not None,
        "origin": origin,
        "origin_allowed": bool(holder and (holder.allows(origin) or origin == _own_origin())),
    }
    response = jsonify(body)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get(f"/widgets/{VERSION}/frame/<kind>")
def frame(kind: str) -> Response:
    holder = services.key_holder(request.args.get("publishable_key"))
    parent = request.args.get("parent_origin", "")
    lang = "en" if request.args.get("lang", "").lower().startswith("en") else "zh-CN"
    allowed = holder.allowed_origins if holder else []
    problem = None
    if kind not in FRAME_KINDS:
        problem = "unknown_frame"
    elif holder is None:
        problem = "invalid_publishable_key"
    elif parent not in allowed:
        problem = "origin_not_allowed"
    rates = []
    if kind == "swap" and problem is None:
        rates = [
            {"currency": r.currency, "spu_rate": format_spu(r.spu_rate), "inbound": r.inbound}
            for r in exchange_settings.list_rates()
        ]
    html = render_template(
        "widgets/frame.html",
        kind=kind,
        lang=lang,
        parent_origin=parent if problem is None else "",
        publishable_key=holder.publishable_key if holder else "",
        problem=problem,
        rates=rates,
    )
    response = Response(html, status=200 if problem is None else 403, mimetype="text/html")
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        + origins.frame_ancestors(allowed)
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/demo/merchant")
def demo_merchant() -> Response:
    page = services.demo_page()
    if page is None:
        html = render_template("widgets/demo_missing.html")
        return Response(html, status=404, mimetype="text/html")
    response = Response(render_template("widgets/demo.html", page=page), mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def _own_origin() -> str:
    return request.host_url.rstrip("/")


# --- the wallet ------------------------------------------------------------------------


def _page(template: str, session: WalletSession, status: int = 200, **context) -> Response:
    html = render_template(template, csrf=session.csrf, **context)
    response = Response(html, status=status, mimetype="text/html")
    return session.save(response)


@bp.get("/wallet")
def wallet_home() -> Response:
    session = WalletSession.load()
    if session.card_id is None:
        return session.save(redirect("/wallet/sign-in"))
    return _wallet_page(session)


def _wallet_page(session: WalletSession, status: int = 200, **messages) -> Response:
    view = wallet.wallet(session.card_id)
    lines = wallet.history(view)
    news = wallet.notices(view)
    rates = {r.currency: r for r in exchange_settings.list_rates()}
    return _page(
        "widgets/wallet.html",
        session,
        status,
        wallet=view,
        history=lines,
        notices=news,
        rates=rates,
        **messages,
    )


@bp.route("/wallet/sign-in", methods=["GET", "POST"])
def wallet_sign_in() -> Response:
    session = WalletSession.load()
    if request.method == "GET":
        return _page("widgets/sign_in.html", session, first_use=False)
    if not session.csrf_ok(request.form.get("csrf")):
        return _page("widgets/sign_in.html", session, 400, error="The form expired; try again.")
    form = request.form
    confirm = form.get("confirm") if form.get("first_use") else None
    try:
        card_id = wallet.sign_in(form.get("card_number", ""), form.get("password", ""),
                                 confirm=confirm)  # fmt: skip
    except wallet.PasswordNeeded as needed:
        return _page("widgets/sign_in.html", session, 401, first_use=True,
                     card_number=form.get("card_number", ""), error=needed.message)  # fmt: skip
    except wallet.SignInRefused as refused:
        return _page("widgets/sign_in.html", session, 401, error=refused.message,
                     card_number=form.get("card_number", ""))  # fmt: skip
    session.sign_in(card_id)
    return session.save(redirect("/wallet"))


@bp.post("/wallet/link")
def wallet_request_link() -> Response:
    session = WalletSession.load()
    if not session.csrf_ok(request.form.get("csrf")):
        return _page("widgets/sign_in.html", session, 400, error="The form expired; try again.")
    for card_id in wallet.cards_with_email(request.form.get("email", "")):
        sign_in_links.send(request.form["email"], card_id)
    notice = "If that address is on file for a card, a sign-in link is on its way (15 minutes)."
    return _page("widgets/sign_in.html", session, notice=notice)


@bp.get("/wallet/link/<token>")
def wallet_follow_link(token: str) -> Response:
    session = WalletSession.load()
    card_id = sign_in_links.card_for(token)
    if card_id is None:
        error = "This sign-in link has expired or is not valid. Ask for a new one."
        return _page("widgets/sign_in.html", session, 401, error=error)
    session.sign_in(card_id)
    return session.save(redirect("/wallet"))


@bp.post("/wallet/swap")
def wallet_swap() -> Response:
    session = WalletSession.load()
    if session.card_id is None:
        return session.save(redirect("/wallet/sign-in"))
    if not session.csrf_ok(request.form.get("csrf")):
        return _wallet_page(session, 400, error="The form expired; try again.")
    form = request.form
    try:
        amount = int(form.get("points", ""))
        if amount <= 0:
            raise ValueError
    except ValueError:
        return _wallet_page(session, 422, error="Points must be a whole number above zero.")
    try:
        done = wallet.swap(session.card_id, from_currency=form.get("from_currency", ""),
                           to_currency=form.get("to_currency", ""), points=amount)  # fmt: skip
    except JifenError as refused:
        return _wallet_page(session, refused.status, error=refused.message)
    return _wallet_page(
        session,
        notice=f"Swapped {done.from_points} {done.from_currency} for "
        f"{done.to_points} {done.to_currency}.",
    )


@bp.post("/wallet/sign-out")
def wallet_sign_out() -> Response:
    session = WalletSession.load()
    if session.csrf_ok(request.form.get("csrf")):
        session.sign_out()
    return session.save(redirect("/wallet/sign-in"))
