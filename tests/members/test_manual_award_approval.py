"""Two people for every manual creation of points: a manual award above the program's
approval threshold posts nothing and answers 202 with a pending adjustment, which only a
staff user of the tenant other than the requester approves (then it posts, once); at or
below the threshold it posts at once as before. The audit stays clean after every test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from factories import assert_error

from jifen.platform.auth.model import StaffRole
from jifen.platform.db import unit_of_work
from jifen.platform.errors import JifenError
from jifen.tenants.members import adjustments, awards

sys.path.append(str(Path(__file__).parent))
from staff_support import staff_of  # noqa: E402

pytestmark = pytest.mark.usefixtures("audited")


def award(points, member_id: str, amount: int, reason: str = "goodwill", **headers):
    body = {"member_id": member_id, "event": "manual", "points": amount, "reason": reason}
    return points.post("/v1/awards", body, **headers)


def history(points, member_id: str) -> list[dict]:
    return points.get(f"/v1/members/{member_id}/transactions", limit=100).get_json()["data"]


def pending_award(points, member_id: str, amount: int = 10_001) -> dict:
    response = award(points, member_id, amount)
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def refusal(tenant_id: str, adjustment_id: str, actor: str) -> JifenError:
    with pytest.raises(JifenError) as refused:
        adjustments.approve_adjustment(tenant_id, adjustment_id, actor)
    return refused.value


@pytest.mark.parametrize("amount", [1, 9_999, 10_000])
def test_at_or_below_the_threshold_a_manual_award_posts_at_once(points, amount):
    member = points.member()
    response = award(points, member["id"], amount)
    assert response.status_code == 201, response.get_json()
    posted = response.get_json()
    assert (posted["object"], posted["kind"], posted["points"]) == ("transaction", "award", amount)
    assert posted["metadata"]["event"] == "manual" and posted["metadata"]["reason"] == "goodwill"
    assert points.balance(member["id"])["points"] == amount
    assert points.get("/v1/adjustments", member_id=member["id"]).get_json()["data"] == []


def test_above_the_threshold_it_waits_as_an_adjustment_and_posts_nothing(points, tenant):
    member = points.funded_member(100)
    pending = pending_award(points, member["id"], 5_000_000)
    assert pending["object"] == "adjustment" and pending["id"].startswith("adj_")
    assert (pending["status"], pending["points"], pending["member"]) == (
        "pending_approval",
        5_000_000,
        member["id"],
    )
    assert pending["transaction"] is None and pending["approved_by"] is None
    assert (pending["requested_by"], pending["approval_threshold"]) == (tenant.client_id, 10_000)
    assert pending["reason"] == "goodwill"
    assert points.balance(member["id"])["points"] == 100
    assert [t["points"] for t in history(points, member["id"])] == [100]
    assert points.get(f"/v1/adjustments/{pending['id']}").get_json() == pending
    requested = points.get("/v1/events", type="adjustment.requested").get_json()["data"]
    assert [e["data"]["adjustment"] for e in requested] == [pending["id"]]
    earned = points.get("/v1/events", type="points.earned").get_json()["data"]
    assert [e["data"]["points"] for e in earned] == [100]


def test_the_threshold_is_the_programs(points):
    response = points.client.put(
        "/v1/program",
        json={"adjustments": {"approval_threshold": 50}},
        headers=points.tenant.auth,
    )
    assert response.status_code == 200, response.get_json()
    member = points.member()
    assert award(points, member["id"], 50).status_code == 201
    assert pending_award(points, member["id"], 51)["approval_threshold"] == 50
    assert points.balance(member["id"])["points"] == 50


def test_a_second_staff_user_approves_and_it_posts_exactly_once(points, tenant):
    member = points.member()
    pending = pending_award(points, member["id"])
    approved = adjustments.approve_adjustment(tenant.id, pending["id"], staff_of(tenant.id))
    assert approved.status == "posted" and approved.approved_by == staff_of(tenant.id)
    assert points.balance(member["id"])["points"] == 10_001
    [posted] = history(points, member["id"])
    assert posted["id"] == approved.transaction_id and posted["kind"] == "adjust"
    assert posted["reference"] == pending["id"] and posted["points"] == 10_001
    assert posted["metadata"]["requested_by"] == tenant.client_id
    assert posted["metadata"]["approved_by"] == staff_of(tenant.id)
    again = refusal(tenant.id, pending["id"], staff_of(tenant.id, "third"))
    assert (again.status, again.code) == (409, "invalid_state")
    assert points.balance(member["id"])["points"] == 10_001
    assert len(history(points, member["id"])) == 1
    for type in ("adjustment.requested", "adjustment.posted"):
        events = points.get("/v1/events", type=type).get_json()["data"]
        assert [e["data"]["adjustment"] for e in events] == [pending["id"]], type


def test_no_api_client_approves_not_the_requester_nor_another(points, tenant, api):
    from jifen.platform.auth.services import create_tenant_client

    issued = create_tenant_client(tenant.id, "second", ["points:read", "points:write"])
    second = {"Authorization": f"Bearer {api.token(issued.client_id, issued.client_secret)}"}
    member = points.member()
    pending = pending_award(points, member["id"])
    for headers in (tenant.auth, second):
        refused = points.client.post(f"/v1/adjustments/{pending['id']}/approve", headers=headers)
        assert_error(refused, 403, "approval_requires_staff")
    assert refusal(tenant.id, pending["id"], tenant.client_id).code == "approval_requires_staff"
    assert points.get(f"/v1/adjustments/{pending['id']}").get_json() == pending
    assert points.balance(member["id"])["points"] == 0 and history(points, member["id"]) == []


def test_a_staff_user_cannot_approve_their_own_manual_award(points, tenant):
    member = points.member()
    requester = staff_of(tenant.id, "requester")
    pending = awards.award(
        tenant.id,
        member_id=member["id"],
        event="manual",
        points=20_000,
        reason="big",
        actor=requester,
    )
    assert pending.status == "pending_approval" and pending.requested_by == requester
    refused = refusal(tenant.id, pending.id, requester)
    assert (refused.status, refused.code) == (403, "self_approval")
    assert points.balance(member["id"])["points"] == 0
    adjustments.approve_adjustment(tenant.id, pending.id, staff_of(tenant.id))
    assert points.balance(member["id"])["points"] == 20_000


def test_only_a_live_staff_user_of_the_tenant_approves(points, other_points, tenant):
    member = points.member()
    pending = pending_award(points, member["id"])
    outsider = staff_of(other_points.tenant.id, "outsider")
    unknown = "usr_nosuchperson"
    disabled = staff_of(tenant.id, "disabled")
    with unit_of_work(platform=True) as uow:
        role = uow.session.query(StaffRole).filter_by(tenant_id=tenant.id, user_id=disabled).one()
        role.disabled_at = role.created
        uow.commit()
    for actor in (outsider, unknown, disabled):
        refused = refusal(tenant.id, pending["id"], actor)
        assert (refused.status, refused.code) == (403, "approval_requires_staff"), actor
    assert points.balance(member["id"])["points"] == 0
    assert points.get(f"/v1/adjustments/{pending['id']}").get_json()["status"] == (
        "pending_approval"
    )


def test_a_rejected_manual_award_posts_nothing(points):
    member = points.member()
    pending = pending_award(points, member["id"])
    rejected = points.post(f"/v1/adjustments/{pending['id']}/reject", {"reason": "no"})
    assert rejected.status_code == 200 and rejected.get_json()["status"] == "rejected"
    assert points.balance(member["id"])["points"] == 0 and history(points, member["id"]) == []


def test_an_idempotency_key_replays_the_202_without_a_second_adjustment(points):
    member = points.member()
    key = {"Idempotency-Key": "manual-award-once"}
    first = award(points, member["id"], 10_001, **key)
    second = award(points, member["id"], 10_001, **key)
    assert first.status_code == second.status_code == 202
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert first.get_json() == second.get_json()
    listed = points.get("/v1/adjustments", member_id=member["id"]).get_json()["data"]
    assert [a["id"] for a in listed] == [first.get_json()["id"]]
    small = {"Idempotency-Key": "manual-award-small"}
    posted = award(points, member["id"], 10, **small)
    replayed = award(points, member["id"], 10, **small)
    assert posted.status_code == replayed.status_code == 201
    assert posted.get_json() == replayed.get_json()
    assert points.balance(member["id"])["points"] == 10


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"points": 20_000, "reason": "   "}, "reason"),
        ({"points": 0, "reason": "x"}, "points"),
        ({"points": 20_000}, "reason"),
    ],
)
def test_bad_manual_awards_are_refused_and_change_nothing(points, body, param):
    member = points.member()
    refused = points.post("/v1/awards", {"member_id": member["id"], "event": "manual", **body})
    assert assert_error(refused, 422)["param"] == param
    assert points.get("/v1/adjustments", member_id=member["id"]).get_json()["data"] == []
    assert points.balance(member["id"])["points"] == 0


def test_a_frozen_member_gets_no_pending_award(points):
    member = points.member()
    assert points.post(f"/v1/members/{member['id']}/freeze").status_code == 200
    assert_error(award(points, member["id"], 20_000), 422, "member_frozen")
    assert points.get("/v1/adjustments", member_id=member["id"]).get_json()["data"] == []


def test_the_openapi_document_shows_both_answers(client):
    responses = client.get("/openapi.json").get_json()["paths"]["/v1/awards"]["post"]["responses"]
    assert {"201", "202"} <= set(responses)
