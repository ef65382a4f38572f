"""Manual adjustments: the threshold rule, the four-eyes decision rule, and the API end to
end — posting at once or waiting, approval by a staff user other than the requester only
(never by an API client), rejection, deciding twice, bad input changing nothing, and two
approvers racing. The audit stays clean after every test."""

from __future__ import annotations

import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from factories import assert_error, in_app_context

from jifen.platform.auth.services import create_tenant_client
from jifen.platform.errors import Conflict, Forbidden, JifenError, Unprocessable
from jifen.tenants.members import adjustments
from jifen.tenants.members.model import Adjustment
from jifen.tenants.program.rules import parse_program, program_document

sys.path.append(str(Path(__file__).parent))
from staff_support import staff_of  # noqa: E402


@pytest.fixture(autouse=True)
def _audit_what_touches_the_ledger(request):
    """Every test that uses the database ends with the ledger's invariants checked."""
    if "points" in request.fixturenames:
        request.getfixturevalue("audited")


# --- the rules, by hand --------------------------------------------------------------

# (amount, threshold, waits): more than the threshold either way waits; at it posts.
THRESHOLD_CASES = [
    (1, 10_000, False),
    (10_000, 10_000, False),
    (10_001, 10_000, True),
    (-10_000, 10_000, False),
    (-10_001, 10_000, True),
    (1, 0, True),
    (-1, 0, True),
    (99, 100, False),
    (-(2**53) + 1, 10**9, True),
]


@pytest.mark.parametrize(("amount", "threshold", "waits"), THRESHOLD_CASES)
def test_more_than_the_threshold_either_way_waits_for_approval(amount, threshold, waits):
    assert adjustments.needs_approval(amount, threshold) is waits


# (status, requested_by, actor, approve, refusal code or None)
DECISION_CASES = [
    ("pending_approval", "usr_a", "usr_b", True, None),
    ("pending_approval", "cli_a", "usr_b", True, None),  # a client asks, a person approves
    ("pending_approval", "usr_a", "usr_a", True, "self_approval"),
    # An API client never approves: not another client, not its own, not a user's request.
    ("pending_approval", "cli_a", "cli_b", True, "approval_requires_staff"),
    ("pending_approval", "cli_a", "cli_a", True, "approval_requires_staff"),
    ("pending_approval", "usr_a", "cli_a", True, "approval_requires_staff"),
    ("pending_approval", "usr_a", "usr_", True, "approval_requires_staff"),
    ("pending_approval", "usr_a", "", True, "approval_requires_staff"),
    ("pending_approval", "usr_a", "usr_a", False, None),  # withdrawing one's own
    ("pending_approval", "usr_a", "cli_a", False, None),  # a client may reject
    ("pending_approval", "cli_a", "cli_a", False, None),
    ("posted", "usr_a", "usr_b", True, "invalid_state"),
    ("posted", "usr_a", "usr_a", True, "invalid_state"),
    ("posted", "usr_a", "cli_b", True, "approval_requires_staff"),
    ("rejected", "usr_a", "usr_b", True, "invalid_state"),
    ("rejected", "cli_a", "cli_b", False, "invalid_state"),
    ("posted", "cli_a", "cli_b", False, "invalid_state"),
]


@pytest.mark.parametrize(("status", "requested_by", "actor", "approve", "code"), DECISION_CASES)
def test_who_may_decide_what(status, requested_by, actor, approve, code):
    adjustment = Adjustment(status=status, requested_by=requested_by, points=5, reason="x")
    if code is None:
        adjustments.check_decision(adjustment, actor, approve=approve)
        return
    with pytest.raises((Conflict, Forbidden)) as refused:
        adjustments.check_decision(adjustment, actor, approve=approve)
    assert refused.value.code == code
    assert refused.value.status == (409 if code == "invalid_state" else 403)


@pytest.mark.parametrize("amount", [0, True, 1.5, "10", None, 2**53, -(2**53)])
def test_points_must_be_signed_whole_and_not_zero(amount):
    with pytest.raises(Unprocessable) as refused:
        adjustments.check_points(amount)
    assert refused.value.param == "points"


