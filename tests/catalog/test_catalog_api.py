"""The catalog over HTTP: rewards CRUD, physical orders with fulfilment, virtual codes
from a pool, coupons, cancellation restoring points and stock, bad input, and stock that
is never oversold by twenty members at once."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from factories import assert_error, in_app_context, unique

from jifen.platform.audit import run_all
from jifen.platform.errors import JifenError

ADDRESS = {"name": "张三", "line1": "1 Nanjing Rd", "city": "Shanghai", "country": "CN"}


class Shop:
    def __init__(self, client, tenant):
        self.client, self.tenant = client, tenant

    def post(self, path, body=None):
        return self.client.post(path, json=body, headers=self.tenant.auth)

    def get(self, path, **params):
        return self.client.get(path, query_string=params, headers=self.tenant.auth)

    def reward(self, **fields) -> dict:
        body = {"kind": "physical", "name": "Mug", "price_points": 300, "stock": 5, **fields}
        response = self.post("/v1/rewards", body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def member(self, points: int = 0) -> str:
        member = self.post("/v1/members", {"external_id": unique("c-")}).get_json()
        if points:
            award = {"member_id": member["id"], "event": "manual", "points": points,
                     "reason": "seed"}  # fmt: skip
            assert self.post("/v1/awards", award).status_code == 201
        return member["id"]

    def points(self, member_id: str) -> int:
        return self.get(f"/v1/members/{member_id}/balance").get_json()["points"]

    def redeem(self, reward_id: str, member_id: str, quantity: int = 1, **extra):
        body = {"member_id": member_id, "quantity": quantity, **extra}
        return self.post(f"/v1/rewards/{reward_id}/redeem", body)


@pytest.fixture
def shop(client, api):
    yield Shop(client, api.signup())
    assert {name: found for name, found in run_all().items() if found} == {}


def test_rewards_crud(shop):
    reward = shop.reward(description="A mug", cash_amount=990, currency="CNY")
    assert reward["object"] == "reward" and reward["id"].startswith("rwd_")
    assert (reward["kind"], reward["price_points"], reward["stock"]) == ("physical", 300, 5)
    assert (reward["cash_amount"], reward["currency"], reward["status"]) == (990, "CNY", "active")
    assert shop.get(f"/v1/rewards/{reward['id']}").get_json() == reward
    changed = shop.client.patch(f"/v1/rewards/{reward['id']}", json={"price_points": 250,
                                "stock": 9}, headers=shop.tenant.auth)  # fmt: skip
    assert changed.status_code == 200
    assert (changed.get_json()["price_points"], changed.get_json()["stock"]) == (250, 9)
    listed = shop.get("/v1/rewards").get_json()
    assert [r["id"] for r in listed["data"]] == [reward["id"]]
    archived = shop.client.delete(f"/v1/rewards/{reward['id']}", headers=shop.tenant.auth)
    assert archived.get_json()["status"] == "archived"
    member = shop.member(1000)
    assert_error(shop.redeem(reward["id"], member, shipping_address=ADDRESS), 422,
                 "reward_archived")  # fmt: skip
    assert shop.points(member) == 1000


def test_a_physical_order_ships_and_cancelling_a_pending_one_restores_points_and_stock(shop):
    reward = shop.reward(cash_amount=500, currency="CNY")
    member = shop.member(1000)
    response = shop.redeem(reward["id"], member, 2, shipping_address=ADDRESS)
    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    assert order["object"] == "redemption_order" and order["id"].startswith("rdo_")
    assert (order["status"], order["points"], order["cash_amount"]) == ("pending", 600, 1000)
    assert shop.points(member) == 400
    assert shop.get(f"/v1/rewards/{reward['id']}").get_json()["stock"] == 3

    cancelled = shop.post(f"/v1/redemption_orders/{order['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert shop.points(member) == 1000
    assert shop.get(f"/v1/rewards/{reward['id']}").get_json()["stock"] == 5
    assert_error(shop.post(f"/v1/redemption_orders/{order['id']}/cancel"), 422, "invalid_state")
    assert shop.points(member) == 1000

    second = shop.redeem(reward["id"], member, shipping_address=ADDRESS).get_json()
    shipped = shop.post(f"/v1/redemption_orders/{second['id']}/fulfilment",
                        {"status": "shipped", "tracking_number": "SF123"})  # fmt: skip
    assert shipped.get_json()["status"] == "shipped"
    assert shipped.get_json()["tracking_number"] == "SF123"
    assert_error(shop.post(f"/v1/redemption_orders/{second['id']}/cancel"), 422, "invalid_state")
    delivered = shop.post(f"/v1/redemption_orders/{second['id']}/fulfilment",
                          {"status": "delivered"})  # fmt: skip
    assert delivered.get_json()["status"] == "delivered"
    assert shop.points(member) == 700
    orders = shop.get("/v1/redemption_orders", member_id=member).get_json()["data"]
    assert [o["status"] for o in orders] == ["delivered", "cancelled"]


def test_virtual_rewards_sell_codes_from_the_pool(shop):
    reward = shop.reward(kind="virtual", name="Movie ticket", stock=None)
    assert reward["stock"] == 0
    upload = shop.post(f"/v1/rewards/{reward['id']}/codes", {"codes": ["A-1", "A-2", "A-3"]})
    assert upload.status_code == 201 and upload.get_json()["stock"] == 3
    dup = shop.post(f"/v1/rewards/{reward['id']}/codes", {"codes": ["A-3", "A-4"]})
    assert_error(dup, 409, "code_exists")
    member = shop.member(1000)
    order = shop.redeem(reward["id"], member, 2).get_json()
    assert order["status"] == "fulfilled" and sorted(order["codes"]) == ["A-1", "A-2"]
    assert_error(shop.redeem(reward["id"], member, 2), 422, "out_of_stock")
    third = shop.redeem(reward["id"], member).get_json()
    assert third["codes"] == ["A-3"]
    assert_error(shop.post(f"/v1/redemption_orders/{third['id']}/cancel"), 422, "invalid_state")
    assert shop.points(member) == 1000 - 900


def test_coupons_issue_a_code_per_unit(shop):
    reward = shop.reward(kind="coupon", name="10 off", stock=None,
                         coupon={"amount_off": 1000, "currency": "CNY"})  # fmt: skip
    member = shop.member(1000)
    order = shop.redeem(reward["id"], member, 3).get_json()
    assert order["status"] == "fulfilled" and len(set(order["codes"])) == 3
    assert shop.get(f"/v1/rewards/{reward['id']}").get_json()["stock"] is None


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"kind": "gadget"}, "kind"),
        ({"price_points": 0}, "price_points"),
        ({"price_points": 1.5}, "price_points"),
        ({"stock": -1}, "stock"),
        ({"stock": None}, "stock"),
        ({"kind": "virtual", "stock": 3}, "stock"),
        ({"cash_amount": 100}, "currency"),
        ({"coupon": {"amount_off": 100, "currency": "CNY"}}, "coupon"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_rewards_are_422_naming_the_field(shop, body, param):
    full = {"kind": "physical", "name": "Mug", "price_points": 300, "stock": 5, **body}
    assert assert_error(shop.post("/v1/rewards", full), 422)["param"] == param
    assert shop.get("/v1/rewards").get_json()["data"] == []


def test_bad_redemptions_change_nothing(shop, api):
    reward = shop.reward()
    member = shop.member(1000)
    cases = [
        ({"quantity": 0}, 422, None),
        ({"quantity": 1.5}, 422, None),
        ({"quantity": 101}, 422, None),
        ({}, 422, None),  # a physical reward needs an address
        ({"quantity": 6, "shipping_address": ADDRESS}, 422, "out_of_stock"),
        ({"quantity": 4, "shipping_address": ADDRESS}, 422, "insufficient_points"),
    ]
    for extra, status, code in cases:
        assert_error(shop.redeem(reward["id"], member, **{"quantity": 1, **extra}), status, code)
    assert_error(shop.redeem("rwd_nope", member, shipping_address=ADDRESS), 404)
    assert_error(shop.redeem(reward["id"], "mem_nope", shipping_address=ADDRESS), 404)
    shop.post(f"/v1/members/{member}/freeze")
    assert_error(shop.redeem(reward["id"], member, shipping_address=ADDRESS), 422, "member_frozen")
    other = Shop(shop.client, api.signup())
    assert_error(other.get(f"/v1/rewards/{reward['id']}"), 404)
    assert shop.points(member) == 1000
    assert shop.get(f"/v1/rewards/{reward['id']}").get_json()["stock"] == 5


def test_twenty_members_at_once_never_oversell(shop):
    from jifen.tenants.catalog import services

    reward = shop.reward(stock=5)
    members = [shop.member(300) for _ in range(20)]
    barrier = threading.Barrier(len(members))

    def buy(member_id):
        barrier.wait()
        try:
            services.redeem(shop.tenant.id, reward["id"], member_id=member_id, quantity=1,
                            shipping_address=ADDRESS)  # fmt: skip
            return "ok"
        except JifenError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=len(members)) as pool:
        outcome = Counter(pool.map(in_app_context(buy), members))
    assert outcome == Counter({"ok": 5, "out_of_stock": 15})
    assert shop.get(f"/v1/rewards/{reward['id']}").get_json()["stock"] == 0
    assert sorted(shop.points(m) for m in members) == [0] * 5 + [300] * 15


def test_twenty_members_at_once_take_distinct_codes(shop):
    from jifen.tenants.catalog import services

    reward = shop.reward(kind="virtual", stock=None)
    shop.post(f"/v1/rewards/{reward['id']}/codes", {"codes": [f"C{i}" for i in range(8)]})
    members = [shop.member(300) for _ in range(20)]
    barrier = threading.Barrier(len(members))

    def buy(member_id):
        barrier.wait()
        try:
            return services.redeem(shop.tenant.id, reward["id"], member_id=member_id,
                                   quantity=1).codes[0]  # fmt: skip
        except JifenError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=len(members)) as pool:
        outcome = list(pool.map(in_app_context(buy), members))
    codes = [o for o in outcome if o.startswith("C")]
    assert sorted(codes) == sorted(f"C{i}" for i in range(8))
    assert outcome.count("out_of_stock") == 12
