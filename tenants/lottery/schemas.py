"""Request and response shapes of lotteries, draws and the public odds table."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from jifen.platform import clock
from jifen.platform.http import ListArgs, ObjectSchema, Points, StrictSchema, Timestamp

ALGORITHM = (
    "roll = int(HMAC-SHA256(key=bytes.fromhex(server_seed), msg=draw_id + ':' + member)"
    "[:8], big-endian) % total_weight; the prize is the first whose cumulative weight "
    "exceeds roll; sha256(bytes.fromhex(server_seed)) == seed_hash"
)


class PrizeInput(StrictSchema):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    weight = ma.fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    stock = ma.fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=0))


class LotteryInput(StrictSchema):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    cost_points = Points(required=True)
    prizes = ma.fields.List(
        ma.fields.Nested(PrizeInput), required=True, validate=validate.Length(min=1, max=50)
    )
    closes_at = Timestamp(allow_none=True)


class DrawInput(StrictSchema):
    member_id = ma.fields.String(required=True, validate=validate.Length(min=1, max=32))


class PrizeOddsSchema(ma.Schema):
    class Meta:
        ordered = True

    id = ma.fields.Function(lambda pair: pair[0].id)
    name = ma.fields.Function(lambda pair: pair[0].name)
    weight = ma.fields.Function(lambda pair: pair[0].weight)
    probability = ma.fields.Function(lambda pair: format(pair[1].probability, "f"))
    stock = ma.fields.Function(lambda pair: pair[0].stock)
    initial_stock = ma.fields.Function(lambda pair: pair[0].initial_stock)


class LotterySchema(ObjectSchema):
    """A lottery: ``seed_hash`` from the start, ``server_seed`` once closed."""

    OBJECT = "lottery"
    id = ma.fields.Function(lambda v: v.lottery.id)
    created = ma.fields.Function(lambda v: clock.iso(v.lottery.created))
    name = ma.fields.Function(lambda v: v.lottery.name)
    cost_points = ma.fields.Function(lambda v: v.lottery.cost_points)
    status = ma.fields.Function(lambda v: "closed" if v.is_closed else "open")
    closes_at = ma.fields.Function(lambda v: clock.iso(v.lottery.closes_at))
    draws = ma.fields.Function(lambda v: v.lottery.draws_count)
    seed_hash = ma.fields.Function(lambda v: v.lottery.seed_hash)
    server_seed = ma.fields.Function(lambda v: v.revealed_seed)
    total_weight = ma.fields.Function(lambda v: sum(p.weight for p in v.prizes))
    prizes = ma.fields.Function(lambda v: PrizeOddsSchema(many=True).dump(v.odds))
    algorithm = ma.fields.Constant(ALGORITHM)


class DrawSchema(ObjectSchema):
    OBJECT = "lottery_draw"
    lottery = ma.fields.String(attribute="lottery_id")
    sequence = ma.fields.Integer()
    member = ma.fields.String(attribute="member_id")
    outcome = ma.fields.String()
    prize = ma.fields.String(attribute="prize_id", allow_none=True)
    roll = ma.fields.Integer()
    points = ma.fields.Integer()
    transaction = ma.fields.String(attribute="transaction_id", allow_none=True)


class DrawResultSchema(ma.Schema):
    """A draw just made, with the prize's name and the member's balance after it."""

    class Meta:
        ordered = True

    object = ma.fields.Constant("lottery_draw")
    id = ma.fields.Function(lambda v: v.draw.id)
    created = ma.fields.Function(lambda v: clock.iso(v.draw.created))
    lottery = ma.fields.Function(lambda v: v.draw.lottery_id)
    sequence = ma.fields.Function(lambda v: v.draw.sequence)
    member = ma.fields.Function(lambda v: v.draw.member_id)
    outcome = ma.fields.Function(lambda v: v.draw.outcome)
    prize = ma.fields.Function(lambda v: v.prize.id if v.prize else None)
    prize_name = ma.fields.Function(lambda v: v.prize.name if v.prize else None)
    roll = ma.fields.Function(lambda v: v.draw.roll)
    points = ma.fields.Function(lambda v: v.draw.points)
    transaction = ma.fields.Function(lambda v: v.draw.transaction_id)
    balance_after = ma.fields.Function(lambda v: v.balance_after)


class DrawListArgs(ListArgs):
    pass