@pytest.mark.parametrize("reason", ["", "   ", None, 5, "x" * 501])
def test_a_reason_is_required_and_bounded(reason):
    with pytest.raises(Unprocessable):
        adjustments.check_reason(reason)


def test_the_program_carries_the_threshold_with_a_default():
    assert parse_program({}).adjustments.approval_threshold == 10_000
    program = parse_program({"adjustments": {"approval_threshold": 0}})
    assert program_document(program)["adjustments"] == {"approval_threshold": 0}


@pytest.mark.parametrize(
    ("section", "param"),
    [
        ({"approval_threshold": -1}, "adjustments.approval_threshold"),
        ({"approval_threshold": "5"}, "adjustments.approval_threshold"),
        ({"approval_threshold": 10**9 + 1}, "adjustments.approval_threshold"),
        ({}, "adjustments.approval_threshold"),
        ({"approval_threshold": 5, "two": 1}, "adjustments.two"),
        ([], "adjustments"),
    ],
)
def test_a_bad_threshold_is_refused_naming_the_field(section, param):
    with pytest.raises(Unprocessable) as refused:
        parse_program({"adjustments": section})
    assert refused.value.param == param


# --- over HTTP ---------------------------------------------------------------------------


STAFF = "second"  # a staff user other than the requester: the second pair of eyes


@pytest.fixture
def second_client(api, tenant) -> dict:
    """A second API client of the same tenant: still not a second pair of eyes."""
    issued = create_tenant_client(tenant.id, "second", ["points:read", "points:write"])
    token = api.token(issued.client_id, issued.client_secret)
    return {"Authorization": f"Bearer {token}"}


def staff_approves(tenant, adjustment_id: str, name: str = STAFF) -> Adjustment:
    """Approve as the tenant's staff user ``name``, as the console does."""
    return adjustments.approve_adjustment(tenant.id, adjustment_id, staff_of(tenant.id, name))


def refused_approval(tenant, adjustment_id: str, name: str = STAFF) -> JifenError:
    with pytest.raises(JifenError) as refused:
        staff_approves(tenant, adjustment_id, name)
    return refused.value


