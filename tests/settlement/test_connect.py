"""Connect accounts the platform creates: a tenant onboards through Stripe's account link
and its payouts go there once Stripe enables it; no tenant can point its payouts at an
account it names, whether another tenant's, another platform's or made up."""

from __future__ import annotations

from datetime import timedelta

import stripe
from factories import assert_error
from settlement_support import (
    account_updated,
    connect,
    deliver,
    ours,
    set_account,
    start_onboarding,
)
from stripe_servers import stripe_event

from jifen.platform import clock
from jifen.platform.db import unit_of_work
from jifen.settlement.model import PayoutAccount

ACCOUNT = "/v1/settlement/account"


def account_of(settlement, tenant) -> dict:
    return settlement.client.get(ACCOUNT, headers=tenant.auth).get_json()


def accounts_made_for(fake, tenant) -> list[dict]:
    return [a for a in fake.created("account") if a["metadata"].get("jifen_tenant_id") == tenant.id]


def transfers_of(fake, batch_id, tenant) -> list[dict]:
    return [
        t for t in ours(fake, batch_id, "transfer") if t["metadata"]["jifen_tenant"] == tenant.id
    ]


def test_a_tenant_cannot_have_payouts_sent_to_an_account_it_names(settlement, stripe_on):
    """The attack: a tenant registers another tenant's Connect account, another
    platform's, or one made up. Each is refused alike, and its payout goes to the account
    the platform created for it, never to the one it named."""
    victim, thief, payer = (
        settlement.tenant("1.5"),
        settlement.tenant("1.5"),
        settlement.tenant("1"),
    )
    victims = connect(settlement, stripe_on, victim)
    for named in (victims, stripe_on.foreign_account(), "acct_made_up"):
        response = settlement.client.put(
            ACCOUNT, json={"stripe_account_id": named}, headers=thief.auth
        )
        assert_error(response, 403, "connect_account_not_created_by_platform")
    assert settlement.client.get(ACCOUNT, headers=thief.auth).status_code == 404

    thiefs = connect(settlement, stripe_on, thief)
    assert thiefs != victims
    again = settlement.client.put(ACCOUNT, json={"stripe_account_id": victims}, headers=thief.auth)
    assert_error(again, 403, "connect_account_not_created_by_platform")
    dropped = settlement.client.put(ACCOUNT, json={"stripe_account_id": None}, headers=thief.auth)
    assert_error(dropped, 403, "connect_account_not_created_by_platform")
    assert set_account(settlement, thief, stripe_account_id=thiefs)["stripe_account_id"] == thiefs
    assert account_of(settlement, victim)["stripe_account_id"] == victims

    settlement.closed()  # earlier tests' records go to that batch, not ours
    settlement.swap(settlement.card(payer), payer, thief, 1000)
    batch = settlement.closed()
    assert settlement.approve(batch["id"]).status_code == 200
    settlement.pay(batch["id"])
    [transfer] = transfers_of(stripe_on, batch["id"], thief)
    assert transfer["destination"] == thiefs
    assert settlement.instructions(batch["id"])[thief.id]["status"] == "paid"
    assert not [t for t in stripe_on.created("transfer") if t["destination"] == victims]


def test_onboarding_makes_one_account_per_tenant_and_enables_it_when_stripe_says_so(
    settlement, stripe_on, app
):
    tenant = settlement.tenant("1")
    first = start_onboarding(settlement, tenant)
    account_id = first["account"]["stripe_account_id"]
    assert first["object"] == "account_link" and first["expires_at"]
    assert first["account"]["connect_status"] == "onboarding"
    second = start_onboarding(settlement, tenant)
    assert second["account"]["stripe_account_id"] == account_id
    assert second["url"] != first["url"]
    [made] = accounts_made_for(stripe_on, tenant)
    assert made["id"] == account_id and made["type"] == "express"
    assert made["capabilities"] == {"transfers": "inactive"}
    creations = [c for c in stripe_on.calls if c[:2] == ("POST", "/v1/accounts")]
    assert len(creations) == 1  # the second time, the stored account
    assert stripe_on.idempotent[("", f"jifen-connect-{tenant.id}")][1] == 200

    base = app.extensions["jifen.config"].public_url
    stripe_on.expire_links()
    assert stripe_on.visit(first["url"]) == f"{base}/console/payouts/onboard"  # a new link
    third = start_onboarding(settlement, tenant)
    assert account_of(settlement, tenant)["connect_status"] == "onboarding"
    assert stripe_on.visit(third["url"]) == f"{base}/console/payouts/return"
    assert stripe_on.visit(third["url"]) == f"{base}/console/payouts/onboard"  # used up
    assert account_of(settlement, tenant)["connect_status"] == "onboarding"  # not told yet
    assert account_updated(settlement, stripe_on, account_id) == "settlement_account_queued"
    assert account_of(settlement, tenant)["connect_status"] == "enabled"
    assert len(accounts_made_for(stripe_on, tenant)) == 1


