"""Tenant isolation over HTTP: tenant A's token never reaches tenant B's objects.

The walker visits every ``/v1`` rule with a path parameter, puts in the id of an object
of tenant B, and calls every method with tenant A's token. B's id must be
indistinguishable from an id that does not exist (API.md: 404, never reveal), and never
a 2xx.

``TARGETS`` says how to make tenant B's object for each path segment that precedes a
parameter (``/v1/members/<member_id>`` -> ``"members"``). A new endpoint with a path
parameter fails ``test_every_parametrised_v1_rule_has_an_isolation_target`` until it
gets an entry here.
"""

from __future__ import annotations

import re
import secrets
import string
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from factories import Api, TenantHandle

from jifen.platform.shell.app import create_app

_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


@dataclass(frozen=True)
class Target:
    """How to make tenant B's object for one kind of path parameter."""

    prefix: str  # id prefix, for an id that does not exist
    make: Callable[[Api, TenantHandle], str]  # returns the id of a new object of B
    bodies: dict[str, Any] = field(default_factory=dict)  # method -> a valid JSON body


class _Sink(BaseHTTPRequestHandler):
    """Accepts webhook deliveries, so the walk leaves none pending for other tests."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def sink_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _sink["url"] = f"http://127.0.0.1:{server.server_port}/hook"
    yield _sink["url"]
    server.shutdown()
    thread.join()


_sink: dict[str, str] = {"url": "http://127.0.0.1:9/hook"}


def _webhook_endpoint(api: Api, owner: TenantHandle) -> str:
    response = api.client.post(
        "/v1/webhook_endpoints",
        json={"url": _sink["url"], "enabled_events": ["*"]},
        headers=owner.auth,
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _event(api: Api, owner: TenantHandle) -> str:
    endpoint = _webhook_endpoint(api, owner)
    response = api.client.post(f"/v1/webhook_endpoints/{endpoint}/test", headers=owner.auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _webhook_delivery(api: Api, owner: TenantHandle) -> str:
    endpoint = _webhook_endpoint(api, owner)
    sent = api.client.post(f"/v1/webhook_endpoints/{endpoint}/test", headers=owner.auth)
    assert sent.status_code == 201, sent.get_json()
    listed = api.client.get(f"/v1/webhook_endpoints/{endpoint}/deliveries", headers=owner.auth)
    [delivery] = listed.get_json()["data"]
    return delivery["id"]


def _member(api: Api, owner: TenantHandle) -> str:
    response = api.client.post(
        "/v1/members", json={"external_id": secrets.token_hex(6)}, headers=owner.auth
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _hold(api: Api, owner: TenantHandle) -> str:
    member = _member(api, owner)
    awarded = api.client.post(
        "/v1/awards",
        json={"member_id": member, "event": "manual", "points": 100, "reason": "isolation"},
        headers=owner.auth,
    )
    assert awarded.status_code == 201, awarded.get_json()
    response = api.client.post(
        "/v1/holds", json={"member_id": member, "points": 10}, headers=owner.auth
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _reward(api: Api, owner: TenantHandle) -> str:
    response = api.client.post(
        "/v1/rewards",
        json={"kind": "physical", "name": "Mug", "price_points": 10, "stock": 5},
        headers=owner.auth,
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _redemption_order(api: Api, owner: TenantHandle) -> str:
    reward, member = _reward(api, owner), _member(api, owner)
    awarded = api.client.post(
        "/v1/awards",
        json={"member_id": member, "event": "manual", "points": 100, "reason": "isolation"},
        headers=owner.auth,
    )
    assert awarded.status_code == 201, awarded.get_json()
    address = {"name": "A", "line1": "1 Road", "city": "Shanghai", "country": "CN"}
    response = api.client.post(
        f"/v1/rewards/{reward}/redeem",
        json={"member_id": member, "quantity": 1, "shipping_address": address},
        headers=owner.auth,
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


TARGETS: dict[str, Target] = {
    "holds": Target("hold", _hold),
    "rewards": Target("rwd", _reward),
    "redemption_orders": Target("rdo", _redemption_order),
    "members": Target("mem", _member),
    "webhook_endpoints": Target("whe", _webhook_endpoint),
    "webhook_deliveries": Target("whd", _webhook_delivery),
    "events": Target("evt", _event),
}

# Areas keep their own target factories next to their tests.
sys.path.append(str(Path(__file__).parents[1] / "exchange"))
from isolation_targets import exchange_targets  # noqa: E402

TARGETS.update(exchange_targets(Target))

sys.path.append(str(Path(__file__).parents[1] / "settlement"))
from settlement_isolation_targets import settlement_targets  # noqa: E402

TARGETS.update(settlement_targets(Target))

sys.path.append(str(Path(__file__).parents[1] / "alliances"))
from alliance_isolation_targets import alliance_targets as _alliance_targets  # noqa: E402

TARGETS.update(_alliance_targets(Target))

sys.path.append(str(Path(__file__).parents[1] / "members"))
from adjustment_isolation_targets import adjustment_targets  # noqa: E402

TARGETS.update(adjustment_targets(Target))


def v1_rules_with_parameters(app) -> list:
    return [
        rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/v1/") and rule.arguments
    ]


def segment_before(rule: str, name: str) -> str:
    """``/v1/holds/<hold_id>/capture``, ``hold_id`` -> ``holds``."""
    for match in _PARAM.finditer(rule):
        if match.group(1) == name:
            return rule[: match.start()].rstrip("/").rsplit("/", 1)[-1]
    raise KeyError(name)


def unregistered(app) -> list[str]:
    return sorted(
        f"{rule.rule} ({name})"
        for rule in v1_rules_with_parameters(app)
        for name in rule.arguments
        if segment_before(rule.rule, name) not in TARGETS
    )


def fill(rule: str, ids: dict[str, str]) -> str:
    return _PARAM.sub(lambda match: ids[match.group(1)], rule)


def unknown_id(prefix: str) -> str:
    alphabet = string.ascii_letters + string.digits
    return f"{prefix}_" + "".join(secrets.choice(alphabet) for _ in range(20))


def test_every_parametrised_v1_rule_has_an_isolation_target(app):
    missing = unregistered(app)
    assert not missing, (
        "add these to TARGETS in tests/platform/test_isolation.py so the isolation walk "
        f"covers them: {missing}"
    )


def test_the_coverage_check_notices_a_new_rule(config, app):
    other = create_app(config)
    other.add_url_rule("/v1/gadgets/<gadget_id>/spin", "spin", lambda gadget_id: "")
    try:
        assert "/v1/gadgets/<gadget_id>/spin (gadget_id)" in unregistered(other)
        assert "/v1/gadgets/<gadget_id>/spin (gadget_id)" not in unregistered(app)
    finally:
        other.extensions["jifen.db"].dispose()


def test_tenant_a_cannot_reach_tenant_b_objects(app, api, client, sink_url):
    a, b = api.signup(plan="scale"), api.signup(plan="scale")  # every feature
    visited = []
    for rule in v1_rules_with_parameters(app):
        targets = {name: TARGETS[segment_before(rule.rule, name)] for name in rule.arguments}
        b_ids = {name: target.make(api, b) for name, target in targets.items()}
        missing_ids = {name: unknown_id(target.prefix) for name, target in targets.items()}
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            body = next(
                (t.bodies[method] for t in targets.values() if method in t.bodies),
                {} if method in {"POST", "PUT", "PATCH"} else None,
            )

            def call(ids, method=method, body=body, rule=rule):
                return client.open(fill(rule.rule, ids), method=method, json=body, headers=a.auth)

            foreign, missing = call(b_ids), call(missing_ids)
            label = f"{method} {rule.rule}"
            assert not 200 <= foreign.status_code < 300, (label, foreign.get_json())
            assert foreign.status_code in (403, 404), (label, foreign.status_code)
            seen = (foreign.status_code, (foreign.get_json() or {}).get("error", {}).get("code"))
            unseen = (missing.status_code, (missing.get_json() or {}).get("error", {}).get("code"))
            assert seen == unseen, f"{label}: B's id answers {seen}, an unknown id {unseen}"
            visited.append(label)
    assert len(visited) == sum(
        len(rule.methods - {"HEAD", "OPTIONS"}) for rule in v1_rules_with_parameters(app)
    )


def test_get_tenant_shows_the_callers_tenant_not_another(api, client):
    a, b = api.signup(), api.signup()
    seen_by_a = client.get("/v1/tenant", headers=a.auth).get_json()
    seen_by_b = client.get("/v1/tenant", headers=b.auth).get_json()
    assert seen_by_a["id"] == a.id and seen_by_a["currency"]["code"] == a.currency_code
    assert seen_by_b["id"] == b.id and seen_by_b["currency"]["code"] == b.currency_code
