"""Acceptance over HTTP: merchant B authorizes, captures, voids and reverses a card's
points of tenant A; clearing records follow every capture and reversal; authorizations
expire by job; another tenant's authorization is a 404."""

from __future__ import annotations

from datetime import timedelta

import pytest
from factories import assert_error, holder_code
from sqlalchemy import select

from jifen.platform import clock
from jifen.platform.clearing import ClearingRecord
from jifen.platform.clock import frozen_at
from jifen.platform.db import unit_of_work
from jifen.platform.jobs import run_periodic

AUTHS = "/v1/acceptance/authorizations"


def records(authorization_id: str) -> list[ClearingRecord]:
    with unit_of_work(platform=True) as uow:
        return list(
            uow.session.scalars(
                select(ClearingRecord)
                .where(ClearingRecord.authorization_id == authorization_id)
                .order_by(ClearingRecord.created, ClearingRecord.points.desc())
            )
        )


@pytest.fixture
def card(exchange) -> dict:
    return exchange.funded(1000)


def authorize(exchange, card, points=100, **extra):
    """B authorizes with the code the card holder shows at the till."""
    body = {
        "card_number": card["card_number"],
        "holder_code": holder_code(card["card_number"]),
        "currency": exchange.a.currency_code,
        "points": points,
        "reference": "till-7/order-42",
        **extra,
    }
    return exchange.post(AUTHS, body, exchange.b)


def test_authorize_holds_the_issuers_points(exchange, card):
    response = authorize(exchange, card)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["object"] == "authorization" and body["id"].startswith("auth_")
    assert (body["status"], body["points"], body["spu_rate"]) == ("pending", 100, "0.8")
    balance = exchange.get(f"/v1/members/{card['id']}/balance", exchange.a).get_json()
    assert (balance["points"], balance["held"], balance["available"]) == (1000, 100, 900)


def test_capture_part_redeems_it_and_clears_value_less_the_fee(exchange, card):
    auth = authorize(exchange, card).get_json()
    captured = exchange.post(f"{AUTHS}/{auth['id']}/capture", {"points": 60}, exchange.b)
    assert captured.status_code == 200, captured.get_json()
    assert (captured.get_json()["status"], captured.get_json()["captured_points"]) == (
        "captured",
        60,
    )
    balance = exchange.get(f"/v1/members/{card['id']}/balance", exchange.a).get_json()
    assert (balance["points"], balance["held"]) == (940, 0)
    [record] = records(auth["id"])
    # 60 × 0.8 = 48 SPU; 1.5% = 0.72 SPU to the platform; B is owed 47.28 SPU.
    assert (record.kind, record.payer_tenant_id, record.payee_tenant_id) == (
        "acceptance_capture",
        exchange.a.id,
        exchange.b.id,
    )
    assert (record.points, record.amount_spu, record.fee_spu) == (60, 47_280_000, 720_000)


def test_capture_without_points_takes_everything(exchange, card):
    auth = authorize(exchange, card).get_json()
    captured = exchange.post(f"{AUTHS}/{auth['id']}/capture", None, exchange.b).get_json()
    assert captured["captured_points"] == 100
    assert_error(
        exchange.post(f"{AUTHS}/{auth['id']}/capture", {}, exchange.b), 422, "invalid_state"
    )


def test_reversals_are_capped_at_what_was_captured(exchange, card):
    auth = authorize(exchange, card).get_json()
    exchange.post(f"{AUTHS}/{auth['id']}/capture", {"points": 60}, exchange.b)
    first = exchange.post(f"{AUTHS}/{auth['id']}/reverse", {"points": 25}, exchange.b)
    assert first.status_code == 200, first.get_json()
    assert (first.get_json()["status"], first.get_json()["reversed_points"]) == ("captured", 25)
    assert_error(
        exchange.post(f"{AUTHS}/{auth['id']}/reverse", {"points": 36}, exchange.b),
        422,
        "reversal_exceeds_capture",
    )
    last = exchange.post(f"{AUTHS}/{auth['id']}/reverse", {"points": 35}, exchange.b).get_json()
    assert (last["status"], last["reversed_points"]) == ("reversed", 60)
    assert exchange.balance(exchange.a, card["id"]) == 1000
    capture, *reversals = records(auth["id"])
    assert [r.points for r in reversals] == [-25, -35]
    assert sum(r.amount_spu for r in records(auth["id"])) == 0
    assert sum(r.fee_spu for r in records(auth["id"])) == 0
    assert_error(exchange.post(f"{AUTHS}/{auth['id']}/reverse", {"points": 1}, exchange.b), 422)


