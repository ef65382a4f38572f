"""The lottery pages: the list with prizes, odds and stock; creating a lottery with its
prizes (validated by the lottery's rules); the committed seed's hash, the revealed seed
after closing, recent draws, and the link to the public odds page."""

from __future__ import annotations

import hashlib
import re

import pytest
from console_helpers import Console, html, open_shop, text_of

from jifen.platform.auth.model import Role
from jifen.tenants.lottery.services import get_lottery, list_lotteries

EN = {"Accept-Language": "en"}


def lottery_count(tenant_id: str) -> int:
    return len(list_lotteries(tenant_id, {"limit": 100, "starting_after": None})["data"])


def lottery_form(**changes) -> dict:
    form = {
        "name": "春节抽奖",
        "cost_points": "10",
        "prize_name": ["一等奖", "谢谢参与", ""],
        "prize_weight": ["1", "3", ""],
        "prize_stock": ["1", "", ""],
    }
    return {**form, **changes}


def create(owner, **changes) -> str:
    response = owner.post("/console/lotteries", lottery_form(**changes))
    assert response.status_code == 303, text_of(response)
    return re.search(r"/console/lotteries/(ltr_\w+)$", response.headers["Location"]).group(1)


def test_owner_creates_a_lottery_and_sees_odds_seed_draws_and_reveal(client, shop, owner):
    lottery_id = create(owner)
    view = get_lottery(shop.tenant.id, lottery_id)
    prizes = [(p.name, p.weight, p.stock) for p in view.prizes]
    assert prizes == [("一等奖", 1, 1), ("谢谢参与", 3, None)]
    assert view.lottery.cost_points == 10 and view.lottery.closes_at is None

    listing = html(owner.get("/console/lotteries", headers=EN))
    row = listing.split(f'id="lottery-{lottery_id}"')[1].split("</tr>")[0]
    assert "25.0%" in row and "75.0%" in row and "1 of 1 left" in row and "unlimited" in row

    page = owner.get(f"/console/lotteries/{lottery_id}", headers=EN)
    assert view.lottery.seed_hash in html(page)
    assert view.lottery.server_seed not in html(page)  # committed, not revealed
    assert f'href="/lotteries/{lottery_id}"' in html(page)
    assert "No draws yet." in text_of(page)

    for _ in range(3):
        drawn = client.post(
            f"/v1/lotteries/{lottery_id}/draws",
            json={"member_id": shop.member_id},
            headers=shop.tenant.auth,
        )
        assert drawn.status_code == 201, drawn.get_json()
    page = html(owner.get(f"/console/lotteries/{lottery_id}", headers=EN))
    assert page.count(shop.member_id) == 3
    assert re.search(r'id="draw-count">3<', page)

    closed = owner.post(f"/console/lotteries/{lottery_id}/close")
    assert closed.status_code == 303
    page = html(owner.get(f"/console/lotteries/{lottery_id}", headers=EN))
    seed = re.search(r'id="revealed-seed">([0-9a-f]{64})<', page).group(1)
    assert hashlib.sha256(bytes.fromhex(seed)).hexdigest() == view.lottery.seed_hash
    assert get_lottery(shop.tenant.id, lottery_id).is_closed
    assert 'id="close-form"' not in page

    again = owner.post(f"/console/lotteries/{lottery_id}/close", headers=EN)
    assert again.status_code == 303
    assert "closed already" in text_of(owner.get(f"/console/lotteries/{lottery_id}", headers=EN))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"prize_name": [""], "prize_weight": [""], "prize_stock": [""]}, "prizes"),
        ({"prize_weight": ["0", "3", ""]}, "prizes"),
        ({"prize_weight": ["x", "3", ""]}, "prizes"),
        ({"prize_stock": ["-1", "", ""]}, "prizes"),
        ({"prize_weight": ["999999999", "999999999", ""]}, "prizes"),  # the rules' total cap
        ({"cost_points": "0"}, "cost_points"),
        ({"cost_points": ""}, "cost_points"),
        ({"name": ""}, "name"),
        ({"closes_at": "2001-01-01T10:00"}, "closes_at"),
        ({"closes_at": "next week"}, "closes_at"),
    ],
)
def test_a_bad_lottery_form_says_why_and_creates_nothing(shop, owner, changes, field):
    before = lottery_count(shop.tenant.id)
    refused = owner.post("/console/lotteries", lottery_form(**changes))
    assert refused.status_code == 422
    assert f'id="error-{field}"' in html(refused)
    assert 'value="春节抽奖"' in html(refused) or field == "name"  # the form is kept
    assert lottery_count(shop.tenant.id) == before


@pytest.mark.parametrize("typed", ["²", "①", "٣"])
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (lambda typed: {"cost_points": typed}, "cost_points"),
        (lambda typed: {"prize_weight": [typed, "3", ""]}, "prizes"),
        (lambda typed: {"prize_stock": [typed, "", ""]}, "prizes"),
    ],
    ids=["cost_points", "prize_weight", "prize_stock"],
)
def test_a_number_in_other_digits_is_a_validation_error(shop, owner, typed, changes, field):
    """isdigit() passes "²" and "①" but int() refuses them; "٣" is not an ASCII digit."""
    before = lottery_count(shop.tenant.id)
    refused = owner.post("/console/lotteries", lottery_form(**changes(typed)), headers=EN)
    assert refused.status_code == 422, text_of(refused)
    error = html(refused).split(f'id="error-{field}"')[1].split("</")[0]
    assert re.search(r">\s*\S", error), error  # the message is shown
    assert 'value="春节抽奖"' in html(refused)  # the form is kept
    assert lottery_count(shop.tenant.id) == before


def test_a_closing_time_is_read_in_the_tenants_time_zone(shop, owner):
    lottery_id = create(owner, closes_at="2099-01-01T08:00")
    closes = get_lottery(shop.tenant.id, lottery_id).lottery.closes_at
    assert closes.replace(tzinfo=None).isoformat() == "2099-01-01T00:00:00"  # Asia/Shanghai


def test_operators_see_lotteries_but_do_not_create_or_close_them(client, shop, owner):
    lottery_id = create(owner)
    operator = Console(client)
    operator.login(shop.staff[Role.OPERATOR])
    assert operator.get(f"/console/lotteries/{lottery_id}").status_code == 200
    assert 'id="lottery-form"' not in html(operator.get("/console/lotteries"))
    assert operator.post("/console/lotteries", lottery_form()).status_code == 403
    assert operator.post(f"/console/lotteries/{lottery_id}/close").status_code == 403
    assert not get_lottery(shop.tenant.id, lottery_id).is_closed
    support = Console(client)
    support.login(shop.staff[Role.SUPPORT])
    assert support.get("/console/lotteries").status_code == 403


def test_another_tenants_lottery_is_not_found(client, webhook_url, owner):
    other = open_shop(client, webhook_url)
    theirs = Console(client.application.test_client())
    theirs.login(other.owner_email)
    lottery_id = create(theirs)
    assert owner.get(f"/console/lotteries/{lottery_id}").status_code == 404
    assert owner.post(f"/console/lotteries/{lottery_id}/close").status_code == 404
    assert lottery_id not in html(owner.get("/console/lotteries"))
    assert not get_lottery(other.tenant.id, lottery_id).is_closed
