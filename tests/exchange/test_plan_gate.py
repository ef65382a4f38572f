"""The exchange is a plan feature (platform/billing): a tenant on the Free plan can neither
join the exchange nor accept other tenants' points; nothing is stored when refused."""

from factories import assert_error


def test_a_free_plan_tenant_cannot_join_the_exchange(api, client):
    tenant = api.signup()  # the Free plan has no exchange
    refused = client.put(
        "/v1/exchange/settings",
        json={"spu_rate": "0.5", "inbound": True, "outbound": True},
        headers=tenant.auth,
    )
    assert_error(refused, 403, "plan_limit")
    rates = client.get("/v1/exchange/rates", headers=tenant.auth).get_json()["data"]
    assert tenant.currency_code not in {rate["currency"] for rate in rates}


def test_a_free_plan_merchant_cannot_accept_other_tenants_points(exchange, api, client):
    member = exchange.funded(points=500)
    free = api.signup()
    refused = client.post(
        "/v1/acceptance/authorizations",
        json={
            "card_number": member["card_number"],
            "currency": exchange.a.currency_code,
            "points": 100,
            "reference": "free-plan",
        },
        headers=free.auth,
    )
    assert_error(refused, 403, "plan_limit")
    balance = client.get(f"/v1/members/{member['id']}/balance", headers=exchange.a.auth)
    assert balance.get_json()["held"] == 0
