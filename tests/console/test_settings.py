"""The merchant's settings pages: API clients and keys, exchange settings, the program
editor and its simulate panel."""

from __future__ import annotations

import re

import pytest
from console_helpers import Console, html, open_shop, text_of

from jifen.platform.auth.services import list_clients
from jifen.platform.errors import NotFound

EN = {"Accept-Language": "en"}


def token_status(client, client_id: str, secret: str) -> int:
    form = {"grant_type": "client_credentials"}
    return client.post("/oauth/token", data=form, auth=(client_id, secret)).status_code


# --- API clients ------------------------------------------------------------------------------


def test_a_new_client_shows_its_secret_once_and_revoking_it_stops_its_tokens(client, shop, owner):
    created = owner.post("/console/clients", {"name": "POS 收银", "scopes": ["points:read"]})
    assert created.status_code == 200
    client_id = re.search(r'id="issued-id">([^<]+)<', html(created)).group(1)
    secret = re.search(r'id="issued-secret">([^<]+)<', html(created)).group(1)
    assert secret.startswith("sk")
    assert token_status(client, client_id, secret) == 200
    listing = owner.get("/console/clients", headers=EN)
    assert client_id in html(listing) and "POS 收银" in html(listing)
    assert secret not in html(listing)  # shown once

    revoked = owner.post(f"/console/clients/{client_id}/revoke")
    assert revoked.status_code == 303
    assert token_status(client, client_id, secret) != 200
    row = html(owner.get("/console/clients", headers=EN)).split(f'id="client-{client_id}"')[1]
    assert "revoked" in row.split("</tr>")[0]


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"name": " ", "scopes": ["points:read"]}, "name"),
        ({"name": "no scopes"}, "scopes"),
        ({"name": "platform", "scopes": ["platform:admin"]}, "scopes"),
    ],
)
def test_a_bad_client_form_says_why_and_creates_nothing(shop, owner, form, field):
    before = len(list_clients(shop.tenant.id))
    refused = owner.post("/console/clients", form)
    assert refused.status_code == 422
    assert f'id="error-{field}"' in html(refused)
    assert 'id="new-secret"' not in html(refused)
    assert len(list_clients(shop.tenant.id)) == before


def test_another_tenants_client_cannot_be_revoked(client, webhook_url, owner):
    other = open_shop(client, webhook_url)
    theirs = list_clients(other.tenant.id)[0]
    assert owner.post(f"/console/clients/{theirs.id}/revoke").status_code == 404
    assert list_clients(other.tenant.id)[0].revoked_at is None
    assert theirs.id not in html(owner.get("/console/clients"))


# --- exchange settings ------------------------------------------------------------------------


def test_a_currency_joins_the_exchange_from_the_settings_page(client, shop, owner):
    from jifen.exchange.settings import get_settings

    upgraded = client.post("/v1/billing/plan", json={"plan": "growth"}, headers=shop.tenant.auth)
    assert upgraded.status_code == 200, upgraded.get_json()  # the Free plan has no exchange
    page = owner.get("/console/exchange", headers=EN)
    assert 'id="not-in-exchange"' in html(page)
    saved = owner.post(
        "/console/exchange",
        {"spu_rate": "0.8", "inbound": "on", "minimum": "10", "increment": "5"},
    )
    assert saved.status_code == 303
    settings = get_settings(shop.tenant.id)
    assert (settings.spu_rate, settings.inbound, settings.outbound) == (800_000, True, False)
    assert (settings.minimum, settings.increment, settings.daily_inbound_cap) == (10, 5, None)
    page = owner.get("/console/exchange", headers=EN)
    assert 'name="spu_rate" value="0.8"' in html(page)
    assert "The exchange settings are saved." in text_of(page)


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"spu_rate": "abc", "minimum": "1", "increment": "1"}, "spu_rate"),
        ({"spu_rate": "0.8", "minimum": "0", "increment": "1"}, "minimum"),
        ({"minimum": "1", "increment": "1"}, "spu_rate"),  # joining needs a rate
    ],
)
def test_bad_exchange_settings_are_shown_and_nothing_is_stored(shop, owner, form, field):
    from jifen.exchange.settings import get_settings

    refused = owner.post("/console/exchange", form)
    assert refused.status_code == 422
    assert f'id="error-{field}"' in html(refused)
    with pytest.raises(NotFound):
        get_settings(shop.tenant.id)


# --- the program editor -------------------------------------------------------------------------


def current_program(tenant_id: str) -> dict:
    from jifen.tenants.program.services import get_program

    return get_program(tenant_id)


def test_the_program_is_edited_as_json_and_saved_as_a_new_version(shop, owner):
    import json

    page = owner.get("/console/program", headers=EN)
    assert page.status_code == 200
    text = re.search(r'<textarea name="document"[^>]*>(.*?)</textarea>', html(page), re.S).group(1)
    document = json.loads(text.replace("&#34;", '"').replace("&quot;", '"'))
    assert document["version"] == 0
    document["earning"]["points"] = 3
    saved = owner.post(
        "/console/program", {"document": json.dumps(document), "note": "triple points"}
    )
    assert saved.status_code == 303
    program = current_program(shop.tenant.id)
    assert program["version"] == 1 and program["earning"]["points"] == 3
    assert program["note"] == "triple points"
    page = owner.get("/console/program", headers=EN)
    assert "Program version 1 is in force." in text_of(page) and "triple points" in text_of(page)


@pytest.mark.parametrize(
    ("document", "shown"),
    [
        ('{"earning": {"points": -1, "per_amount": 100}}', "earning.points"),
        ('{"tiers": [{"code": "gold"}]', "Not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"version": 7}', "not 7"),
    ],
)
def test_a_bad_program_document_shows_the_error_and_stores_nothing(shop, owner, document, shown):
    refused = owner.post("/console/program", {"document": document}, headers=EN)
    assert refused.status_code == 422
    assert 'id="program-error"' in html(refused)
    assert shown in text_of(refused)
    assert document.split('"')[1] in html(refused) if '"' in document else True  # kept
    assert current_program(shop.tenant.id)["version"] == 0


def test_the_simulate_panel_shows_what_an_order_would_earn(shop, owner):
    result = owner.post("/console/program/simulate", {"amount": "358.00", "currency": "CNY"})
    assert result.status_code == 200
    points = re.search(r'id="simulated-points"><strong>([^<]+)<', html(result)).group(1)
    assert points == "3"  # the default program: 1 point per full 100.00
    assert current_program(shop.tenant.id)["version"] == 0  # nothing posted

    refused = owner.post("/console/program/simulate", {"amount": "-5", "currency": "CNY"})
    assert refused.status_code == 422 and 'id="error-amount"' in html(refused)


def test_operators_may_read_and_simulate_but_not_save_the_program(client, shop):
    from jifen.platform.auth.model import Role

    operator = Console(client)
    operator.login(shop.staff[Role.OPERATOR])
    page = operator.get("/console/program")
    assert page.status_code == 200 and "readonly" in html(page)
    assert "console/program/simulate" in html(page)
    assert operator.post("/console/program", {"document": "{}"}).status_code == 403
    assert current_program(shop.tenant.id)["version"] == 0


def test_forms_need_the_csrf_token(client, shop, owner):
    before = len(list_clients(shop.tenant.id))
    response = client.post("/console/clients", data={"name": "x", "scopes": ["points:read"]})
    assert response.status_code == 400
    assert len(list_clients(shop.tenant.id)) == before
    page = owner.get("/console/program")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert html(page).count('name="csrf_token"') >= 4  # language, sign out, save, simulate
