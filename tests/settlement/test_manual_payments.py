"""Two people for a manual settlement payment above the platform's threshold: marking such
a line paid only records it (202, the line stays pending) until a platform staff user
other than who marked it confirms it; at or below the threshold the line is paid at once.
The database refuses a self-confirmation and a second live payment for one line."""

from __future__ import annotations

import pytest
from factories import assert_error, unique
from settlement_support import BATCHES
from sqlalchemy.exc import IntegrityError

from jifen.platform import clock
from jifen.platform.auth.model import PlatformRole, Role, StaffUser
from jifen.platform.auth.services import grant_role, new_staff_user
from jifen.platform.config import Config
from jifen.platform.db import unit_of_work
from jifen.platform.errors import JifenError
from jifen.settlement import manual
from jifen.settlement.model import ManualPayment


def staff(platform_role: PlatformRole | None = PlatformRole.FINANCE, tenant_id=None) -> str:
    """A staff user: platform finance by default; with a tenant role only, not platform."""
    with unit_of_work(platform=True) as uow:
        user = new_staff_user(
            uow.session,
            email=f"{unique('fin-')}@example.test",
            password="long enough",
            platform_role=platform_role,
        )
        if tenant_id is not None:
            grant_role(uow.session, tenant_id=tenant_id, user_id=user.id, role=Role.FINANCE)
        uow.commit()
        return user.id


@pytest.fixture
def paying(settlement):
    """A batch being paid by hand, whose lines include A's collection and B's payout."""
    a, b = settlement.tenant("0.8"), settlement.tenant("1.5")
    settlement.swap(settlement.card(a), a, b, 1000)
    batch = settlement.closed()
    assert settlement.approve(batch["id"]).status_code == 200
    assert settlement.pay(batch["id"]).status_code == 200
    return batch, a, b


def mark(settlement, batch_id: str, tenant_id: str, reference: str = "BANK-1", **headers):
    return settlement.client.post(
        f"{BATCHES}/{batch_id}/instructions/{tenant_id}/mark_paid",
        json={"reference": reference},
        headers={**settlement.approver.auth, **headers},
    )


def refusal(payment_id: str, actor: str) -> JifenError:
    with pytest.raises(JifenError) as refused:
        manual.confirm_payment(payment_id, actor)
    return refused.value


def test_at_or_below_the_threshold_a_line_is_paid_at_once(settlement, paying, app_config):
    batch, a, _b = paying
    line = settlement.instructions(batch["id"])[a.id]
    app_config(manual_payment_approval_threshold=line["amount"])
    marked = mark(settlement, batch["id"], a.id)
    assert marked.status_code == 200, marked.get_json()
    body = marked.get_json()
    assert (body["object"], body["status"], body["reference"]) == (
        "payment_instruction",
        "paid",
        "BANK-1",
    )
    assert manual.list_payments(batch["id"]) == []


