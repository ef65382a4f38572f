"""Member tokens and the consumer's wallet across tenants."""

from datetime import timedelta

from factories import assert_error, holder_token

from jifen.platform import clock


def issue_token(points, member_id: str, **body) -> dict:
    response = points.post(f"/v1/members/{member_id}/tokens", body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def wallet(client, token: str):
    return client.get("/v1/me/wallet", headers={"Authorization": f"Bearer {token}"})


def test_a_member_token_lasts_an_hour_by_default(points):
    member = points.member()
    issued = issue_token(points, member["id"])
    assert issued["object"] == "member_token" and issued["member"] == member["id"]
    assert issued["token"].startswith("mt_")
    lifetime = _parse(issued["expires_at"]) - _parse(issued["created"])
    assert lifetime == timedelta(hours=1)
    longer = issue_token(points, member["id"], expires_in=86400)
    assert _parse(longer["expires_at"]) - _parse(longer["created"]) == timedelta(days=1)
    for expires_in in (86401, 30, 1.5, "60"):
        response = points.post(f"/v1/members/{member['id']}/tokens", {"expires_in": expires_in})
        assert assert_error(response, 422)["param"] == "expires_in"


def test_a_holder_session_sees_every_membership_of_the_card(client, points, other_points, tenant):
    first = points.funded_member(120)
    second = other_points.member(card_number=first["card_number"])
    other_points.award(second["id"], 7)
    points.post("/v1/holds", {"member_id": first["id"], "points": 20})
    stranger = other_points.funded_member(1000)

    response = wallet(client, holder_token(first["card_number"]))
    assert response.status_code == 200
    body = response.get_json()
    assert body["object"] == "wallet" and body["card_number"] == first["card_number"]
    seen = {m["member"]: m for m in body["memberships"]}
    assert set(seen) == {first["id"], second["id"]} and stranger["id"] not in seen
    mine = seen[first["id"]]
    assert mine["tenant"] == {"id": tenant.id, "name": f"Tenant {tenant.slug}"}
    assert mine["currency"]["code"] == tenant.currency_code
    assert (mine["points"], mine["available"], mine["held"]) == (120, 100, 20)
    assert mine["spu_value"] is None and mine["status"] == "active"
    assert seen[second["id"]]["points"] == 7


def test_a_member_token_sees_its_own_membership_only(client, points, other_points):
    first = points.funded_member(120)
    second = other_points.member(card_number=first["card_number"])
    token = issue_token(other_points, second["id"])["token"]
    body = wallet(client, token).get_json()
    assert [m["member"] for m in body["memberships"]] == [second["id"]]


def test_an_expired_member_token_is_401(client, points):
    member = points.member()
    token = issue_token(points, member["id"], expires_in=60)["token"]
    assert wallet(client, token).status_code == 200
    with clock.frozen_at(clock.now() + timedelta(seconds=61)):
        assert_error(wallet(client, token), 401, "unauthenticated")


def test_a_tampered_member_token_is_401(client, points):
    token = issue_token(points, points.member()["id"])["token"]
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert_error(wallet(client, tampered), 401, "unauthenticated")
    assert_error(wallet(client, "mt_"), 401)
    assert_error(client.get("/v1/me/wallet"), 401)


def test_tokens_stay_in_their_lane(client, points, tenant):
    member = points.member()
    token = issue_token(points, member["id"])["token"]
    member_auth = {"Authorization": f"Bearer {token}"}
    assert_error(client.get(f"/v1/members/{member['id']}", headers=member_auth), 403)
    response = client.post(
        "/v1/redemptions", json={"member_id": member["id"], "points": 1}, headers=member_auth
    )
    assert_error(response, 403)
    assert_error(client.get("/v1/me/wallet", headers=tenant.auth), 403)


def _parse(text: str):
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00"))
