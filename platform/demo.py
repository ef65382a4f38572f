"""``jifen demo``: demo tenants the README's first command shows. Safe to run again.

It grows as capabilities land: today it signs up two merchants and an alliance.
"""

from __future__ import annotations

import json

from sqlalchemy import select

from jifen.platform.config import DEFAULT_INSTANCE_DIR
from jifen.platform.db import unit_of_work

# Demo credentials are kept here so a second ``jifen demo`` can show them again; the
# platform itself never stores a client secret in plain text.
DEMO_FILE = DEFAULT_INSTANCE_DIR / "demo.json"

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
    known = json.loads(DEMO_FILE.read_text()) if DEMO_FILE.exists() else {}
    known.update({entry["slug"]: entry for entry in created})
    DEMO_FILE.parent.mkdir(parents=True, exist_ok=True)
    DEMO_FILE.write_text(json.dumps(known, indent=2, ensure_ascii=False))
    from jifen.widgets.demo import load_widgets_demo

    widgets = load_widgets_demo()
    return {
        "widgets": widgets,
        "tenants": [
            known.get(slug, {"slug": slug}) for slug in [*existing, *[c["slug"] for c in created]]
        ],
        "created": [entry["slug"] for entry in created],
        "owner_password": DEMO_PASSWORD,
    }
