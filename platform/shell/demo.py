"""``jifen demo``: demo tenants the README's first command shows. Safe to run again.

It signs up two merchants and an alliance (on the Scale plan, which includes the
exchange and alliances), a platform operator (``DEMO_OPERATOR``: the console's Outbox
shows them the messages an instance without a mail server holds, such as the demo card's
sign-in codes) and a member of the platform's finance team (``DEMO_FINANCE``: the
settlement batches), both with ``DEMO_PASSWORD``, then the widgets part
(``jifen.widgets.demo``: exchange rates, a demo card with points in both merchants and an
email on file, a reward) and the flows below:
the merchants join the alliance and one issues alliance points, the card swaps between
programs, and the day's clearing is settled (closed, approved by another person, paid by
hand).
This module is part of the composition root, like ``app.py``: it may import every area.
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
DEMO_OPERATOR = "operator@demo.jifen.example"
DEMO_FINANCE = "finance@demo.jifen.example"

DEMO_TENANTS = [
    {
        "tenant": {"name": "Tea House 茶馆", "slug": "tea-house", "kind": "merchant"},
        "currency": {"code": "TEA", "name": "茶点"},
        "owner": {"email": "owner@tea-house.example", "password": DEMO_PASSWORD},
        "plan": "scale",
    },
    {
        "tenant": {"name": "Book Corner 书角", "slug": "book-corner", "kind": "merchant"},
        "currency": {"code": "BOOK", "name": "书点"},
        "owner": {"email": "owner@book-corner.example", "password": DEMO_PASSWORD},
        "plan": "scale",
    },
    {
        "tenant": {"name": "Riverside Alliance 河畔联盟", "slug": "riverside", "kind": "alliance"},
        "currency": {"code": "RIVER", "name": "河畔积分"},
        "owner": {"email": "owner@riverside.example", "password": DEMO_PASSWORD},
        "plan": "scale",
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

    operator = load_demo_operator()
    finance = load_demo_staff(DEMO_FINANCE, "finance", "Demo finance")
    widgets = load_widgets_demo()
    flows = load_flows_demo(widgets.get("card_number"))
    return {
        "widgets": widgets,
        "flows": flows,
        "tenants": [
            known.get(slug, {"slug": slug}) for slug in [*existing, *[c["slug"] for c in created]]
        ],
        "created": [entry["slug"] for entry in created],
        "owner_password": DEMO_PASSWORD,
        "operator": operator,
        "finance": finance,
        "staff_password": DEMO_PASSWORD,
    }


def load_demo_operator() -> str:
    """A platform operator for the console (password ``DEMO_PASSWORD``), once."""
    return load_demo_staff(DEMO_OPERATOR, "operator", "Demo operator")


def load_demo_staff(email: str, platform_role: str, name: str) -> str:
    """A platform staff user with ``platform_role`` (password ``DEMO_PASSWORD``), once."""
    from jifen.platform.auth.model import PlatformRole, StaffUser
    from jifen.platform.auth.services import new_staff_user

    with unit_of_work(platform=True) as uow:
        if uow.session.scalar(select(StaffUser.id).where(StaffUser.email == email)):
            return email
        new_staff_user(
            uow.session,
            email=email,
            password=DEMO_PASSWORD,
            name=name,
            platform_role=PlatformRole(platform_role),
        )
        uow.commit()
    return email


def load_flows_demo(card_number: str | None) -> dict:
    """The alliance, a swap and a settled batch, once: skipped when a batch exists or
    there is no demo card."""
    from jifen.exchange import pricing, swaps
    from jifen.exchange import settings as exchange_settings
    from jifen.platform import clock
    from jifen.settlement import manual, payments
    from jifen.settlement import services as settlement
    from jifen.settlement.model import SettlementBatch
    from jifen.tenants.alliances import services as alliances
    from jifen.tenants.members.model import Card
    from jifen.tenants.model import Tenant

    with unit_of_work(platform=True) as uow:
        if card_number is None or uow.session.scalar(select(SettlementBatch.id).limit(1)):
            return {}
        ids = {t.slug: t.id for t in uow.session.scalars(select(Tenant))}
        card_id = uow.session.scalar(select(Card.id).where(Card.number == card_number))

    exchange_settings.put_settings(
        ids["riverside"], {"spu_rate": pricing.parse_spu("0.01"), "inbound": True, "outbound": True}
    )
    for merchant in ("tea-house", "book-corner"):
        invitation = alliances.invite(ids["riverside"], merchant)
        alliances.accept(ids[merchant], invitation.id)
    alliances.earn(
        ids["tea-house"],
        {
            "alliance": "RIVER",
            "card_number": card_number,
            "order_id": "demo-river-1",
            "amount": 58800,
            "currency": "CNY",
        },
    )
    swap = swaps.quote_and_swap(
        swaps.Party("demo", card_id=card_id), from_currency="TEA", to_currency="BOOK", points=1000
    )
    closed = settlement.close_batch("demo-finance-1", clock.now())
    batch_id = closed.batch.id
    settlement.approve_batch(batch_id, "demo-finance-2")
    payments.pay_batch(batch_id)
    for instruction in payments.list_instructions(batch_id):
        manual.mark_paid(batch_id, instruction.tenant_id, "demo-finance-2", "DEMO-BANK-REF")
    return {"swap": swap.id, "settlement_batch": batch_id}
