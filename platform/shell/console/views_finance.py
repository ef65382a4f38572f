"""The finance console of the platform: settlement batches with their positions, close,
approve (by someone other than who closed it — the service refuses the closer), pay
(through Stripe, or by hand: finance marks each line paid with its bank reference, and
above the platform's threshold a second platform staff user confirms it),
reconcile (every payment line against Stripe or its reference: matched lines and the
mismatches) and the CSV/XLSX/PDF reports. Batches span every tenant, so these pages are for staff
flagged as platform operators; a tenant's finance users see their own statements in
the merchant console (``views_merchant.statements``).
"""

from __future__ import annotations

from datetime import datetime

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from jifen.platform import clock
from jifen.platform.errors import JifenError, NotFound

from . import blp, charts, i18n, queries
from .replies import download, error_message
from .security import require

REPORT_FORMATS = ("csv", "xlsx", "pdf")


@blp.get("/finance/batches")
@require("batches.view", tenant=False)
def batches():
    from jifen.settlement.services import list_batches

    page = list_batches({"limit": 25, "starting_after": request.args.get("after") or None})
    return render_template("console/batches.html", page=page)


@blp.post("/finance/batches")
@require("batches.close", tenant=False)
def close_batch():
    from jifen.settlement.services import CUTOFF_ZONE, next_cutoff
    from jifen.settlement.services import close_batch as close

    try:
        closed = close(g.staff.user_id)
    except JifenError as error:
        flash(error_message(error), "error")
        return redirect(url_for("console.batches"), code=303)
    if not closed.created:
        upcoming = next_cutoff(max(clock.now(), closed.batch.cutoff))
        zone = CUTOFF_ZONE.key
        when = i18n.format_when(upcoming, zone)
        flash(
            _(
                "Nothing new to close; the next cut-off is %(when)s (%(zone)s).",
                when=when,
                zone=zone,
            ),
            "info",
        )
        return redirect(url_for("console.batches"), code=303)
    flash(_("Batch closed."), "ok")
    return redirect(url_for("console.batch", batch_id=closed.batch.id), code=303)


@blp.get("/finance/batches/<batch_id>")
@require("batches.view", tenant=False)
def batch(batch_id: str):
    from jifen.settlement.manual import list_payments
    from jifen.settlement.payments import list_instructions
    from jifen.settlement.services import get_batch

    view = get_batch(batch_id)
    instructions = list_instructions(batch_id)
    waiting = [m for m in list_payments(batch_id) if m.status == "pending_confirmation"]
    names = queries.tenant_names(
        {p.tenant_id for p in view.positions} | {i.tenant_id for i in instructions}
    )
    chart = None
    if view.positions:
        chart = charts.bar_chart(
            [names.get(p.tenant_id, (p.tenant_id,))[0][:12] for p in view.positions],
            [[max(p.net, 0) for p in view.positions], [max(-p.net, 0) for p in view.positions]],
            [_("Receives"), _("Pays")],
            title=_("Net position per tenant"),
            format_value=lambda v: i18n.money(v, view.batch.currency),
        )
    return render_template(
        "console/batch.html",
        batch=view.batch,
        positions=view.positions,
        names=names,
        chart=chart,
        formats=REPORT_FORMATS,
        instructions=instructions,
        waiting={m.instruction_id: m for m in waiting},
        reconciliation=view.batch.reconciliation,
        checked_at=_checked_at(view.batch.reconciliation),
    )


def _checked_at(reconciliation: dict | None) -> datetime | None:
    when = (reconciliation or {}).get("checked_at")
    return datetime.fromisoformat(when) if when else None


@blp.post("/finance/batches/<batch_id>/approve")
@require("batches.approve", tenant=False)
def approve(batch_id: str):
    from jifen.settlement.services import approve_batch

    try:
        approve_batch(batch_id, g.staff.user_id)
        flash(_("Batch approved."), "ok")
    except NotFound:
        raise
    except JifenError as error:
        flash(error_message(error), "error")
    return redirect(url_for("console.batch", batch_id=batch_id), code=303)


