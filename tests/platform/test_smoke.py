from factories import assert_error


def test_signup_then_token_then_tenant(api, client):
    tenant = api.signup()
    response = client.get("/v1/tenant", headers=tenant.auth)
    assert response.status_code == 200
    body = response.get_json()
    assert body["object"] == "tenant" and body["id"] == tenant.id
    assert body["currency"]["code"] == tenant.currency_code


def test_tenant_needs_a_token(client):
    assert_error(client.get("/v1/tenant"), 401, "unauthenticated")
