"""The merchant's lotteries: each with its prize table (odds and stock), the committed
seed's hash and, once closed, the revealed seed; its recent draws; creating one with its
prizes; closing one; and a link to the public odds page members see.

The form is checked by the API's schema (``LotteryInput``) and the prize table by the
lottery's own rules when ``tenants.lottery.services.create_lottery`` runs; a refusal is
shown beside the form (422) and nothing is created.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from jifen.platform.errors import JifenError, NotFound

from . import blp
from .security import require
from .views_operator import flatten

PAGE = 25
PRIZE_ROWS = 6


def _tenant() -> str:
    return g.staff.tenant_id


def _field(error: JifenError) -> str:
    return (error.param or "form").replace(".", "_")


def _whole(text: str) -> int | str | None:
    text = text.strip()
    if not text:
        return None
    # ASCII digits only: isdigit() also passes "²" or "①", which int() refuses.
    return int(text) if text.isascii() and text.isdecimal() else text


def _prize_rows(form) -> list[dict[str, str]]:
    names, weights = form.getlist("prize_name"), form.getlist("prize_weight")
    stocks = form.getlist("prize_stock")
    rows = []
    for index in range(max(len(names), len(weights), len(stocks), PRIZE_ROWS)):
        rows.append(
            {
                "name": names[index] if index < len(names) else "",
                "weight": weights[index] if index < len(weights) else "",
                "stock": stocks[index] if index < len(stocks) else "",
            }
        )
    return rows


def _lottery_body(form) -> tuple[dict, dict[str, str]]:
    """The form as ``POST /v1/lotteries`` takes it, before the schema: prize rows left
    blank are skipped; ``closes_at`` is typed in the tenant's time zone."""
    errors: dict[str, str] = {}
    prizes = []
    for row in _prize_rows(form):
        if not any(value.strip() for value in row.values()):
            continue
        weight = _whole(row["weight"])
        prize = {"name": row["name"].strip(), "weight": "" if weight is None else weight}
        prize["stock"] = _whole(row["stock"])
        prizes.append(prize)
    body: dict = {
        "name": form.get("name", "").strip(),
        "cost_points": _whole(form.get("cost_points", "")),
        "prizes": prizes,
    }
    if body["cost_points"] is None:
        body["cost_points"] = ""
    closes = form.get("closes_at", "").strip()
    if closes:
        try:
            local = datetime.fromisoformat(closes)
        except ValueError:
            errors["closes_at"] = _("Give the closing date and time, or leave it empty.")
        else:
            zone = ZoneInfo(g.get("console_time_zone") or "UTC")
            body["closes_at"] = local.replace(tzinfo=local.tzinfo or zone).isoformat()
    return body, errors


def _lotteries_page(form=None, errors: dict[str, str] | None = None):
    from jifen.tenants.lottery.services import list_lotteries

    args = {"limit": PAGE, "starting_after": request.args.get("after") or None}
    page = render_template(
        "console/lotteries.html",
        page=list_lotteries(_tenant(), args),
        form=form or {},
        prize_rows=_prize_rows(form or _Empty()),
        errors=errors or {},
        prize_errors={k: v for k, v in (errors or {}).items() if k.startswith("prizes")},
    )
    return page, 422 if errors else 200


class _Empty:
    """An empty form for the blank prize rows."""

    def getlist(self, name: str) -> list[str]:
        return []


@blp.get("/lotteries")
@require("lottery.view")
def lotteries():
    return _lotteries_page()


@blp.post("/lotteries")
@require("lottery.edit")
def create_lottery():
    from marshmallow import ValidationError

    from jifen.tenants.lottery.schemas import LotteryInput
    from jifen.tenants.lottery.services import create_lottery as create

    body, errors = _lottery_body(request.form)
    if errors:
        return _lotteries_page(request.form, errors)
    try:
        view = create(_tenant(), LotteryInput().load(body))
    except ValidationError as error:
        return _lotteries_page(request.form, flatten(error.messages))
    except JifenError as error:
        return _lotteries_page(request.form, {_field(error): error.message})
    flash(_("The lottery %(name)s is open; its seed is committed.", name=view.lottery.name), "ok")
    return redirect(url_for("console.lottery", lottery_id=view.lottery.id), code=303)


@blp.get("/lotteries/<lottery_id>")
@require("lottery.view")
def lottery(lottery_id: str):
    from jifen.tenants.lottery.services import get_lottery, list_draws

    view = get_lottery(_tenant(), lottery_id)
    draws = list_draws(
        _tenant(), lottery_id, {"limit": PAGE, "starting_after": request.args.get("after") or None}
    )
    names = {prize.id: prize.name for prize in view.prizes}
    return render_template("console/lottery.html", view=view, draws=draws, names=names)


@blp.post("/lotteries/<lottery_id>/close")
@require("lottery.edit")
def close_lottery(lottery_id: str):
    from jifen.tenants.lottery.services import close_lottery as close

    try:
        close(_tenant(), lottery_id)
    except NotFound:
        raise
    except JifenError as error:
        flash(error.message, "error")
    else:
        flash(_("The lottery is closed and its seed is revealed."), "ok")
    return redirect(url_for("console.lottery", lottery_id=lottery_id), code=303)
