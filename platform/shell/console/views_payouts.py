"""The tenant's payout settings: the Stripe Connect account the platform created for it,
what Stripe says of it, and "Onboard with Stripe" (``settlement.connect``).

"Onboard with Stripe" is a form (it may create the account); Stripe's account link then
leads back to ``/payouts/return`` (read the status from Stripe) or, when the link was
used or expired, to ``/payouts/onboard`` (a new link for the account that exists; a GET
never creates one). Links are bearer secrets of the tenant's: they go straight into the
redirect and are never shown, stored or logged.
"""

from __future__ import annotations

from flask import flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from jifen.platform.errors import JifenError, NotFound

from . import blp
from .security import require


def _tenant() -> str:
    return g.staff.tenant_id


def _account():
    from jifen.settlement.payments import get_account

    try:
        return get_account(_tenant())
    except NotFound:
        return None


def _refused(error: JifenError) -> str:
    known = {
        "stripe_not_configured": _(
            "Stripe is not configured on this platform: payouts are paid by hand."
        ),
        "stripe_unavailable": _("Stripe did not answer. Try again in a moment."),
    }
    return known.get(error.code) or error.message


@blp.get("/payouts")
@require("payouts.view")
def payouts():
    from jifen.settlement.payments import stripe_client

    account = _account()
    status = account.connect_status if account is not None else None
    return render_template(
        "console/payouts.html",
        account=account,
        status=status,
        stripe_ready=stripe_client() is not None,
    )


def _to_stripe():
    from jifen.settlement.connect import start_onboarding

    try:
        onboarding = start_onboarding(_tenant())
    except JifenError as error:
        flash(_refused(error), "error")
        return redirect(url_for("console.payouts"), code=303)
    return redirect(onboarding.url, code=303)


@blp.post("/payouts/onboard")
@require("payouts.manage")
def onboard_with_stripe():
    return _to_stripe()


@blp.get("/payouts/onboard")
@require("payouts.manage")
def continue_onboarding():
    """Stripe's ``refresh_url``: a new link for the account the tenant already has."""
    account = _account()
    if account is None or not account.stripe_account_id:
        return redirect(url_for("console.payouts"), code=303)
    return _to_stripe()


@blp.get("/payouts/return")
@require("payouts.manage")
def onboarding_returned():
    """Stripe's ``return_url``: the tenant left onboarding, finished or not."""
    import stripe

    from jifen.settlement.connect import refresh_status

    try:
        account = refresh_status(_tenant())
    except (JifenError, stripe.StripeError):
        flash(_("Stripe could not be asked yet; the status follows shortly."), "error")
        return redirect(url_for("console.payouts"), code=303)
    if account is not None and account.connect_status == "enabled":
        flash(_("Stripe accepts payouts to your account now."), "ok")
    else:
        flash(_("Onboarding with Stripe is not finished yet."), "error")
    return redirect(url_for("console.payouts"), code=303)
