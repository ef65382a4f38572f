"""The platform operator's console: every tenant with its plan and billing status (a
tenant's page shows its subscription and changes its plan through ``platform.billing``,
as the billing API does), the exchange fee schedule, the SPU money value of settlement,
the job queues (failures, requeue) and the audit of the platform's invariants.

Everything here spans tenants, so every action is a platform action: only staff flagged
``is_platform_operator`` reach these pages. Forms are checked by the same schemas and
services as the API (``PUT /v1/platform/exchange/fees``, settlement settings); a refusal
is shown next to the field it names and changes nothing.
"""

from __future__ import annotations

from decimal import Decimal

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from jifen.platform.errors import JifenError, NotFound

from . import blp, queries, queues
from .security import require

FEE_KINDS = ("swap", "acceptance")


def flatten(messages: dict | list | str, prefix: str = "") -> dict[str, str]:
    """marshmallow's nested messages -> ``{"swap_bps": "first message", ...}``."""
    if isinstance(messages, dict):
        flat: dict[str, str] = {}
        for key, value in messages.items():
            flat.update(flatten(value, f"{prefix}_{key}" if prefix else str(key)))
        return flat
    if isinstance(messages, list):
        return {prefix or "form": str(messages[0]) if messages else ""}
    return {prefix or "form": str(messages)}


@blp.get("/operator/tenants")
@require("tenants.view", tenant=False)
def tenants():
    return render_template(
        "console/tenants.html", tenants=queries.tenant_overview(), plans=plan_labels()
    )


def plan_labels() -> dict[str, str]:
    return {"free": _("Free"), "growth": _("Growth"), "scale": _("Scale")}


@blp.get("/operator/tenants/<tenant_id>")
@require("tenants.view", tenant=False)
def tenant(tenant_id: str):
    from jifen.platform.billing.plans import PLANS
    from jifen.platform.billing.services import get_billing

    names = queries.tenant_names([tenant_id])
    if tenant_id not in names:
        raise NotFound(f"No tenant {tenant_id}.")
    return render_template(
        "console/tenant.html",
        tenant_id=tenant_id,
        name=names[tenant_id][0],
        billing=get_billing(tenant_id),
        plans=PLANS.values(),
        labels=plan_labels(),
    )


@blp.post("/operator/tenants/<tenant_id>/plan")
@require("tenants.plan", tenant=False)
def change_plan(tenant_id: str):
    from jifen.platform.billing.services import change_plan as change

    if tenant_id not in queries.tenant_names([tenant_id]):
        raise NotFound(f"No tenant {tenant_id}.")
    try:
        billing = change(tenant_id, request.form.get("plan", "").strip())
    except JifenError as error:
        flash(error.message, "error")
    else:
        label = plan_labels().get(billing.plan.code, billing.plan.name)
        flash(_("The tenant is now on the %(plan)s plan.", plan=label), "ok")
    return redirect(url_for("console.tenant", tenant_id=tenant_id), code=303)


# --- the fee schedule ---------------------------------------------------------------------


def _fee_form(view) -> dict[str, str]:
    from jifen.exchange.pricing import format_spu

    def spu(value: int | None) -> str:
        return "" if value is None else format_spu(value)

    form = {"card_daily_limit": spu(view.schedule.card_daily_limit)}
    for kind in FEE_KINDS:
        fee = getattr(view.schedule, kind)
        form.update({f"{kind}_bps": str(fee.bps), f"{kind}_fixed": spu(fee.fixed)})
        form[f"{kind}_cap"] = spu(fee.cap)
    return form


