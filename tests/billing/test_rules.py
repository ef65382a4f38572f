"""Pure billing rules: the account state machine under an injected clock, plan
arithmetic, months, rate windows and the Stripe signature check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import stripe
from billing_support import stripe_signature

from jifen.platform import clock
from jifen.platform.billing import plans, ratelimit, usage
from jifen.platform.billing.limits import member_limit_reached, refusal_for_write
from jifen.platform.billing.states import (
    BillingState,
    Occurrence,
    Status,
    after_plan_change,
    apply_occurrence,
    end_grace,
)
from jifen.platform.billing.stripe_webhooks import (
    InvalidSignature,
    parse_event,
    verify_signature,
)

T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
GRACE = timedelta(days=7)


def step(state: BillingState, occurrence: Occurrence, at: datetime) -> BillingState:
    return apply_occurrence(state, occurrence, event_at=at, grace=GRACE)


def test_a_failed_payment_starts_a_grace_period_that_ends_read_only():
    state = step(BillingState(Status.ACTIVE), Occurrence.PAYMENT_FAILED, T0)
    assert state.status is Status.PAST_DUE
    assert state.grace_until == T0 + GRACE
    with clock.frozen_at(T0 + GRACE - timedelta(seconds=1)):
        assert end_grace(state, now=clock.now()).status is Status.PAST_DUE
    with clock.frozen_at(T0 + GRACE):
        assert end_grace(state, now=clock.now()).status is Status.READ_ONLY


def test_paying_reactivates_a_past_due_or_read_only_account():
    past_due = step(BillingState(Status.ACTIVE), Occurrence.PAYMENT_FAILED, T0)
    read_only = end_grace(past_due, now=T0 + GRACE)
    for state in (past_due, read_only):
        paid = step(state, Occurrence.INVOICE_PAID, T0 + GRACE + timedelta(hours=1))
        assert paid == BillingState(Status.ACTIVE, None, T0 + GRACE + timedelta(hours=1))


def test_a_repeated_failure_never_extends_the_grace_period():
    state = step(BillingState(Status.ACTIVE), Occurrence.PAYMENT_FAILED, T0)
    again = step(state, Occurrence.PAYMENT_FAILED, T0 + timedelta(days=3))
    assert again.status is Status.PAST_DUE
    assert again.grace_until == T0 + GRACE


def test_an_event_older_than_the_last_applied_one_changes_nothing():
    paid = step(BillingState(Status.ACTIVE), Occurrence.INVOICE_PAID, T0)
    late_failure = step(paid, Occurrence.PAYMENT_FAILED, T0 - timedelta(minutes=5))
    assert late_failure == paid


def test_a_deleted_subscription_cancels_and_a_late_invoice_does_not_revive_it():
    cancelled = step(BillingState(Status.ACTIVE), Occurrence.SUBSCRIPTION_DELETED, T0)
    assert cancelled.status is Status.CANCELLED
    assert not cancelled.allows_writes
    assert step(cancelled, Occurrence.INVOICE_PAID, T0 + timedelta(hours=1)) == cancelled


def test_choosing_a_plan_again_reopens_a_cancelled_account():
    cancelled = BillingState(Status.CANCELLED, None, T0)
    assert after_plan_change(cancelled, to_paid_plan=True).status is Status.ACTIVE
    read_only = BillingState(Status.READ_ONLY, T0, T0)
    assert after_plan_change(read_only, to_paid_plan=True) == read_only
    assert after_plan_change(read_only, to_paid_plan=False).status is Status.ACTIVE


def test_only_read_only_and_cancelled_accounts_refuse_writes():
    assert refusal_for_write(BillingState(Status.ACTIVE)) is None
    assert refusal_for_write(BillingState(Status.PAST_DUE, T0)) is None
    for status in (Status.READ_ONLY, Status.CANCELLED):
        error = refusal_for_write(BillingState(status))
        assert error.status == 403 and error.code == "account_read_only"


def test_plans_price_only_the_active_members_above_those_included():
    growth = plans.GROWTH
    assert growth.usage_amount(growth.included_active_members) == 0
    assert growth.billable_active_members(growth.included_active_members + 7) == 7
    assert growth.usage_amount(growth.included_active_members + 7) == 7 * 5
    assert plans.FREE.usage_amount(10**6) == 0
    assert plans.GROWTH.stripe_plan_id == "jifen_growth_cny_29900_month"


def test_member_limit_counts_the_member_about_to_be_added():
    tiny = plans.Plan("tiny", "Tiny", 2, 10, False, False, 0, None, 0)
    assert not member_limit_reached(tiny, 1)
    assert member_limit_reached(tiny, 2)
    assert not member_limit_reached(plans.SCALE, 10**9)


def test_an_unknown_plan_is_a_422():
    with pytest.raises(Exception) as caught:
        plans.get_plan("platinum")
    assert caught.value.status == 422 and caught.value.code == "unknown_plan"


def test_months_are_utc_calendar_months():
    assert usage.month_bounds("2026-12") == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert usage.previous_month(datetime(2027, 1, 1, 0, 30, tzinfo=UTC)) == "2026-12"
    assert usage.month_of(datetime(2026, 11, 30, 20, tzinfo=UTC)) == "2026-11"


def test_rate_windows_are_clock_minutes_and_say_when_to_retry():
    counter = ratelimit.MemoryCounter()
    at = datetime(2026, 11, 3, 9, 0, 45, tzinfo=UTC)
    decisions = [counter.hit("ten_a", 2, at) for _ in range(3)]
    assert [d.allowed for d in decisions] == [True, True, False]
    assert decisions[-1].retry_after == 15
    assert counter.hit("ten_b", 2, at).allowed
    assert counter.hit("ten_a", 2, at + timedelta(seconds=15)).allowed


# --- the Stripe signature -------------------------------------------------------------------

PAYLOAD = b'{"id": "evt_1", "type": "invoice.paid", "created": 1, "data": {"object": {}}}'


def test_a_signature_made_per_stripes_scheme_verifies():
    with clock.frozen_at(T0):
        header = stripe_signature(PAYLOAD, "whsec_x")
        verify_signature(PAYLOAD, header, "whsec_x", now=clock.now())
    # and the official client agrees with both our signer and our verifier
    stripe.WebhookSignature.verify_header(
        PAYLOAD.decode(),
        stripe_signature(PAYLOAD, "whsec_x", at=int(T0.timestamp())),
        "whsec_x",
        tolerance=None,
    )


def test_a_secret_being_rolled_may_sign_with_either_key():
    with clock.frozen_at(T0):
        old = stripe_signature(PAYLOAD, "whsec_old")
        new = stripe_signature(PAYLOAD, "whsec_new").split(",")[1]
        verify_signature(PAYLOAD, f"{old},{new}", "whsec_new", now=clock.now())


def test_the_platforms_and_its_connect_endpoints_secrets_both_verify():
    secrets = "whsec_platform, whsec_connect"
    with clock.frozen_at(T0):
        for key in ("whsec_platform", "whsec_connect"):
            verify_signature(PAYLOAD, stripe_signature(PAYLOAD, key), secrets, now=clock.now())
        with pytest.raises(InvalidSignature):
            verify_signature(PAYLOAD, stripe_signature(PAYLOAD, "whsec_x"), secrets, now=T0)
        with pytest.raises(InvalidSignature):
            verify_signature(PAYLOAD, stripe_signature(PAYLOAD, ""), ",", now=T0)


@pytest.mark.parametrize(
    "header",
    [None, "", "garbage", "t=abc,v1=00", "v1=00", "t=1700000000"],
)
def test_a_missing_or_malformed_signature_is_refused(header):
    with pytest.raises(InvalidSignature):
        verify_signature(PAYLOAD, header, "whsec_x", now=T0)


def test_a_forged_or_altered_or_stale_delivery_is_refused():
    with clock.frozen_at(T0):
        forged = stripe_signature(PAYLOAD, "whsec_guess")
        genuine = stripe_signature(PAYLOAD, "whsec_x")
    with pytest.raises(InvalidSignature):
        verify_signature(PAYLOAD, forged, "whsec_x", now=T0)
    with pytest.raises(InvalidSignature):
        verify_signature(PAYLOAD + b" ", genuine, "whsec_x", now=T0)
    with pytest.raises(InvalidSignature):
        verify_signature(PAYLOAD, genuine, "whsec_x", now=T0 + timedelta(minutes=6))


def test_events_name_their_subscription_in_either_api_version():
    old = parse_event(
        b'{"id": "evt_1", "type": "invoice.paid", "created": 1800000000,'
        b' "data": {"object": {"object": "invoice", "customer": "cus_1", "subscription": "sub_1"}}}'
    )
    new = parse_event(
        b'{"id": "evt_2", "type": "invoice.paid", "created": 1800000000,'
        b' "data": {"object": {"object": "invoice", "customer": "cus_1",'
        b' "parent": {"subscription_details": {"subscription": "sub_1"}}}}}'
    )
    deleted = parse_event(
        b'{"id": "evt_3", "type": "customer.subscription.deleted", "created": 1800000000,'
        b' "data": {"object": {"object": "subscription", "id": "sub_1", "customer": "cus_1"}}}'
    )
    assert old.subscription == new.subscription == deleted.subscription == "sub_1"
    assert old.occurrence is Occurrence.INVOICE_PAID
    assert deleted.occurrence is Occurrence.SUBSCRIPTION_DELETED
