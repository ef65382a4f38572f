"""Points over HTTP: earn, awards, redemptions, holds, transfers, balances and
transactions; and every bad input refused with nothing posted and the audit clean."""

from datetime import UTC, datetime, timedelta

import pytest
from factories import assert_error

pytestmark = pytest.mark.usefixtures("audited")

BAD_POINTS = [0, -1, 1.5, 10.0, "10", True, None, 2**53, 10**30]


def earn_body(member_id: str, amount: int = 35800, **extra) -> dict:
    return {
        "member_id": member_id,
        "order_id": "ord-1",
        "amount": amount,
        "currency": "CNY",
        **extra,
    }


# --- balance and transactions --------------------------------------------------------


def test_a_new_member_has_an_empty_balance(points, tenant):
    member = points.member()
    assert points.balance(member["id"]) == {
        "object": "balance",
        "member": member["id"],
        "currency": tenant.currency_code,
        "points": 0,
        "available": 0,
        "held": 0,
        "expiring": [],
    }
    listed = points.get(f"/v1/members/{member['id']}/transactions").get_json()
    assert listed == {"object": "list", "data": [], "has_more": False}


def test_transactions_are_signed_from_the_members_side_newest_first(points):
    member = points.member()
    points.award(member["id"], 50)
    points.post("/v1/redemptions", {"member_id": member["id"], "points": 20, "order_id": "o-9"})
    listed = points.get(f"/v1/members/{member['id']}/transactions").get_json()
    assert [(t["kind"], t["points"], t["balance_after"]) for t in listed["data"]] == [
        ("redeem", -20, 30),
        ("award", 50, 50),
    ]
    redeem = listed["data"][0]
    assert redeem["object"] == "transaction" and redeem["id"].startswith("txn_")
    assert redeem["reference"] == "o-9" and redeem["member"] == member["id"]
    page = points.get(f"/v1/members/{member['id']}/transactions", limit=1).get_json()
    assert page["has_more"] is True
    after = points.get(
        f"/v1/members/{member['id']}/transactions", limit=1, starting_after=page["data"][0]["id"]
    ).get_json()
    assert [t["kind"] for t in after["data"]] == ["award"] and after["has_more"] is False


# --- earning -------------------------------------------------------------------------


def test_earn_gives_one_point_per_full_hundred(points):
    member = points.member()
    response = points.post("/v1/earn", earn_body(member["id"], 35899, category="food"))
    assert response.status_code == 201
    earned = response.get_json()
    assert earned["object"] == "transaction" and earned["kind"] == "earn"
    assert earned["points"] == 3 and earned["balance_after"] == 3
    assert earned["reference"] == "ord-1" and earned["metadata"]["category"] == "food"
    assert points.balance(member["id"])["points"] == 3


def test_shipping_earns_nothing(points):
    member = points.member()
    response = points.post("/v1/earn", earn_body(member["id"], 35800, shipping=6000))
    assert response.get_json()["points"] == 2


def test_an_order_that_earns_nothing_is_422(points):
    member = points.member()
    response = points.post("/v1/earn", earn_body(member["id"], 9999))
    assert assert_error(response, 422, "no_points_earned")["param"] == "amount"
    assert points.balance(member["id"])["points"] == 0


def test_imported_orders_may_be_two_years_old(points):
    member = points.member()
    year_ago = (datetime.now(UTC) - timedelta(days=365)).isoformat()
    response = points.post("/v1/earn", earn_body(member["id"], occurred_at=year_ago))
    assert response.status_code == 201
    assert response.get_json()["metadata"]["occurred_at"].startswith(year_ago[:10])
    too_old = (datetime.now(UTC) - timedelta(days=2 * 366)).isoformat()
    response = points.post("/v1/earn", earn_body(member["id"], occurred_at=too_old))
    assert assert_error(response, 422)["param"] == "occurred_at"
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert assert_error(points.post("/v1/earn", earn_body(member["id"], occurred_at=future)), 422)
    assert points.balance(member["id"])["points"] == 3


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": 100.5}, "amount"),
        ({"amount": "35800"}, "amount"),
        ({"amount": 2**53}, "amount"),
        ({"currency": "cny"}, "currency"),
        ({"shipping": -1}, "shipping"),
        ({"shipping": 40000}, "shipping"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
    ],
)
def test_bad_earn_input_is_422_naming_the_field(points, change, param):
    member = points.member()
    response = points.post("/v1/earn", {**earn_body(member["id"]), **change})
    assert assert_error(response, 422)["param"] == param
    assert points.balance(member["id"])["points"] == 0


