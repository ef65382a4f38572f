"""The catalog pages: rewards with their stock, creating and editing them, code pools,
and redemption orders (fulfil, cancel). Every test checks the stored effect (stock,
points, status), not only the page."""

from __future__ import annotations

import io
import re

import pytest
from console_helpers import Console, html, open_shop, text_of

from jifen.platform.auth.model import Role
from jifen.tenants.catalog.services import get_order, get_reward, list_rewards
from jifen.tenants.members.points import balance

EN = {"Accept-Language": "en"}
ADDRESS = {"name": "张三", "line1": "1 Nanjing Rd", "city": "Shanghai", "country": "CN"}


def as_role(client, shop, role: Role) -> Console:
    browser = Console(client)
    browser.login(shop.staff[role])
    return browser


def reward_count(tenant_id: str) -> int:
    return len(list_rewards(tenant_id, {"limit": 100, "starting_after": None})["data"])


def created_id(response) -> str:
    assert response.status_code == 303, html(response)
    return re.search(r"/console/catalog/(rwd_\w+)$", response.headers["Location"]).group(1)


def physical_reward(owner, stock: int = 5, price: int = 100) -> str:
    form = {"kind": "physical", "name": "保温杯", "price_points": str(price), "stock": str(stock)}
    return created_id(owner.post("/console/catalog", form))


def redeem(client, shop, reward_id: str, quantity: int = 1) -> dict:
    response = client.post(
        f"/v1/rewards/{reward_id}/redeem",
        json={"member_id": shop.member_id, "quantity": quantity, "shipping_address": ADDRESS},
        headers=shop.tenant.auth,
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def points_of(shop) -> int:
    return balance(shop.tenant.id, shop.member_id).available


# --- rewards ------------------------------------------------------------------------------------


def test_owner_creates_a_physical_reward_and_edits_it(shop, owner):
    assert owner.get("/console/catalog/new?kind=physical").status_code == 200
    reward_id = physical_reward(owner, stock=5, price=100)
    reward = get_reward(shop.tenant.id, reward_id)
    assert (reward.kind, reward.name, reward.price_points, reward.stock) == (
        "physical",
        "保温杯",
        100,
        5,
    )
    row = html(owner.get("/console/catalog", headers=EN)).split(f'id="reward-{reward_id}"')[1]
    assert "保温杯" in row and "physical" in row.split("</tr>")[0]

    saved = owner.post(
        f"/console/catalog/{reward_id}",
        {"name": "保温杯 500ml", "price_points": "120", "stock": "7", "cash_amount": "9.90",
         "currency": "CNY"},
    )  # fmt: skip
    assert saved.status_code == 303
    reward = get_reward(shop.tenant.id, reward_id)
    assert (reward.name, reward.price_points, reward.stock) == ("保温杯 500ml", 120, 7)
    assert (reward.cash_amount, reward.currency) == (990, "CNY")  # minor units
    page = owner.get(f"/console/catalog/{reward_id}", headers=EN)
    assert 'name="cash_amount" inputmode="decimal" value="9.90"' in html(page)
    assert "¥9.90" in text_of(page) and "The reward is saved." in text_of(page)


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"kind": "physical", "name": "mug", "price_points": "10"}, "stock"),
        ({"kind": "physical", "name": "mug", "price_points": "abc", "stock": "1"}, "price_points"),
        ({"kind": "physical", "name": "mug", "price_points": "0", "stock": "1"}, "price_points"),
        ({"kind": "physical", "name": " ", "price_points": "5", "stock": "1"}, "name"),
        ({"kind": "coupon", "name": "c", "price_points": "5", "cash_amount": "1"}, "currency"),
        ({"kind": "coupon", "name": "c", "price_points": "5", "cash_amount": "x"}, "cash_amount"),
        (
            {"kind": "coupon", "name": "c", "price_points": "5", "coupon_currency": "CNY"},
            "coupon_amount_off",
        ),
        ({"kind": "teapot", "name": "c", "price_points": "5"}, "kind"),
    ],
)
def test_a_bad_reward_form_says_why_and_creates_nothing(shop, owner, form, field):
    before = reward_count(shop.tenant.id)
    refused = owner.post("/console/catalog", form)
    assert refused.status_code == 422
    assert f'id="error-{field}"' in html(refused)
    assert reward_count(shop.tenant.id) == before


# str.isdigit() passes these, but int() refuses them ("²", "①") or reads a non-ASCII digit
# ("٣") as a number: each must be the form's validation error, never a 500.
NOT_ASCII_DIGITS = ["²", "①", "٣", "12³"]


