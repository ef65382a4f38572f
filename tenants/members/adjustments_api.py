"""Manual adjustment endpoints (``tenants.members.adjustments`` holds the rules). Their
views live on the members blueprint; ``api`` imports this module to add them.

* ``POST /v1/adjustments`` ``{"member_id", "points", "reason"}`` (``points:write``):
  ``points`` is a signed, non-zero whole number (negative takes points away). 201 with
  the ``adjustment``: ``posted`` (with its ``transaction``) at or below the program's
  ``adjustments.approval_threshold``, else ``pending_approval``.
* ``POST /v1/adjustments/{id}/approve`` is always 403 ``approval_requires_staff`` for an
  API client: the second pair of eyes is a staff user in the console. The route stays so
  the refusal is explicit. ``/reject`` ``{"reason"?}`` refuses (withdraws) a pending one;
  rejecting one that is not pending is 409 ``invalid_state``.
* ``GET /v1/adjustments`` (``points:read``): the audit trail, newest first, filtered by
  ``?member_id=`` and ``?status=``; ``GET /v1/adjustments/{id}``.

The actor recorded is the authenticated API client's id.
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from jifen.platform.auth.callers import current_caller, requires, tenant
from jifen.platform.http import ListArgs, StrictSchema, list_of

from . import adjustments
from .blueprints import READ, WRITE, blp
from .schemas import ADJUSTMENT_STATUSES, MAX_EXACT, MEMBER_ID, REASON, AdjustmentSchema


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ma.ValidationError("Give a reason.")


class AdjustmentInput(StrictSchema):
    member_id = ma.fields.String(**MEMBER_ID)
    points = ma.fields.Integer(
        required=True,
        strict=True,
        validate=[
            validate.Range(min=-MAX_EXACT, max=MAX_EXACT),
            validate.NoneOf([0], error="Points must not be 0."),
        ],
        metadata={"description": "Signed and non-zero: negative takes points away."},
    )
    reason = ma.fields.String(required=True, validate=[REASON, _not_blank])


class RejectInput(StrictSchema):
    reason = ma.fields.String(validate=[REASON, _not_blank])


class AdjustmentListArgs(ListArgs):
    member_id = ma.fields.String()
    status = ma.fields.String(validate=validate.OneOf(ADJUSTMENT_STATUSES))


def _actor() -> str:
    return current_caller().id


def _tenant() -> str:
    return current_caller().tenant_id


@blp.post("/adjustments")
@blp.arguments(AdjustmentInput)
@blp.response(201, AdjustmentSchema)
@blp.doc(**WRITE)
@requires(tenant("points:write"))
def request_adjustment(body: dict):
    """Adjust a member's points by hand, with a reason. Above the program's
    ``adjustments.approval_threshold`` it waits for a staff user's approval in the
    console."""
    return adjustments.request_adjustment(_tenant(), actor=_actor(), **body)


@blp.get("/adjustments")
@blp.arguments(AdjustmentListArgs, location="query")
@blp.response(200, list_of(AdjustmentSchema))
@blp.doc(**READ)
@requires(tenant("points:read"))
def list_adjustments(args: dict):
    """Every adjustment and decision, newest first."""
    return adjustments.list_adjustments(_tenant(), args)


@blp.get("/adjustments/<adjustment_id>")
@blp.response(200, AdjustmentSchema)
@blp.doc(**READ)
@requires(tenant("points:read"))
def get_adjustment(adjustment_id: str):
    return adjustments.get_adjustment(_tenant(), adjustment_id)


@blp.post("/adjustments/<adjustment_id>/approve")
@blp.response(200, AdjustmentSchema)
@blp.doc(**WRITE)
@requires(tenant("points:write"))
def approve_adjustment(adjustment_id: str):
    """Refused for every API client (403 ``approval_requires_staff``): a staff user
    other than the requester approves in the console."""
    return adjustments.approve_adjustment(_tenant(), adjustment_id, _actor())


@blp.post("/adjustments/<adjustment_id>/reject")
@blp.arguments(RejectInput)
@blp.response(200, AdjustmentSchema)
@blp.doc(**WRITE)
@requires(tenant("points:write"))
def reject_adjustment(body: dict, adjustment_id: str):
    """Refuse a pending adjustment; nothing is posted."""
    return adjustments.reject_adjustment(
        _tenant(), adjustment_id, _actor(), reason=body.get("reason")
    )
