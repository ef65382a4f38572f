"""Stripe-shaped lists read from the database: newest first, a page after a cursor."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy.orm import Session

from .errors import NotFound


def cursor_page(session: Session, statement: Any, model: Any, args: dict) -> dict:
    """Newest first, ``limit`` items after the ``starting_after`` id (API.md, Lists).

    ``statement`` is a select of ``model`` already filtered (and tenant-scoped by the
    unit of work); an unknown or foreign ``starting_after`` is a 404 like any other id.
    """
    limit = args["limit"]
    cursor_id = args.get("starting_after")
    if cursor_id:
        cursor = session.execute(
            statement.with_only_columns(model.created, model.id).where(model.id == cursor_id)
        ).one_or_none()
        if cursor is None:
            raise NotFound(f"No such object: {cursor_id}", param="starting_after")
        statement = statement.where(
            or_(
                model.created < cursor.created,
                and_(model.created == cursor.created, model.id < cursor.id),
            )
        )
    rows = session.scalars(
        statement.order_by(model.created.desc(), model.id.desc()).limit(limit + 1)
    ).all()
    return {"object": "list", "data": rows[:limit], "has_more": len(rows) > limit}