def test_an_earn_batch_posts_all_or_nothing(points):
    first, second = points.member(), points.member()
    earns = [
        earn_body(first["id"], 20000, order_id="ord-a"),
        earn_body(second["id"], 50000, order_id="ord-b"),
    ]
    response = points.post("/v1/earn/batch", {"earns": earns})
    assert response.status_code == 201
    batch = response.get_json()
    assert batch["object"] == "earn_batch"
    assert [(t["member"], t["points"]) for t in batch["transactions"]] == [
        (first["id"], 2),
        (second["id"], 5),
    ]
    more = [earn_body(first["id"], order_id="ord-c"), earn_body("mem_nobody", order_id="ord-d")]
    response = points.post("/v1/earn/batch", {"earns": more})
    assert assert_error(response, 404)["param"] == "earns.1.member_id"
    assert_error(points.post("/v1/earn/batch", {"earns": earns}), 409, "order_already_earned")
    assert points.balance(first["id"])["points"] == 2
    assert_error(points.post("/v1/earn/batch", {"earns": []}), 422)
    assert_error(points.post("/v1/earn/batch", {"earns": [earns[0]] * 101}), 422)


# --- awards --------------------------------------------------------------------------


def test_a_manual_award(points):
    member = points.member()
    award = points.award(member["id"], 40)
    assert award["kind"] == "award" and award["points"] == 40
    assert award["metadata"] == {"event": "manual", "reason": "test", "program_version": 0}


def test_event_awards_wait_for_program_rules(points):
    member = points.member()
    response = points.post("/v1/awards", {"member_id": member["id"], "event": "signup"})
    assert_error(response, 422, "event_not_configured")
    response = points.post(
        "/v1/awards", {"member_id": member["id"], "event": "manual", "points": 5}
    )
    assert assert_error(response, 422)["param"] == "reason"
    assert points.balance(member["id"])["points"] == 0


# --- redemptions ---------------------------------------------------------------------


def test_redeem(points):
    member = points.funded_member(100)
    response = points.post("/v1/redemptions", {"member_id": member["id"], "points": 30})
    assert response.status_code == 201
    assert response.get_json()["kind"] == "redeem" and response.get_json()["points"] == -30
    assert points.balance(member["id"])["available"] == 70


def test_redeem_more_than_available_changes_nothing(points):
    member = points.funded_member(100)
    response = points.post("/v1/redemptions", {"member_id": member["id"], "points": 101})
    assert_error(response, 422, "insufficient_points")
    assert points.balance(member["id"])["points"] == 100


def test_a_redemption_replayed_with_its_idempotency_key_has_one_effect(points):
    member = points.funded_member(100)
    body = {"member_id": member["id"], "points": 10}
    first = points.post("/v1/redemptions", body, **{"Idempotency-Key": "redeem-1"})
    again = points.post("/v1/redemptions", body, **{"Idempotency-Key": "redeem-1"})
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json() == first.get_json()
    assert points.balance(member["id"])["points"] == 90
    other = points.post(
        "/v1/redemptions", {**body, "points": 11}, **{"Idempotency-Key": "redeem-1"}
    )
    assert_error(other, 409, "idempotency_key_reused")
    assert points.balance(member["id"])["points"] == 90


# --- holds ---------------------------------------------------------------------------


