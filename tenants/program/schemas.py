"""Request and response shapes of the program endpoints (API.md, Program).

The program document itself is validated by ``rules.parse_program`` (dotted field paths,
contradictions refused), not here: these schemas only document its sections for the
OpenAPI description and hand the JSON through.
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from jifen.platform.http import ObjectSchema, StrictSchema, Timestamp

SECTIONS = {
    "earning": "points per per_amount minor units, exclude_shipping, currency, events, "
    "categories, windows, birthday, caps, thresholds",
    "tiers": "[{code, name, min_spend | min_points, factor}], thresholds strictly increasing",
    "tier_evaluation": "{window_months, review_period: month|quarter|year, max_drop_levels}",
    "expiry": "{policy: never | rolling(months) | fixed_date(month, day) | "
    "period_end_grace(grace_month, grace_day) | period_end(period, grace_months)}",
    "reminders": "{days_before: [30, 7, 1]}",
    "redemption": "{min_points, points, per_amount, max_order_share_pct}",
    "adjustments": "{approval_threshold}: manual adjustments and manual awards of more "
    "points wait for a second person's approval (default 10000)",
}


def _section(name: str, **kwargs) -> ma.fields.Raw:
    return ma.fields.Raw(metadata={"description": SECTIONS[name]}, **kwargs)


class ProgramInput(ma.Schema):
    """The whole program document; left-out sections take their defaults."""

    earning = _section("earning")
    tiers = _section("tiers")
    tier_evaluation = _section("tier_evaluation")
    expiry = _section("expiry")
    reminders = _section("reminders")
    redemption = _section("redemption")
    adjustments = _section("adjustments")
    note = ma.fields.Raw(
        allow_none=True, metadata={"description": "why this change was made (kept with it)"}
    )
    version = ma.fields.Raw(
        allow_none=True,
        metadata={"description": "optional: the version being replaced (409 if it changed)"},
    )

    class Meta:
        unknown = ma.INCLUDE  # rules.parse_program names unknown fields with their path


class ProgramSchema(ObjectSchema):
    """The program in force. Version 0 is the built-in default: never stored, so its
    ``id``, ``created`` and ``created_by`` are null."""

    OBJECT = "program"
    id = ma.fields.String(dump_only=True, allow_none=True)
    created = Timestamp(dump_only=True, allow_none=True)
    version = ma.fields.Integer(metadata={"description": "0: the default, never stored"})
    earning = _section("earning")
    tiers = _section("tiers")
    tier_evaluation = _section("tier_evaluation")
    expiry = _section("expiry")
    reminders = _section("reminders")
    redemption = _section("redemption")
    adjustments = _section("adjustments")
    created_by = ma.fields.String(allow_none=True)
    note = ma.fields.String(allow_none=True)


class ProgramVersionSchema(ObjectSchema):
    OBJECT = "program_version"
    version = ma.fields.Integer()
    created_by = ma.fields.String()
    note = ma.fields.String(allow_none=True)
    document = ma.fields.Dict()


class SimulateInput(StrictSchema):
    amount = ma.fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    currency = ma.fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{3}$"))
    shipping = ma.fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0))
    category = ma.fields.String(load_default=None, validate=validate.Length(max=32))
    occurred_at = Timestamp(load_default=None)
    tier = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32))
    birthday = ma.fields.Date(load_default=None, allow_none=True)
    earned_today = ma.fields.Integer(
        strict=True,
        load_default=0,
        validate=validate.Range(min=0),
        metadata={"description": "points the member already earned today (for caps.per_day)"},
    )
    program = ma.fields.Dict(
        load_default=None, metadata={"description": "a draft program document to try instead"}
    )


class StepSchema(ma.Schema):
    rule = ma.fields.String()
    description = ma.fields.String()
    points = ma.fields.Integer()
    factor = ma.fields.String()

    class Meta:
        ordered = True


class SimulationSchema(ma.Schema):
    object = ma.fields.Constant("earn_simulation")
    points = ma.fields.Integer()
    base_points = ma.fields.Integer()
    factor = ma.fields.String()
    breakdown = ma.fields.List(ma.fields.Nested(StepSchema))
    program_version = ma.fields.Integer(allow_none=True)
    occurred_at = Timestamp()
    expires_at = Timestamp(allow_none=True)
    time_zone = ma.fields.String()

    class Meta:
        ordered = True
