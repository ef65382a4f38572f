"""A small Stripe-compatible server for what localstripe lacks: Connect (accounts,
onboarding links, transfers, connected accounts' balances and payouts: ``fake_connect``),
invoices without a subscription (localstripe only invoices subscriptions and has no
``finalize`` or ``send``), customers, payment methods and payment intents, with Stripe's
``Idempotency-Key`` rules (a key is kept per account, and reusing it with other
parameters is refused) and its ``Stripe-Account`` header (refused for an account not
connected to the platform; objects of a connected account are seen only under it). As
on Stripe, attaching a test payment method (``pm_card_visa``) to a customer makes a new
payment method of that card for it.

It speaks Stripe's wire format as the official ``stripe`` client uses it (form-encoded
bodies with ``metadata[key]`` brackets, JSON answers with ``object`` and ``id``, the error
envelope) and runs in a thread on a loopback port for one test. ``fail(match, times,
should_retry, path)`` makes the next calls whose form names ``match`` (to ``path``, or any
path ending in ``"*/finalize"``'s tail) answer 500, to test what happens when Stripe is
down for one tenant. ``hang(match, seconds)`` makes the next such
call do its work and then hold its answer back, as when a connection dies after Stripe
acted (to kill a worker in the middle of paying, or to time a client out).
``decline(payment_method)`` makes charges on that payment method (or on any made from
that test payment method) fail with a ``card_declined`` 402, as Stripe's test card
``4000000000000341`` does; ``slow`` ones leave their PaymentIntents ``processing`` (as bank
debits do).
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fake_connect import Connect, public
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


def _form(request: Request) -> dict[str, Any]:
    """Stripe's encoding of a POST body or a GET query (``a[b][c]=v``, ``expand[0]=v``)
    back into nested dicts and lists."""
    pairs = request.form if request.method == "POST" else request.args
    parsed: dict[str, Any] = {}
    for key, value in pairs.items(multi=True):
        path = key.replace("]", "").split("[")
        node = parsed
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return _lists(parsed)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    node = {key: _lists(value) for key, value in node.items()}
    if node and all(key.isdigit() for key in node):
        return [node[key] for key in sorted(node, key=int)]
    return node


LIST_PARAMS = ("limit", "starting_after", "ending_before", "expand")


@dataclass
class Failure:
    match: str  # a value that must appear among the request's form values
    times: int
    should_retry: bool
    path: str | None  # only calls to this path


@dataclass
class FakeStripe(Connect):
    objects: dict[str, dict] = field(default_factory=dict)
    calls: list[tuple[str, str, dict]] = field(default_factory=list)
    # (Stripe-Account or "", key) -> (what was asked, status, body)
    idempotent: dict[tuple[str, str], tuple[str, int, str]] = field(default_factory=dict)
    links: dict[str, dict] = field(default_factory=dict)  # account links by token
    failures: list[Failure] = field(default_factory=list)
    hangs: dict[str, list[float]] = field(default_factory=dict)
    declines: set[str] = field(default_factory=set)
    slow: set[str] = field(default_factory=set)  # payment methods whose intents process
    hung: threading.Event = field(default_factory=threading.Event)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    # ids differ between servers, as Stripe's never repeat (the test database is shared)
    _prefix: str = field(default_factory=lambda: secrets.token_hex(4))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _next_id(self) -> str:
        return f"{self._prefix}{next(self._ids):08d}"

    def start(self) -> None:
        self.server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join()

    def fail(
        self, match: str, times: int = 1, should_retry: bool = True, path: str | None = None
    ) -> None:
        self.failures.append(Failure(match, times, should_retry, path))

    def hang(self, match: str, seconds: float, times: int = 1) -> None:
        self.hangs.setdefault(match, []).extend([seconds] * times)

    def decline(self, payment_method: str) -> None:
        self.declines.add(payment_method)

    def created(self, kind: str) -> list[dict]:
        return [o for o in self.objects.values() if o["object"] == kind]

    def _card(self, payment_method: str) -> str:
        """The test payment method a customer's payment method was made from."""
        return self.objects.get(payment_method, {}).get("test_card", payment_method)

    # --- the WSGI app -----------------------------------------------------------------

    def wsgi(self, environ, start_response):
        request = Request(environ)
        with self.lock:
            if request.path.startswith("/setup/"):  # a person's browser, not the API
                response = self.follow_link(request.path.rsplit("/", 1)[-1])
            else:
                response = self.handle(request)
            values = _values(_form(request))
            delay = next((self.hangs[m].pop() for m in list(self.hangs) if m in values), 0)
            for match in [m for m, left in self.hangs.items() if not left]:
                del self.hangs[match]
        if delay:
            self.hung.set()
            time.sleep(delay)  # the object exists; its answer comes late (or never)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        if not request.headers.get("Authorization", "").startswith("Bearer sk_test"):
            return self.error(401, "authentication_error", "Invalid API Key provided.")
        account = request.headers.get("Stripe-Account")
        if account is not None and not self.connected(account):
            return self.no_access(account)
        form = _form(request)
        self.calls.append((request.method, request.path, form))
        for failure in self.failures:
            if failure.path is not None and not (
                request.path == failure.path
                or (failure.path.startswith("*") and request.path.endswith(failure.path[1:]))
            ):
                continue
            if failure.times > 0 and failure.match in _values(form):
                failure.times -= 1
                response = self.error(500, "api_error", "Something went wrong on Stripe's end.")
                response.headers["Stripe-Should-Retry"] = str(failure.should_retry).lower()
                return response
        key = request.headers.get("Idempotency-Key")
        scope = (account or "", key or "")
        if request.method == "POST" and key:
            fingerprint = request.path + json.dumps(form, sort_keys=True)
            if scope in self.idempotent:
                seen, status, body = self.idempotent[scope]
                if seen != fingerprint:
                    return self.error(
                        400,
                        "idempotency_error",
                        "Keys for idempotent requests can only be used with the same "
                        "parameters they were first used with.",
                    )
                response = Response(body, status=status, mimetype="application/json")
                response.headers["Idempotent-Replayed"] = "true"
                return response
        response = self.route(request, form, account)
        if request.method == "POST" and key and response.status_code < 500:
            self.idempotent[scope] = (fingerprint, response.status_code, response.get_data(True))
        return response

    def route(self, request: Request, form: dict, account: str | None) -> Response:
        parts = request.path.strip("/").split("/")
        if parts[:1] != ["v1"] or len(parts) < 2:
            return self.error(404, "invalid_request_error", "Unrecognized request URL.")
        answer = self.connect_route(request, parts, form, account)
        if answer is not None:
            return answer
        kind = {
            "transfers": "transfer",
            "payment_intents": "payment_intent",
            "invoices": "invoice",
            "invoiceitems": "invoiceitem",
            "customers": "customer",
            "payment_methods": "payment_method",
        }
        resource = parts[1]
        if resource not in kind:
            return self.error(404, "invalid_request_error", "Unrecognized request URL.")
        if resource == "invoices" and len(parts) == 4 and request.method == "POST":
            return self.invoice_action(parts[2], parts[3], form)
        if parts[1:2] + parts[3:] == ["payment_intents", "cancel"] and request.method == "POST":
            return self.cancel_payment_intent(parts[2])
        if parts[1:2] + parts[3:] == ["payment_methods", "attach"] and request.method == "POST":
            return self.attach_payment_method(parts[2], form)
        if len(parts) == 3 and request.method == "GET":
            found = self.objects.get(parts[2])
            if found is None or found["object"] != kind[resource] or self.owner(found) != account:
                return self.error(
                    404, "invalid_request_error", f"No such {resource[:-1]}: '{parts[2]}'"
                )
            return self.json(found)
        if len(parts) == 2 and request.method == "GET":
            data = [
                o
                for o in self.objects.values()
                if o["object"] == kind[resource]
                and self.owner(o) == account
                and all(o.get(k) == v for k, v in form.items() if k not in LIST_PARAMS)
            ]
            return self.listing(request.path, data, form)
        if len(parts) == 2 and request.method == "POST":
            return getattr(self, f"create_{kind[resource]}")(form)
        return self.error(404, "invalid_request_error", "Unrecognized request URL.")

    def create_customer(self, form: dict) -> Response:
        customer = {
            "id": f"cus_{self._next_id()}",
            "object": "customer",
            "name": form.get("name"),
            "metadata": form.get("metadata", {}),
        }
        self.objects[customer["id"]] = customer
        return self.json(customer)

    def attach_payment_method(self, method_id: str, form: dict) -> Response:
        customer = self.objects.get(form.get("customer", ""))
        if customer is None or customer["object"] != "customer":
            return self.error(404, "invalid_request_error", "No such customer.", "customer")
        method = self.objects.get(method_id)
        if method is None and method_id.startswith("pm_card_"):
            method = {
                "id": f"pm_{self._next_id()}",
                "object": "payment_method",
                "type": "card",
                "test_card": method_id,
                "customer": None,
                "metadata": {},
            }
            self.objects[method["id"]] = method
        if method is None or method["object"] != "payment_method":
            return self.error(404, "invalid_request_error", f"No such PaymentMethod: '{method_id}'")
        if method["customer"] not in (None, customer["id"]):
            return self.error(
                400,
                "invalid_request_error",
                "The payment method you provided has already been attached to a customer.",
            )
        method["customer"] = customer["id"]
        return self.json(method)

    def create_payment_intent(self, form: dict) -> Response:
        if not form.get("customer") or not form.get("payment_method"):
            return self.error(400, "invalid_request_error", "A payment method is required.")
        declined = self._card(form["payment_method"]) in self.declines
        intent = {
            "id": f"pi_{self._next_id()}",
            "object": "payment_intent",
            "amount": int(form["amount"]),
            "currency": form["currency"],
            "customer": form["customer"],
            "payment_method": form["payment_method"],
            "status": "succeeded" if form.get("confirm") == "true" else "requires_confirmation",
            "metadata": form.get("metadata", {}),
            "invoice": None,
        }
        if self._card(form["payment_method"]) in self.slow and intent["status"] == "succeeded":
            intent["status"] = "processing"
        if declined:
            intent["status"] = "requires_payment_method"
            intent["last_payment_error"] = {
                "code": "card_declined",
                "message": "Your card was declined.",
            }
        self.objects[intent["id"]] = intent
        if declined:
            return self.card_declined(intent)
        return self.json(intent)

    def cancel_payment_intent(self, intent_id: str) -> Response:
        intent = self.objects.get(intent_id)
        if intent is None or intent["object"] != "payment_intent":
            return self.error(
                404, "invalid_request_error", f"No such payment_intent: '{intent_id}'"
            )
        cancelable = (
            "requires_payment_method",
            "requires_capture",
            "requires_confirmation",
            "requires_action",
        )
        if intent["status"] not in cancelable:
            error = {
                "type": "invalid_request_error",
                "code": "payment_intent_unexpected_state",
                "message": "You cannot cancel this PaymentIntent because it has a status of "
                f"{intent['status']}.",
                "payment_intent": intent,
            }
            return self.json({"error": error}, 400)
        intent["status"] = "canceled"
        return self.json(intent)

    def card_declined(self, intent: dict) -> Response:
        body = {
            "error": {
                "type": "card_error",
                "code": "card_declined",
                "message": "Your card was declined.",
                "payment_intent": intent,
            }
        }
        return self.json(body, 402)

    def create_invoice(self, form: dict) -> Response:
        if not form.get("customer"):
            return self.error(400, "invalid_request_error", "Missing required param: customer.")
        automatic = form.get("collection_method", "charge_automatically") == "charge_automatically"
        if not automatic and not form.get("days_until_due"):
            return self.error(400, "invalid_request_error", "days_until_due is required.")
        invoice = {
            "id": f"in_{self._next_id()}",
            "object": "invoice",
            "customer": form["customer"],
            "currency": form.get("currency", "usd"),
            "collection_method": form.get("collection_method", "charge_automatically"),
            "default_payment_method": form.get("default_payment_method"),
            "days_until_due": int(form["days_until_due"]) if form.get("days_until_due") else None,
            "description": form.get("description"),
            "metadata": form.get("metadata", {}),
            "status": "draft",
            "total": 0,
            "amount_due": 0,
            "amount_paid": 0,
            "lines": [],
            "payment_intent": None,
            "sent": 0,
        }
        self.objects[invoice["id"]] = invoice
        return self.json(invoice)

    def create_invoiceitem(self, form: dict) -> Response:
        invoice = self.objects.get(form.get("invoice", ""))
        if invoice is None or invoice["status"] != "draft":
            return self.error(400, "invalid_request_error", "The invoice is not a draft.")
        item = {
            "id": f"ii_{self._next_id()}",
            "object": "invoiceitem",
            "customer": form.get("customer"),
            "invoice": invoice["id"],
            "amount": int(form["amount"]),
            "currency": form["currency"],
            "description": form.get("description"),
            "metadata": form.get("metadata", {}),
        }
        self.objects[item["id"]] = item
        invoice["lines"].append(item["id"])
        invoice["total"] += item["amount"]
        invoice["amount_due"] += item["amount"]
        return self.json(item)

    def invoice_action(self, invoice_id: str, action: str, form: dict) -> Response:
        invoice = self.objects.get(invoice_id)
        if invoice is None or invoice["object"] != "invoice":
            return self.error(404, "invalid_request_error", f"No such invoice: '{invoice_id}'")
        if action == "finalize":
            if invoice["status"] != "draft":
                return self.error(400, "invalid_request_error", "The invoice is not a draft.")
            invoice["status"] = "open"
            return self.json(invoice)
        if action == "send":
            if invoice["status"] != "open" or invoice["collection_method"] != "send_invoice":
                return self.error(400, "invalid_request_error", "Only open sent invoices.")
            invoice["sent"] += 1
            return self.json(invoice)
        if action == "pay":
            if invoice["status"] == "paid":
                return self.error(400, "invalid_request_error", "Invoice is already paid")
            method = invoice.get("default_payment_method")
            if invoice["status"] != "open" or not method:
                return self.error(400, "invalid_request_error", "This invoice cannot be paid.")
            intent = {
                "id": f"pi_{self._next_id()}",
                "object": "payment_intent",
                "amount": invoice["amount_due"],
                "currency": invoice["currency"],
                "customer": invoice["customer"],
                "payment_method": method,
                "status": "succeeded",
                "metadata": {},
                "invoice": invoice["id"],
            }
            self.objects[intent["id"]] = intent
            invoice["payment_intent"] = intent["id"]
            if self._card(method) in self.declines:
                intent["status"] = "requires_payment_method"
                return self.card_declined(intent)
            self.paid_out_of_band(invoice_id)
            return self.json(invoice)
        if action in ("void", "mark_uncollectible"):
            allowed = ("open", "uncollectible") if action == "void" else ("open",)
            if invoice["status"] not in allowed:
                return self.error(
                    400, "invalid_request_error", f"The invoice is {invoice['status']}."
                )
            invoice["status"] = "void" if action == "void" else "uncollectible"
            return self.json(invoice)
        return self.error(404, "invalid_request_error", "Unrecognized request URL.")

    def paid_out_of_band(self, invoice_id: str) -> dict:
        """The payer settles an open invoice (as with a bank transfer to a sent one)."""
        invoice = self.objects[invoice_id]
        invoice["status"] = "paid"
        invoice["amount_paid"] = invoice["amount_due"]
        return invoice

    @staticmethod
    def json(body: dict, status: int = 200) -> Response:
        """The answer as Stripe shapes it (the server's own ``_notes`` left out)."""
        if body.get("object") == "list":
            body = {**body, "data": [public(o) for o in body["data"]]}
        return Response(json.dumps(public(body)), status=status, mimetype="application/json")

    def listing(self, url: str, data: list[dict], form: dict) -> Response:
        """A cursor page of ``data`` (oldest first, as made), newest first (``limit``,
        ``starting_after``), as Stripe lists."""
        data = data[::-1]
        after = form.get("starting_after")
        if after:
            ids = [o["id"] for o in data]
            data = data[ids.index(after) + 1 :] if after in ids else []
        limit = int(form.get("limit", 10))
        page = {"object": "list", "data": data[:limit], "has_more": len(data) > limit, "url": url}
        return self.json(page)

    def error(self, status: int, type_: str, message: str, param: str | None = None) -> Response:
        return self.json({"error": {"type": type_, "message": message, "param": param}}, status)


def _values(form: Any) -> set[str]:
    """Every value anywhere in a parsed form."""
    if isinstance(form, dict):
        form = list(form.values())
    if isinstance(form, list):
        return set().union(*(_values(value) for value in form)) if form else set()
    return {form}