def place_hold(points, member_id: str, amount: int) -> dict:
    response = points.post("/v1/holds", {"member_id": member_id, "points": amount})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_hold_reserves_points_until_captured_in_part(points):
    member = points.funded_member(100)
    hold = place_hold(points, member["id"], 40)
    assert hold["object"] == "hold" and hold["id"].startswith("hold_")
    assert hold["status"] == "pending" and hold["points"] == 40
    assert points.balance(member["id"])["available"] == 60
    assert points.balance(member["id"])["held"] == 40
    captured = points.post(f"/v1/holds/{hold['id']}/capture", {"points": 25})
    assert captured.status_code == 200
    assert captured.get_json()["status"] == "captured"
    assert captured.get_json()["captured_points"] == 25
    balance = points.balance(member["id"])
    assert (balance["points"], balance["held"], balance["available"]) == (75, 0, 75)


def test_capture_without_points_takes_the_whole_hold(points):
    member = points.funded_member(100)
    hold = place_hold(points, member["id"], 40)
    captured = points.post(f"/v1/holds/{hold['id']}/capture")
    assert captured.status_code == 200 and captured.get_json()["captured_points"] == 40
    assert points.balance(member["id"])["points"] == 60


def test_void_releases_a_hold(points):
    member = points.funded_member(100)
    hold = place_hold(points, member["id"], 40)
    voided = points.post(f"/v1/holds/{hold['id']}/void")
    assert voided.status_code == 200 and voided.get_json()["status"] == "voided"
    assert points.balance(member["id"])["available"] == 100


def test_a_hold_beyond_available_is_422(points):
    member = points.funded_member(100)
    place_hold(points, member["id"], 80)
    response = points.post("/v1/holds", {"member_id": member["id"], "points": 21})
    assert_error(response, 422, "insufficient_points")
    assert points.balance(member["id"])["held"] == 80


def test_capturing_more_than_held_changes_nothing(points):
    member = points.funded_member(100)
    hold = place_hold(points, member["id"], 40)
    assert_error(points.post(f"/v1/holds/{hold['id']}/capture", {"points": 41}), 422)
    balance = points.balance(member["id"])
    assert (balance["points"], balance["held"]) == (100, 40)


def test_capturing_twice_and_voiding_a_captured_hold_are_refused(points):
    member = points.funded_member(100)
    hold = place_hold(points, member["id"], 40)
    assert points.post(f"/v1/holds/{hold['id']}/capture", {"points": 10}).status_code == 200
    assert_error(points.post(f"/v1/holds/{hold['id']}/capture", {"points": 10}), 422)
    assert_error(points.post(f"/v1/holds/{hold['id']}/void"), 422)
    balance = points.balance(member["id"])
    assert (balance["points"], balance["held"]) == (90, 0)


def test_another_tenants_hold_is_404(points, other_points):
    member = other_points.funded_member(100)
    hold = place_hold(other_points, member["id"], 40)
    assert_error(points.post(f"/v1/holds/{hold['id']}/capture"), 404)
    assert_error(points.post(f"/v1/holds/{hold['id']}/void"), 404)
    assert_error(points.post("/v1/holds/hold_nope/void"), 404)
    assert other_points.balance(member["id"])["held"] == 40


def test_hold_lifetimes_are_bounded(points):
    member = points.funded_member(100)
    for expires_in in (0, 59, 31 * 86400, 1.5):
        body = {"member_id": member["id"], "points": 1, "expires_in": expires_in}
        assert assert_error(points.post("/v1/holds", body), 422)["param"] == "expires_in"
    assert points.balance(member["id"])["held"] == 0


# --- transfers -----------------------------------------------------------------------


def test_transfer_between_members(points):
    sender, receiver = points.funded_member(100), points.member()
    body = {"from_member_id": sender["id"], "to_member_id": receiver["id"], "points": 30}
    response = points.post("/v1/transfers", body)
    assert response.status_code == 201
    moved = response.get_json()
    assert moved["kind"] == "transfer" and moved["points"] == 30
    assert (moved["from_member"], moved["to_member"]) == (sender["id"], receiver["id"])
    assert points.balance(sender["id"])["points"] == 70
    assert points.balance(receiver["id"])["points"] == 30
    received = points.get(f"/v1/members/{receiver['id']}/transactions").get_json()["data"]
    assert [(t["kind"], t["points"]) for t in received] == [("transfer", 30)]
    sent = points.get(f"/v1/members/{sender['id']}/transactions").get_json()["data"]
    assert [(t["kind"], t["points"]) for t in sent][0] == ("transfer", -30)


