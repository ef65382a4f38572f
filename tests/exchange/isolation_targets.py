"""Isolation-walk targets for the exchange's parametrised routes.

``tests/platform/test_isolation.py`` (not the exchange's file) needs one ``Target`` per
path segment; its owner adds, next to its other entries::

    sys.path.append(str(Path(__file__).parents[1] / "exchange"))
    from isolation_targets import exchange_targets
    TARGETS.update(exchange_targets(Target))

or copies the three makers. Each returns the id of a new object that ``owner`` is a party
to; the walk then checks an unrelated tenant gets 404 on every method.
"""

from __future__ import annotations

import secrets
from typing import Any

from factories import holder_code


def _post(api: Any, path: str, body: dict, who: Any) -> dict:
    response = api.client.post(path, json=body, headers=who.auth)
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


def _in_exchange(api: Any, tenant: Any, rate: str) -> None:
    response = api.client.put(
        "/v1/exchange/settings",
        json={"spu_rate": rate, "inbound": True, "outbound": True, "acceptance": True},
        headers=tenant.auth,
    )
    assert response.status_code == 200, response.get_json()


def _funded_card(api: Any, tenant: Any) -> str:
    member = _post(api, "/v1/members", {"external_id": secrets.token_hex(6)}, tenant)
    award = {"member_id": member["id"], "event": "manual", "points": 1000, "reason": "walk"}
    _post(api, "/v1/awards", award, tenant)
    return member["card_number"]


def make_quote(api: Any, owner: Any) -> str:
    partner = api.signup(plan="growth")
    _in_exchange(api, owner, "1")
    _in_exchange(api, partner, "1")
    body = {
        "card_number": _funded_card(api, owner),
        "from_currency": owner.currency_code,
        "to_currency": partner.currency_code,
        "points": 100,
    }
    return _post(api, "/v1/exchange/quotes", body, owner)["id"]


def make_swap(api: Any, owner: Any) -> str:
    quote = make_quote(api, owner)
    return _post(api, "/v1/exchange/swaps", {"quote_id": quote}, owner)["id"]


def make_authorization(api: Any, owner: Any) -> str:
    issuer = api.signup(plan="growth")
    _in_exchange(api, issuer, "1")
    card = _funded_card(api, issuer)
    body = {
        "card_number": card,
        "holder_code": holder_code(card),
        "currency": issuer.currency_code,
        "points": 10,
        "reference": "walk",
    }
    return _post(api, "/v1/acceptance/authorizations", body, owner)["id"]


def exchange_targets(target: Any) -> dict:
    """``{segment: Target}`` built with the walk's own ``Target`` class."""
    return {
        "quotes": target("qt", make_quote),
        "swaps": target("swp", make_swap),
        "authorizations": target("auth", make_authorization, {"POST": {"points": 1}}),
    }
