"""Members and cards: a card's memberships, their points (through the ledger) and the
member tokens of the consumer endpoints."""