def test_payouts_wait_until_stripe_enables_the_account(settlement, stripe_on):
    payer, receiver = settlement.tenant("1"), settlement.tenant("1.5")
    link = start_onboarding(settlement, receiver)  # onboarding not finished
    account_id = link["account"]["stripe_account_id"]
    settlement.closed()
    settlement.swap(settlement.card(payer), payer, receiver, 1000)
    batch = settlement.closed()
    assert settlement.approve(batch["id"]).status_code == 200
    settlement.pay(batch["id"])
    line = settlement.instructions(batch["id"])[receiver.id]
    assert line["status"] == "failed" and "onboarding" in line["last_error"]
    assert line["refusals"] == 0  # nothing was sent: the next try keeps the key
    assert not [c for c in stripe_on.calls if c[1] == "/v1/transfers" and account_id in str(c)]

    stripe_on.visit(link["url"])
    account_updated(settlement, stripe_on, account_id)
    settlement.pay(batch["id"])
    line = settlement.instructions(batch["id"])[receiver.id]
    assert line["status"] == "paid"
    [transfer] = transfers_of(stripe_on, batch["id"], receiver)
    assert transfer["destination"] == account_id and line["stripe_object_id"] == transfer["id"]


def test_an_account_stripe_restricts_takes_no_transfers_even_after_a_late_event(
    settlement, stripe_on
):
    payer, receiver = settlement.tenant("1"), settlement.tenant("1.5")
    account_id = connect(settlement, stripe_on, receiver)
    enabled_then = stripe_on.account_event_object(account_id)
    stripe_on.restrict(account_id)
    assert account_updated(settlement, stripe_on, account_id) == "settlement_account_queued"
    assert account_of(settlement, receiver)["connect_status"] == "restricted"
    # the earlier account.updated (still enabled), delivered late: Stripe's word now counts
    late = stripe_event("account.updated", enabled_then, account=account_id)
    assert deliver(settlement.client, late).status_code == 200
    assert account_of(settlement, receiver)["connect_status"] == "restricted"

    settlement.closed()
    settlement.swap(settlement.card(payer), payer, receiver, 1000)
    batch = settlement.closed()
    assert settlement.approve(batch["id"]).status_code == 200
    settlement.pay(batch["id"])
    line = settlement.instructions(batch["id"])[receiver.id]
    assert line["status"] == "failed" and "restricted" in line["last_error"]
    assert transfers_of(stripe_on, batch["id"], receiver) == []


def test_events_about_accounts_that_are_no_tenants_change_nothing(settlement, stripe_on):
    foreign = stripe_on.foreign_account()
    event = stripe_event(
        "account.updated", stripe_on.account_event_object(foreign), account=foreign
    )
    response = deliver(settlement.client, event)
    assert response.get_json()["outcome"] == "settlement_unknown_account"


def test_a_creation_whose_answer_was_lost_is_found_not_made_twice(settlement, stripe_on):
    """Stripe made the account but our record of it was lost, and Stripe has forgotten
    the key since: onboarding finds the account by its metadata instead of a second."""
    tenant = settlement.tenant("1")
    client = stripe.StripeClient("sk_test_settlement", base_addresses={"api": stripe_on.url})
    made = client.v1.accounts.create(
        params={
            "type": "express",
            "capabilities": {"transfers": {"requested": True}},
            "metadata": {"jifen_tenant_id": tenant.id},
        }
    )
    with unit_of_work(tenant_id=tenant.id) as uow:
        uow.session.add(
            PayoutAccount(tenant_id=tenant.id, connect_requested_at=clock.now() - timedelta(days=2))
        )
        uow.commit()
    link = start_onboarding(settlement, tenant)
    assert link["account"]["stripe_account_id"] == made.id
    assert len(accounts_made_for(stripe_on, tenant)) == 1


def test_onboarding_without_stripe_is_refused(settlement):
    tenant = settlement.tenant("1")
    response = settlement.client.post(f"{ACCOUNT}/onboarding", headers=tenant.auth)
    assert_error(response, 422, "stripe_not_configured")


def test_a_platform_client_cannot_onboard(settlement, stripe_on):
    response = settlement.client.post(f"{ACCOUNT}/onboarding", headers=settlement.closer.auth)
    assert response.status_code == 403
