"""Catalog endpoints: ``/v1/rewards`` (CRUD, code pools, redeem) and
``/v1/redemption_orders`` (read, fulfil, cancel). Each view declares its scope, calls one
service and returns; the rules are in ``services``."""

from __future__ import annotations

from flask.views import MethodView

from jifen.platform.auth.callers import current_caller, requires, tenant
from jifen.platform.http import JifenBlueprint, list_of

from . import services
from .schemas import (
    CodeUploadInput,
    CodeUploadSchema,
    FulfilmentInput,
    RedemptionOrderListArgs,
    RedemptionOrderSchema,
    RewardInput,
    RewardListArgs,
    RewardRedeemInput,
    RewardSchema,
    RewardUpdateInput,
)

blp = JifenBlueprint("catalog", __name__, url_prefix="/v1", description="Rewards catalog")
SECURITY = [{"oauth2": []}]
READ = tenant("points:read", "program:write", any_scope=True)


def _tenant() -> str:
    return current_caller().tenant_id


@blp.route("/rewards")
class Rewards(MethodView):
    @blp.arguments(RewardListArgs, location="query")
    @blp.response(200, list_of(RewardSchema))
    @blp.doc(security=SECURITY)
    @requires(READ)
    def get(self, args: dict):
        """Rewards, newest first (scope ``points:read`` or ``program:write``)."""
        return services.list_rewards(_tenant(), args)

    @requires(tenant("program:write"))
    @blp.arguments(RewardInput)
    @blp.response(201, RewardSchema)
    @blp.doc(security=SECURITY)
    def post(self, body: dict):
        """Add a reward: ``physical`` (with stock), ``virtual`` (codes uploaded later) or
        ``coupon``; ``price_points`` per unit, optional ``cash_amount`` per unit."""
        return services.create_reward(_tenant(), body)


@blp.route("/rewards/<reward_id>")
class RewardResource(MethodView):
    @blp.response(200, RewardSchema)
    @blp.doc(security=SECURITY)
    @requires(READ)
    def get(self, reward_id: str):
        return services.get_reward(_tenant(), reward_id)

    @requires(tenant("program:write"))
    @blp.arguments(RewardUpdateInput)
    @blp.response(200, RewardSchema)
    @blp.doc(security=SECURITY)
    def patch(self, body: dict, reward_id: str):
        """Change a reward; ``stock`` sets what is left to sell (not for virtual ones)."""
        return services.update_reward(_tenant(), reward_id, body)

    @requires(tenant("program:write"))
    @blp.response(200, RewardSchema)
    @blp.doc(security=SECURITY)
    def delete(self, reward_id: str):
        """Archive the reward: no more redemptions; its orders stay."""
        return services.archive_reward(_tenant(), reward_id)


@blp.post("/rewards/<reward_id>/codes")
@blp.arguments(CodeUploadInput)
@blp.response(201, CodeUploadSchema)
@blp.doc(security=SECURITY)
@requires(tenant("program:write"))
def upload_codes(body: dict, reward_id: str):
    """Add codes to a virtual reward's pool (up to 1000 per call)."""
    return services.upload_codes(_tenant(), reward_id, body.get("codes"))


@blp.post("/rewards/<reward_id>/redeem")
@blp.arguments(RewardRedeemInput)
@blp.response(201, RedemptionOrderSchema)
@blp.doc(security=SECURITY)
@requires(tenant("points:write"))
def redeem(body: dict, reward_id: str):
    """Buy ``quantity`` of the reward with the member's points: a redemption order.
    Not enough stock is 422 ``out_of_stock``; not enough points ``insufficient_points``."""
    return services.redeem(_tenant(), reward_id, **{"member_id": None, **body})


@blp.get("/redemption_orders")
@blp.arguments(RedemptionOrderListArgs, location="query")
@blp.response(200, list_of(RedemptionOrderSchema))
@blp.doc(security=SECURITY)
@requires(READ)
def list_orders(args: dict):
    return services.list_orders(_tenant(), args)


@blp.get("/redemption_orders/<order_id>")
@blp.response(200, RedemptionOrderSchema)
@blp.doc(security=SECURITY)
@requires(READ)
def get_order(order_id: str):
    return services.get_order(_tenant(), order_id)


@blp.post("/redemption_orders/<order_id>/fulfilment")
@blp.arguments(FulfilmentInput)
@blp.response(200, RedemptionOrderSchema)
@blp.doc(security=SECURITY)
@requires(tenant("points:write"))
def fulfil(body: dict, order_id: str):
    """A physical order was ``shipped`` (optionally with a ``tracking_number``) or
    ``delivered``."""
    return services.fulfil_order(_tenant(), order_id, **body)


@blp.post("/redemption_orders/<order_id>/cancel")
@blp.response(200, RedemptionOrderSchema)
@blp.doc(security=SECURITY)
@requires(tenant("points:write"))
def cancel(order_id: str):
    """Cancel a pending order: the points and the stock come back."""
    return services.cancel_order(_tenant(), order_id)
