"""Exchange, acceptance and consumer-swap endpoints (API.md, Exchange; Acceptance;
Consumer). Each view parses, checks the caller, calls one service, returns.

Where API.md is silent:

* Quotes and swaps may be asked for by a tenant's API client with the ``exchange`` scope
  (the source or the destination tenant; another tenant is 403 ``not_a_party``), by a
  holder session (the card's own, any of its programs) or by a member token (its own
  card, out of its own tenant's currency only: else 403 ``not_a_party``). A tenant
  quoting out of another tenant's currency brings the holder's ``holder_code`` (403
  ``holder_authorization_required`` without it; spent by that call; ``card_number``
  may then be left out). ``GET`` of a quote or swap the caller is no party to is 404.
* ``POST /v1/acceptance/authorizations`` needs the holder's ``holder_code`` (403
  ``holder_authorization_required`` without a valid one, also when ``card_number``
  names another card or no card); ``card_number`` is optional.
* Error codes: ``same_currency``, ``unknown_currency``, ``exchange_disabled`` (a side
  has not opted in that direction), ``below_minimum``, ``invalid_increment``,
  ``no_membership``, ``amount_too_small`` (worth less than one destination point),
  ``amount_too_large``, ``limit_exceeded`` (the card's daily limit or the destination's
  daily inbound cap), ``quote_expired`` (expired or used), all 422.
* ``GET /v1/exchange/rates`` lists every currency in the exchange (no pagination: one
  row per opted-in currency). ``GET``/``PUT /v1/exchange/settings`` are the caller's
  own; PUT changes only the fields given.
* The fee schedule: ``GET /v1/exchange/fees`` (any exchange client) and ``GET``/``PUT
  /v1/platform/exchange/fees`` (``platform:admin``); SPU amounts are decimal strings.
* Authorizations last seven days unless ``expires_in`` (60 s to 30 days) says otherwise;
  capture, void and reverse answer 200 with the authorization; ``/reverse`` beyond what
  is left of the capture is 422 ``reversal_exceeds_capture``.
"""

from __future__ import annotations

from jifen.platform.auth.callers import (
    CARD,
    client,
    current_caller,
    operator,
    requires,
    tenant,
    tenant_or_card,
)
from jifen.platform.http import JifenBlueprint, list_of

from . import acceptance, settings, swaps
from .schemas import (
    AuthorizationCaptureInput,
    AuthorizationInput,
    AuthorizationListArgs,
    AuthorizationReverseInput,
    AuthorizationSchema,
    FeeScheduleInput,
    FeeScheduleSchema,
    MeSwapInput,
    QuoteInput,
    QuoteSchema,
    RateListSchema,
    SettingsInput,
    SettingsSchema,
    SwapInput,
    SwapSchema,
)

blp = JifenBlueprint("exchange", __name__, url_prefix="/v1/exchange", description="Exchange")
accept = JifenBlueprint(
    "acceptance", __name__, url_prefix="/v1/acceptance", description="Acceptance"
)
platform = JifenBlueprint(
    "platform_exchange", __name__, url_prefix="/v1/platform/exchange", description="Exchange"
)
me = JifenBlueprint("consumer_swaps", __name__, url_prefix="/v1/me", description="Consumer")

EXCHANGE = {"security": [{"oauth2": ["exchange"]}]}
PARTY = {"security": [{"oauth2": ["exchange"]}, {"bearer": []}]}
ADMIN = {"security": [{"oauth2": ["platform:admin"]}]}


def _tenant() -> str:
    return current_caller().tenant_id


def _party() -> swaps.Party:
    return swaps.Party.of(current_caller())


# --- rates, settings, fees ------------------------------------------------------------


@blp.get("/rates")
@blp.response(200, RateListSchema)
@blp.doc(**EXCHANGE)
@requires(client("exchange"))
def rates():
    """Every currency in the exchange: its SPU rate and switches."""
    return {"object": "list", "data": settings.list_rates(), "has_more": False}


@blp.get("/settings")
@blp.response(200, SettingsSchema)
@blp.doc(**EXCHANGE)
@requires(tenant("exchange"))
def get_settings():
    """The caller's currency's exchange settings."""
    return settings.get_settings(_tenant())


@blp.put("/settings")
@blp.arguments(SettingsInput)
@blp.response(200, SettingsSchema)
@blp.doc(**EXCHANGE)
@requires(tenant("exchange"))
def put_settings(body: dict):
    """Opt the caller's currency in or out, set its SPU rate, minimum, step and cap."""
    return settings.put_settings(_tenant(), body)


