"""The merchant console: dashboard, members (search, detail, freeze, adjust), webhook
endpoints with their delivery log and replay, and the tenant's settlement statements.

Every view acts for the tenant the signed-in user picked (``g.staff.tenant_id``), never
for one named in the URL or form, so another tenant's ids are simply not found.
"""

from __future__ import annotations

import re

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from jifen.platform.errors import JifenError, NotFound

from . import blp, charts, i18n, metrics, queries
from .security import require

PAGE = 25
CARD_DIGITS = re.compile(r"[\d\s-]{12,24}")


def _tenant() -> str:
    return g.staff.tenant_id


def _after() -> str | None:
    return request.args.get("after") or None


def _error_message(error: JifenError) -> str:
    known = {
        "insufficient_points": _("The member does not have enough available points."),
        "member_frozen": _("The member is frozen."),
        "self_approval": _("A batch must be approved by someone other than who closed it."),
        "invalid_state": _("This is not possible in the object's current state."),
        "batch_not_approved": _("The batch must be approved before it is paid."),
    }
    return known.get(error.code) or error.message


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
    )


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
    """A manual adjustment: a credit goes through the manual award, a debit through a
    redemption; both keep the reason in the transaction's metadata."""
    from jifen.tenants.members.points import award, redeem

    direction = request.form.get("direction")
    reason = request.form.get("reason", "").strip()[:500]
    try:
        points = int(request.form.get("points", ""))
    except ValueError:
        points = 0
    if direction not in ("credit", "debit") or points <= 0 or not reason:
        flash(_("Give a direction, a positive number of points and a reason."), "error")
        return redirect(url_for("console.member", member_id=member_id), code=303)
    try:
        if direction == "credit":
            award(_tenant(), member_id=member_id, event="manual", points=points, reason=reason)
        else:
            redeem(_tenant(), member_id=member_id, points=points, reason=reason)
    except NotFound:
        raise
    except JifenError as error:
        flash(_error_message(error), "error")
        return redirect(url_for("console.member", member_id=member_id), code=303)
    flash(_("Adjusted by %(points)s points.", points=i18n.points(points)), "ok")
    return redirect(url_for("console.member", member_id=member_id), code=303)


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
        flash(_error_message(error), "error")
    return redirect(url_for("console.webhook", endpoint_id=endpoint_id), code=303)


# --- statements ---------------------------------------------------------------------------


@blp.get("/statements")
@require("statements.view")
def statements():
    from jifen.settlement.services import list_statements

    page = list_statements(_tenant(), {"limit": PAGE, "starting_after": _after(), "batch": None})
    return render_template("console/statements.html", page=page)
