"""Member and points endpoints (API.md, Members and points) and the consumer wallet
(API.md, Consumer). Each view parses, checks the caller, calls one service, returns.

Where API.md is silent:

* ``POST /v1/members``: a bad check digit is 422 ``invalid_card_number``; a card already
  enrolled here is 409 ``card_already_member``; a taken ``external_id`` is 409
  ``external_id_taken``.
* ``POST /v1/earn`` computes points with the program in force (``tenants.program``);
  its metadata records ``program_version`` and the ``breakdown``. An order that earns
  nothing (under the first step, or capped to 0) is 422 ``no_points_earned``: nothing
  is posted. A second earn for the same ``order_id`` is 409 ``order_already_earned``.
  ``occurred_at`` may be up to two years past and at most five minutes ahead.
* ``POST /v1/earn/batch`` answers ``{"object": "earn_batch", "transactions": [...]}`` in
  request order; one bad earn refuses the whole batch, ``param`` naming it
  (``earns.3.member_id``).
* ``POST /v1/awards``: ``event: manual`` (with ``points`` and ``reason``) or a program
  event (``tenants.members.awards``); a referral names the ``referee_id``. An event the
  program pays nothing for is 422 ``event_not_configured``; a second signup or check-in
  the same day 422 ``already_awarded``. A manual award of more than the program's
  ``adjustments.approval_threshold`` points posts nothing: it answers 202 with an
  ``adjustment`` (``status: pending_approval``, ``requested_by`` the client) that a
  staff user of the tenant other than the requester approves in the console (then it
  posts, as an adjustment) or anyone rejects, exactly like ``POST /v1/adjustments``
  (``tenants.members.adjustments_api``); an ``Idempotency-Key`` replays the 202. At or
  below the threshold it is 201 with the ``transaction`` as before. A blank ``reason``
  is 422.
* ``POST /v1/redemptions`` with ``order_amount`` (and ``order_id``) pays towards an
  order under the program's redemption rules.
* ``POST /v1/checkout/quotes`` answers 200 with a ``checkout_quote`` (no id: nothing is
  stored), see ``tenants.members.checkout``.
* ``POST /v1/refunds`` answers 201 with a ``refund``; the rules are written in
  ``tenants.members.refunds``.
* Holds last one day unless ``expires_in`` (60 s to 30 days) says otherwise. Capture
  and void answer 200 with the hold. A frozen member's hold cannot be captured (422
  ``member_frozen``) but can be voided, which only gives points back.
* ``POST /v1/transfers`` answers 201 with a ``transaction`` of kind ``transfer``,
  ``from_member``, ``to_member`` and the positive ``points`` moved.
* ``GET /v1/me/wallet`` answers ``{"object": "wallet", "card_number", "memberships"}``;
  ``spu_value`` is the points' SPU value, null when the currency is not in the exchange.
  A member token lists its own membership only; a holder session every one of the card.
* ``POST /v1/members`` links an existing card only with ``holder_code`` (a counter code
  the holder handed over; then ``card_number`` may be left out): without it any card
  number but one of the tenant's own members is 403 ``holder_authorization_required``,
  whether or not a card has that number.
"""

from __future__ import annotations

from jifen.platform.auth.callers import CARD, current_caller, requires, tenant
from jifen.platform.http import list_of

from . import awards, checkout, points, refunds, services, tiering, tokens
from .blueprints import READ, WRITE, blp, me
from .model import Adjustment
from .schemas import (
    AdjustmentSchema,
    AwardInput,
    BalanceSchema,
    CaptureInput,
    CheckoutQuoteInput,
    CheckoutQuoteSchema,
    EarnBatchInput,
    EarnBatchSchema,
    EarnInput,
    HoldInput,
    HoldSchema,
    MemberInput,
    MemberListArgs,
    MemberSchema,
    MemberTokenInput,
    MemberTokenSchema,
    RedemptionInput,
    RefundInput,
    RefundSchema,
    TierChangeSchema,
    TransactionSchema,
    TransferInput,
    TransferSchema,
    WalletSchema,
)


def _tenant() -> str:
    return current_caller().tenant_id


# --- members -------------------------------------------------------------------------


@blp.post("/members")
@blp.arguments(MemberInput)
@blp.response(201, MemberSchema)
@blp.doc(**WRITE)
@requires(tenant("points:write"))
def create_member(body: dict):
    """Enrol a customer. Without ``card_number`` a new card is issued; with one (and the
    holder's ``holder_code``), that card gains this membership."""
    return services.create_member(_tenant(), **body)


@blp.get("/members")
@blp.arguments(MemberListArgs, location="query")
@blp.response(200, list_of(MemberSchema))
@blp.doc(**READ)
@requires(tenant("points:read"))
def list_members(args: dict):
    """Members, newest first, filtered by ``external_id`` or ``card_number``."""
    return services.list_members(_tenant(), args)


@blp.get("/members/<member_id>")
@blp.response(200, MemberSchema)
@blp.doc(**READ)
@requires(tenant("points:read"))
def get_member(member_id: str):
    return services.get_member(_tenant(), member_id)


@blp.post("/members/<member_id>/freeze")
@blp.response(200, MemberSchema)
@blp.doc(**WRITE)
@requires(tenant("points:write"))
def freeze_member(member_id: str):
    """A frozen member can neither earn nor spend (422 ``member_frozen``)."""
    return services.freeze_member(_tenant(), member_id)


@blp.post("/members/<member_id>/unfreeze")
@blp.response(200, MemberSchema)
@blp.doc(**WRITE)
@requires(tenant("points:write"))
def unfreeze_member(member_id: str):
    return services.unfreeze_member(_tenant(), member_id)


