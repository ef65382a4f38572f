"""The staff activity log (``activity``): who did what in the consoles.

Platform operators read every tenant's rows and the platform's own (filters: tenant,
actor, action); a tenant's owners and admins read their tenant's rows only (the unit of
work is bound to their tenant). Newest first, cursor pages.
"""

from __future__ import annotations

from flask import g, render_template, request

from . import activity, blp, queries
from .security import require


def _filters(*, tenant: bool) -> activity.Filters:
    args = request.args
    return activity.Filters(
        tenant_id=args.get("tenant", "").strip()[:32] if tenant else "",
        actor=args.get("actor", "").strip()[:254],
        action=args.get("action", "").strip()[:64],
    )


def _page(filters: activity.Filters, *, tenant_id: str | None, endpoint: str):
    page = activity.list_activity(
        filters, tenant_id=tenant_id, after=request.args.get("after") or None
    )
    names = queries.tenant_names({row.tenant_id for row in page["data"] if row.tenant_id})
    return render_template(
        "console/activity.html",
        page=page,
        names=names,
        filters=filters,
        actions=activity.known_actions(),
        platform_wide=tenant_id is None,
        endpoint=endpoint,
    )


@blp.get("/operator/activity")
@require("activity.view", tenant=False)
def activity_log():
    return _page(_filters(tenant=True), tenant_id=None, endpoint="console.activity_log")


@blp.get("/activity")
@require("activity.tenant_view")
def tenant_activity():
    return _page(
        _filters(tenant=False), tenant_id=g.staff.tenant_id, endpoint="console.tenant_activity"
    )
