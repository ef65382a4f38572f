"""Who may do what in the consoles: one table, read by every view and by the tests.

A tenant action is allowed when the signed-in user's role *in the selected tenant* is
in the action's set. Platform actions (settlement batches, tenants, the fee schedule, the
SPU value, job queues, the outbox, the audit, platform staff: everything that spans
tenants) are allowed by the user's platform role and need no tenant: operators may do
all of them; the platform's finance team works the settlement batches and may read the
figures they rest on (tenants, fees, the SPU value, the audit) but changes none of them,
and sees neither the outbox (it holds people's sign-in codes), the job queues, the staff
activity log nor the platform's staff. Pure data and pure functions: no Flask, no
database.
"""

from __future__ import annotations

from jifen.platform.auth.model import PlatformRole, Role

OWNER, ADMIN, OPERATOR, SUPPORT, FINANCE = (
    Role.OWNER,
    Role.ADMIN,
    Role.OPERATOR,
    Role.SUPPORT,
    Role.FINANCE,
)
EVERY_ROLE = frozenset(Role)
PLATFORM_OPERATOR, PLATFORM_FINANCE = PlatformRole.OPERATOR, PlatformRole.FINANCE
EVERY_PLATFORM_ROLE = frozenset(PlatformRole)
OPERATORS = frozenset({PLATFORM_OPERATOR})

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
    "payouts.view": frozenset({OWNER, ADMIN, FINANCE}),
    "payouts.manage": frozenset({OWNER, ADMIN}),  # onboard the Stripe Connect account
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
    "team.view": frozenset({OWNER, ADMIN}),
    "team.manage": frozenset({OWNER, ADMIN}),  # the owner role: owners only (auth.staff)
}

PLATFORM_ACTIONS: dict[str, frozenset[PlatformRole]] = {
    "batches.view": EVERY_PLATFORM_ROLE,
    "batches.close": EVERY_PLATFORM_ROLE,
    "batches.approve": EVERY_PLATFORM_ROLE,
    "batches.report": EVERY_PLATFORM_ROLE,
    "batches.reconcile": EVERY_PLATFORM_ROLE,
    # confirm (or reject) a line someone else marked paid above the platform's threshold
    "batches.confirm_payment": EVERY_PLATFORM_ROLE,
    "tenants.view": EVERY_PLATFORM_ROLE,
    "tenants.plan": OPERATORS,
    "activity.view": OPERATORS,
    "fees.view": EVERY_PLATFORM_ROLE,
    "fees.edit": OPERATORS,
    "spu_value.view": EVERY_PLATFORM_ROLE,
    "spu_value.edit": OPERATORS,
    "jobs.view": OPERATORS,
    "jobs.requeue": OPERATORS,
    "outbox.view": OPERATORS,
    "audit.run": EVERY_PLATFORM_ROLE,
    "staff.view": OPERATORS,
    "staff.manage": OPERATORS,
}


def allowed(action: str, *, role: Role | None, platform_role: PlatformRole | None = None) -> bool:
    """May a user with ``role`` in the current tenant and ``platform_role`` do it?

    Raises KeyError for an action nobody declared, so a typo never grants anything.
    """
    if action in PLATFORM_ACTIONS:
        return platform_role is not None and platform_role in PLATFORM_ACTIONS[action]
    return role is not None and role in TENANT_ACTIONS[action]
