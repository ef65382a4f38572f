"""Widget endpoints: the tenant's widget settings and the card holder's small reads.

* ``GET``/``PUT /v1/widgets/settings`` (``program:write`` to change, ``points:read`` or
  ``program:write`` to read): the origins allowed to use the tenant's publishable key.
  PUT replaces the whole list; an origin that is not ``https://host[:port]`` (``http``
  only on loopback) is 422 ``invalid_origin``.
* Member token or holder session (``/v1/me``): ``GET /balance`` (this membership, with
  points expiring), ``GET /transactions`` (newest first), ``GET /rewards`` (active
  rewards), ``POST /rewards/{id}/redeem`` ``{"quantity"}`` → 201 ``redemption_order``.
  A holder session covers every membership of the card, so it names the program with
  ``currency`` (query or body; 422 without it); a member token may name its own.

The publishable key and CORS rules for ``/v1/me`` are in ``widgets.guard``.
"""

from __future__ import annotations

from jifen.platform.auth.callers import CARD, current_caller, requires, tenant
from jifen.platform.http import JifenBlueprint, list_of
from jifen.tenants.catalog.schemas import RedemptionOrderSchema, RewardSchema
from jifen.tenants.members.schemas import BalanceSchema, TransactionSchema

from . import services
from .schemas import (
    MeArgs,
    MeListArgs,
    MeRewardListArgs,
    MyRedeemInput,
    WidgetSettingsInput,
    WidgetSettingsSchema,
)

blp = JifenBlueprint("widgets", __name__, url_prefix="/v1/widgets", description="Widgets")
me = JifenBlueprint("consumer_widgets", __name__, url_prefix="/v1/me", description="Consumer")

MEMBER = {"security": [{"bearer": []}]}


@blp.get("/settings")
@blp.response(200, WidgetSettingsSchema)
@blp.doc(security=[{"oauth2": ["program:write"]}, {"oauth2": ["points:read"]}])
@requires(tenant("program:write", "points:read", any_scope=True))
def get_settings():
    return services.get_settings(current_caller().tenant_id)


@blp.put("/settings")
@blp.arguments(WidgetSettingsInput)
@blp.response(200, WidgetSettingsSchema)
@blp.doc(security=[{"oauth2": ["program:write"]}])
@requires(tenant("program:write"))
def put_settings(body: dict):
    """Replace the origins allowed to use the publishable key (CORS, frame-ancestors)."""
    return services.put_settings(current_caller().tenant_id, **body)


@me.get("/balance")
@me.arguments(MeArgs, location="query")
@me.response(200, BalanceSchema)
@me.doc(**MEMBER)
@requires(CARD)
def my_balance(args: dict):
    """The caller's points in this membership (a holder session names the ``currency``),
    with what expires soon."""
    return services.my_balance(current_caller(), args["currency"])


@me.get("/transactions")
@me.arguments(MeListArgs, location="query")
@me.response(200, list_of(TransactionSchema))
@me.doc(**MEMBER)
@requires(CARD)
def my_transactions(args: dict):
    return services.my_transactions(current_caller(), args)


@me.get("/rewards")
@me.arguments(MeRewardListArgs, location="query")
@me.response(200, list_of(RewardSchema))
@me.doc(**MEMBER)
@requires(CARD)
def my_rewards(args: dict):
    return services.my_rewards(current_caller(), args)


@me.post("/rewards/<reward_id>/redeem")
@me.arguments(MyRedeemInput)
@me.response(201, RedemptionOrderSchema)
@me.doc(**MEMBER)
@requires(CARD)
def redeem_reward(body: dict, reward_id: str):
    """Buy a reward with the caller's points (not physical rewards: those need an
    address, which the merchant's own checkout collects)."""
    return services.redeem_reward(current_caller(), reward_id, **body)


BLUEPRINTS = [blp, me]