@pytest.mark.parametrize("typed", NOT_ASCII_DIGITS)
@pytest.mark.parametrize("field", ["price_points", "stock"])
def test_a_count_in_other_digits_is_a_validation_error(shop, owner, typed, field):
    form = {"kind": "physical", "name": "mug", "price_points": "10", "stock": "1", field: typed}
    before = reward_count(shop.tenant.id)
    refused = owner.post("/console/catalog", form, headers=EN)
    assert refused.status_code == 422, text_of(refused)
    error = html(refused).split(f'id="error-{field}"')[1].split("</")[0]
    assert re.search(r">\s*\S", error), error  # the message is shown
    assert reward_count(shop.tenant.id) == before


def test_a_coupons_valid_days_in_other_digits_is_a_validation_error(shop, owner):
    form = {"kind": "coupon", "name": "20 off", "price_points": "50", "coupon_amount_off": "20",
            "coupon_currency": "CNY", "coupon_valid_days": "²"}  # fmt: skip
    before = reward_count(shop.tenant.id)
    refused = owner.post("/console/catalog", form)
    assert refused.status_code == 422 and 'id="error-coupon_valid_days"' in html(refused)
    assert reward_count(shop.tenant.id) == before


def test_an_edit_in_other_digits_shows_the_error_and_changes_nothing(shop, owner):
    reward_id = physical_reward(owner, stock=5, price=100)
    refused = owner.post(
        f"/console/catalog/{reward_id}", {"name": "mug", "price_points": "²", "stock": "5"}
    )
    assert refused.status_code == 422 and 'id="error-price_points"' in html(refused)
    reward = get_reward(shop.tenant.id, reward_id)
    assert (reward.name, reward.price_points, reward.stock) == ("保温杯", 100, 5)


def test_a_coupon_reward_with_unlimited_stock(shop, owner):
    form = {"kind": "coupon", "name": "20 off", "price_points": "50", "coupon_amount_off": "20",
            "coupon_currency": "CNY", "coupon_valid_days": "30"}  # fmt: skip
    reward = get_reward(shop.tenant.id, created_id(owner.post("/console/catalog", form)))
    assert reward.stock is None
    assert reward.coupon == {"amount_off": 2000, "currency": "CNY", "valid_days": 30}


def test_a_bad_edit_shows_the_error_and_changes_nothing(shop, owner):
    reward_id = physical_reward(owner, stock=5)
    refused = owner.post(
        f"/console/catalog/{reward_id}", {"name": "mug", "price_points": "10", "stock": ""}
    )
    assert refused.status_code == 422 and 'id="error-stock"' in html(refused)
    assert get_reward(shop.tenant.id, reward_id).stock == 5


def test_archiving_stops_redemption(client, shop, owner):
    reward_id = physical_reward(owner)
    assert owner.post(f"/console/catalog/{reward_id}/archive").status_code == 303
    assert get_reward(shop.tenant.id, reward_id).status == "archived"
    response = client.post(
        f"/v1/rewards/{reward_id}/redeem",
        json={"member_id": shop.member_id, "shipping_address": ADDRESS},
        headers=shop.tenant.auth,
    )
    assert response.status_code == 422
    assert "archived" in html(owner.get("/console/catalog?status=archived", headers=EN))


# --- code pools ---------------------------------------------------------------------------------


def test_a_virtual_reward_gets_codes_from_the_textarea_and_a_file(shop, owner):
    form = {"kind": "virtual", "name": "视频会员", "price_points": "30"}
    reward_id = created_id(owner.post("/console/catalog", form))
    assert get_reward(shop.tenant.id, reward_id).stock == 0

    added = owner.post(f"/console/catalog/{reward_id}/codes", {"codes": "A-1\n\n  B-2 \nC-3\n"})
    assert added.status_code == 303
    assert get_reward(shop.tenant.id, reward_id).stock == 3
    upload = (io.BytesIO("\ufeffD-4\r\nE-5\r\n".encode()), "codes.txt")
    added = owner.post(
        f"/console/catalog/{reward_id}/codes",
        {"codes": "", "file": upload},
        content_type="multipart/form-data",
    )
    assert added.status_code == 303
    assert get_reward(shop.tenant.id, reward_id).stock == 5

    taken = owner.post(f"/console/catalog/{reward_id}/codes", {"codes": "F-6\nA-1"}, headers=EN)
    assert taken.status_code == 422 and 'id="error-codes"' in html(taken)
    assert "A-1" in text_of(taken)  # the message names the code, the textarea keeps it
    twice = owner.post(f"/console/catalog/{reward_id}/codes", {"codes": "G\nG"})
    assert twice.status_code == 422 and 'id="error-codes"' in html(twice)
    empty = owner.post(f"/console/catalog/{reward_id}/codes", {"codes": "\n \n"})
    assert empty.status_code == 422
    assert get_reward(shop.tenant.id, reward_id).stock == 5