@blp.get("/fees")
@blp.response(200, FeeScheduleSchema)
@blp.doc(**EXCHANGE)
@requires(client("exchange"))
def fees():
    """The platform's fee schedule in force."""
    return settings.get_fee_schedule()


@platform.get("/fees")
@platform.response(200, FeeScheduleSchema)
@platform.doc(**ADMIN)
@requires(operator("platform:admin"))
def platform_fees():
    """The fee schedule in force."""
    return settings.get_fee_schedule()


@platform.put("/fees")
@platform.arguments(FeeScheduleInput)
@platform.response(200, FeeScheduleSchema)
@platform.doc(**ADMIN)
@requires(operator("platform:admin"))
def put_platform_fees(body: dict):
    """A new fee schedule version (fields left out keep their value)."""
    return settings.put_fee_schedule(current_caller().id, body)


# --- quotes and swaps -----------------------------------------------------------------


@blp.post("/quotes")
@blp.arguments(QuoteInput)
@blp.response(201, QuoteSchema)
@blp.doc(**PARTY)
@requires(tenant_or_card("exchange"))
def create_quote(body: dict):
    """Price a swap and lock its rates and amounts for 60 seconds."""
    return swaps.create_quote(_party(), **body)


@blp.get("/quotes/<quote_id>")
@blp.response(200, QuoteSchema)
@blp.doc(**PARTY)
@requires(tenant_or_card("exchange"))
def get_quote(quote_id: str):
    return swaps.get_quote(_party(), quote_id)


@blp.post("/swaps")
@blp.arguments(SwapInput)
@blp.response(201, SwapSchema)
@blp.doc(**PARTY)
@requires(tenant_or_card("exchange"))
def create_swap(body: dict):
    """Carry out a quote; an expired or used quote is 422 ``quote_expired``."""
    return swaps.execute_swap(_party(), body["quote_id"])


@blp.get("/swaps/<swap_id>")
@blp.response(200, SwapSchema)
@blp.doc(**PARTY)
@requires(tenant_or_card("exchange"))
def get_swap(swap_id: str):
    return swaps.get_swap(_party(), swap_id)


@me.post("/swaps")
@me.arguments(MeSwapInput)
@me.response(201, SwapSchema)
@me.doc(security=[{"bearer": []}])
@requires(CARD)
def my_swap(body: dict):
    """Quote and swap in one call, for the card holder's own card."""
    return swaps.quote_and_swap(_party(), **body)


# --- acceptance -----------------------------------------------------------------------


@accept.post("/authorizations")
@accept.arguments(AuthorizationInput)
@accept.response(201, AuthorizationSchema)
@accept.doc(**EXCHANGE)
@requires(tenant("exchange"))
def authorize(body: dict):
    """Hold a card's points of another tenant's currency, to redeem them here."""
    return acceptance.authorize(_tenant(), **body)


@accept.get("/authorizations")
@accept.arguments(AuthorizationListArgs, location="query")
@accept.response(200, list_of(AuthorizationSchema))
@accept.doc(**EXCHANGE)
@requires(tenant("exchange"))
def list_authorizations(args: dict):
    return acceptance.list_authorizations(_tenant(), args)


@accept.get("/authorizations/<authorization_id>")
@accept.response(200, AuthorizationSchema)
@accept.doc(**EXCHANGE)
@requires(tenant("exchange"))
def get_authorization(authorization_id: str):
    return acceptance.get_authorization(_tenant(), authorization_id)


@accept.post("/authorizations/<authorization_id>/capture")
@accept.arguments(AuthorizationCaptureInput)
@accept.response(200, AuthorizationSchema)
@accept.doc(**EXCHANGE)
@requires(tenant("exchange"))
def capture(body: dict, authorization_id: str):
    """Redeem all or part of the held points; the rest is released."""
    return acceptance.capture(_tenant(), authorization_id, body.get("points"))


@accept.post("/authorizations/<authorization_id>/void")
@accept.response(200, AuthorizationSchema)
@accept.doc(**EXCHANGE)
@requires(tenant("exchange"))
def void(authorization_id: str):
    return acceptance.void(_tenant(), authorization_id)


@accept.post("/authorizations/<authorization_id>/reverse")
@accept.arguments(AuthorizationReverseInput)
@accept.response(200, AuthorizationSchema)
@accept.doc(**EXCHANGE)
@requires(tenant("exchange"))
def reverse(body: dict, authorization_id: str):
    """Give captured points back to the member (in total at most what was captured)."""
    return acceptance.reverse(_tenant(), authorization_id, body["points"])


BLUEPRINTS = [blp, accept, platform, me]