def test_above_it_the_line_waits_until_a_second_person_confirms(settlement, paying, app_config):
    batch, a, b = paying
    app_config(manual_payment_approval_threshold=0)
    lines = settlement.instructions(batch["id"])
    marked = mark(settlement, batch["id"], a.id)
    assert marked.status_code == 202, marked.get_json()
    waiting = marked.get_json()
    assert waiting["object"] == "manual_payment" and waiting["id"].startswith("smp_")
    assert (waiting["status"], waiting["tenant"], waiting["batch"]) == (
        "pending_confirmation",
        a.id,
        batch["id"],
    )
    assert (waiting["amount"], waiting["reference"], waiting["approval_threshold"]) == (
        lines[a.id]["amount"],
        "BANK-1",
        0,
    )
    assert waiting["confirmed_by"] is None and waiting["requested_by"].startswith("cli_")
    assert settlement.instructions(batch["id"])[a.id]["status"] == "pending"
    assert settlement.get(batch["id"])["status"] == "paying"

    again = mark(settlement, batch["id"], a.id)
    assert again.status_code == 202 and again.get_json()["id"] == waiting["id"]
    assert_error(mark(settlement, batch["id"], a.id, "BANK-2"), 409, "confirmation_pending")

    for who in (settlement.approver, settlement.closer):  # no API client confirms
        refused = settlement.client.post(
            f"/v1/settlement/manual_payments/{waiting['id']}/confirm", headers=who.auth
        )
        assert_error(refused, 403, "approval_requires_staff")
    assert settlement.instructions(batch["id"])[a.id]["status"] == "pending"

    confirmed = manual.confirm_payment(waiting["id"], staff())
    assert confirmed.status == "confirmed" and confirmed.decided_at is not None
    line = settlement.instructions(batch["id"])[a.id]
    assert (line["status"], line["reference"]) == ("paid", "BANK-1")
    assert refusal(waiting["id"], staff()).code == "invalid_state"
    read = settlement.client.get(
        f"/v1/settlement/manual_payments/{waiting['id']}", headers=settlement.closer.auth
    ).get_json()
    assert read["status"] == "confirmed" and read["confirmed_by"] == confirmed.confirmed_by

    for tenant_id, other in lines.items():
        if tenant_id != a.id and other["status"] != "paid":
            assert mark(settlement, batch["id"], tenant_id).status_code == 202
    for pending in manual.list_payments(batch["id"]):
        if pending.status == "pending_confirmation":
            manual.confirm_payment(pending.id, staff())
    assert settlement.get(batch["id"])["status"] == "paid"
    listed = settlement.client.get(
        f"{BATCHES}/{batch['id']}/manual_payments", headers=settlement.closer.auth
    ).get_json()["data"]
    assert {p["tenant"] for p in listed} >= {a.id, b.id}
    assert {p["status"] for p in listed} == {"confirmed"}


def test_the_person_who_marked_it_cannot_confirm_it(settlement, paying, app_config):
    batch, a, _b = paying
    app_config(manual_payment_approval_threshold=0)
    marker = staff()
    waiting = manual.mark_paid(batch["id"], a.id, marker, "BANK-SELF")
    assert isinstance(waiting, ManualPayment) and waiting.requested_by == marker
    refused = refusal(waiting.id, marker)
    assert (refused.status, refused.code) == (403, "self_approval")
    assert settlement.instructions(batch["id"])[a.id]["status"] == "pending"
    assert manual.confirm_payment(waiting.id, staff(PlatformRole.OPERATOR)).status == "confirmed"
    assert settlement.instructions(batch["id"])[a.id]["status"] == "paid"


def test_only_live_platform_staff_confirm(settlement, paying, app_config):
    batch, a, _b = paying
    app_config(manual_payment_approval_threshold=0)
    waiting = mark(settlement, batch["id"], a.id).get_json()
    tenant_staff = staff(None, tenant_id=a.id)
    disabled = staff()
    with unit_of_work(platform=True) as uow:
        uow.session.get(StaffUser, disabled).disabled_at = clock.now()
        uow.commit()
    for actor in (tenant_staff, disabled, "usr_nosuchperson", waiting["requested_by"]):
        refused = refusal(waiting["id"], actor)
        assert (refused.status, refused.code) == (403, "approval_requires_staff"), actor
    assert settlement.instructions(batch["id"])[a.id]["status"] == "pending"


