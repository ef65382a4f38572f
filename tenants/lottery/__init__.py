"""Lotteries: draws that cost points, prizes with published odds and stock, and a draw
anyone can verify once the server seed is revealed.

``rules`` is the pure part (seed commitment, the outcome of a draw, the odds table);
``model`` the tables; ``services`` the use cases; ``api`` the tenant endpoints under
``/v1/lotteries`` and the public odds page under ``/lotteries``.
"""
