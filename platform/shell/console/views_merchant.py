"""The merchant console: dashboard, members (search, detail, freeze, adjust), manual
adjustments waiting for approval and their history, webhook endpoints with their
delivery log and replay, and the tenant's settlement statements.

Every view acts for the tenant the signed-in user picked (``g.staff.tenant_id``), never
for one named in the URL or form, so another tenant's ids are simply not found.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from jifen.platform.errors import JifenError, NotFound

from . import blp, charts, i18n, metrics, queries
from .replies import download, error_message
from .security import require

PAGE = 25
CARD_DIGITS = re.compile(r"[\d\s-]{12,24}")


def _tenant() -> str:
    return g.staff.tenant_id


def _after() -> str | None:
    return request.args.get("after") or None


@blp.get("/")
@require("dashboard.view")
def dashboard():
    figures = metrics.dashboard(_tenant())
    labels = [day.day.strftime("%m-%d") for day in figures.series]
    chart = charts.bar_chart(
        labels,
        [[d.issued for d in figures.series], [d.redeemed for d in figures.series]],
        [_("Issued"), _("Redeemed")],
        title=_("Points issued and redeemed per day (last 30 days, UTC)"),
        format_value=i18n.points,
    )
    return render_template("console/dashboard.html", figures=figures, chart=chart)


# --- members ------------------------------------------------------------------------------


@blp.get("/members")
@require("members.view")
def members():
    from jifen.tenants.members.services import list_members

    query = request.args.get("q", "").strip()[:128]
    args = {"limit": PAGE, "starting_after": _after()}
    if query:
        page = list_members(_tenant(), {**args, "external_id": query})
        if not page["data"] and CARD_DIGITS.fullmatch(query):
            page = list_members(_tenant(), {**args, "card_number": query})
    else:
        page = list_members(_tenant(), args)
    return render_template("console/members.html", page=page, query=query)


@blp.get("/members/<member_id>")
@require("members.view")
def member(member_id: str):
    from jifen.tenants.members.points import balance, member_transactions
    from jifen.tenants.members.services import get_member

    found = get_member(_tenant(), member_id)
    history = member_transactions(_tenant(), member_id, {"limit": PAGE, "starting_after": _after()})
    return render_template(
        "console/member.html",
        member=found,
        balance=balance(_tenant(), member_id),
        lots=queries.member_lots(_tenant(), member_id),
        history=history,
        adjustments=_member_adjustments(member_id),
    )


def _member_adjustments(member_id: str) -> list | None:
    """The member's adjustments, newest first, for those who may see them."""
    from jifen.tenants.members.adjustments import list_adjustments

    if not g.staff.may("adjustments.view"):
        return None
    args = {"limit": PAGE, "starting_after": None, "member_id": member_id}
    return list_adjustments(_tenant(), args)["data"]


@blp.post("/members/<member_id>/freeze")
@require("members.freeze")
def freeze(member_id: str):
    from jifen.tenants.members.services import freeze_member

    freeze_member(_tenant(), member_id)
    flash(_("The member is frozen: they can neither earn nor spend."), "ok")
    return redirect(url_for("console.member", member_id=member_id), code=303)


@blp.post("/members/<member_id>/unfreeze")
@require("members.freeze")
def unfreeze(member_id: str):
    from jifen.tenants.members.services import unfreeze_member

    unfreeze_member(_tenant(), member_id)
    flash(_("The member is active again."), "ok")
    return redirect(url_for("console.member", member_id=member_id), code=303)


@blp.post("/members/<member_id>/adjust")
@require("members.adjust")
def adjust(member_id: str):
    """A manual adjustment (``tenants.members.adjustments``) asked for by the signed-in
    user: posted at once up to the program's threshold, else left for a second person."""
    signed = _adjustment_form()
    if signed is None:
        return redirect(url_for("console.member", member_id=member_id), code=303)
    _request_adjustment(member_id, *signed)
    return redirect(url_for("console.member", member_id=member_id), code=303)


