"""Program versions: every change to a tenant's program is a new, immutable row.

The program in force is the tenant's highest ``version``; earlier rows stay as the record
of who changed what and when (``created_by`` is the API client or staff user, ``note``
their reason). ``document`` holds the canonical program document
(``rules.program_document``), so a stored version reads back exactly as it was shown.
A tenant without any row runs the default program, reported as version 0.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from jifen.platform.db import Base, Created, TenantOwned
from jifen.platform.ids import new_id


class ProgramVersion(TenantOwned, Created, Base):
    __tablename__ = "program_versions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "version", name="program_versions_version_per_tenant"),
        CheckConstraint("version >= 1", name="program_version_positive"),
        Index("ix_program_versions_tenant_created", "tenant_id", "created", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("prg"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    version: Mapped[int]
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(500))