@blp.post("/finance/batches/<batch_id>/pay")
@require("batches.approve", tenant=False)
def pay(batch_id: str):
    from jifen.settlement.payments import pay_batch

    try:
        pay_batch(batch_id)
        flash(_("Payment instructions sent."), "ok")
    except NotFound:
        raise
    except JifenError as error:
        flash(error_message(error), "error")
    return redirect(url_for("console.batch", batch_id=batch_id), code=303)


@blp.post("/finance/batches/<batch_id>/instructions/<tenant_id>/mark-paid")
@require("batches.approve", tenant=False)
def mark_paid(batch_id: str, tenant_id: str):
    """Up to the platform's threshold the line is paid; above it, it waits for a second
    person (``settlement.manual``)."""
    from jifen.settlement.manual import mark_paid as mark
    from jifen.settlement.model import ManualPayment

    reference = request.form.get("reference", "").strip()[:255]
    if not reference:
        flash(_("Give the bank reference of the payment."), "error")
    else:
        try:
            marked = mark(batch_id, tenant_id, g.staff.user_id, reference)
        except NotFound:
            raise
        except JifenError as error:
            flash(_payment_error(error), "error")
        else:
            if isinstance(marked, ManualPayment):
                flash(
                    _(
                        "Marked paid: %(amount)s is above the limit for one person, so "
                        "another person must confirm it before the line is paid.",
                        amount=i18n.money(marked.amount, marked.currency),
                    ),
                    "ok",
                )
            else:
                flash(_("The line is marked paid."), "ok")
    return redirect(url_for("console.batch", batch_id=batch_id), code=303)


@blp.post("/finance/manual-payments/<payment_id>/confirm")
@require("batches.confirm_payment", tenant=False)
def confirm_payment(payment_id: str):
    """A second platform staff user confirms a manual payment above the threshold."""
    from jifen.settlement.manual import confirm_payment as confirm
    from jifen.settlement.manual import get_payment

    found = get_payment(payment_id)
    try:
        confirm(payment_id, g.staff.user_id)
        flash(_("The payment is confirmed and the line is paid."), "ok")
    except NotFound:
        raise
    except JifenError as error:
        flash(_payment_error(error), "error")
    return redirect(url_for("console.batch", batch_id=found.batch_id), code=303)


@blp.post("/finance/manual-payments/<payment_id>/reject")
@require("batches.confirm_payment", tenant=False)
def reject_payment(payment_id: str):
    """Withdraw (who marked it) or refuse (anyone else) a manual payment waiting for
    confirmation; the line can be marked again."""
    from jifen.settlement.manual import get_payment
    from jifen.settlement.manual import reject_payment as reject

    found = get_payment(payment_id)
    try:
        reject(payment_id, g.staff.user_id)
        flash(_("The payment was rejected; the line is not paid."), "ok")
    except NotFound:
        raise
    except JifenError as error:
        flash(_payment_error(error), "error")
    return redirect(url_for("console.batch", batch_id=found.batch_id), code=303)


def _payment_error(error: JifenError) -> str:
    known = {
        "self_approval": _("A payment must be confirmed by someone other than who marked it paid."),
        "approval_requires_staff": _("Only platform staff can confirm a payment."),
        "confirmation_pending": _(
            "This line already waits for confirmation of another payment; reject that first."
        ),
    }
    return known.get(error.code) or error_message(error)


@blp.post("/finance/batches/<batch_id>/reconcile")
@require("batches.reconcile", tenant=False)
def reconcile(batch_id: str):
    from jifen.settlement.payments import reconcile_batch

    try:
        result = reconcile_batch(batch_id).batch.reconciliation or {}
    except NotFound:
        raise
    except JifenError as error:
        flash(error_message(error), "error")
    else:
        if result.get("mismatches"):
            flash(
                _(
                    "Mismatches found: %(count)d. See the list below.",
                    count=len(result["mismatches"]),
                ),
                "info",
            )
        else:
            flash(_("Reconciled: every line matches."), "ok")
    return redirect(url_for("console.batch", batch_id=batch_id, _anchor="reconciliation"), code=303)


@blp.get("/finance/batches/<batch_id>/report.<fmt>")
@require("batches.report", tenant=False)
def report(batch_id: str, fmt: str):
    from jifen.settlement.reports import build

    if fmt not in REPORT_FORMATS:
        raise NotFound(f"No such report format: {fmt}")
    return download(build(batch_id, fmt))
