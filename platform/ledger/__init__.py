"""The double-entry points ledger (DESIGN.md, The ledger).

Every part of Jifen moves points through the functions re-exported here; they run inside
the caller's unit of work and never commit.

* ``model``: accounts, transactions, postings, holds, lots and lot consumptions;
* ``accounts``: wallets and tenant-wide accounts, and the wallet row lock;
* ``postings``: every movement of points, its checks, and the one writer of postings,
  balances and lots, returning a ``PostedTransaction``;
* ``sql``: the writer's plain SQL per dialect (one statement per posting on PostgreSQL);
* ``holds``: two-phase spending (place, capture, void, expire);
* ``lots``: which lots a debit or an expiry takes points from (pure);
* ``expiry``: expiry policies (pure);
* ``sweeps``, ``jobs``: the nightly expiry sweep; ``audit``: the ledger's invariants.
"""

from .accounts import (
    TenantAccount,
    create_wallet,
    lock_wallets,
    open_wallet,
    tenant_account,
)
from .holds import capture_hold, expire_holds, place_hold, void_hold
from .model import (
    MAX_POINTS,
    Account,
    AccountType,
    Hold,
    HoldStatus,
    Kind,
    Lot,
    LotConsumption,
    Posting,
    Transaction,
)
from .postings import (
    Balance,
    ExpiringPoints,
    PostedLeg,
    PostedTransaction,
    check_points,
    credit,
    debit,
    expire_lots,
    reverse,
    transfer,
    wallet_balance,
)

__all__ = [
    "MAX_POINTS",
    "Account",
    "AccountType",
    "Balance",
    "ExpiringPoints",
    "Hold",
    "HoldStatus",
    "Kind",
    "Lot",
    "LotConsumption",
    "PostedLeg",
    "PostedTransaction",
    "Posting",
    "TenantAccount",
    "Transaction",
    "capture_hold",
    "check_points",
    "create_wallet",
    "credit",
    "debit",
    "expire_holds",
    "expire_lots",
    "lock_wallets",
    "open_wallet",
    "place_hold",
    "reverse",
    "tenant_account",
    "transfer",
    "void_hold",
    "wallet_balance",
]