# --- adjustments --------------------------------------------------------------------------


@blp.get("/adjustments")
@require("adjustments.view")
def adjustments():
    from jifen.tenants.members.adjustments import list_adjustments

    pending = list_adjustments(
        _tenant(), {"limit": 100, "starting_after": None, "status": "pending_approval"}
    )
    recent = list_adjustments(_tenant(), {"limit": PAGE, "starting_after": _after()})
    return render_template("console/adjustments.html", pending=pending, recent=recent)


@blp.post("/adjustments")
@require("adjustments.request")
def request_adjustment():
    """Ask for an adjustment of the member named by external id, card number or id."""
    member_id = _find_member(request.form.get("member", "").strip()[:128])
    signed = _adjustment_form()
    if member_id is None:
        flash(_("No member matches what you entered."), "error")
    elif signed is not None:
        _request_adjustment(member_id, *signed)
    return redirect(url_for("console.adjustments"), code=303)


@blp.post("/adjustments/<adjustment_id>/approve")
@require("adjustments.approve")
def approve_adjustment(adjustment_id: str):
    from jifen.tenants.members.adjustments import approve_adjustment, get_adjustment

    found = get_adjustment(_tenant(), adjustment_id)
    try:
        approve_adjustment(_tenant(), adjustment_id, g.staff.user_id)
        flash(_("The adjustment was approved and posted."), "ok")
    except NotFound:
        raise
    except JifenError as error:
        flash(_adjustment_error(error), "error")
    return _back_from_adjustment(found.member_id)


@blp.post("/adjustments/<adjustment_id>/reject")
@require("adjustments.approve")
def reject_adjustment(adjustment_id: str):
    from jifen.tenants.members.adjustments import get_adjustment, reject_adjustment

    found = get_adjustment(_tenant(), adjustment_id)
    reason = request.form.get("rejection_reason", "").strip()[:500] or None
    try:
        reject_adjustment(_tenant(), adjustment_id, g.staff.user_id, reason=reason)
        flash(_("The adjustment was rejected; nothing was posted."), "ok")
    except NotFound:
        raise
    except JifenError as error:
        flash(_adjustment_error(error), "error")
    return _back_from_adjustment(found.member_id)


def _adjustment_form() -> tuple[int, str] | None:
    """The signed points and the reason of an adjustment form, or None (flashed why)."""
    direction = request.form.get("direction")
    reason = request.form.get("reason", "").strip()[:500]
    try:
        points = int(request.form.get("points", ""))
    except ValueError:
        points = 0
    if direction not in ("credit", "debit") or not 0 < points < 2**53 or not reason:
        flash(_("Give a direction, a positive number of points and a reason."), "error")
        return None
    return (points if direction == "credit" else -points), reason


def _request_adjustment(member_id: str, points: int, reason: str) -> None:
    """Ask for it as the signed-in user and flash the outcome. Raises NotFound."""
    from jifen.tenants.members.adjustments import request_adjustment

    try:
        made = request_adjustment(
            _tenant(), member_id=member_id, points=points, reason=reason, actor=g.staff.user_id
        )
    except NotFound:
        raise
    except JifenError as error:
        flash(_adjustment_error(error), "error")
        return
    if made.status == "posted":
        flash(_("Adjusted by %(points)s points.", points=i18n.points(abs(points))), "ok")
    else:
        flash(
            _(
                "The adjustment of %(points)s points waits for another person's approval.",
                points=i18n.points(abs(points)),
            ),
            "ok",
        )


def _find_member(query: str) -> str | None:
    from jifen.tenants.members.services import get_member, list_members

    if not query:
        return None
    args = {"limit": 1, "starting_after": None}
    found = list_members(_tenant(), {**args, "external_id": query})["data"]
    if not found and CARD_DIGITS.fullmatch(query):
        found = list_members(_tenant(), {**args, "card_number": query})["data"]
    if found:
        return found[0].id
    try:
        return get_member(_tenant(), query).id if query.startswith("mem_") else None
    except NotFound:
        return None


