"""The deferred zero-sum check looks a transaction's postings up by tenant and id.

``ledger_check_balanced`` (0002) selected postings by ``transaction_id`` alone. Under
row-level security the policy's ``platform OR tenant_id = …`` cannot narrow an index,
and no index leads with ``transaction_id``, so every commit scanned its tenant's
postings: the bigger the tenant, the slower each commit (bench/ledger (e) halved with
every earn on one tenant). Naming the row's tenant lets the check use
``ix_ledger_postings_tenant_transaction``. PostgreSQL only; nothing changes on SQLite.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-29
"""

from alembic import op

from jifen.migrations import postgres

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_CHECK = """
CREATE OR REPLACE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  txn text := to_jsonb(NEW) ->> TG_ARGV[0];
  tenant text := NEW.tenant_id;
  unbalanced text;
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM ledger_postings WHERE tenant_id = tenant AND transaction_id = txn
  ) THEN
    RAISE EXCEPTION 'transaction % has no postings', txn
      USING ERRCODE = 'check_violation';
  END IF;
  SELECT asset INTO unbalanced FROM ledger_postings
   WHERE tenant_id = tenant AND transaction_id = txn
   GROUP BY asset HAVING sum(amount) <> 0 LIMIT 1;
  IF unbalanced IS NOT NULL THEN
    RAISE EXCEPTION 'postings of transaction % do not sum to zero in %', txn, unbalanced
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$
"""

_CHECK_BEFORE = """
CREATE OR REPLACE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  txn text := to_jsonb(NEW) ->> TG_ARGV[0];
  unbalanced text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM ledger_postings WHERE transaction_id = txn) THEN
    RAISE EXCEPTION 'transaction % has no postings', txn
      USING ERRCODE = 'check_violation';
  END IF;
  SELECT asset INTO unbalanced FROM ledger_postings
   WHERE transaction_id = txn GROUP BY asset HAVING sum(amount) <> 0 LIMIT 1;
  IF unbalanced IS NOT NULL THEN
    RAISE EXCEPTION 'postings of transaction % do not sum to zero in %', txn, unbalanced
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$
"""


def upgrade() -> None:
    if postgres.is_postgres():
        op.execute(_CHECK)


def downgrade() -> None:
    if postgres.is_postgres():
        op.execute(_CHECK_BEFORE)
