-- (a) The ceiling: an earn in plain SQL/plpgsql. Lock the member's row, update its
-- balance, insert a transaction header and its two postings. No ORM, no Python.
CREATE TABLE bench_wallets (
    id bigint PRIMARY KEY,
    balance bigint NOT NULL CHECK (balance >= 0),
    version bigint NOT NULL DEFAULT 0
);
CREATE TABLE bench_transactions (
    id bigserial PRIMARY KEY,
    kind text NOT NULL,
    reference text,
    created timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE bench_postings (
    id bigserial PRIMARY KEY,
    transaction_id bigint NOT NULL REFERENCES bench_transactions (id),
    account text NOT NULL,
    amount bigint NOT NULL,
    created timestamptz NOT NULL DEFAULT now()
);
CREATE FUNCTION bench_earn(p_wallet bigint, p_points bigint) RETURNS void AS $$
DECLARE
    txn bigint;
BEGIN
    PERFORM 1 FROM bench_wallets WHERE id = p_wallet FOR UPDATE;
    UPDATE bench_wallets SET balance = balance + p_points, version = version + 1
     WHERE id = p_wallet;
    INSERT INTO bench_transactions (kind, reference) VALUES ('earn', 'bench')
        RETURNING id INTO txn;
    INSERT INTO bench_postings (transaction_id, account, amount)
    VALUES (txn, 'wallet:' || p_wallet, p_points), (txn, 'issuance', -p_points);
END
$$ LANGUAGE plpgsql;
INSERT INTO bench_wallets (id, balance) SELECT g, 0 FROM generate_series(1, 10000) g;
