"""The platform over real HTTP: ``jifen serve`` (gunicorn) in its own process, on the test
database, driven with ``requests`` — signup, token, ``GET /v1/tenant``, the docs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests
from factories import signup_body


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(database_url):
    port = _free_port()
    env = {
        **os.environ,
        "JIFEN_DATABASE_URL": database_url,
        "JIFEN_SECRET_KEY": "end-to-end",
        "JIFEN_LOG_FORMAT": "text",
        "JIFEN_RATE_LIMITS": "off",
    }
    env.pop("JIFEN_REDIS_URL", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jifen.platform.shell.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # gunicorn's master and workers form one process group
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):  # a loaded CI machine may take a while to boot gunicorn
        try:
            if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                break
        except requests.RequestException:  # not listening yet, or still booting
            time.sleep(0.1)
    else:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail(f"jifen serve did not start: {process.stderr.read()[-2000:]}")
    yield base
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(10)


def test_signup_token_and_tenant_over_real_http(server):
    body = signup_body()
    signed_up = requests.post(f"{server}/v1/signup", json=body, timeout=10)
    assert signed_up.status_code == 201, signed_up.text
    credentials = signed_up.json()["api_client"]

    token = requests.post(
        f"{server}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(credentials["client_id"], credentials["client_secret"]),
        timeout=10,
    )
    assert token.status_code == 200, token.text
    access_token = token.json()["access_token"]

    tenant = requests.get(
        f"{server}/v1/tenant", headers={"Authorization": f"Bearer {access_token}"}, timeout=10
    )
    assert tenant.status_code == 200
    assert tenant.json()["slug"] == body["tenant"]["slug"]
    assert tenant.headers["X-Request-Id"].startswith("req_")


def test_docs_and_openapi_are_served_by_the_app_itself(server):
    docs = requests.get(f"{server}/docs", timeout=10)
    assert docs.status_code == 200 and "/static/swagger-ui/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    bundle = requests.get(f"{server}/static/swagger-ui/swagger-ui-bundle.js", timeout=10)
    assert bundle.status_code == 200 and len(bundle.content) > 100_000
    spec = requests.get(f"{server}/openapi.json", timeout=10).json()
    assert spec["openapi"].startswith("3.1")
    assert "/v1/signup" in spec["paths"]


def test_errors_keep_the_envelope_over_http(server):
    response = requests.post(
        f"{server}/v1/signup",
        data="{not json",
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"
