"""Members over HTTP: enrolment with a new or an existing card, look-ups, lists, freeze."""

from factories import assert_error, unique

from jifen.tenants.members.cards import is_valid_card_number, luhn_check_digit


def test_enrolling_without_a_card_issues_one(points):
    response = points.post(
        "/v1/members",
        {
            "external_id": "cust-1",
            "email": "li@example.com",
            "name": "李雷",
            "birthday": "1990-05-04",
        },
    )
    assert response.status_code == 201
    member = response.get_json()
    assert member["object"] == "member" and member["id"].startswith("mem_")
    assert member["external_id"] == "cust-1" and member["status"] == "active"
    assert member["tier"] is None and member["birthday"] == "1990-05-04"
    assert member["created"].endswith("Z")
    assert is_valid_card_number(member["card_number"])


def test_a_card_joins_a_second_tenant(points, other_points):
    first = points.member()
    second = other_points.member(card_number=first["card_number"])
    assert second["card_number"] == first["card_number"]
    assert second["id"] != first["id"]


def test_card_numbers_may_be_written_with_spaces(points, other_points):
    number = points.member()["card_number"]
    spaced = " ".join(number[i : i + 4] for i in range(0, 16, 4))
    assert other_points.member(card_number=spaced)["card_number"] == number


def test_a_card_number_with_a_bad_check_digit_is_422(points):
    number = points.member()["card_number"]
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    response = points.post("/v1/members", {"external_id": unique("c-"), "card_number": wrong})
    assert assert_error(response, 422, "invalid_card_number")["param"] == "card_number"


def test_an_unknown_card_is_refused_like_a_card_without_its_holders_code(points):
    payload = "880000000000001"
    number = payload + luhn_check_digit(payload)
    response = points.post("/v1/members", {"external_id": unique("c-"), "card_number": number})
    error = assert_error(response, 403, "holder_authorization_required")
    assert error["param"] == "holder_code"


def test_a_card_holds_one_membership_per_tenant(points):
    number = points.member()["card_number"]
    response = points.post("/v1/members", {"external_id": unique("c-"), "card_number": number})
    assert_error(response, 409, "card_already_member")


def test_a_duplicate_external_id_is_409(points, other_points):
    points.member(external_id="same")
    assert_error(points.post("/v1/members", {"external_id": "same"}), 409, "external_id_taken")
    other_points.member(external_id="same")


def test_bad_member_fields_are_422_naming_the_field(points):
    for body, param in [
        ({}, "external_id"),
        ({"external_id": ""}, "external_id"),
        ({"external_id": 7}, "external_id"),
        ({"external_id": "x", "email": "not-an-email"}, "email"),
        ({"external_id": "x", "birthday": "1990-13-01"}, "birthday"),
    ]:
        assert assert_error(points.post("/v1/members", body), 422)["param"] == param
    assert_error(points.post("/v1/members", {"external_id": "x", "colour": "red"}), 400)


def test_get_a_member(points):
    member = points.member()
    response = points.get(f"/v1/members/{member['id']}")
    assert response.status_code == 200 and response.get_json() == member


def test_another_tenants_member_is_404_everywhere(points, other_points):
    foreign = other_points.member()["id"]
    assert_error(points.get(f"/v1/members/{foreign}"), 404, "resource_missing")
    assert_error(points.get("/v1/members/mem_unknown"), 404, "resource_missing")
    for action in ("freeze", "unfreeze", "tokens"):
        assert_error(points.post(f"/v1/members/{foreign}/{action}", {}), 404)
    assert points.get("/v1/members", external_id=foreign).get_json()["data"] == []


def test_list_members_newest_first_with_filters_and_cursor(points, other_points):
    made = [points.member() for _ in range(3)]
    other_points.member(card_number=made[0]["card_number"])
    listed = points.get("/v1/members", limit=2).get_json()
    assert listed["object"] == "list" and listed["has_more"] is True
    assert [m["id"] for m in listed["data"]] == [made[2]["id"], made[1]["id"]]
    rest = points.get("/v1/members", limit=2, starting_after=made[1]["id"]).get_json()
    assert [m["id"] for m in rest["data"]] == [made[0]["id"]] and rest["has_more"] is False
    by_external = points.get("/v1/members", external_id=made[1]["external_id"]).get_json()
    assert [m["id"] for m in by_external["data"]] == [made[1]["id"]]
    by_card = points.get("/v1/members", card_number=made[0]["card_number"]).get_json()
    assert [m["id"] for m in by_card["data"]] == [made[0]["id"]]
    assert_error(points.get("/v1/members", starting_after="mem_nope"), 404)
    assert_error(points.get("/v1/members", limit=0), 422)


def test_freeze_and_unfreeze(points):
    member = points.member()
    frozen = points.post(f"/v1/members/{member['id']}/freeze")
    assert frozen.status_code == 200 and frozen.get_json()["status"] == "frozen"
    assert points.post(f"/v1/members/{member['id']}/freeze").get_json()["status"] == "frozen"
    thawed = points.post(f"/v1/members/{member['id']}/unfreeze")
    assert thawed.get_json()["status"] == "active"


def test_scopes_guard_reads_and_writes(api, client, tenant):
    reader = api.token(tenant.client_id, tenant.client_secret, scope="points:read")
    headers = {"Authorization": f"Bearer {reader}"}
    assert client.get("/v1/members", headers=headers).status_code == 200
    response = client.post("/v1/members", json={"external_id": "x"}, headers=headers)
    assert_error(response, 403, "missing_scope")
    writer = api.token(tenant.client_id, tenant.client_secret, scope="points:write")
    response = client.get("/v1/members", headers={"Authorization": f"Bearer {writer}"})
    assert_error(response, 403, "missing_scope")
    assert_error(client.get("/v1/members"), 401, "unauthenticated")


def test_the_platform_operator_has_no_members(api, client):
    token = api.platform_token()
    response = client.get("/v1/members", headers={"Authorization": f"Bearer {token}"})
    assert_error(response, 403)
