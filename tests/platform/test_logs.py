"""Structured logs: every request leaves one JSON line with its request id (also echoed
in ``X-Request-Id``) and the caller's tenant id."""

from __future__ import annotations

import json

import pytest

from jifen.platform.logs import configure_logging


class JsonLogs:
    """JSON log lines written to stderr since ``start()`` (or the last ``read()``)."""

    def __init__(self, capsys):
        self.capsys = capsys

    def start(self) -> None:
        # Configured inside the test, so the handler writes to the stderr capsys captures.
        configure_logging(json_lines=True)
        self.capsys.readouterr()

    def read(self) -> list[dict]:
        err = self.capsys.readouterr().err
        return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


@pytest.fixture
def json_logs(capsys):
    yield JsonLogs(capsys)
    configure_logging(json_lines=False)


def request_lines(lines: list[dict], request_id: str) -> list[dict]:
    return [line for line in lines if line.get("request_id") == request_id]


def test_a_request_logs_a_json_line_with_request_and_tenant_ids(api, client, json_logs):
    tenant = api.signup()
    json_logs.start()
    response = client.get("/v1/tenant", headers=tenant.auth)
    request_id = response.headers["X-Request-Id"]
    assert request_id.startswith("req_")
    [line] = request_lines(json_logs.read(), request_id)
    assert line["tenant_id"] == tenant.id
    assert line["message"] == "GET /v1/tenant 200"
    assert line["status"] == 200 and line["level"] == "INFO"
    assert {"time", "logger", "duration_ms"} <= set(line)


def test_an_anonymous_request_logs_no_tenant(client, json_logs):
    json_logs.start()
    response = client.get("/v1/no-such-thing")
    [line] = request_lines(json_logs.read(), response.headers["X-Request-Id"])
    assert line["tenant_id"] is None and line["status"] == 404


def test_a_callers_request_id_is_kept(client, json_logs):
    json_logs.start()
    response = client.get("/v1/tenant", headers={"X-Request-Id": "req_from_the_caller"})
    assert response.headers["X-Request-Id"] == "req_from_the_caller"
    assert request_lines(json_logs.read(), "req_from_the_caller")


def test_request_ids_differ_between_requests(client):
    ids = {client.get("/healthz").headers["X-Request-Id"] for _ in range(3)}
    assert len(ids) == 3