def _adjustment_error(error: JifenError) -> str:
    if error.code == "self_approval":
        return _("An adjustment must be approved by someone other than who requested it.")
    return error_message(error)


def _back_from_adjustment(member_id: str):
    if request.form.get("back") == "member":
        return redirect(url_for("console.member", member_id=member_id), code=303)
    return redirect(url_for("console.adjustments"), code=303)


# --- webhooks -----------------------------------------------------------------------------


@blp.get("/webhooks")
@require("webhooks.view")
def webhooks():
    from jifen.platform.webhooks.services import list_endpoints

    page = list_endpoints(_tenant(), {"limit": 100, "starting_after": None})
    return render_template("console/webhooks.html", endpoints=page["data"])


@blp.get("/webhooks/<endpoint_id>")
@require("webhooks.view")
def webhook(endpoint_id: str):
    from jifen.platform.webhooks.services import get_endpoint, list_deliveries

    endpoint = get_endpoint(_tenant(), endpoint_id)
    page = list_deliveries(_tenant(), endpoint_id, {"limit": PAGE, "starting_after": _after()})
    return render_template("console/webhook.html", endpoint=endpoint, page=page)


@blp.post("/webhooks/deliveries/<delivery_id>/replay")
@require("webhooks.replay")
def replay(delivery_id: str):
    from jifen.platform.webhooks.services import get_delivery, replay_delivery

    endpoint_id = get_delivery(_tenant(), delivery_id).endpoint_id
    try:
        replay_delivery(_tenant(), delivery_id)
        flash(_("The delivery was sent again."), "ok")
    except NotFound:
        raise
    except JifenError as error:
        flash(error_message(error), "error")
    return redirect(url_for("console.webhook", endpoint_id=endpoint_id), code=303)


# --- statements ---------------------------------------------------------------------------


@blp.get("/statements")
@require("statements.view")
def statements():
    from jifen.settlement.services import list_statements
    from jifen.settlement.statements import list_lines

    page = list_statements(_tenant(), {"limit": PAGE, "starting_after": _after(), "batch": None})
    period, chosen, problem = _statement_period()
    if problem:
        flash(problem, "error")
    lines = list_lines(
        _tenant(),
        {
            "limit": PAGE,
            "starting_after": request.args.get("lines_after") or None,
            "from_": period.start,
            "to": period.end,
        },
    )
    return render_template("console/statements.html", page=page, lines=lines, chosen=chosen)


@blp.get("/statements/lines.<fmt>")
@require("statements.view")
def statement_export(fmt: str):
    """The statement lines of the period on the page, as CSV or XLSX."""
    from jifen.settlement.statements import FORMATS, export

    if fmt not in FORMATS:
        raise NotFound(f"No such export format: {fmt}")
    period, _chosen, problem = _statement_period()
    if problem:
        flash(problem, "error")
        return redirect(url_for("console.statements"), code=303)
    return download(export(_tenant(), fmt, period))


def _statement_period():
    """The period the Statements page names: ``from`` and ``to`` dates (YYYY-MM-DD, both
    days included) in the tenant's time zone, either may be empty. Returns the period,
    the dates as given and a problem to show (then the period is open)."""
    from jifen.settlement.statements import Period

    zone = ZoneInfo(g.get("console_time_zone") or "UTC")
    chosen = {key: request.args.get(key, "").strip()[:10] for key in ("from", "to")}
    bounds: dict[str, datetime | None] = {}
    for key, days_after in (("from", 0), ("to", 1)):
        try:
            day = date.fromisoformat(chosen[key]) if chosen[key] else None
        except ValueError:
            return Period(), {"from": "", "to": ""}, _("Give dates as YYYY-MM-DD.")
        bounds[key] = (
            None
            if day is None
            else datetime.combine(day + timedelta(days=days_after), time(), zone)
        )
    return Period(bounds["from"], bounds["to"]), chosen, None
