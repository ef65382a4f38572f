"""Helpers for the program-rules tests over HTTP: put a program, set a tier, read the
events a tenant emitted, run a periodic job."""

from __future__ import annotations

from datetime import UTC, datetime

from jifen.platform.db import unit_of_work

# The running example of issue 4: 1 point per full 100.00, shipping excluded; silver
# 1.5× from 1,000.00 spent, gold 2× from 5,000.00; 100 points are worth 10.00 and pay
# at most half an order; points clear every 31 October.
PROGRAM = {
    "earning": {
        "points": 1,
        "per_amount": 10000,
        "exclude_shipping": True,
        "events": {
            "signup": 50,
            "checkin": 10,
            "review": 5,
            "referral": {"referrer": 100, "referee": 30},
            "profile_completion": 20,
        },
        "caps": {"per_event": {"review": 2}},
    },
    "tiers": [
        {"code": "silver", "name": "银卡", "min_spend": 100000, "factor": "1.5"},
        {"code": "gold", "name": "金卡", "min_spend": 500000, "factor": "2"},
    ],
    "expiry": {"policy": "fixed_date", "month": 10, "day": 31},
    "redemption": {"min_points": 100, "points": 100, "per_amount": 1000, "max_order_share_pct": 50},
}


def shanghai(text: str) -> datetime:
    """``"2025-10-20 12:00"`` read in Asia/Shanghai (+08:00), as an aware UTC instant."""
    return datetime.fromisoformat(text + "+08:00").astimezone(UTC)


def put_program(points, document: dict) -> dict:
    response = points.client.put("/v1/program", json=document, headers=points.tenant.auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def set_tier(tenant_id: str, member_id: str, tier: str | None) -> None:
    from jifen.tenants.members.model import Member

    with unit_of_work(tenant_id=tenant_id) as uow:
        uow.session.get(Member, member_id).tier = tier
        uow.commit()


def events(tenant_id: str, type_: str) -> list[dict]:
    from sqlalchemy import select

    from jifen.platform.webhooks.model import Event

    with unit_of_work(tenant_id=tenant_id) as uow:
        rows = uow.session.scalars(
            select(Event).where(Event.type == type_).order_by(Event.created, Event.id)
        ).all()
        return [row.data for row in rows]


def run_job(api, client, job: str) -> dict:
    response = client.post(
        "/v1/platform/jobs",
        json={"job": job},
        headers={"Authorization": f"Bearer {api.platform_token('platform:admin')}"},
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()["result"]


def earn(points, member_id: str, order_id: str, amount: int, **extra) -> dict:
    body = {"member_id": member_id, "order_id": order_id, "amount": amount, "currency": "CNY"}
    response = points.post("/v1/earn", {**body, **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()
