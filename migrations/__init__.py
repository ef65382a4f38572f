"""Alembic migrations for SQLite and PostgreSQL: one revision chain for both.

``jifen db upgrade`` runs them (see ``upgrade`` below). Constraints, triggers, roles and
row-level security are written by hand with ``op.execute``; autogenerate misses them.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import MetaData

HERE = Path(__file__).parent


def alembic_config(url: str, metadata: MetaData | None = None) -> AlembicConfig:
    """``metadata`` (every table: ``platform.shell.areas.load_models()``) is needed only
    to compare the schema with the models; this package imports no model itself."""
    config = AlembicConfig()
    config.attributes["target_metadata"] = metadata
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    """Apply migrations. ``heads``: every branch (areas add independent revisions)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)
