"""Connect on the suite's Stripe-compatible server (``fake_stripe.FakeStripe`` mixes
this in): connected accounts, onboarding links, transfers, the balance transactions and
payouts of connected accounts, refusing what Stripe refuses.

What Stripe refuses, and so does this server:

* an account of a type Stripe does not know, or a Custom one that requests no
  capability;
* any look at an account the platform is not connected to, by ``GET /v1/accounts/{id}``
  or a ``Stripe-Account`` header: 403 ``account_invalid`` (never saying whether the
  account exists); ``foreign_account()`` makes one that exists on "Stripe" but belongs
  to another platform;
* an account link without ``account``, ``type``, ``refresh_url`` or ``return_url``, for
  an account the platform is not connected to, or of type ``account_update`` for an
  account that has a Stripe-hosted dashboard (Express, Standard);
* a transfer to a destination that is not a connected account (``No such
  destination``), or to one whose ``transfers`` capability is not active
  (``insufficient_capabilities_for_transfer``);
* a payout or balance transaction of another account, and ``payout=`` on the balance
  transaction list for a manual payout.

The test plays the people and Stripe's own side: ``visit(url)`` follows an account link
as the tenant's browser would (single use, expires after five minutes: an old or used
link redirects to its ``refresh_url``; a fresh one finishes onboarding, the ``transfers``
capability becomes active, and redirects to its ``return_url``); ``restrict(account)``
is Stripe disabling it; ``pay_out(account)`` is Stripe's automatic payout of what the
account holds (each transfer arrives as a ``payment`` whose charge names the transfer
in ``source_transfer``); ``fail_payout(payout)`` is the bank sending it back, the money
returning to the balance as a ``payout_failure`` that the next payout carries.
"""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from werkzeug.wrappers import Response

ACCOUNT_TYPES = ("custom", "express", "standard")
DASHBOARD_TYPES = ("express", "standard")  # Stripe hosts their requirement collection
LINK_SECONDS = 300
NOTES = "_"  # keys starting with it are the server's own notes, never sent


def public(obj: Any) -> Any:
    """``obj`` as Stripe sends it: without the server's notes."""
    if not isinstance(obj, dict):
        return obj
    return {key: value for key, value in obj.items() if not key.startswith(NOTES)}


