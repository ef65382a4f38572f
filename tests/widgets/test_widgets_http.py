"""The widgets' doors over HTTP: CORS only for registered origins, frame-ancestors,
member tokens (tampered, expired, another tenant's key), the /v1/me reads and redeem,
and the widget settings."""

from __future__ import annotations

from factories import assert_error
from widgets_support import MERCHANT_ORIGIN, expire_member_token

FOREIGN_ORIGIN = "https://evil.example"


def me(world, path, token, *, origin=MERCHANT_ORIGIN, key=None, method="GET", body=None):
    headers = {"Authorization": f"Bearer {token}"}
    if origin:
        headers["Origin"] = origin
    query = {"publishable_key": key or world.a.publishable_key}
    return world.client.open(
        f"/v1/me{path}", method=method, query_string=query, headers=headers, json=body
    )


# --- CORS ------------------------------------------------------------------------------


def test_a_registered_origin_is_echoed(world):
    response = me(world, "/balance", world.member_token())
    assert response.status_code == 200, response.get_json()
    assert response.headers["Access-Control-Allow-Origin"] == MERCHANT_ORIGIN
    assert "Origin" in response.headers["Vary"]
    assert response.get_json()["points"] == 5000


def test_a_preflight_from_a_registered_origin_is_answered(world):
    response = world.client.options(
        "/v1/me/balance",
        query_string={"publishable_key": world.a.publishable_key},
        headers={
            "Origin": MERCHANT_ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },  # fmt: skip
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == MERCHANT_ORIGIN
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]


