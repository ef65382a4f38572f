"""Lottery endpoints. ``/v1/lotteries`` for the tenant's client (create and close with
``program:write``, draw with ``points:write``); ``/lotteries/<id>`` is the public odds
page (JSON, or HTML for a browser) anyone may read without a token: the prize table and
odds, the seed's hash, and once closed the seed and every draw to verify."""

from __future__ import annotations

from flask import render_template_string
from flask.views import MethodView

from jifen.platform.auth.callers import PUBLIC, current_caller, requires, tenant
from jifen.platform.http import JifenBlueprint, list_of, wants_json

from . import services
from .schemas import (
    DrawInput,
    DrawListArgs,
    DrawResultSchema,
    DrawSchema,
    LotteryInput,
    LotterySchema,
)

blp = JifenBlueprint("lotteries", __name__, url_prefix="/v1", description="Lotteries")
public = JifenBlueprint("lottery_odds", __name__, url_prefix="/lotteries",
                        description="Public lottery odds")  # fmt: skip
BLUEPRINTS = (blp, public)
SECURITY = [{"oauth2": []}]
READ = tenant("points:read", "program:write", any_scope=True)


def _tenant() -> str:
    return current_caller().tenant_id


@blp.route("/lotteries")
class Lotteries(MethodView):
    @requires(tenant("program:write"))
    @blp.arguments(LotteryInput)
    @blp.response(201, LotterySchema)
    @blp.doc(security=SECURITY)
    def post(self, body: dict):
        """Create a lottery: a cost in points, prizes with weights (the published odds)
        and stock (null: unlimited). The seed's SHA-256 is published now."""
        return services.create_lottery(_tenant(), body)


@blp.get("/lotteries/<lottery_id>")
@blp.response(200, LotterySchema)
@blp.doc(security=SECURITY)
@requires(READ)
def get_lottery(lottery_id: str):
    return services.get_lottery(_tenant(), lottery_id)


@blp.post("/lotteries/<lottery_id>/draws")
@blp.arguments(DrawInput)
@blp.response(201, DrawResultSchema)
@blp.doc(security=SECURITY)
@requires(tenant("points:write"))
def draw(body: dict, lottery_id: str):
    """Draw once for ``member_id``: spends ``cost_points`` when a prize is won; a roll
    on a sold-out prize is recorded as ``sold_out`` and costs nothing."""
    return services.draw(_tenant(), lottery_id, body["member_id"])


@blp.get("/lotteries/<lottery_id>/draws")
@blp.arguments(DrawListArgs, location="query")
@blp.response(200, list_of(DrawSchema))
@blp.doc(security=SECURITY)
@requires(READ)
def list_draws(args: dict, lottery_id: str):
    return services.list_draws(_tenant(), lottery_id, args)


@blp.post("/lotteries/<lottery_id>/close")
@blp.response(200, LotterySchema)
@blp.doc(security=SECURITY)
@requires(tenant("program:write"))
def close(lottery_id: str):
    """End the draws and reveal the server seed."""
    return services.close_lottery(_tenant(), lottery_id)


PAGE = """<!doctype html><html lang="zh"><meta charset="utf-8">
<title>{{ l.name }}</title><h1>{{ l.name }}</h1>
<p>Cost: {{ l.cost_points }} points. Status: {{ l.status }}.</p>
<table><tr><th>Prize</th><th>Weight</th><th>Probability</th><th>Stock left</th></tr>
{% for p in l.prizes %}<tr><td>{{ p.name }}</td><td>{{ p.weight }}</td>
<td>{{ p.probability }}</td><td>{{ p.stock if p.stock is not none else "∞" }}</td></tr>
{% endfor %}</table>
<p>Seed SHA-256: <code>{{ l.seed_hash }}</code></p>
{% if l.server_seed %}<p>Server seed: <code>{{ l.server_seed }}</code></p>{% endif %}
<p>How draws are decided: <code>{{ l.algorithm }}</code></p></html>"""


@public.get("/<lottery_id>")
@requires(PUBLIC)
def odds_page(lottery_id: str):
    """The public odds page: JSON, or HTML when a browser asks for it."""
    view, draws = services.public_lottery(lottery_id)
    body = {**LotterySchema().dump(view), "draw_log": DrawSchema(many=True).dump(draws)}
    if wants_json():
        return body
    return render_template_string(PAGE, l=body)
