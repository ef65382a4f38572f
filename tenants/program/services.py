"""Use cases of the program: read it, change it (a new version), list its versions and
simulate an earn request against it, or against a draft.

``current_program(session, tenant_id)`` is the one call other areas make (POST
/v1/earn, awards, checkout quotes): inside their own unit of work, it returns the
``Program`` in force and its version number, to record on the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jifen.platform import clock
from jifen.platform.cache import ProcessCache
from jifen.platform.db import unit_of_work
from jifen.platform.errors import Conflict, Unprocessable
from jifen.platform.paging import cursor_page
from jifen.tenants.model import DEFAULT_TIME_ZONE, Tenant

from .earning import MemberContext, Order, compute_earn
from .expiry import expires_at
from .model import ProgramVersion
from .rules import Program, default_program, parse_program, program_document

READ_ONLY_KEYS = ("object", "id", "created", "created_by")


@dataclass
class ProgramView:
    """The program in force, as ``GET /v1/program`` shows it (version 0: the default)."""

    id: str | None
    version: int
    document: dict[str, Any]
    created: datetime | None
    created_by: str | None
    note: str | None

    @classmethod
    def of(cls, row: ProgramVersion | None) -> ProgramView:
        if row is None:
            return cls(None, 0, program_document(default_program()), None, None, None)
        return cls(row.id, row.version, row.document, row.created, row.created_by, row.note)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            **self.document,
            "created": self.created,
            "created_by": self.created_by,
            "note": self.note,
        }


def _latest(session: Session, tenant_id: str) -> ProgramVersion | None:
    return session.scalars(
        select(ProgramVersion)
        .where(ProgramVersion.tenant_id == tenant_id)
        .order_by(ProgramVersion.version.desc())
        .limit(1)
    ).first()


def current_program(session: Session, tenant_id: str) -> tuple[Program, int]:
    """The program in force for ``tenant_id`` and its version (0: the built-in default)."""
    session.flush()  # a version this transaction stored counts
    version_id = session.connection().scalar(select(latest_program_version(tenant_id)))
    return program_version(session, version_id)


def latest_program_version(tenant_id: Any) -> Any:
    """The id of ``tenant_id``'s program in force as a scalar subquery (None: the built-in
    default); ``tenant_id`` may be a column, to read it beside other rows."""
    return (
        select(ProgramVersion.id)
        .where(ProgramVersion.tenant_id == tenant_id)
        .order_by(ProgramVersion.version.desc())
        .limit(1)
        .scalar_subquery()
    )


# A stored version never changes, so each process keeps the programs it has parsed, by
# version id.
_parsed_programs: ProcessCache[str, tuple[Program, int]] = ProcessCache(size=1024)


def program_version(session: Session, version_id: str | None) -> tuple[Program, int]:
    """The program stored as ``version_id`` and its version number (None: the default)."""
    if version_id is None:
        return default_program(), 0
    known = _parsed_programs.get(version_id)
    if known is None:
        row = (
            session.connection()
            .execute(
                select(ProgramVersion.document, ProgramVersion.version).where(
                    ProgramVersion.id == version_id
                )
            )
            .one()
        )
        known = parse_program(row.document), row.version
        _parsed_programs.put(version_id, known)
    return known


def get_program(tenant_id: str) -> dict[str, Any]:
    with unit_of_work(tenant_id=tenant_id) as uow:
        return ProgramView.of(_latest(uow.session, tenant_id)).as_dict()


def put_program(
    tenant_id: str, body: dict[str, Any], *, created_by: str, note: str | None = None
) -> dict[str, Any]:
    """Store ``body`` as the next version of the program.

    ``body`` is the whole document; sections left out take their defaults. The keys GET
    adds (``object``, ``id``, ``created``, ``created_by``) are ignored, so a document read
    with GET can be edited and put back; ``version``, when given, must be the version in
    force (else Conflict ``program_changed``: someone changed it meanwhile).

    Raises Unprocessable naming the bad field; nothing is stored then.
    """
    document = {key: value for key, value in body.items() if key not in READ_ONLY_KEYS}
    expected_version = document.pop("version", None)
    note = document.pop("note", note)
    if expected_version is not None and (
        isinstance(expected_version, bool) or not isinstance(expected_version, int)
    ):
        raise Unprocessable("version must be a whole number.", param="version")
    if note is not None and (not isinstance(note, str) or len(note) > 500):
        raise Unprocessable("note must be a string of at most 500 characters.", param="note")
    program = parse_program(document)
    with unit_of_work(tenant_id=tenant_id) as uow:
        latest = _latest(uow.session, tenant_id)
        current_version = latest.version if latest is not None else 0
        if expected_version is not None and expected_version != current_version:
            raise Conflict(
                f"The program is at version {current_version}, not {expected_version}.",
                code="program_changed",
                param="version",
            )
        row = ProgramVersion(
            tenant_id=tenant_id,
            version=current_version + 1,
            document=program_document(program),
            created_by=created_by,
            note=note,
        )
        uow.session.add(row)
        try:
            uow.session.flush()
            result = ProgramView.of(row).as_dict()
            uow.commit(result)
        except IntegrityError:
            raise Conflict(
                "The program was changed at the same moment; read it again and retry.",
                code="program_changed",
            ) from None
        return result


def list_versions(tenant_id: str, args: dict) -> dict:
    with unit_of_work(tenant_id=tenant_id) as uow:
        statement = select(ProgramVersion).where(ProgramVersion.tenant_id == tenant_id)
        return cursor_page(uow.session, statement, ProgramVersion, args)


def simulate_earn(tenant_id: str, request: dict[str, Any]) -> dict[str, Any]:
    """What an earn request would award, under the program in force or under the draft
    ``request["program"]``; posts nothing. Raises Unprocessable naming the field (a draft's
    fields are named under ``program.``)."""
    draft = request.get("program")
    with unit_of_work(tenant_id=tenant_id) as uow:
        tenant = uow.session.get(Tenant, tenant_id)
        time_zone = tenant.time_zone if tenant is not None else DEFAULT_TIME_ZONE
        if draft is None:
            program, version = current_program(uow.session, tenant_id)
        else:
            program, version = _parse_draft(draft), None
    now = clock.now()
    order = Order(
        amount=request["amount"],
        currency=request["currency"],
        shipping=request.get("shipping", 0),
        category=request.get("category"),
        occurred_at=request.get("occurred_at"),
    )
    member = MemberContext(
        tier=request.get("tier"),
        birthday=request.get("birthday"),
        time_zone=time_zone,
        earned_today=request.get("earned_today", 0),
    )
    result = compute_earn(program, order, member, now)
    occurred_at = order.occurred_at or now
    return {
        "points": result.points,
        "base_points": result.base_points,
        "factor": format(result.factor, "f"),
        "breakdown": [step.as_dict() for step in result.breakdown],
        "program_version": version,
        "occurred_at": occurred_at,
        "expires_at": expires_at(program, occurred_at, time_zone) if result.points else None,
        "time_zone": time_zone,
    }


def _parse_draft(draft: Any) -> Program:
    try:
        return parse_program(draft)
    except Unprocessable as error:
        param = "program" if error.param in (None, "program") else f"program.{error.param}"
        raise Unprocessable(f"program.{error.message}", param=param, code=error.code) from None
