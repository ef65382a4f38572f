"""A small Stripe-compatible server for what localstripe lacks (Connect): accounts,
transfers, and payment intents, with Stripe's ``Idempotency-Key`` rules.

It speaks Stripe's wire format as the official ``stripe`` client uses it (form-encoded
bodies with ``metadata[key]`` brackets, JSON answers with ``object`` and ``id``, the error
envelope) and runs in a thread on a loopback port for one test. ``fail(match, times,
should_retry, path)`` makes the next calls whose form names ``match`` answer 500, to test what
happens when Stripe is down for one tenant. ``hang(match, seconds)`` makes the next such
call do its work and then hold its answer back, as when a connection dies after Stripe
acted (to kill a worker in the middle of paying).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


def _form(request: Request) -> dict[str, Any]:
    """Stripe's form encoding back into nested dicts (one level is all we use)."""
    parsed: dict[str, Any] = {}
    for key, value in request.form.items(multi=True):
        if "[" in key:
            outer, inner = key.split("[", 1)
            parsed.setdefault(outer, {})[inner.rstrip("]")] = value
        else:
            parsed[key] = value
    return parsed


@dataclass
class Failure:
    match: str  # a value that must appear among the request's form values
    times: int
    should_retry: bool
    path: str | None  # only calls to this path


@dataclass
class FakeStripe:
    objects: dict[str, dict] = field(default_factory=dict)
    calls: list[tuple[str, str, dict]] = field(default_factory=list)
    idempotent: dict[str, tuple[str, int, str]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    hangs: dict[str, float] = field(default_factory=dict)
    hung: threading.Event = field(default_factory=threading.Event)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)

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

    def hang(self, match: str, seconds: float) -> None:
        self.hangs[match] = seconds

    def created(self, kind: str) -> list[dict]:
        return [o for o in self.objects.values() if o["object"] == kind]

    # --- the WSGI app -----------------------------------------------------------------

    def wsgi(self, environ, start_response):
        request = Request(environ)
        with self.lock:
            response = self.handle(request)
            values = _values(_form(request))
            delay = next((self.hangs.pop(m) for m in list(self.hangs) if m in values), 0)
        if delay:
            self.hung.set()
            time.sleep(delay)  # the object exists; its answer comes late (or never)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        if not request.headers.get("Authorization", "").startswith("Bearer sk_test"):
            return self.error(401, "authentication_error", "Invalid API Key provided.")
        form = _form(request)
        self.calls.append((request.method, request.path, form))
        for failure in self.failures:
            if failure.path not in (None, request.path):
                continue
            if failure.times > 0 and failure.match in _values(form):
                failure.times -= 1
                response = self.error(500, "api_error", "Something went wrong on Stripe's end.")
                response.headers["Stripe-Should-Retry"] = str(failure.should_retry).lower()
                return response
        key = request.headers.get("Idempotency-Key")
        if request.method == "POST" and key:
            fingerprint = request.path + json.dumps(form, sort_keys=True)
            if key in self.idempotent:
                seen, status, body = self.idempotent[key]
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
        response = self.route(request, form)
        if request.method == "POST" and key and response.status_code < 500:
            self.idempotent[key] = (fingerprint, response.status_code, response.get_data(True))
        return response

    def route(self, request: Request, form: dict) -> Response:
        parts = request.path.strip("/").split("/")
        if parts[:1] != ["v1"] or len(parts) < 2:
            return self.error(404, "invalid_request_error", "Unrecognized request URL.")
        kind = {"accounts": "account", "transfers": "transfer", "payment_intents": "payment_intent"}
        resource = parts[1]
        if resource not in kind:
            return self.error(404, "invalid_request_error", "Unrecognized request URL.")
        if len(parts) == 3 and request.method == "GET":
            found = self.objects.get(parts[2])
            if found is None or found["object"] != kind[resource]:
                return self.error(
                    404, "invalid_request_error", f"No such {resource[:-1]}: '{parts[2]}'"
                )
            return self.json(found)
        if len(parts) == 2 and request.method == "GET":
            data = [
                o
                for o in self.objects.values()
                if o["object"] == kind[resource]
                and all(o.get(k) == v for k, v in request.args.items() if k != "limit")
            ]
            return self.json(
                {"object": "list", "data": data, "has_more": False, "url": request.path}
            )
        if len(parts) == 2 and request.method == "POST":
            return getattr(self, f"create_{kind[resource]}")(form)
        return self.error(404, "invalid_request_error", "Unrecognized request URL.")

    def create_account(self, form: dict) -> Response:
        account = {
            "id": f"acct_{next(self._ids):016d}",
            "object": "account",
            "type": form.get("type", "custom"),
            "country": form.get("country", "CN"),
            "metadata": form.get("metadata", {}),
            "charges_enabled": True,
            "payouts_enabled": True,
        }
        self.objects[account["id"]] = account
        return self.json(account)

    def create_transfer(self, form: dict) -> Response:
        destination = form.get("destination")
        if destination not in self.objects:
            return self.error(
                400, "invalid_request_error", f"No such destination: '{destination}'", "destination"
            )
        transfer = {
            "id": f"tr_{next(self._ids):016d}",
            "object": "transfer",
            "amount": int(form["amount"]),
            "currency": form["currency"],
            "destination": destination,
            "transfer_group": form.get("transfer_group"),
            "metadata": form.get("metadata", {}),
            "reversed": False,
        }
        self.objects[transfer["id"]] = transfer
        return self.json(transfer)

    def create_payment_intent(self, form: dict) -> Response:
        if not form.get("customer") or not form.get("payment_method"):
            return self.error(400, "invalid_request_error", "A payment method is required.")
        intent = {
            "id": f"pi_{next(self._ids):016d}",
            "object": "payment_intent",
            "amount": int(form["amount"]),
            "currency": form["currency"],
            "customer": form["customer"],
            "payment_method": form["payment_method"],
            "status": "succeeded" if form.get("confirm") == "true" else "requires_confirmation",
            "metadata": form.get("metadata", {}),
        }
        self.objects[intent["id"]] = intent
        return self.json(intent)

    @staticmethod
    def json(body: dict, status: int = 200) -> Response:
        return Response(json.dumps(body), status=status, mimetype="application/json")

    def error(self, status: int, type_: str, message: str, param: str | None = None) -> Response:
        return self.json({"error": {"type": type_, "message": message, "param": param}}, status)


def _values(form: dict) -> set[str]:
    values = set()
    for value in form.values():
        values |= set(value.values()) if isinstance(value, dict) else {value}
    return values
