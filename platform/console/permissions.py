"""Who may do what in the consoles: one table, read by every view and by the tests.

A tenant action is allowed when the signed-in user's role *in the selected tenant* is
in the action's set. Platform actions (settlement batches, tenants, the fee schedule, the
SPU value, job queues, the audit: everything that spans tenants) are for staff users
flagged ``is_platform_operator`` and need no tenant. Pure data and pure
functions: no Flask, no database.
"""

from __future__ import annotations

from jifen.platform.auth.model import Role

OWNER, ADMIN, OPERATOR, SUPPORT, FINANCE = (
    Role.OWNER,
    Role.ADMIN,
    Role.OPERATOR,
    Role.SUPPORT,
    Role.FINANCE,
)
EVERY_ROLE = frozenset(Role)

TENANT_ACTIONS: dict[str, frozenset[Role]] = {
    "dashboard.view": EVERY_ROLE,
    "members.view": frozenset({OWNER, ADMIN, OPERATOR, SUPPORT}),
    "members.freeze": frozenset({OWNER, ADMIN, SUPPORT}),
    "members.adjust": frozenset({OWNER, ADMIN}),
    "adjustments.view": frozenset({OWNER, ADMIN, SUPPORT, FINANCE}),
    "adjustments.request": frozenset({OWNER, ADMIN}),
    "adjustments.approve": frozenset({OWNER, ADMIN, FINANCE}),
    "webhooks.view": frozenset({OWNER, ADMIN, OPERATOR}),
    "webhooks.replay": frozenset({OWNER, ADMIN, OPERATOR}),
    "statements.view": frozenset({OWNER, ADMIN, FINANCE}),
    "clients.view": frozenset({OWNER, ADMIN}),
    "clients.manage": frozenset({OWNER, ADMIN}),
    "exchange.view": frozenset({OWNER, ADMIN, FINANCE}),
    "exchange.edit": frozenset({OWNER, ADMIN}),
    "program.view": frozenset({OWNER, ADMIN, OPERATOR}),
    "program.edit": frozenset({OWNER, ADMIN}),
    "program.simulate": frozenset({OWNER, ADMIN, OPERATOR}),
    "activity.tenant_view": frozenset({OWNER, ADMIN}),
    "catalog.view": frozenset({OWNER, ADMIN, OPERATOR, SUPPORT}),
    "catalog.edit": frozenset({OWNER, ADMIN, OPERATOR}),
    "orders.fulfil": frozenset({OWNER, ADMIN, OPERATOR, SUPPORT}),
    "orders.cancel": frozenset({OWNER, ADMIN, SUPPORT}),
    "lottery.view": frozenset({OWNER, ADMIN, OPERATOR}),
    "lottery.edit": frozenset({OWNER, ADMIN}),
    "alliance.view": frozenset({OWNER, ADMIN, FINANCE}),
    "alliance.manage": frozenset({OWNER, ADMIN}),
}

PLATFORM_ACTIONS = frozenset(
    {
        "batches.view",
        "batches.close",
        "batches.approve",
        "batches.report",
        "batches.reconcile",
        "tenants.view",
        "tenants.plan",
        "activity.view",
        "fees.view",
        "fees.edit",
        "spu_value.view",
        "spu_value.edit",
        "jobs.view",
        "jobs.requeue",
        "outbox.view",
        "audit.run",
    }
)


def allowed(action: str, *, role: Role | None, platform_operator: bool = False) -> bool:
    """May a user with ``role`` in the current tenant (or the platform flag) do it?

    Raises KeyError for an action nobody declared, so a typo never grants anything.
    """
    if action in PLATFORM_ACTIONS:
        return platform_operator
    return role is not None and role in TENANT_ACTIONS[action]