def test_a_rejected_payment_leaves_the_line_unpaid_to_be_marked_again(
    settlement, paying, app_config
):
    batch, a, _b = paying
    app_config(manual_payment_approval_threshold=0)
    waiting = mark(settlement, batch["id"], a.id, "BANK-TYPO").get_json()
    rejected = settlement.client.post(
        f"/v1/settlement/manual_payments/{waiting['id']}/reject", headers=settlement.closer.auth
    )
    assert rejected.status_code == 200, rejected.get_json()
    assert rejected.get_json()["status"] == "rejected"
    assert rejected.get_json()["rejected_by"].startswith("cli_")
    assert settlement.instructions(batch["id"])[a.id]["status"] == "pending"
    assert refusal(waiting["id"], staff()).code == "invalid_state"
    fixed = mark(settlement, batch["id"], a.id, "BANK-RIGHT")
    assert fixed.status_code == 202 and fixed.get_json()["id"] != waiting["id"]
    manual.confirm_payment(fixed.get_json()["id"], staff())
    line = settlement.instructions(batch["id"])[a.id]
    assert (line["status"], line["reference"]) == ("paid", "BANK-RIGHT")


def test_an_idempotency_key_replays_the_202(settlement, paying, app_config):
    batch, a, _b = paying
    app_config(manual_payment_approval_threshold=0)
    key = {"Idempotency-Key": unique("mark-")}
    first = mark(settlement, batch["id"], a.id, **key)
    second = mark(settlement, batch["id"], a.id, **key)
    assert first.status_code == second.status_code == 202
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert first.get_json() == second.get_json()
    assert len(manual.list_payments(batch["id"])) == 1


def test_the_database_refuses_a_self_confirmation_and_a_second_live_payment(
    settlement, paying, app_config
):
    batch, a, b = paying
    app_config(manual_payment_approval_threshold=0)
    marker, other = staff(), staff()
    waiting = manual.mark_paid(batch["id"], a.id, marker, "BANK-DB")
    line_b = settlement.instructions(batch["id"])[b.id]

    def confirmed_row(confirmed_by: str) -> ManualPayment:
        """B's line (no live payment yet) confirmed, as a direct insert would write it."""
        return ManualPayment(
            tenant_id=b.id,
            batch_id=batch["id"],
            instruction_id=line_b["id"],
            amount=line_b["amount"],
            currency=line_b["currency"],
            reference="BANK-DB",
            status="confirmed",
            approval_threshold=0,
            requested_by=marker,
            confirmed_by=confirmed_by,
            decided_at=waiting.created,
        )

    with unit_of_work(platform=True) as uow:  # the same row by two people is accepted
        uow.session.add(confirmed_row(other))
        uow.session.flush()
        uow.rollback()
    with unit_of_work(platform=True) as uow, pytest.raises(IntegrityError) as refused:
        uow.session.add(confirmed_row(marker))
        uow.session.flush()
    assert "manual_payment_four_eyes" in str(refused.value)
    with unit_of_work(platform=True) as uow, pytest.raises(IntegrityError) as refused:
        found = uow.session.get(ManualPayment, waiting.id)
        found.status, found.confirmed_by, found.decided_at = "confirmed", marker, found.created
        uow.session.flush()
    assert "manual_payment_four_eyes" in str(refused.value)
    with unit_of_work(platform=True) as uow, pytest.raises(IntegrityError):
        uow.session.add(  # a second live payment for A's line
            ManualPayment(
                tenant_id=a.id,
                batch_id=batch["id"],
                instruction_id=waiting.instruction_id,
                amount=waiting.amount,
                currency=waiting.currency,
                reference="BANK-AGAIN",
                status="pending_confirmation",
                approval_threshold=0,
                requested_by=other,
            )
        )
        uow.session.flush()
    assert manual.get_payment(waiting.id).status == "pending_confirmation"
    assert len(manual.list_payments(batch["id"])) == 1
    assert settlement.instructions(batch["id"])[a.id]["status"] == "pending"


def test_the_threshold_comes_from_the_environment(monkeypatch):
    assert Config().manual_payment_approval_threshold == 1_000_000
    monkeypatch.setenv("JIFEN_MANUAL_PAYMENT_APPROVAL_THRESHOLD", "250000")
    monkeypatch.setenv("JIFEN_SECRET_KEY", "x" * 32)
    assert Config.from_env().manual_payment_approval_threshold == 250_000