def test_a_pending_authorization_cannot_be_reversed(exchange, card):
    auth = authorize(exchange, card).get_json()
    assert_error(
        exchange.post(f"{AUTHS}/{auth['id']}/reverse", {"points": 1}, exchange.b),
        422,
        "invalid_state",
    )


def test_void_releases_the_points(exchange, card):
    auth = authorize(exchange, card).get_json()
    voided = exchange.post(f"{AUTHS}/{auth['id']}/void", None, exchange.b).get_json()
    assert voided["status"] == "voided"
    balance = exchange.get(f"/v1/members/{card['id']}/balance", exchange.a).get_json()
    assert (balance["points"], balance["held"]) == (1000, 0)
    assert records(auth["id"]) == []
    assert_error(
        exchange.post(f"{AUTHS}/{auth['id']}/capture", {}, exchange.b), 422, "invalid_state"
    )


def test_pending_authorizations_expire_by_job(exchange, card):
    auth = authorize(exchange, card, expires_in=60).get_json()
    with frozen_at(clock.now() + timedelta(minutes=2)):
        assert_error(
            exchange.post(f"{AUTHS}/{auth['id']}/capture", {}, exchange.b), 422, "invalid_state"
        )
        summary = run_periodic("acceptance")
        assert summary["authorizations"] >= 1
        assert run_periodic("acceptance")["authorizations"] == 0
    expired = exchange.get(f"{AUTHS}/{auth['id']}", exchange.b).get_json()
    assert expired["status"] == "expired"
    assert exchange.get(f"/v1/members/{card['id']}/balance", exchange.a).get_json()["held"] == 0


def test_another_tenants_authorization_is_404(exchange, card, api):
    auth = authorize(exchange, card).get_json()
    for who in (exchange.a, api.signup()):
        assert_error(exchange.get(f"{AUTHS}/{auth['id']}", who), 404)
        for action, body in (("capture", {}), ("void", None), ("reverse", {"points": 1})):
            assert_error(exchange.post(f"{AUTHS}/{auth['id']}/{action}", body, who), 404)
    assert exchange.get(f"{AUTHS}/{auth['id']}", exchange.b).get_json()["status"] == "pending"
    listed = exchange.get(AUTHS, exchange.b).get_json()
    assert [item["id"] for item in listed["data"]] == [auth["id"]]
    assert exchange.get(AUTHS, exchange.a).get_json()["data"] == []


def test_bad_authorizations_are_clear_4xx_and_hold_nothing(exchange, card, api):
    off = api.signup()
    stranger = exchange.funded(1000, tenant=exchange.b)
    exchange.settings(exchange.b, acceptance=False)
    cases = [
        ({"currency": "NOPE"}, exchange.b, 422, "unknown_currency"),
        ({"currency": off.currency_code}, exchange.b, 422, "acceptance_disabled"),
        ({"currency": exchange.b.currency_code}, exchange.a, 422, "acceptance_disabled"),
        ({}, exchange.a, 422, "same_currency"),
        ({"card_number": stranger["card_number"]}, exchange.b, 422, "no_membership"),
        ({"points": 1001}, exchange.b, 422, "insufficient_points"),
        ({"points": 0}, exchange.b, 422, "invalid_value"),
        ({"reference": ""}, exchange.b, 422, "invalid_value"),
    ]
    for overrides, who, status, code in cases:
        body = {
            "card_number": card["card_number"],
            "currency": exchange.a.currency_code,
            "points": 100,
            "reference": "r",
            **overrides,
        }
        body["holder_code"] = holder_code(body["card_number"])
        assert_error(exchange.post(AUTHS, body, who), status, code)
    balance = exchange.get(f"/v1/members/{card['id']}/balance", exchange.a).get_json()
    assert (balance["points"], balance["held"]) == (1000, 0)
