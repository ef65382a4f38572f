"""Staff users of a tenant for tests that need a second pair of eyes: real users with a
live role, since approving checks that the approver is one of the tenant's staff."""

from __future__ import annotations

from factories import unique

from jifen.platform.auth.model import Role
from jifen.platform.auth.services import grant_role, new_staff_user
from jifen.platform.db import unit_of_work

_made: dict[tuple[str, str], str] = {}


def staff_of(tenant_id: str, name: str = "second", role: Role = Role.FINANCE) -> str:
    """The id of the staff user ``name`` of the tenant (made on first use)."""
    key = (tenant_id, name)
    if key not in _made:
        with unit_of_work(platform=True) as uow:
            user = new_staff_user(
                uow.session, email=f"{unique(name + '-')}@example.test", password="long enough"
            )
            grant_role(uow.session, tenant_id=tenant_id, user_id=user.id, role=role)
            uow.commit()
            _made[key] = user.id
    return _made[key]
