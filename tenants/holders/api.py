"""Card holder endpoints (API.md, Card holders). Each view parses, calls one service,
returns.

Where API.md is silent:

* ``POST /v1/holder/codes`` takes ``locale`` (``zh-CN``, the default, or ``en``) for the
  message; a malformed card number is 422 ``invalid_card_number`` (that says nothing
  about which cards exist). The 429 comes before any lookup.
* ``POST /v1/holder/sessions``: the session lasts 2 hours; a card or address that failed
  several times must wait (429, growing delay) before trying again.
* ``DELETE /v1/me/session`` ends the caller's holder session (204).
* ``POST /v1/me/holder_codes`` needs a holder session (a member token is one
  membership's and cannot authorize anything beyond it: 403).
"""

from __future__ import annotations

from flask import Response, request

from jifen.platform.auth.callers import HOLDER_SESSION, PUBLIC, current_caller, requires
from jifen.platform.http import JifenBlueprint

from . import services
from .schemas import (
    CodeRequestInput,
    CodeRequestSchema,
    CounterCodeSchema,
    SessionInput,
    SessionSchema,
)

blp = JifenBlueprint("holders", __name__, url_prefix="/v1/holder", description="Card holders")
me = JifenBlueprint("consumer_holder", __name__, url_prefix="/v1/me", description="Consumer")

HOLDER = {"security": [{"bearer": []}]}


def client_address() -> str:
    return request.remote_addr or "-"


@blp.post("/codes")
@blp.arguments(CodeRequestInput)
@blp.response(202, CodeRequestSchema)
@requires(PUBLIC)
def request_code(body: dict):
    """Send a one-time sign-in code to the contact on file for the card (the same answer
    whether or not the card exists or has a contact)."""
    services.request_sign_in_code(
        body["card_number"],
        channel=body["channel"],
        locale=body["locale"],
        client_address=client_address(),
    )
    return {}


@blp.post("/sessions")
@blp.arguments(SessionInput)
@blp.response(201, SessionSchema)
@requires(PUBLIC)
def open_session(body: dict):
    """Trade a sign-in code for a holder session token (``hs_…``) over the whole card."""
    return services.open_session(body["card_number"], body["code"], client_address=client_address())


@me.delete("/session")
@me.response(204)
@me.doc(**HOLDER)
@requires(HOLDER_SESSION)
def end_session():
    """Sign out: the holder session's token stops working at once."""
    token = request.headers.get("Authorization", "").partition(" ")[2].strip()
    services.end_session(token)
    return Response(status=204)


@me.post("/holder_codes")
@me.response(201, CounterCodeSchema)
@me.doc(**HOLDER)
@requires(HOLDER_SESSION)
def counter_code():
    """A one-time code (60 s, single use) the holder reads out or shows as a QR code at
    a counter: it authorizes one linking, quote or authorization on this card."""
    return services.issue_counter_code(current_caller().card_id)


BLUEPRINTS = [blp, me]
