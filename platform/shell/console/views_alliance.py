"""Alliances in the console, one page whose content depends on the tenant's kind.

* A merchant sees the alliances that invited it: pending invitations to accept or
  decline, and the alliances it belongs to.
* An alliance sees its members (pending and active) with what each issued and what was
  redeemed at each, in points and SPU (the clearing figures ``GET /v1/alliance/members``
  shows), and invites a merchant by its slug.

Everything goes through ``tenants.alliances.services``, which names the acting tenant in
every query: another tenant's invitation is simply not found.
"""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from jifen.platform.errors import JifenError, NotFound

from . import blp
from .security import require


def _tenant() -> str:
    return g.staff.tenant_id


def _message(error: JifenError) -> str:
    known = {
        "plan_limit": _("Your plan does not include alliances."),
        "already_member": _("That merchant is a member already."),
        "already_invited": _("That merchant is invited already."),
        "not_a_merchant": _("Only a merchant can join an alliance."),
        "invalid_state": _("This invitation was accepted already."),
    }
    return known.get(error.code) or error.message


def _alliance_page(*, slug: str = "", errors: dict[str, str] | None = None):
    from jifen.exchange.pricing import format_spu
    from jifen.tenants.alliances import services
    from jifen.tenants.model import TenantKind
    from jifen.tenants.services import get_tenant

    tenant = get_tenant(_tenant())
    is_alliance = tenant.kind == TenantKind.ALLIANCE
    rows = services.list_members(tenant.id) if is_alliance else services.list_invitations(tenant.id)
    page = render_template(
        "console/alliance.html",
        is_alliance=is_alliance,
        members=rows if is_alliance else [],
        invitations=[row for row in rows if row.status == "pending"] if not is_alliance else [],
        memberships=[row for row in rows if row.status == "active"] if not is_alliance else [],
        spu=format_spu,
        slug=slug,
        errors=errors or {},
    )
    return page, 422 if errors else 200


@blp.get("/alliance")
@require("alliance.view")
def alliance():
    return _alliance_page()


@blp.post("/alliance/members")
@require("alliance.manage")
def invite_merchant():
    from jifen.tenants.alliances.services import invite

    slug = request.form.get("tenant_slug", "").strip()[:64]
    if not slug:
        return _alliance_page(errors={"tenant_slug": _("Give the merchant's slug.")})
    try:
        invited = invite(_tenant(), slug)
    except NotFound:
        message = _("No merchant has the slug %(slug)s.", slug=slug)
        return _alliance_page(slug=slug, errors={"tenant_slug": message})
    except JifenError as error:
        return _alliance_page(slug=slug, errors={"tenant_slug": _message(error)})
    flash(_("%(name)s is invited.", name=invited.merchant_name), "ok")
    return redirect(url_for("console.alliance"), code=303)


@blp.post("/alliance/invitations/<invitation_id>/accept")
@require("alliance.manage")
def accept_invitation(invitation_id: str):
    from jifen.tenants.alliances.services import accept

    try:
        joined = accept(_tenant(), invitation_id)
    except NotFound:
        raise
    except JifenError as error:
        flash(_message(error), "error")
    else:
        flash(_("You joined the alliance %(alliance)s.", alliance=joined.alliance_slug), "ok")
    return redirect(url_for("console.alliance"), code=303)


@blp.post("/alliance/invitations/<invitation_id>/decline")
@require("alliance.manage")
def decline_invitation(invitation_id: str):
    from jifen.tenants.alliances.services import decline

    try:
        decline(_tenant(), invitation_id)
    except NotFound:
        raise
    except JifenError as error:
        flash(_message(error), "error")
    else:
        flash(_("The invitation is declined."), "ok")
    return redirect(url_for("console.alliance"), code=303)
