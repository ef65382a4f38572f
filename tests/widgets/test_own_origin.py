"""Jifen's own origin is always an allowed parent of the widget frames: the demo merchant
page works on whatever host and port Jifen is served from (``scripts/up --port 8765``),
while every other origin still needs registering. Frames and ``/widgets/v1/config`` over
the Flask test client, with the demo's registered origins (port 8000)."""

from __future__ import annotations

import dataclasses

import pytest

from jifen.widgets.demo import DEMO_ORIGINS

SERVED_AT = "http://127.0.0.1:8765"


@pytest.fixture
def demo_tenant(world):
    world.set_origins(world.a, DEMO_ORIGINS)
    return world


def frame(client, world, parent: str, **kwargs):
    return client.get(
        "/widgets/v1/frame/swap",
        query_string={"publishable_key": world.a.publishable_key, "parent_origin": parent},
        **kwargs,
    )


def test_the_demo_page_frames_work_on_another_port(demo_tenant, client):
    response = frame(client, demo_tenant, SERVED_AT, base_url=SERVED_AT)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert 'data-problem=""' in text and f'data-parent-origin="{SERVED_AT}"' in text
    csp = response.headers["Content-Security-Policy"]
    assert csp.endswith(f"frame-ancestors {' '.join(DEMO_ORIGINS)} {SERVED_AT}")

    config = client.get(
        "/widgets/v1/config",
        query_string={"publishable_key": demo_tenant.a.publishable_key},
        base_url=SERVED_AT,
    ).get_json()
    assert config["origin"] == SERVED_AT and config["origin_allowed"] is True


def test_another_port_of_the_same_host_is_still_a_foreign_origin(demo_tenant, client):
    response = frame(client, demo_tenant, "http://127.0.0.1:9999", base_url=SERVED_AT)
    assert response.status_code == 403
    assert 'data-problem="origin_not_allowed"' in response.get_data(as_text=True)
    assert "9999" not in response.headers["Content-Security-Policy"]
    config = client.get(
        "/widgets/v1/config",
        query_string={"publishable_key": demo_tenant.a.publishable_key},
        headers={"Origin": "http://127.0.0.1:9999"},
        base_url=SERVED_AT,
    ).get_json()
    assert config["origin_allowed"] is False


def test_the_configured_base_url_is_an_allowed_parent(demo_tenant, client, app):
    config = app.extensions["jifen.config"]
    app.extensions["jifen.config"] = dataclasses.replace(config, base_url="https://jifen.example/")
    try:  # behind a proxy that passes on its own internal Host
        response = frame(
            client, demo_tenant, "https://jifen.example", base_url="http://10.0.0.5:8000"
        )
    finally:
        app.extensions["jifen.config"] = config
    assert response.status_code == 200
    assert (
        "https://jifen.example http://10.0.0.5:8000" in response.headers["Content-Security-Policy"]
    )


def test_a_forged_host_header_never_reaches_the_policy(demo_tenant, client):
    response = frame(client, demo_tenant, SERVED_AT, headers={"Host": "evil.example;script-src *"})
    assert response.status_code == 403
    csp = response.headers["Content-Security-Policy"]
    assert "evil" not in csp and "script-src" not in csp
