"""``jifen demo``: demo tenants the README's first command shows. Safe to run again.

It grows as capabilities land: today it signs up two merchants and an alliance.
"""

from __future__ import annotations

from jifen.platform.db import unit_of_work
from sqlalchemy import select

DEMO_PASSWORD = "jifen-demo-password"

DEMO_TENANTS = [
    {
        "tenant": {"name": "Tea House 茶馆", "slug": "tea-house", "kind": "merchant"},
        "currency": {"code": "TEA", "name": "茶点"},
        "owner": {"email": "owner@tea-house.example", "password": DEMO_PASSWORD},
    },
    {
        "tenant": {"name": "Book Corner 书角", "slug": "book-corner", "kind": "merchant"},
        "currency": {"code": "BOOK", "name": "书点"},
        "owner": {"email": "owner@book-corner.example", "password": DEMO_PASSWORD},
    },
    {
        "tenant": {"name": "Riverside Alliance 河畔联盟", "slug": "riverside", "kind": "alliance"},
        "currency": {"code": "RIVER", "name": "河畔积分"},
        "owner": {"email": "owner@riverside.example", "password": DEMO_PASSWORD},
    },
]


def load_demo() -> dict:
    from jifen.tenants import services as tenants
    from jifen.tenants.model import Tenant

    created, existing = [], []
    for spec in DEMO_TENANTS:
        with unit_of_work(platform=True) as uow:
            found = uow.session.scalar(
                select(Tenant.id).where(Tenant.slug == spec["tenant"]["slug"])
            )
        if found:
            existing.append(spec["tenant"]["slug"])
            continue
        signup = tenants.sign_up(**spec)
        created.append(
            {
                "slug": signup.tenant.slug,
                "client_id": signup.api_client.client_id,
                "client_secret": signup.api_client.client_secret,
                "owner": spec["owner"]["email"],
            }
        )
    return {"created": created, "already_present": existing, "owner_password": DEMO_PASSWORD}
