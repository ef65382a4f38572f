"""The suite's Connect server refuses what Stripe refuses, seen through the official
``stripe`` client: settlement's tests are only worth what this server lets through."""

from __future__ import annotations

import pytest
import stripe


@pytest.fixture
def client(fake_stripe) -> stripe.StripeClient:
    return stripe.StripeClient(
        "sk_test_settlement", base_addresses={"api": fake_stripe.url}, max_network_retries=0
    )


def express(client, **metadata) -> str:
    params = {"type": "express", "capabilities": {"transfers": {"requested": True}}}
    return client.v1.accounts.create(params={**params, "metadata": metadata}).id


def onboarded(client, fake) -> str:
    account = express(client)
    link = client.v1.account_links.create(
        params={
            "account": account,
            "type": "account_onboarding",
            "refresh_url": "https://example.test/refresh",
            "return_url": "https://example.test/return",
        }
    )
    assert fake.visit(link.url) == "https://example.test/return"
    return account


def transfer(client, destination: str, key: str | None = None, amount: int = 100):
    options = {"idempotency_key": key} if key else {}
    return client.v1.transfers.create(
        params={"amount": amount, "currency": "cny", "destination": destination}, options=options
    )


def test_transfers_go_only_to_connected_accounts_that_take_them(client, fake_stripe):
    for nowhere in ("acct_made_up", fake_stripe.foreign_account()):
        with pytest.raises(stripe.InvalidRequestError) as refused:
            transfer(client, nowhere)
        assert refused.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        transfer(client, express(client))  # not onboarded: transfers inactive
    assert refused.value.code == "insufficient_capabilities_for_transfer"
    account = onboarded(client, fake_stripe)
    assert transfer(client, account).destination == account
    fake_stripe.restrict(account)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        transfer(client, account)
    assert refused.value.code == "insufficient_capabilities_for_transfer"


def test_accounts_not_connected_to_the_platform_are_out_of_reach(client, fake_stripe):
    foreign = fake_stripe.foreign_account()
    for account in (foreign, "acct_made_up"):
        with pytest.raises(stripe.PermissionError) as refused:
            client.v1.accounts.retrieve(account)
        assert refused.value.error.code == "account_invalid"
        with pytest.raises(stripe.PermissionError):
            client.v1.balance_transactions.list(options={"stripe_account": account})
    mine = express(client)
    assert [a.id for a in client.v1.accounts.list().auto_paging_iter()] == [mine]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.accounts.create(params={"type": "custom"})  # no capability requested


def test_account_links_only_for_connected_accounts_and_only_once(client, fake_stripe):
    urls = {"refresh_url": "https://example.test/refresh", "return_url": "https://example.test/r"}
    for account in ("acct_made_up", fake_stripe.foreign_account()):
        with pytest.raises(stripe.InvalidRequestError) as refused:
            client.v1.account_links.create(
                params={"account": account, "type": "account_onboarding", **urls}
            )
        assert refused.value.param == "account"
    account = express(client)
    with pytest.raises(stripe.InvalidRequestError):  # Stripe hosts an Express account's updates
        client.v1.account_links.create(
            params={"account": account, "type": "account_update", **urls}
        )
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.account_links.create(params={"account": account, "type": "account_onboarding"})
    link = client.v1.account_links.create(
        params={"account": account, "type": "account_onboarding", **urls}
    )
    assert link.expires_at > link.created
    assert fake_stripe.visit(link.url) == urls["return_url"]
    assert fake_stripe.visit(link.url) == urls["refresh_url"]  # used once already
    assert client.v1.accounts.retrieve(account).capabilities.transfers == "active"


def test_an_idempotency_key_answers_the_same_call_only(client, fake_stripe):
    account = onboarded(client, fake_stripe)
    first = transfer(client, account, key="k-1")
    assert transfer(client, account, key="k-1").id == first.id
    with pytest.raises(stripe.IdempotencyError):
        transfer(client, account, key="k-1", amount=101)
    assert len(fake_stripe.created("transfer")) == 1


def test_a_payout_lists_only_its_own_balance_transactions(client, fake_stripe):
    b, d = onboarded(client, fake_stripe), onboarded(client, fake_stripe)
    first = transfer(client, b)
    transfer(client, d)
    payout = fake_stripe.pay_out(b)
    second = transfer(client, b)
    listed = client.v1.balance_transactions.list(
        params={"payout": payout["id"], "expand": ["data.source"]}, options={"stripe_account": b}
    )
    sources = {t.source.source_transfer for t in listed.data if t.type == "payment"}
    assert sources == {first.id} and second.id not in sources
    assert {t.type for t in listed.data} == {"payment", "payout"}
    with pytest.raises(stripe.InvalidRequestError) as refused:  # B's payout, asked as D
        client.v1.balance_transactions.list(
            params={"payout": payout["id"]}, options={"stripe_account": d}
        )
    assert refused.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError):  # nor is it the platform's own
        client.v1.payouts.retrieve(payout["id"])
    manual = fake_stripe.pay_out(d, automatic=False)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.balance_transactions.list(
            params={"payout": manual["id"]}, options={"stripe_account": d}
        )


def test_a_failed_payouts_money_goes_out_with_the_next(client, fake_stripe):
    b = onboarded(client, fake_stripe)
    transfer(client, b, amount=300)
    failed = fake_stripe.fail_payout(fake_stripe.pay_out(b)["id"])
    next_one = fake_stripe.pay_out(b)
    assert next_one["amount"] == failed["amount"] == 300
    listed = client.v1.balance_transactions.list(
        params={"payout": next_one["id"], "type": "payout_failure"}, options={"stripe_account": b}
    )
    assert [t.source for t in listed.data] == [failed["id"]]
    paged = client.v1.balance_transactions.list(params={"limit": 1}, options={"stripe_account": b})
    assert paged.has_more and len(list(paged.auto_paging_iter())) == 4
