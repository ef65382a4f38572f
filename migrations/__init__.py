"""Alembic migrations for SQLite and PostgreSQL: one revision chain for both.

``jifen db upgrade`` runs them (see ``upgrade`` below). Constraints, triggers, roles and
row-level security are written by hand with ``op.execute``; autogenerate misses them.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig

HERE = Path(__file__).parent

# Every module that defines tables. Migrations, the schema test and ``jifen`` load these.
MODEL_MODULES = [
    "jifen.platform.auth.model",
    "jifen.platform.idempotency",
    "jifen.tenants.model",
    "jifen.tenants.program.model",
    "jifen.platform.ledger.model",
    "jifen.tenants.members.model",
    "jifen.platform.webhooks.model",
    "jifen.platform.billing.model",
    "jifen.exchange.model",
    "jifen.platform.clearing.records",
    "jifen.settlement.model",
    "jifen.tenants.members.orders",
    "jifen.tenants.program.history",
    "jifen.tenants.catalog.model",
    "jifen.widgets.model",
    "jifen.tenants.alliances.model",
    "jifen.tenants.lottery.model",
    "jifen.platform.console.activity",
    "jifen.tenants.holders.model",
    "jifen.platform.throttle",
    "jifen.platform.messages.model",
]


def load_models():
    from jifen.platform.db import Base

    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base.metadata


def alembic_config(url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    """Apply migrations. ``heads``: every branch (areas add independent revisions)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)