@blp.post("/members/<member_id>/tokens")
@blp.arguments(MemberTokenInput)
@blp.response(201, MemberTokenSchema)
@blp.doc(**WRITE)
@requires(tenant("points:write"))
def create_member_token(body: dict, member_id: str):
    """A member token for ``/v1/me/*`` (default 1 hour, ``expires_in`` up to 24 hours)."""
    return tokens.issue_member_token(_tenant(), member_id, **body)


# --- points --------------------------------------------------------------------------


@blp.get("/members/<member_id>/balance")
@blp.response(200, BalanceSchema)
@blp.doc(**READ)
@requires(tenant("points:read"))
def get_balance(member_id: str):
    return points.balance(_tenant(), member_id)


@blp.get("/members/<member_id>/transactions")
@blp.arguments(MemberListArgs, location="query")
@blp.response(200, list_of(TransactionSchema))
@blp.doc(**READ)
@requires(tenant("points:read"))
def list_transactions(args: dict, member_id: str):
    """The member's transactions, newest first; ``points`` signed from their side."""
    return points.member_transactions(_tenant(), member_id, args)


@blp.get("/members/<member_id>/tier_history")
@blp.arguments(MemberListArgs, location="query")
@blp.response(200, list_of(TierChangeSchema))
@blp.doc(**READ)
@requires(tenant("points:read"))
def tier_history(args: dict, member_id: str):
    """The member's tier changes, newest first (upgrades, period-end downgrades)."""
    return tiering.tier_history(_tenant(), member_id, args)


@blp.post("/earn")
@blp.arguments(EarnInput)
@blp.response(201, TransactionSchema)
@blp.doc(**WRITE)
@requires(tenant("points:write"))
def earn(body: dict):
    """Points for an order under the program in force (default: 1 per full 100.00,
    shipping excluded, rounded down). A second earn for an order is 409."""
    return points.earn(_tenant(), body)


@blp.post("/earn/batch")
@blp.arguments(EarnBatchInput)
@blp.response(201, EarnBatchSchema)
@blp.doc(**WRITE)
@requires(tenant("points:write"))
def earn_batch(body: dict):
    """Up to 100 earns in one transaction: all post, or none does."""
    return points.earn_batch(_tenant(), body["earns"])


@blp.post("/awards")
@blp.arguments(AwardInput)
@blp.response(201, TransactionSchema, alternatives={Adjustment: (202, AdjustmentSchema)})
@blp.doc(**WRITE)
@requires(tenant("points:write"))
def award(body: dict):
    """An event award (signup, checkin, review, referral with ``referee_id``,
    profile_completion) or a manual one (``event: manual`` with ``points`` and
    ``reason``). A manual award above the program's ``adjustments.approval_threshold``
    is 202 with a ``pending_approval`` adjustment: nothing is posted until a second
    staff user approves it in the console."""
    return awards.award(_tenant(), actor=current_caller().id, **body)


@blp.post("/redemptions")
@blp.arguments(RedemptionInput)
@blp.response(201, TransactionSchema)
@blp.doc(**WRITE)
@requires(tenant("points:write"))
def redeem(body: dict):
    """Spend points; not enough available is 422 ``insufficient_points``."""
    return points.redeem(_tenant(), **body)


@blp.post("/checkout/quotes")
@blp.arguments(CheckoutQuoteInput)
@blp.response(200, CheckoutQuoteSchema)
@blp.doc(**READ)
@requires(tenant("points:read"))
def checkout_quote(body: dict):
    """The most points usable on an order, their money value and the cash left to pay;
    computes, stores nothing."""
    return checkout.quote(_tenant(), **body)


@blp.post("/refunds")
@blp.arguments(RefundInput)
@blp.response(201, RefundSchema)
@blp.doc(**WRITE)
@requires(tenant("points:write"))
def refund(body: dict):
    """Refund ``amount`` of an order (the rest when omitted): claw back the points it
    earned, in proportion, and restore the points redeemed on it."""
    return refunds.refund(_tenant(), **body)


@blp.post("/holds")
@blp.arguments(HoldInput)
@blp.response(201, HoldSchema)
@blp.doc(**WRITE)
@requires(tenant("points:write"))
def place_hold(body: dict):
    return points.place_hold(_tenant(), **body)


@blp.post("/holds/<hold_id>/capture")
@blp.arguments(CaptureInput)
@blp.response(200, HoldSchema)
@blp.doc(**WRITE)
@requires(tenant("points:write"))
def capture_hold(body: dict, hold_id: str):
    """Capture all of a pending hold or ``points`` of it; the rest is released."""
    return points.capture_hold(_tenant(), hold_id, **body)


@blp.post("/holds/<hold_id>/void")
@blp.response(200, HoldSchema)
@blp.doc(**WRITE)
@requires(tenant("points:write"))
def void_hold(hold_id: str):
    return points.void_hold(_tenant(), hold_id)


@blp.post("/transfers")
@blp.arguments(TransferInput)
@blp.response(201, TransferSchema)
@blp.doc(**WRITE)
@requires(tenant("points:write"))
def transfer(body: dict):
    """Gift points between two members of the caller's tenant."""
    return points.transfer(_tenant(), **body)


# --- the consumer --------------------------------------------------------------------


@me.get("/wallet")
@me.response(200, WalletSchema)
@me.doc(security=[{"bearer": []}])
@requires(CARD)
def wallet():
    """A holder session: every membership of the card, in every tenant, with its balance.
    A member token: its own membership only."""
    caller = current_caller()
    only = caller.id if caller.kind == "member" else None
    return services.card_wallet(caller.card_id, member_id=only)


# The manual adjustment endpoints add themselves to ``blp``, after these.
from . import adjustments_api  # noqa: E402, F401
