"""More of the merchant's settings: rotating an API client's secret, and simulating a
draft of the program without saving it."""

from __future__ import annotations

import json
import re

import pytest
from console_helpers import Console, html, open_shop, text_of

from jifen.platform.auth.model import Role
from jifen.platform.auth.services import list_clients

EN = {"Accept-Language": "en"}


def token_response(client, client_id: str, secret: str):
    form = {"grant_type": "client_credentials"}
    return client.post("/oauth/token", data=form, auth=(client_id, secret))


def issued(response) -> tuple[str, str]:
    page = html(response)
    client_id = re.search(r'id="issued-id">([^<]+)<', page).group(1)
    return client_id, re.search(r'id="issued-secret">([^<]+)<', page).group(1)


# --- rotating a secret -------------------------------------------------------------------------


def test_rotating_a_secret_shows_the_new_one_once_and_the_old_one_stops_at_once(
    client, shop, owner
):
    client_id, old_secret = issued(
        owner.post("/console/clients", {"name": "till", "scopes": ["points:read"]})
    )
    old_token = token_response(client, client_id, old_secret).get_json()["access_token"]
    bearer = {"Authorization": f"Bearer {old_token}"}
    assert client.get("/v1/members", headers=bearer).status_code == 200

    rotated = owner.post(f"/console/clients/{client_id}/rotate", headers=EN)
    assert rotated.status_code == 200
    same_id, new_secret = issued(rotated)
    assert same_id == client_id and new_secret != old_secret and new_secret.startswith("sk")
    assert "The old secret and every token issued with it no longer work." in text_of(rotated)

    assert token_response(client, client_id, old_secret).status_code == 401
    assert client.get("/v1/members", headers=bearer).status_code == 401  # its tokens too
    fresh = token_response(client, client_id, new_secret)
    assert fresh.status_code == 200 and fresh.get_json()["scope"] == "points:read"

    stored = next(c for c in list_clients(shop.tenant.id) if c.id == client_id)
    assert stored.revoked_at is None and new_secret not in stored.secret_hash
    listing = html(owner.get("/console/clients"))
    assert new_secret not in listing and 'id="new-secret"' not in listing


def test_another_tenants_client_cannot_be_rotated(client, webhook_url, owner):
    other = open_shop(client, webhook_url)
    assert owner.post(f"/console/clients/{other.tenant.client_id}/rotate").status_code == 404
    assert (
        token_response(client, other.tenant.client_id, other.tenant.client_secret).status_code
        == 200
    )


def test_a_revoked_client_gets_no_new_secret(client, shop, owner):
    client_id, secret = issued(
        owner.post("/console/clients", {"name": "old till", "scopes": ["points:read"]})
    )
    owner.post(f"/console/clients/{client_id}/revoke")
    refused = owner.post(f"/console/clients/{client_id}/rotate", headers=EN)
    assert refused.status_code == 303
    page = owner.get("/console/clients", headers=EN)
    assert "A revoked API client cannot get a new secret." in text_of(page)
    assert 'id="new-secret"' not in html(page)
    assert token_response(client, client_id, secret).status_code == 401


def test_only_owners_and_admins_see_the_rotate_button(client, shop, owner):
    assert "/rotate" in html(owner.get("/console/clients"))
    support = Console(client)
    support.login(shop.staff[Role.SUPPORT])
    assert support.post(f"/console/clients/{shop.tenant.client_id}/rotate").status_code == 403
    assert (
        token_response(client, shop.tenant.client_id, shop.tenant.client_secret).status_code == 200
    )


# --- simulating a draft -------------------------------------------------------------------------


def editor_document(owner) -> dict:
    page = html(owner.get("/console/program", headers=EN))
    text = re.search(r'<textarea name="document"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    return json.loads(text.replace("&#34;", '"').replace("&quot;", '"'))


def current_version(tenant_id: str) -> int:
    from jifen.tenants.program.services import get_program

    return get_program(tenant_id)["version"]


def test_a_draft_is_simulated_without_being_saved(shop, owner):
    document = editor_document(owner)  # as the editor shows it: with "version"
    document["earning"]["points"] = 5
    form = {"document": json.dumps(document), "amount": "358.00", "currency": "CNY"}
    result = owner.post("/console/program/simulate-draft", {**form, "note": "try"}, headers=EN)
    assert result.status_code == 200
    page = html(result)
    assert 'id="draft-simulation"' in page and 'id="simulation"' not in page
    points = re.search(r'id="simulated-points"><strong>([^<]+)<', page).group(1)
    assert points == "15"  # 5 points per full 100.00 under the draft, 3 in force
    assert '"points": 5' in page.replace("&#34;", '"')  # the draft stays in the editor
    assert current_version(shop.tenant.id) == 0

    in_force = owner.post("/console/program/simulate", {"amount": "358.00", "currency": "CNY"})
    assert re.search(r'id="simulated-points"><strong>([^<]+)<', html(in_force)).group(1) == "3"


@pytest.mark.parametrize(
    ("document", "shown"),
    [
        ('{"earning": {"points": -1, "per_amount": 100}}', "earning.points"),
        ('{"tiers": [{"code": "gold"}]', "Not valid JSON"),
        ("[1]", "must be a JSON object"),
        ('{"expiry": {"policy": "someday"}}', "expiry.policy"),
    ],
)
def test_an_invalid_draft_names_the_field_and_saves_nothing(shop, owner, document, shown):
    form = {"document": document, "amount": "100", "currency": "CNY"}
    refused = owner.post("/console/program/simulate-draft", form, headers=EN)
    assert refused.status_code == 422
    assert 'id="program-error"' in html(refused) and shown in text_of(refused)
    assert 'id="draft-simulation"' not in html(refused)
    assert current_version(shop.tenant.id) == 0


def test_a_bad_sample_order_is_shown_beside_the_draft(shop, owner):
    form = {"document": "{}", "amount": "-1", "currency": "CNY"}
    refused = owner.post("/console/program/simulate-draft", form, headers=EN)
    assert refused.status_code == 422 and 'id="draft-error-amount"' in html(refused)
    form = {"document": "{}", "amount": "1", "currency": "yuan"}
    refused = owner.post("/console/program/simulate-draft", form, headers=EN)
    assert refused.status_code == 422 and 'id="draft-error-currency"' in html(refused)
    assert current_version(shop.tenant.id) == 0


def test_an_operator_may_simulate_a_draft_but_not_save_it(client, shop):
    operator = Console(client)
    operator.login(shop.staff[Role.OPERATOR])
    draft = json.dumps({"earning": {"points": 2, "per_amount": 10000}})
    result = operator.post(
        "/console/program/simulate-draft", {"document": draft, "amount": "250", "currency": "CNY"}
    )
    assert result.status_code == 200
    assert re.search(r'id="simulated-points"><strong>([^<]+)<', html(result)).group(1) == "4"
    assert operator.post("/console/program", {"document": draft}).status_code == 403
    assert current_version(shop.tenant.id) == 0
