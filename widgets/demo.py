"""``jifen demo``, widgets part: a demo card holder the demo merchant page shows.

Puts the demo merchants' currencies in the exchange, enrols one card in Tea House (with
the email ``HOLDER_EMAIL`` on file, so the card's holder can be sent a sign-in code) and
links it to Book Corner with a counter code of its holder, as a real merchant must; gives
both some points, stocks a reward with codes, registers the origins ``jifen serve``
answers on by default (Jifen's own origin is allowed anyway, whatever its port), and names
the Tea House member as the demo page's member (``/demo/merchant``). Safe to run again:
does nothing once a demo member exists, but always says which card it is.
"""

from __future__ import annotations

from sqlalchemy import select

from jifen.platform.db import unit_of_work

DEMO_ORIGINS = ["http://127.0.0.1:8000", "http://localhost:8000"]
RATES = {"tea-house": "0.01", "book-corner": "0.02"}
HOLDER_EMAIL = "holder@demo.jifen.example"


def load_widgets_demo() -> dict:
    from jifen.exchange import pricing
    from jifen.exchange import settings as exchange_settings
    from jifen.tenants.catalog import services as catalog
    from jifen.tenants.holders import services as holders
    from jifen.tenants.members import awards
    from jifen.tenants.members import services as members
    from jifen.tenants.model import Tenant

    from . import services
    from .model import WidgetSettings

    with unit_of_work(platform=True) as uow:
        tenants = {
            t.slug: t.id
            for t in uow.session.scalars(select(Tenant).where(Tenant.slug.in_(list(RATES))))
        }
        existing = uow.session.scalar(
            select(WidgetSettings.demo_member_id).where(WidgetSettings.demo_member_id.is_not(None))
        )
    if existing:
        return _summary(existing)
    if set(tenants) != set(RATES):
        return {"demo_page": "/demo/merchant"}
    for slug, rate in RATES.items():
        exchange_settings.put_settings(
            tenants[slug],
            {"spu_rate": pricing.parse_spu(rate), "inbound": True, "outbound": True},
        )
    tea = members.create_member(
        tenants["tea-house"], external_id="demo-widgets", email=HOLDER_EMAIL
    )
    consent = holders.issue_counter_code(tea.card_id)  # the holder links the card at Book Corner
    book = members.create_member(
        tenants["book-corner"], external_id="demo-widgets", holder_code=consent.code
    )
    awards.award(tenants["tea-house"], member_id=tea.id, event="manual", points=5000,
                 reason="Demo welcome", actor="demo")  # fmt: skip
    awards.award(tenants["book-corner"], member_id=book.id, event="manual", points=2000,
                 reason="Demo welcome", actor="demo")  # fmt: skip
    reward = catalog.create_reward(
        tenants["tea-house"], {"kind": "virtual", "name": "Green tea 绿茶", "price_points": 300}
    )
    catalog.upload_codes(
        tenants["tea-house"], reward.id, [f"TEA-DEMO-{n:04d}" for n in range(1, 51)]
    )
    services.set_demo_member(tenants["tea-house"], tea.id, DEMO_ORIGINS)
    return _summary(tea.id)


def _summary(member_id: str) -> dict:
    """Where the demo is, and its card: the number and the email its codes go to."""
    from jifen.tenants.members.model import Card, Member

    with unit_of_work(platform=True) as uow:
        found = uow.session.execute(
            select(Card.number, Member.email)
            .join(Member, Member.card_id == Card.id)
            .where(Member.id == member_id)
        ).one()
    return {
        "demo_page": "/demo/merchant",
        "wallet": "/wallet",
        "card_number": found.number,
        "holder_email": found.email,
    }