def set_threshold(points, value: int) -> None:
    response = points.client.put(
        "/v1/program",
        json={"adjustments": {"approval_threshold": value}},
        headers=points.tenant.auth,
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["adjustments"] == {"approval_threshold": value}


def adjust(points, member_id: str, amount, reason="goodwill", **headers):
    return points.post(
        "/v1/adjustments", {"member_id": member_id, "points": amount, "reason": reason}, **headers
    )


def created(response) -> dict:
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def transactions_of(points, member_id: str, adjustment_id: str) -> list[dict]:
    listed = points.get(f"/v1/members/{member_id}/transactions", limit=100).get_json()["data"]
    return [t for t in listed if t["reference"] == adjustment_id]


def adjustments_of(points, member_id: str) -> list[dict]:
    return points.get("/v1/adjustments", member_id=member_id, limit=100).get_json()["data"]


def test_the_program_shows_the_default_threshold(points):
    assert points.get("/v1/program").get_json()["adjustments"] == {"approval_threshold": 10_000}


def test_at_or_below_the_threshold_an_adjustment_posts_at_once(points, tenant):
    member = points.funded_member(100)
    credit = created(adjust(points, member["id"], 10_000, "goodwill"))
    assert credit["object"] == "adjustment" and credit["id"].startswith("adj_")
    assert (credit["status"], credit["points"], credit["member"]) == (
        "posted",
        10_000,
        member["id"],
    )
    assert credit["requested_by"] == tenant.client_id and credit["approved_by"] is None
    assert credit["decided_at"] and credit["approval_threshold"] == 10_000
    debit = created(adjust(points, member["id"], -30, "typo"))
    assert debit["status"] == "posted"
    assert points.balance(member["id"])["points"] == 100 + 10_000 - 30
    [posted] = transactions_of(points, member["id"], credit["id"])
    assert posted["id"] == credit["transaction"] and posted["kind"] == "adjust"
    assert posted["points"] == 10_000
    assert posted["metadata"]["adjustment"] == credit["id"]
    assert posted["metadata"]["reason"] == "goodwill"
    assert posted["metadata"]["requested_by"] == tenant.client_id
    [taken] = transactions_of(points, member["id"], debit["id"])
    assert taken["points"] == -30 and taken["metadata"]["reason"] == "typo"


def test_an_api_client_cannot_approve_not_even_with_a_second_client(points, tenant, second_client):
    member = points.funded_member(50)
    set_threshold(points, 100)
    pending = created(adjust(points, member["id"], 150))
    assert pending["status"] == "pending_approval" and pending["transaction"] is None
    assert points.balance(member["id"])["points"] == 50
    for headers in (tenant.auth, second_client):
        refused = points.client.post(f"/v1/adjustments/{pending['id']}/approve", headers=headers)
        assert_error(refused, 403, "approval_requires_staff")
    unchanged = points.get(f"/v1/adjustments/{pending['id']}").get_json()
    assert unchanged == pending
    assert points.balance(member["id"])["points"] == 50
    assert transactions_of(points, member["id"], pending["id"]) == []
    assert points.get("/v1/events", type="adjustment.posted").get_json()["data"] == []


def test_a_staff_user_approves_a_client_request_once(points, tenant):
    member = points.funded_member(50)
    set_threshold(points, 100)
    pending = created(adjust(points, member["id"], 150))
    approved = staff_approves(tenant, pending["id"])
    assert approved.status == "posted" and approved.transaction_id
    body = points.get(f"/v1/adjustments/{pending['id']}").get_json()
    assert body["status"] == "posted" and body["transaction"] == approved.transaction_id
    assert (body["requested_by"], body["approved_by"]) == (tenant.client_id, staff_of(tenant.id))
    assert points.balance(member["id"])["points"] == 200
    assert refused_approval(tenant, pending["id"], "another").code == "invalid_state"
    rejected_late = points.post(f"/v1/adjustments/{pending['id']}/reject", {})
    assert_error(rejected_late, 409, "invalid_state")
    assert points.balance(member["id"])["points"] == 200
    [posted] = transactions_of(points, member["id"], pending["id"])
    assert posted["metadata"]["approved_by"] == staff_of(tenant.id)
    assert posted["metadata"]["requested_by"] == tenant.client_id


def test_a_staff_user_cannot_approve_their_own_request(points, tenant):
    member = points.funded_member(50)
    set_threshold(points, 100)
    pending = adjustments.request_adjustment(
        tenant.id,
        member_id=member["id"],
        points=150,
        reason="big",
        actor=staff_of(tenant.id, "requester"),
    )
    assert pending.status == "pending_approval"
    refused = refused_approval(tenant, pending.id, "requester")
    assert (refused.status, refused.code) == (403, "self_approval")
    assert points.get(f"/v1/adjustments/{pending.id}").get_json()["status"] == "pending_approval"
    assert points.balance(member["id"])["points"] == 50
    assert staff_approves(tenant, pending.id).approved_by == staff_of(tenant.id)
    assert points.balance(member["id"])["points"] == 200


def test_a_rejected_adjustment_records_who_and_why_and_posts_nothing(points, tenant, second_client):
    member = points.funded_member(500)
    set_threshold(points, 100)
    pending = created(adjust(points, member["id"], -200, "suspected fraud"))
    rejected = points.client.post(
        f"/v1/adjustments/{pending['id']}/reject",
        json={"reason": "the order was genuine"},
        headers=second_client,
    )
    assert rejected.status_code == 200, rejected.get_json()
    body = rejected.get_json()
    assert body["status"] == "rejected" and body["decided_at"]
    assert body["rejected_by"] not in (None, tenant.client_id)
    assert body["rejection_reason"] == "the order was genuine"
    assert refused_approval(tenant, pending["id"]).code == "invalid_state"
    assert_error(points.post(f"/v1/adjustments/{pending['id']}/reject", {}), 409, "invalid_state")
    assert points.balance(member["id"])["points"] == 500
    assert transactions_of(points, member["id"], pending["id"]) == []


def test_a_requester_may_withdraw_their_own_request(points):
    set_threshold(points, 0)
    member = points.member()
    pending = created(adjust(points, member["id"], 1))
    withdrawn = points.post(f"/v1/adjustments/{pending['id']}/reject")
    assert withdrawn.status_code == 200, withdrawn.get_json()
    assert withdrawn.get_json()["status"] == "rejected"
    assert points.balance(member["id"])["points"] == 0


def test_a_debit_beyond_the_balance_changes_nothing(points, tenant):
    member = points.funded_member(100)
    assert_error(adjust(points, member["id"], -101), 422, "insufficient_points")
    set_threshold(points, 10)
    assert_error(adjust(points, member["id"], -101), 422, "insufficient_points")
    assert adjustments_of(points, member["id"]) == []
    pending = created(adjust(points, member["id"], -80))
    assert (
        points.post("/v1/redemptions", {"member_id": member["id"], "points": 50}).status_code == 201
    )
    refused = refused_approval(tenant, pending["id"])
    assert (refused.status, refused.code) == (422, "insufficient_points")
    assert points.get(f"/v1/adjustments/{pending['id']}").get_json()["status"] == "pending_approval"
    assert points.balance(member["id"])["points"] == 50


def test_a_frozen_member_cannot_be_adjusted(points, tenant):
    member = points.funded_member(100)
    set_threshold(points, 10)
    pending = created(adjust(points, member["id"], 20))
    assert points.post(f"/v1/members/{member['id']}/freeze").status_code == 200
    assert_error(adjust(points, member["id"], 5), 422, "member_frozen")
    refused = refused_approval(tenant, pending["id"])
    assert (refused.status, refused.code) == (422, "member_frozen")
    assert points.get(f"/v1/adjustments/{pending['id']}").get_json()["status"] == "pending_approval"
    assert points.balance(member["id"])["points"] == 100
    assert len(adjustments_of(points, member["id"])) == 1


BAD_BODIES = [
    ({"points": 0}, 422, "points"),
    ({"points": 1.5}, 422, "points"),
    ({"points": "10"}, 422, "points"),
    ({"points": True}, 422, "points"),
    ({"points": 2**53}, 422, "points"),
    ({"points": -(2**53)}, 422, "points"),
    ({"points": None}, 422, "points"),
    ({"reason": None}, 422, "reason"),
    ({"reason": ""}, 422, "reason"),
    ({"reason": "   "}, 422, "reason"),
    ({"reason": "x" * 501}, 422, "reason"),
    ({"member_id": "mem_doesnotexist"}, 404, "member_id"),
    ({"member_id": "../etc"}, 404, "member_id"),
    ({"surprise": 1}, 400, "surprise"),
]


@pytest.mark.parametrize(("change", "status", "param"), BAD_BODIES)
def test_bad_input_is_refused_and_changes_nothing(points, change, status, param):
    member = points.funded_member(100)
    body = {"member_id": member["id"], "points": 5, "reason": "test", **change}
    body = {key: value for key, value in body.items() if value is not None}
    error = assert_error(points.post("/v1/adjustments", body), status)
    assert error["param"] == param
    assert points.balance(member["id"])["points"] == 100
    assert adjustments_of(points, member["id"]) == []


def test_another_tenants_members_and_adjustments_are_not_found(points, other_points):
    theirs = other_points.funded_member(100)
    assert_error(adjust(points, theirs["id"], 5), 404)
    their_adjustment = created(adjust(other_points, theirs["id"], 5))
    for response in (
        points.get(f"/v1/adjustments/{their_adjustment['id']}"),
        points.post(f"/v1/adjustments/{their_adjustment['id']}/approve"),
        points.post(f"/v1/adjustments/{their_adjustment['id']}/reject"),
    ):
        assert_error(response, 404)
    assert points.get("/v1/adjustments", member_id=theirs["id"]).get_json()["data"] == []
    assert other_points.balance(theirs["id"])["points"] == 105


def test_the_audit_trail_lists_newest_first_with_cursor_and_filters(points, tenant):
    member, bystander = points.funded_member(100), points.funded_member(100)
    set_threshold(points, 10)
    made = [created(adjust(points, member["id"], amount)) for amount in (1, 20, -2, 30)]
    created(adjust(points, bystander["id"], 3))
    staff_approves(tenant, made[1]["id"])
    first = points.get("/v1/adjustments", member_id=member["id"], limit=3).get_json()
    assert first["object"] == "list" and first["has_more"] is True
    rest = points.get(
        "/v1/adjustments", member_id=member["id"], limit=3, starting_after=first["data"][-1]["id"]
    ).get_json()
    assert rest["has_more"] is False
    listed = [a["id"] for a in first["data"] + rest["data"]]
    assert listed == [a["id"] for a in reversed(made)]
    pending = points.get("/v1/adjustments", member_id=member["id"], status="pending_approval")
    assert [a["id"] for a in pending.get_json()["data"]] == [made[3]["id"]]
    assert_error(points.get("/v1/adjustments", status="maybe"), 422)
    assert_error(points.get("/v1/adjustments", starting_after="adj_missing"), 404)


def test_an_idempotency_key_replays_without_posting_twice(points):
    member = points.member()
    key = {"Idempotency-Key": "adjust-once"}
    first = adjust(points, member["id"], 40, **key)
    second = adjust(points, member["id"], 40, **key)
    assert first.status_code == second.status_code == 201
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert first.get_json() == second.get_json()
    assert points.balance(member["id"])["points"] == 40
    assert len(adjustments_of(points, member["id"])) == 1


def test_adjustments_are_webhook_events(points, tenant):
    set_threshold(points, 10)
    member = points.member()
    pending = created(adjust(points, member["id"], 11))
    staff_approves(tenant, pending["id"])
    for type in ("adjustment.requested", "adjustment.posted"):
        events = points.get("/v1/events", type=type).get_json()["data"]
        assert [e["data"]["adjustment"] for e in events] == [pending["id"]], type


def test_points_read_alone_cannot_adjust(api, points, tenant):
    issued = create_tenant_client(tenant.id, "reader", ["points:read"])
    reader = {"Authorization": f"Bearer {api.token(issued.client_id, issued.client_secret)}"}
    member = points.member()
    refused = points.client.post(
        "/v1/adjustments",
        json={"member_id": member["id"], "points": 5, "reason": "x"},
        headers=reader,
    )
    assert_error(refused, 403)
    listed = points.client.get("/v1/adjustments", headers=reader)
    assert listed.status_code == 200


# --- two approvers at once ---------------------------------------------------------------


@pytest.mark.parametrize("racers", [2, 8])
def test_approvers_racing_post_the_adjustment_exactly_once(points, tenant, racers):
    """Distinct staff users approving at once: on PostgreSQL the adjustment's row lock
    decides; on SQLite ``BEGIN IMMEDIATE``."""
    member = points.funded_member(100)
    set_threshold(points, 10)
    pending = created(adjust(points, member["id"], 500))
    approvers = [staff_of(tenant.id, f"approver{index}") for index in range(racers)]
    barrier = threading.Barrier(racers)

    def approve(index: int) -> str:
        barrier.wait()
        try:
            adjustments.approve_adjustment(tenant.id, pending["id"], approvers[index])
            return approvers[index]
        except JifenError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=racers) as pool:
        outcome = Counter(pool.map(in_app_context(approve), range(racers)))
    [winner] = [actor for actor in outcome if actor.startswith("usr_")]
    assert outcome == Counter({winner: 1, "invalid_state": racers - 1})
    body = points.get(f"/v1/adjustments/{pending['id']}").get_json()
    assert body["status"] == "posted" and body["approved_by"] == winner
    assert points.balance(member["id"])["points"] == 600
    assert len(transactions_of(points, member["id"], pending["id"])) == 1
