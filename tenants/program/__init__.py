"""Program rules: what a tenant configures about its loyalty program, as data.

* ``rules`` — the program document (API.md, Program): parsing, validation, defaults and
  the canonical form that is stored and shown.
* ``windows`` — double-points days and member days: when a window applies, and whether two
  windows can fall on the same day.
* ``earning`` — points for an order and for one-off events (pure).
* ``tiers`` — tier evaluation: upgrade at once, downgrade at the end of a review period.
* ``redemption`` — how many points an order can take at checkout, and their money value.
* ``reminders`` — which expiry reminder (30/7/1 days before) is due for a lot.
* ``expiry`` — the program's expiry policy as a ledger ``ExpiryPolicy`` (plus
  ``period_end_grace``, which the ledger lacks).
* ``model``, ``services``, ``api``, ``schemas`` — program versions, ``GET/PUT
  /v1/program``, ``/v1/program/versions`` and ``/v1/program/simulate``.

Everything but the last line is pure: no Flask, no session; the clock is a parameter.
"""
