"""Helpers for the settlement tests: HTTP shortcuts that make clearing records (real swaps
and acceptance captures) and drive batches through their lifecycle; Stripe helpers
(Connect accounts onboarded on the test server, settlement accounts, signed webhook
deliveries)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import stripe
from factories import Api, TenantHandle, drain_jobs, holder_code, unique
from stripe_servers import stripe_event, stripe_signature

FEES = {
    "swap": {"bps": 200, "fixed": "0", "cap": None},
    "acceptance": {"bps": 150, "fixed": "0", "cap": None},
    "card_daily_limit": None,
}
BATCHES = "/v1/settlement/batches"


def audit_problems() -> dict:
    from jifen.platform.audit import run_all

    return {name: found for name, found in run_all().items() if found}


@dataclass
class Operator:
    token: str

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Settlement:
    """HTTP helpers: ``closer`` closes batches, ``approver`` approves them."""

    api: Api
    closer: Operator
    approver: Operator

    @property
    def client(self):
        return self.api.client

    # --- exchange side: make clearing records -------------------------------------------

    def tenant(self, rate: str, name: str | None = None) -> TenantHandle:
        overrides = {"tenant": {"name": name}} if name else {}
        tenant = self.api.signup(plan="growth", **overrides)
        response = self.client.put(
            "/v1/exchange/settings",
            json={"spu_rate": rate, "inbound": True, "outbound": True, "acceptance": True},
            headers=tenant.auth,
        )
        assert response.status_code == 200, response.get_json()
        return tenant

    def card(self, tenant: TenantHandle, points: int = 10_000) -> str:
        """A member's card holding ``points`` (at most the program's approval threshold,
        10,000 by default: an award above it waits for a second person)."""
        member = self._post("/v1/members", {"external_id": unique("cust-")}, tenant)
        award = {"member_id": member["id"], "event": "manual", "points": points, "reason": "t"}
        self._post("/v1/awards", award, tenant)
        return member["card_number"]

    def swap(self, card: str, source: TenantHandle, target: TenantHandle, points: int) -> dict:
        quote = self._post(
            "/v1/exchange/quotes",
            {
                "card_number": card,
                "from_currency": source.currency_code,
                "to_currency": target.currency_code,
                "points": points,
            },
            source,
        )
        return self._post("/v1/exchange/swaps", {"quote_id": quote["id"]}, source)

    def capture(self, card: str, issuer: TenantHandle, merchant: TenantHandle, points: int):
        auth = self._post(
            "/v1/acceptance/authorizations",
            {
                "card_number": card,
                "holder_code": holder_code(card),  # the holder's consent at the till
                "currency": issuer.currency_code,
                "points": points,
                "reference": unique("order-"),
            },
            merchant,
        )
        return self._post(f"/v1/acceptance/authorizations/{auth['id']}/capture", {}, merchant)

    def _post(self, path: str, body: dict, who) -> dict:
        response = self.client.post(path, json=body, headers=who.auth)
        assert response.status_code in (200, 201), (path, response.get_json())
        return response.get_json()

    # --- settlement side -----------------------------------------------------------------

    def close(self, cutoff: datetime | None = None, who: Operator | None = None):
        """Close up to ``cutoff`` (default: now, not the API's last midnight)."""
        from jifen.platform import clock

        body = {"cutoff": (cutoff or clock.now()).astimezone(UTC).isoformat()}
        return self.client.post(BATCHES, json=body, headers=(who or self.closer).auth)

    def closed(self, cutoff: datetime | None = None) -> dict:
        response = self.close(cutoff)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def approve(self, batch_id: str, who: Operator | None = None):
        return self.client.post(
            f"{BATCHES}/{batch_id}/approve", headers=(who or self.approver).auth
        )

    def pay(self, batch_id: str, who: Operator | None = None):
        response = self.client.post(f"{BATCHES}/{batch_id}/pay", headers=(who or self.closer).auth)
        drain_jobs()
        return response

    def get(self, batch_id: str) -> dict:
        response = self.client.get(f"{BATCHES}/{batch_id}", headers=self.closer.auth)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def instructions(self, batch_id: str) -> dict[str, dict]:
        response = self.client.get(f"{BATCHES}/{batch_id}/instructions", headers=self.closer.auth)
        assert response.status_code == 200, response.get_json()
        return {line["tenant"]: line for line in response.get_json()["data"]}

    def settings(
        self, spu_value: str, currency: str = "CNY", collection: str = "payment_intent"
    ) -> dict:
        response = self.client.put(
            "/v1/platform/settlement/settings",
            json={"currency": currency, "spu_value": spu_value, "collection": collection},
            headers=self.closer.auth,
        )
        assert response.status_code == 200, response.get_json()
        return response.get_json()


def open_settlement(api: Api) -> Settlement:
    """The platform's fees set to ``FEES``, one SPU worth 1 yuan, and a closer and an
    approver who are two different platform clients."""
    client = api.client
    admin = api.platform_token("platform:admin")
    response = client.put(
        "/v1/platform/exchange/fees", json=FEES, headers={"Authorization": f"Bearer {admin}"}
    )
    assert response.status_code == 200, response.get_json()
    helper = Settlement(api, Operator(api.platform_token()), Operator(api.platform_token()))
    helper.settings("1")
    return helper


def position(batch: dict, tenant: TenantHandle) -> dict:
    [found] = [p for p in batch["positions"] if p["tenant"] == tenant.id]
    return found


def start_onboarding(settlement, tenant) -> dict:
    """``POST /v1/settlement/account/onboarding`` as the tenant: the link and account."""
    response = settlement.client.post("/v1/settlement/account/onboarding", headers=tenant.auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def account_updated(settlement, fake, account_id: str):
    """Stripe's ``account.updated`` about a connected account, delivered and worked off."""
    event = stripe_event(
        "account.updated", fake.account_event_object(account_id), account=account_id
    )
    response = deliver(settlement.client, event)
    assert response.status_code == 200, response.get_json()
    drain_jobs()
    return response.get_json()["outcome"]


def connect(settlement, fake, tenant) -> str:
    """Onboard the tenant's Connect account as a tenant does: ask for a link, follow it
    at Stripe, and let Stripe's ``account.updated`` reach the app. Returns its id."""
    link = start_onboarding(settlement, tenant)
    account_id = link["account"]["stripe_account_id"]
    fake.visit(link["url"])
    assert account_updated(settlement, fake, account_id) == "settlement_account_queued"
    account = settlement.client.get("/v1/settlement/account", headers=tenant.auth).get_json()
    assert account["connect_status"] == "enabled", account
    return account_id


def set_account(settlement, tenant, **fields):
    response = settlement.client.put("/v1/settlement/account", json=fields, headers=tenant.auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def stripe_customer(fake, tenant) -> str:
    """A customer on the test server made as billing makes a tenant's (its id in metadata)."""
    client = stripe.StripeClient("sk_test_settlement", base_addresses={"api": fake.url})
    customer = client.v1.customers.create(
        params={"name": tenant.id, "metadata": {"jifen_tenant_id": tenant.id}}
    )
    return customer.id


def attach_card(fake, customer: str, card: str = "pm_card_visa") -> str:
    """A payment method of the test card ``card`` attached to ``customer``."""
    client = stripe.StripeClient("sk_test_settlement", base_addresses={"api": fake.url})
    return client.v1.payment_methods.attach(card, params={"customer": customer}).id


def set_payer(settlement, fake, tenant, card: str | None = "pm_card_visa", **fields) -> dict:
    """Register the tenant's own Stripe customer and, unless ``card`` is None, a card
    attached to it, on its settlement account."""
    customer = stripe_customer(fake, tenant)
    if card is not None:
        fields["stripe_payment_method_id"] = attach_card(fake, customer, card)
    return set_account(settlement, tenant, stripe_customer_id=customer, **fields)


def ours(fake, batch_id: str, kind: str) -> list[dict]:
    return [o for o in fake.created(kind) if o["metadata"].get("jifen_batch") == batch_id]


def deliver(client, payload: bytes, signature: str | None = None):
    return client.post(
        "/v1/stripe/webhooks",
        data=payload,
        headers={
            "Content-Type": "application/json",
            "Stripe-Signature": signature or stripe_signature(payload),
        },
    )