def _fee_changes(form) -> dict:
    """The form as ``PUT /v1/platform/exchange/fees`` takes it, checked by its schema.
    Raises marshmallow's ValidationError."""
    from jifen.exchange.schemas import FeeScheduleInput

    body: dict = {"card_daily_limit": form.get("card_daily_limit", "").strip() or None}
    for kind in FEE_KINDS:
        bps = form.get(f"{kind}_bps", "").strip()
        body[kind] = {
            "bps": int(bps) if bps.isdigit() else bps,
            "fixed": form.get(f"{kind}_fixed", "").strip() or "0",
            "cap": form.get(f"{kind}_cap", "").strip() or None,
        }
    return FeeScheduleInput().load(body)


def _fees_page(form, errors: dict[str, str]):
    from jifen.exchange.settings import get_fee_schedule

    schedule = get_fee_schedule()
    page = render_template(
        "console/fees.html",
        schedule=schedule,
        form=form if errors else _fee_form(schedule),
        errors=errors,
        kinds=FEE_KINDS,
    )
    return page, 422 if errors else 200


@blp.get("/operator/fees")
@require("fees.view", tenant=False)
def fees():
    return _fees_page({}, {})


@blp.post("/operator/fees")
@require("fees.edit", tenant=False)
def save_fees():
    from marshmallow import ValidationError

    from jifen.exchange.settings import put_fee_schedule

    try:
        put_fee_schedule(g.staff.user_id, _fee_changes(request.form))
    except ValidationError as error:
        return _fees_page(request.form, flatten(error.messages))
    except JifenError as error:
        return _fees_page(request.form, {(error.param or "form").replace(".", "_"): error.message})
    flash(_("The new fee schedule is in force."), "ok")
    return redirect(url_for("console.fees"), code=303)


# --- the SPU money value --------------------------------------------------------------------


def spu_value_text(micro: int) -> str:
    """Millionths of a minor unit -> the decimal string the form takes (``"1"``, ``"1.5"``)."""
    return format(Decimal(micro).scaleb(-6).normalize(), "f")


def _spu_value_page(form, errors: dict[str, str]):
    from jifen.settlement.services import get_settings

    settings = get_settings()
    if not errors:
        form = {"currency": settings.currency}
        form["spu_value"] = spu_value_text(settings.spu_value_micro)
    page = render_template(
        "console/spu_value.html",
        settings=settings,
        value_text=spu_value_text(settings.spu_value_micro),
        form=form,
        errors=errors,
    )
    return page, 422 if errors else 200


@blp.get("/operator/spu-value")
@require("spu_value.view", tenant=False)
def spu_value():
    return _spu_value_page({}, {})


@blp.post("/operator/spu-value")
@require("spu_value.edit", tenant=False)
def save_spu_value():
    from jifen.settlement.services import put_settings

    try:
        put_settings(
            g.staff.user_id,
            currency=request.form.get("currency", "").strip(),
            spu_value=request.form.get("spu_value", "").strip(),
        )
    except JifenError as error:
        return _spu_value_page(request.form, {error.param or "form": error.message})
    flash(_("The new SPU value applies to batches closed from now on."), "ok")
    return redirect(url_for("console.spu_value"), code=303)


# --- job queues -----------------------------------------------------------------------------


@blp.get("/operator/jobs")
@require("jobs.view", tenant=False)
def job_queues():
    if queues.inline():
        return render_template("console/jobs.html", inline=True, queues=[])
    return render_template("console/jobs.html", inline=False, queues=queues.overview())


@blp.post("/operator/jobs/<queue_name>/<job_id>/requeue")
@require("jobs.requeue", tenant=False)
def requeue(queue_name: str, job_id: str):
    if queues.inline():
        flash(_("Jobs run inline here: there is no queue."), "error")
    else:
        queues.requeue(queue_name, job_id)
        flash(_("The job is back in its queue."), "ok")
    return redirect(url_for("console.job_queues"), code=303)


# --- the audit ------------------------------------------------------------------------------


@blp.get("/operator/audit")
@require("audit.run", tenant=False)
def audit():
    from jifen.platform.audit import run_all

    results = run_all()
    failing = sum(1 for violations in results.values() if violations)
    return render_template("console/audit.html", results=results, failing=failing)