class Connect:
    """The Connect half of FakeStripe (which holds ``objects``, ``links``, ``url``)."""

    # --- what the test does on Stripe's side --------------------------------------------

    def foreign_account(self) -> str:
        """An account that exists on Stripe but is connected to another platform."""
        with self.lock:
            account = self._new_account("express", {}, ["transfers"], connected=False)
            self._activate(account)
        return account["id"]

    def visit(self, url: str) -> str:
        """Follow an account link in a browser; returns where Stripe redirects to."""
        response = requests.get(url, allow_redirects=False, timeout=5)
        assert response.status_code == 302, response.text
        return response.headers["Location"]

    def expire_links(self) -> None:
        with self.lock:
            for link in self.links.values():
                link["expires_at"] = int(time.time()) - 1

    def restrict(self, account_id: str) -> dict:
        """Stripe stops transfers to the account (requirements past due)."""
        with self.lock:
            account = self.objects[account_id]
            account["capabilities"] = {name: "inactive" for name in account["capabilities"]}
            account["charges_enabled"] = account["payouts_enabled"] = False
            account["requirements"]["disabled_reason"] = "requirements.past_due"
            return public(account)

    def pay_out(self, account_id: str, status: str = "paid", *, automatic: bool = True) -> dict:
        """Pay out everything the account holds that no payout carried yet."""
        with self.lock:
            held = [
                t
                for t in self.objects.values()
                if t["object"] == "balance_transaction"
                and t["_owner"] == account_id
                and t["_payout"] is None
                and t["type"] != "payout"
            ]
            payout = self._add(
                "po",
                {
                    "object": "payout",
                    "amount": sum(t["net"] for t in held),
                    "currency": held[0]["currency"] if held else "cny",
                    "status": status,
                    "automatic": automatic,
                    "method": "standard",
                    "failure_code": None,
                    "failure_message": None,
                    "failure_balance_transaction": None,
                    "metadata": {},
                },
                owner=account_id,
            )
            for item in held:
                item["_payout"] = payout["id"] if automatic else None
            own = self._balance_transaction(account_id, "payout", -payout["amount"], payout)
            own["_payout"] = payout["id"]
            payout["balance_transaction"] = own["id"]
            return public(payout)

    def fail_payout(self, payout_id: str, message: str = "The bank account is closed.") -> dict:
        """The bank returned the payout: its money is back on the account's balance."""
        with self.lock:
            payout = self.objects[payout_id]
            payout.update(status="failed", failure_code="account_closed", failure_message=message)
            back = self._balance_transaction(
                payout["_owner"], "payout_failure", payout["amount"], payout
            )
            payout["failure_balance_transaction"] = back["id"]
            return public(payout)

    def account_event_object(self, account_id: str) -> dict:
        return public(self.objects[account_id])

    # --- the API ------------------------------------------------------------------------

    def connected(self, account_id: str) -> bool:
        account = self.objects.get(account_id)
        return account is not None and account["object"] == "account" and account["_connected"]

    @staticmethod
    def owner(obj: dict) -> str | None:
        return obj.get("_owner")

    def no_access(self, account_id: str) -> Response:
        return self.refuse(
            403,
            "account_invalid",
            f"The provided key 'sk_test_***' does not have access to account '{account_id}' "
            "(or that account does not exist). Application access may have been revoked.",
            type_="permission_error",
        )

    def refuse(
        self,
        status: int,
        code: str,
        message: str,
        param: str | None = None,
        type_: str = "invalid_request_error",
    ) -> Response:
        error = {"type": type_, "code": code, "message": message, "param": param}
        return self.json({"error": error}, status)

    def connect_route(self, request, parts: list[str], form: dict, account: str | None):
        """The Connect endpoints' answer, or None for the rest of the API."""
        resource, rest, method = parts[1], parts[2:], request.method
        if resource == "accounts" and account is None:
            if method == "POST" and not rest:
                return self.create_account(form)
            if method == "GET" and len(rest) == 1:
                if not self.connected(rest[0]):
                    return self.no_access(rest[0])
                return self.json(self.objects[rest[0]])
            if method == "GET" and not rest:
                mine = [o for o in self.objects.values() if self.connected(o["id"])]
                return self.listing(request.path, mine, form)
        if resource == "account_links" and method == "POST" and not rest:
            return self.create_account_link(form, account)
        if resource == "transfers" and method == "POST" and not rest:
            return self.create_transfer(form, account)
        if resource in ("payouts", "charges") and method == "GET" and len(rest) == 1:
            found = self.objects.get(rest[0])
            if found is None or found["object"] != resource[:-1] or self.owner(found) != account:
                return self.refuse(
                    404, "resource_missing", f"No such {resource[:-1]}: '{rest[0]}'", "id"
                )
            return self.json(found)
        if resource == "balance_transactions" and method == "GET" and not rest:
            return self.list_balance_transactions(request.path, form, account)
        return None

    def create_account(self, form: dict) -> Response:
        kind = form.get("type")
        if kind is None and "controller" not in form:
            return self.refuse(400, "parameter_missing", "Missing required param: type.", "type")
        if kind is None:  # described by its controller: a dashboard of its own or none
            dashboard = ((form["controller"] or {}).get("stripe_dashboard") or {}).get("type")
            kind = "custom" if dashboard == "none" else "express"
        if kind not in ACCOUNT_TYPES:
            return self.refuse(
                400,
                "parameter_invalid_string",
                f"Invalid type: must be one of {ACCOUNT_TYPES}.",
                "type",
            )
        asked = form.get("capabilities") or {}
        requested = [
            name
            for name, setting in asked.items()
            if isinstance(setting, dict) and setting.get("requested") == "true"
        ]
        if kind == "custom" and not requested:
            return self.refuse(
                400,
                "parameter_missing",
                "Custom accounts must request at least one capability.",
                "capabilities",
            )
        if kind == "express" and not asked:
            requested = ["card_payments", "transfers"]
        account = self._new_account(kind, form.get("metadata") or {}, requested, connected=True)
        if form.get("country"):
            account["country"] = form["country"]
        return self.json(account)

    def create_account_link(self, form: dict, account: str | None) -> Response:
        if account is not None:
            return self.refuse(
                400,
                "platform_api_key_expired",
                "Account links are created by the platform, not on a connected account.",
            )
        for name in ("account", "type", "refresh_url", "return_url"):
            if not form.get(name):
                return self.refuse(
                    400, "parameter_missing", f"Missing required param: {name}.", name
                )
        target = form["account"]
        if not self.connected(target):
            return self.refuse(
                400,
                "account_invalid",
                f"The provided key does not have access to account '{target}' "
                "(or that account does not exist).",
                "account",
            )
        if form["type"] not in ("account_onboarding", "account_update"):
            return self.refuse(400, "parameter_invalid_string", "Invalid type.", "type")
        if form["type"] == "account_update" and self.objects[target]["type"] in DASHBOARD_TYPES:
            return self.refuse(
                400,
                "parameter_invalid_string",
                "You cannot create `account_update` type Account Links for accounts with "
                "access to a Stripe-hosted dashboard.",
                "type",
            )
        for name in ("refresh_url", "return_url"):
            if urlsplit(form[name]).scheme not in ("http", "https"):
                return self.refuse(400, "url_invalid", "Not a valid URL.", name)
        token = secrets.token_urlsafe(16)
        now = int(time.time())
        self.links[token] = {
            "account": target,
            "refresh_url": form["refresh_url"],
            "return_url": form["return_url"],
            "expires_at": now + LINK_SECONDS,
            "used": False,
        }
        return self.json(
            {
                "object": "account_link",
                "created": now,
                "expires_at": now + LINK_SECONDS,
                "url": f"{self.url}/setup/{token}",
            }
        )

    def follow_link(self, token: str) -> Response:
        """The tenant's browser at Stripe's onboarding: it finishes onboarding."""
        link = self.links.get(token)
        if link is None or link["used"] or link["expires_at"] < time.time():
            target = link["refresh_url"] if link else "about:blank"
            return Response(status=302, headers={"Location": target})
        link["used"] = True
        self._activate(self.objects[link["account"]])
        return Response(status=302, headers={"Location": link["return_url"]})

    def create_transfer(self, form: dict, account: str | None) -> Response:
        destination = form.get("destination")
        if account is not None or not destination or not self.connected(destination):
            return self.refuse(
                400, "resource_missing", f"No such destination: '{destination}'", "destination"
            )
        target = self.objects[destination]
        if target["capabilities"].get("transfers") != "active":
            return self.refuse(
                400,
                "insufficient_capabilities_for_transfer",
                "Your destination account needs to have at least one of the following "
                "capabilities enabled: transfers, crypto_transfers, legacy_payments",
                "destination",
            )
        amount = int(form.get("amount", 0))
        if amount <= 0 or not form.get("currency"):
            return self.refuse(400, "parameter_invalid_integer", "Invalid amount.", "amount")
        transfer = self._add(
            "tr",
            {
                "object": "transfer",
                "amount": amount,
                "currency": form["currency"],
                "destination": destination,
                "transfer_group": form.get("transfer_group"),
                "metadata": form.get("metadata", {}),
                "reversed": False,
                "amount_reversed": 0,
            },
        )
        payment = self._add(
            "py",
            {
                "object": "charge",
                "amount": amount,
                "currency": form["currency"],
                "source_transfer": transfer["id"],
                "status": "succeeded",
                "metadata": {},
            },
            owner=destination,
        )
        arrived = self._balance_transaction(destination, "payment", amount, payment)
        payment["balance_transaction"] = arrived["id"]
        transfer["destination_payment"] = payment["id"]
        return self.json(transfer)

    def list_balance_transactions(self, path: str, form: dict, account: str | None) -> Response:
        data = [
            t
            for t in self.objects.values()
            if t["object"] == "balance_transaction" and self.owner(t) == account
        ]
        payout_id = form.get("payout")
        if payout_id:
            payout = self.objects.get(payout_id)
            if payout is None or payout["object"] != "payout" or self.owner(payout) != account:
                return self.refuse(
                    404, "resource_missing", f"No such payout: '{payout_id}'", "payout"
                )
            if not payout["automatic"]:
                return self.refuse(
                    400,
                    "parameter_invalid_string",
                    "Balance transaction history can only be filtered on automatic "
                    "transfers, not manual.",
                    "payout",
                )
            data = [t for t in data if t["_payout"] == payout_id]
        for name in ("type", "source", "currency"):
            if form.get(name):
                data = [t for t in data if t[name] == form[name]]
        expand = form.get("expand") or []
        if "data.source" in expand:
            data = [{**t, "source": public(self.objects[t["source"]])} for t in data]
        return self.listing(path, data, form)

    # --- objects ------------------------------------------------------------------------

    def _add(self, prefix: str, fields: dict, owner: str | None = None) -> dict:
        obj = {"id": f"{prefix}_{self._next_id()}", **fields, "created": int(time.time())}
        if owner is not None:
            obj["_owner"] = owner
        self.objects[obj["id"]] = obj
        return obj

    def _new_account(
        self, kind: str, metadata: dict, capabilities: list[str], *, connected: bool
    ) -> dict:
        return self._add(
            "acct",
            {
                "object": "account",
                "type": kind,
                "country": "US",
                "metadata": metadata,
                "charges_enabled": False,
                "payouts_enabled": False,
                "details_submitted": False,
                "capabilities": {name: "inactive" for name in capabilities},
                "requirements": {
                    "currently_due": ["external_account", "tos_acceptance.date"],
                    "disabled_reason": "requirements.past_due",
                },
                "_connected": connected,
            },
        )

    @staticmethod
    def _activate(account: dict) -> None:
        account["details_submitted"] = True
        account["capabilities"] = {name: "active" for name in account["capabilities"]}
        account["charges_enabled"] = account["capabilities"].get("card_payments") == "active"
        account["payouts_enabled"] = True
        account["requirements"] = {"currently_due": [], "disabled_reason": None}

    def _balance_transaction(self, account_id: str, kind: str, amount: int, source: dict):
        return self._add(
            "txn",
            {
                "object": "balance_transaction",
                "type": kind,
                "amount": amount,
                "fee": 0,
                "net": amount,
                "currency": source["currency"],
                "source": source["id"],
                "status": "available",
                "_payout": None,
            },
            owner=account_id,
        )