def test_a_physical_reward_has_no_code_pool(shop, owner):
    reward_id = physical_reward(owner)
    assert 'id="codes-form"' not in html(owner.get(f"/console/catalog/{reward_id}"))
    refused = owner.post(f"/console/catalog/{reward_id}/codes", {"codes": "X"})
    assert refused.status_code == 422 and 'id="error-codes"' in html(refused)


# --- redemption orders --------------------------------------------------------------------------


def test_orders_are_filtered_shipped_delivered_and_cancelled(client, shop, owner):
    reward_id = physical_reward(owner, stock=5, price=100)
    shipped_order = redeem(client, shop, reward_id)
    cancelled_order = redeem(client, shop, reward_id, quantity=2)
    assert get_reward(shop.tenant.id, reward_id).stock == 2
    assert points_of(shop) == 500 - 300

    pending = owner.get("/console/orders?status=pending", headers=EN)
    assert shipped_order["id"] in html(pending) and cancelled_order["id"] in html(pending)
    assert html(owner.get("/console/orders?status=delivered")).count('id="order-') == 0

    back = "/console/orders?status=pending"
    marked = owner.post(
        f"/console/orders/{shipped_order['id']}/fulfil",
        {"status": "shipped", "tracking_number": "SF123", "next": back},
    )
    assert marked.status_code == 303 and marked.headers["Location"].endswith(back)
    order = get_order(shop.tenant.id, shipped_order["id"])
    assert (order.status, order.tracking_number) == ("shipped", "SF123")

    refused = owner.post(f"/console/orders/{shipped_order['id']}/cancel")
    assert refused.status_code == 303
    assert get_order(shop.tenant.id, shipped_order["id"]).status == "shipped"
    assert "not possible in the order" in text_of(owner.get("/console/orders", headers=EN))

    owner.post(f"/console/orders/{shipped_order['id']}/fulfil", {"status": "delivered"})
    assert get_order(shop.tenant.id, shipped_order["id"]).status == "delivered"

    assert owner.post(f"/console/orders/{cancelled_order['id']}/cancel").status_code == 303
    order = get_order(shop.tenant.id, cancelled_order["id"])
    assert order.status == "cancelled" and order.cancel_transaction_id
    assert get_reward(shop.tenant.id, reward_id).stock == 4  # the two units are back
    assert points_of(shop) == 500 - 100  # and the 200 points
    page = owner.get("/console/orders?status=cancelled", headers=EN)
    assert f'id="order-{cancelled_order["id"]}"' in html(page)
    assert f'id="order-{shipped_order["id"]}"' not in html(page)


def test_support_fulfils_and_cancels_but_does_not_edit_the_catalog(client, shop, owner):
    reward_id = physical_reward(owner)
    order = redeem(client, shop, reward_id)
    support = as_role(client, shop, Role.SUPPORT)
    assert support.get("/console/catalog").status_code == 200
    assert 'id="new-reward"' not in html(support.get("/console/catalog"))
    form = {"kind": "physical", "name": "x", "price_points": "1", "stock": "1"}
    assert support.post("/console/catalog", form).status_code == 403
    assert support.post(f"/console/catalog/{reward_id}", {"name": "x"}).status_code == 403
    assert support.post(f"/console/orders/{order['id']}/cancel").status_code == 303
    assert get_order(shop.tenant.id, order["id"]).status == "cancelled"

    operator = as_role(client, shop, Role.OPERATOR)
    second = redeem(client, shop, reward_id)
    assert operator.post(f"/console/orders/{second['id']}/cancel").status_code == 403
    assert (
        operator.post(f"/console/orders/{second['id']}/fulfil", {"status": "shipped"}).status_code
        == 303
    )
    assert get_order(shop.tenant.id, second["id"]).status == "shipped"
    finance = as_role(client, shop, Role.FINANCE)
    assert finance.get("/console/orders").status_code == 403


def test_another_tenants_rewards_and_orders_are_not_found(client, webhook_url, shop, owner):
    other = open_shop(client, webhook_url)
    theirs = Console(client.application.test_client())
    theirs.login(other.owner_email)
    reward_id = physical_reward(theirs, stock=3)
    order = redeem(client, other, reward_id)

    assert owner.get(f"/console/catalog/{reward_id}").status_code == 404
    assert owner.post(f"/console/catalog/{reward_id}", {"name": "mine"}).status_code == 404
    assert owner.post(f"/console/catalog/{reward_id}/codes", {"codes": "X"}).status_code == 404
    assert owner.post(f"/console/catalog/{reward_id}/archive").status_code == 404
    assert owner.post(f"/console/orders/{order['id']}/cancel").status_code == 404
    assert (
        owner.post(f"/console/orders/{order['id']}/fulfil", {"status": "shipped"}).status_code
        == 404
    )
    assert order["id"] not in html(owner.get("/console/orders"))
    assert get_order(other.tenant.id, order["id"]).status == "pending"
    assert get_reward(other.tenant.id, reward_id).stock == 2
