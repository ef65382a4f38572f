"""The exchange's daily limits count days in the tenants' own time zones: the inbound cap
in the destination's, the card's limit in the source's (not a fixed Asia/Shanghai)."""

from __future__ import annotations

from datetime import UTC, datetime

from factories import assert_error
from sqlalchemy import update

from jifen.platform.clock import frozen_at
from jifen.platform.db import unit_of_work
from jifen.tenants.model import Tenant

# 23:30 and 00:30 in Shanghai, across its midnight; both 23 November in UTC.
BEFORE_SHANGHAI_MIDNIGHT = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)
AFTER_SHANGHAI_MIDNIGHT = datetime(2026, 11, 23, 16, 30, tzinfo=UTC)


def set_time_zone(tenant, time_zone: str) -> None:
    with unit_of_work(platform=True) as uow:
        uow.session.execute(
            update(Tenant).where(Tenant.id == tenant.id).values(time_zone=time_zone)
        )
        uow.commit()


def test_the_inbound_cap_counts_the_destinations_day(exchange):
    set_time_zone(exchange.b, "UTC")
    exchange.settings(exchange.b, daily_inbound_cap=1000)
    card = exchange.funded(10_000)["card_number"]
    with frozen_at(BEFORE_SHANGHAI_MIDNIGHT):
        assert exchange.swap(exchange.quote(card, 1000).get_json()["id"]).status_code == 201
    with frozen_at(AFTER_SHANGHAI_MIDNIGHT):  # a new day in Shanghai, not in UTC
        assert_error(exchange.quote(card, 1000), 422, "limit_exceeded")


def test_the_card_limit_counts_the_sources_day(exchange, set_fees):
    set_time_zone(exchange.a, "UTC")
    set_fees(card_daily_limit="1000")  # SPU per card per day
    card = exchange.funded(10_000)["card_number"]
    with frozen_at(BEFORE_SHANGHAI_MIDNIGHT):
        assert exchange.swap(exchange.quote(card, 1000).get_json()["id"]).status_code == 201
    with frozen_at(AFTER_SHANGHAI_MIDNIGHT):  # a new day in Shanghai, not in UTC
        assert_error(exchange.quote(card, 300), 422, "limit_exceeded")


def test_a_new_day_in_the_tenants_zone_starts_afresh(exchange):
    exchange.settings(exchange.b, daily_inbound_cap=1000)  # both tenants in Shanghai
    card = exchange.funded(10_000)["card_number"]
    with frozen_at(BEFORE_SHANGHAI_MIDNIGHT):
        assert exchange.swap(exchange.quote(card, 1000).get_json()["id"]).status_code == 201
    with frozen_at(AFTER_SHANGHAI_MIDNIGHT):
        assert exchange.swap(exchange.quote(card, 1000).get_json()["id"]).status_code == 201