def test_a_transfer_to_oneself_is_422(points):
    member = points.funded_member(100)
    body = {"from_member_id": member["id"], "to_member_id": member["id"], "points": 10}
    assert_error(points.post("/v1/transfers", body), 422, "same_member")
    assert points.balance(member["id"])["points"] == 100


def test_a_transfer_beyond_available_changes_nothing(points):
    sender, receiver = points.funded_member(10), points.member()
    body = {"from_member_id": sender["id"], "to_member_id": receiver["id"], "points": 11}
    assert_error(points.post("/v1/transfers", body), 422, "insufficient_points")
    assert points.balance(sender["id"])["points"] == 10
    assert points.balance(receiver["id"])["points"] == 0


# --- bad input everywhere ------------------------------------------------------------


def point_requests(member_id: str, other_id: str, value) -> list[tuple[str, dict]]:
    return [
        ("/v1/awards", {"member_id": member_id, "event": "manual", "points": value, "reason": "x"}),
        ("/v1/redemptions", {"member_id": member_id, "points": value}),
        ("/v1/holds", {"member_id": member_id, "points": value}),
        ("/v1/transfers", {"from_member_id": member_id, "to_member_id": other_id, "points": value}),
    ]


@pytest.mark.parametrize("value", BAD_POINTS, ids=repr)
def test_points_must_be_positive_json_integers(points, value):
    member, other = points.funded_member(100), points.member()
    for path, body in point_requests(member["id"], other["id"], value):
        assert assert_error(points.post(path, body), 422)["param"] == "points", path
    hold = place_hold(points, member["id"], 10)
    response = points.post(f"/v1/holds/{hold['id']}/capture", {"points": value})
    assert assert_error(response, 422)["param"] == "points"
    assert points.balance(member["id"])["points"] == 100
    assert points.balance(other["id"])["points"] == 0


def test_unknown_and_foreign_members_are_404_on_every_endpoint(points, other_points):
    mine = points.funded_member(100)
    foreign = other_points.funded_member(100)
    for member_id in ("mem_unknown", foreign["id"]):
        requests = [
            ("/v1/earn", earn_body(member_id)),
            *point_requests(member_id, mine["id"], 10),
            (
                "/v1/transfers",
                {"from_member_id": mine["id"], "to_member_id": member_id, "points": 1},
            ),
        ]
        for path, body in requests:
            assert_error(points.post(path, body), 404, "resource_missing")
        assert_error(points.get(f"/v1/members/{member_id}/balance"), 404)
        assert_error(points.get(f"/v1/members/{member_id}/transactions"), 404)
    assert points.balance(mine["id"])["points"] == 100
    assert other_points.balance(foreign["id"])["points"] == 100


def test_a_frozen_member_can_neither_earn_nor_spend(points):
    member, friend = points.funded_member(100), points.funded_member(100)
    hold = place_hold(points, member["id"], 10)
    points.post(f"/v1/members/{member['id']}/freeze")
    requests = [
        ("/v1/earn", earn_body(member["id"])),
        *point_requests(member["id"], friend["id"], 10),
        (
            "/v1/transfers",
            {"from_member_id": friend["id"], "to_member_id": member["id"], "points": 1},
        ),
        (f"/v1/holds/{hold['id']}/capture", {}),
    ]
    for path, body in requests:
        assert_error(points.post(path, body), 422, "member_frozen")
    assert points.balance(member["id"])["points"] == 100
    assert points.balance(friend["id"])["points"] == 100
    assert points.post(f"/v1/holds/{hold['id']}/void").status_code == 200
    points.post(f"/v1/members/{member['id']}/unfreeze")
    assert (
        points.post("/v1/redemptions", {"member_id": member["id"], "points": 10}).status_code == 201
    )
