"""``/v1/alliance``: an alliance invites merchants and sees its members' figures; a
merchant accepts, then earns and redeems the alliance's points. Views check the scope,
call one service and return."""

from __future__ import annotations

from jifen.platform.auth.callers import current_caller, requires, tenant
from jifen.platform.http import JifenBlueprint

from . import services
from .schemas import (
    AllianceEarnInput,
    AllianceMemberListSchema,
    AllianceMemberSchema,
    AllianceRedeemInput,
    AllianceTransactionSchema,
    InviteInput,
)

blp = JifenBlueprint("alliances", __name__, url_prefix="/v1/alliance", description="Alliances")
SECURITY = [{"oauth2": []}]


def _tenant() -> str:
    return current_caller().tenant_id


def _list(rows: list) -> dict:
    return {"data": rows}


@blp.post("/members")
@blp.arguments(InviteInput)
@blp.response(201, AllianceMemberSchema)
@blp.doc(security=SECURITY)
@requires(tenant("program:write"))
def invite(body: dict):
    """The calling alliance invites a merchant by slug: a ``pending`` membership until the
    merchant accepts. Not an alliance: 403 ``not_an_alliance``; already in: 409."""
    return services.invite(_tenant(), body["tenant_slug"])


@blp.get("/members")
@blp.response(200, AllianceMemberListSchema)
@blp.doc(security=SECURITY)
@requires(tenant("program:write"))
def members():
    """The alliance's members (pending and active) with per-member issued and redeemed
    points and their SPU value."""
    return _list(services.list_members(_tenant()))


@blp.get("/invitations")
@blp.response(200, AllianceMemberListSchema)
@blp.doc(security=SECURITY)
@requires(tenant("program:write"))
def invitations():
    """The alliances that invited the calling merchant."""
    return _list(services.list_invitations(_tenant()))


@blp.post("/invitations/<invitation_id>/accept")
@blp.response(200, AllianceMemberSchema)
@blp.doc(security=SECURITY)
@requires(tenant("program:write"))
def accept(invitation_id: str):
    """The invited merchant joins the alliance."""
    return services.accept(_tenant(), invitation_id)


@blp.post("/earn")
@blp.arguments(AllianceEarnInput)
@blp.response(201, AllianceTransactionSchema)
@blp.doc(security=SECURITY)
@requires(tenant("points:write"))
def earn(body: dict):
    """A member merchant credits a card with alliance points for an order, under the
    alliance's program; it owes the alliance their value (a clearing record)."""
    return services.earn(_tenant(), body)


@blp.post("/redeem")
@blp.arguments(AllianceRedeemInput)
@blp.response(201, AllianceTransactionSchema)
@blp.doc(security=SECURITY)
@requires(tenant("points:write"))
def redeem(body: dict):
    """A member merchant redeems a card's alliance points; the alliance owes it their
    value (a clearing record)."""
    return services.redeem(_tenant(), **body)
