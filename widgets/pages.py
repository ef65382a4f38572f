"""Pages and files the widgets and the wallet serve (HTML, not the JSON API).

* ``/widgets/v1/jifen.js`` and ``/widgets/v1/frame.js``: the scripts (no build step).
* ``/widgets/v1/config``: tells a widget whether the page's origin may use a key, so it
  can say so instead of failing silently (open to every origin; says nothing else).
* ``/widgets/v1/frame/rewards`` and ``/frame/swap``: the frames redeem and swap run in.
  They answer with ``Content-Security-Policy: frame-ancestors <registered origins>`` and
  refuse a ``parent_origin`` that the key's tenant has not registered.
* ``/demo/merchant``: a merchant page with every widget, for ``jifen demo`` (404 until
  ``jifen demo`` has named a demo member).
* ``/widgets/v1/wallet.js`` and ``wallet.css``: the wallet's script and styles (its pages
  are in ``wallet_pages``).

Jifen's own origin — the configured base URL (``JIFEN_BASE_URL``) and the origin the
request itself was made to — is always an allowed parent of the frames: a page Jifen
serves itself (``/demo/merchant``, on whatever host and port) embeds them like a
registered merchant's. Any other parent must be registered by the key's tenant.

Views stay thin: they read the request, call one service, render a template.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    render_template,
    request,
    send_from_directory,
)

from jifen.exchange import settings as exchange_settings
from jifen.exchange.pricing import format_spu

from . import origins, services

STATIC = Path(__file__).parent / "static"
VERSION = "v1"
FRAME_KINDS = {"rewards", "swap"}
ORIGIN = re.compile(r"https?://([a-z0-9.-]+|\[[0-9a-f:.]+\])(:[0-9]{1,5})?")

bp = Blueprint("widget_pages", __name__, template_folder="templates")


# --- widgets ---------------------------------------------------------------------------


@bp.get(f"/widgets/{VERSION}/<any('jifen.js', 'frame.js', 'wallet.js'):name>")
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
    own = own_origins()
    origin = request.headers.get("Origin") or (own[-1] if own else "")
    body = {
        "object": "widget_config",
        "known_key": holder is not None,
        "origin": origin,
        "origin_allowed": bool(holder and (holder.allows(origin) or origin in own)),
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
    allowed = _parents(holder.allowed_origins) if holder else []
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


def own_origins() -> list[str]:
    """Jifen's own origins for this request: the configured base URL's (when one is set)
    and the one the request was made to (what a browser calls ``'self'``), last."""
    base_url = current_app.extensions["jifen.config"].base_url
    found = [_origin_of(base_url)] if base_url else []
    here = _origin_of(request.host_url)
    found += [here] if here not in found else []
    return [origin for origin in found if origin]


def _origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of ``url``, or None when that is not a plain origin (a
    forged Host header never reaches a header Jifen sends)."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    return origin if ORIGIN.fullmatch(origin) else None


def _parents(registered: list[str]) -> list[str]:
    """Who may embed a frame: the tenant's registered origins, and Jifen's own."""
    return registered + [own for own in own_origins() if own not in registered]