def test_a_foreign_origin_is_refused_and_never_echoed(world):
    response = me(world, "/balance", world.member_token(), origin=FOREIGN_ORIGIN)
    error = assert_error(response, 403, "origin_not_allowed")
    assert FOREIGN_ORIGIN in error["message"]
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = world.client.options(
        "/v1/me/balance",
        query_string={"publishable_key": world.a.publishable_key},
        headers={"Origin": FOREIGN_ORIGIN, "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 403
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_a_cross_origin_call_without_the_key_is_refused(world):
    response = world.client.get(
        "/v1/me/wallet",
        headers={"Authorization": f"Bearer {world.member_token()}", "Origin": MERCHANT_ORIGIN},
    )
    assert_error(response, 401, "publishable_key_required")
    assert "Access-Control-Allow-Origin" not in response.headers


def test_the_config_endpoint_tells_a_widget_whether_its_origin_may_use_the_key(world):
    key = {"publishable_key": world.a.publishable_key}
    ok = world.client.get("/widgets/v1/config", query_string=key,
                          headers={"Origin": MERCHANT_ORIGIN}).get_json()  # fmt: skip
    foreign = world.client.get("/widgets/v1/config", query_string=key,
                               headers={"Origin": FOREIGN_ORIGIN}).get_json()  # fmt: skip
    assert ok["origin_allowed"] is True and foreign["origin_allowed"] is False
    assert foreign["known_key"] is True


# --- frames ----------------------------------------------------------------------------


def test_frames_may_be_embedded_only_by_registered_origins(world):
    world.set_origins(world.a, [MERCHANT_ORIGIN, "http://localhost:3000"])
    response = world.client.get(
        "/widgets/v1/frame/rewards",
        query_string={"publishable_key": world.a.publishable_key, "parent_origin": MERCHANT_ORIGIN},
    )
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors https://shop.example http://localhost:3000" in csp
    assert FOREIGN_ORIGIN not in csp and "*" not in csp


def test_a_frame_for_an_unregistered_parent_is_refused(world):
    response = world.client.get(
        "/widgets/v1/frame/swap",
        query_string={"publishable_key": world.a.publishable_key, "parent_origin": FOREIGN_ORIGIN},
    )
    assert response.status_code == 403
    assert 'data-problem="origin_not_allowed"' in response.get_data(as_text=True)
    assert "frame-ancestors https://shop.example" in response.headers["Content-Security-Policy"]


def test_a_tenant_without_origins_may_be_framed_by_nobody_but_jifen(world):
    response = world.client.get(
        "/widgets/v1/frame/rewards",
        query_string={"publishable_key": world.b.publishable_key, "parent_origin": MERCHANT_ORIGIN},
    )
    assert response.status_code == 403
    assert response.headers["Content-Security-Policy"].endswith("frame-ancestors http://localhost")


# --- member tokens ---------------------------------------------------------------------


def test_a_tampered_member_token_is_refused_with_a_clear_message(world):
    token = world.member_token()
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    response = me(world, "/balance", tampered)
    error = assert_error(response, 401, "unauthenticated")
    assert "not valid" in error["message"]
    assert response.headers["X-Jifen-Auth-Problem"] == "invalid_token"


def test_an_expired_member_token_is_refused_with_a_clear_message(world):
    token = world.member_token()
    expire_member_token(token)
    response = me(world, "/balance", token)
    error = assert_error(response, 401, "unauthenticated")
    assert "expired" in error["message"]
    assert response.headers["X-Jifen-Auth-Problem"] == "token_expired"
    assert "X-Jifen-Auth-Problem" in response.headers["Access-Control-Expose-Headers"]
    # the widget can read why: the registered origin still gets CORS headers
    assert response.headers["Access-Control-Allow-Origin"] == MERCHANT_ORIGIN


def test_a_token_of_one_tenant_with_another_tenants_key_is_refused(world):
    world.set_origins(world.b, [MERCHANT_ORIGIN])
    response = me(world, "/balance", world.member_token(), key=world.b.publishable_key)
    assert_error(response, 403, "key_tenant_mismatch")
    swap = me(world, "/swaps", world.member_token(), key=world.b.publishable_key, method="POST",
              body={"from_currency": world.a.currency_code, "to_currency": world.b.currency_code,
                    "points": 100})  # fmt: skip
    assert_error(swap, 403, "key_tenant_mismatch")
    assert world.balance(world.a, world.member_a) == 5000


def test_an_unknown_publishable_key_is_refused(world):
    response = me(world, "/balance", world.member_token(), key="pk_doesnotexist")
    assert_error(response, 401, "invalid_publishable_key")


# --- /v1/me reads and redeem -------------------------------------------------------------


def test_the_card_holder_reads_history_and_rewards_and_redeems(world):
    token = world.member_token()
    rewards = me(world, "/rewards", token).get_json()
    assert [r["id"] for r in rewards["data"]] == [world.reward_id]
    order = me(world, f"/rewards/{world.reward_id}/redeem", token, method="POST", body={})
    assert order.status_code == 201, order.get_json()
    assert order.get_json()["points"] == 300 and len(order.get_json()["codes"]) == 1
    assert me(world, "/balance", token).get_json()["points"] == 4700
    history = me(world, "/transactions", token).get_json()["data"]
    assert [t["points"] for t in history][:2] == [-300, 5000]


def test_redeeming_more_than_the_balance_changes_nothing(world):
    auth = world.a.auth
    dear = world.client.post("/v1/rewards", headers=auth, json={"kind": "virtual",
                             "name": "Teapot", "price_points": 9000}).get_json()  # fmt: skip
    world.client.post(f"/v1/rewards/{dear['id']}/codes", headers=auth, json={"codes": ["POT-1"]})
    token = world.member_token()
    response = me(world, f"/rewards/{dear['id']}/redeem", token, method="POST", body={})
    assert_error(response, 422, "insufficient_points")
    assert me(world, "/balance", token).get_json()["points"] == 5000


def test_a_swap_above_the_balance_is_refused_and_posts_nothing(world):
    response = me(world, "/swaps", world.member_token(), method="POST",
                  body={"from_currency": world.a.currency_code,
                        "to_currency": world.b.currency_code, "points": 6000})  # fmt: skip
    assert_error(response, 422, "insufficient_points")
    assert world.balance(world.a, world.member_a) == 5000
    assert world.balance(world.b, world.member_b) == 0


# --- settings --------------------------------------------------------------------------


def test_settings_keep_canonical_origins(world):
    body = world.set_origins(world.a, ["HTTPS://Shop.Example:443/", "http://localhost:5173"])
    assert body["allowed_origins"] == ["https://shop.example", "http://localhost:5173"]
    got = world.client.get("/v1/widgets/settings", headers=world.a.auth).get_json()
    assert got["allowed_origins"] == body["allowed_origins"]
    assert got["publishable_key"] == world.a.publishable_key


def test_settings_refuse_wildcards_paths_and_plain_http(world):
    for bad in ["*", "https://*.shop.example", "https://shop.example/page", "http://shop.example"]:
        response = world.client.put(
            "/v1/widgets/settings", json={"allowed_origins": [bad]}, headers=world.a.auth
        )
        assert_error(response, 422, "invalid_origin")


def test_settings_need_program_write(world, api):
    token = api.token(world.a.client_id, world.a.client_secret, scope="points:read")
    response = world.client.put(
        "/v1/widgets/settings",
        json={"allowed_origins": [MERCHANT_ORIGIN]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert_error(response, 403, "missing_scope")
