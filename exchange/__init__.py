"""The exchange (DESIGN.md, Exchange): SPU rates and exchange settings, quotes and swaps
between tenants' currencies, and acceptance (a merchant redeeming another tenant's points).

* ``pricing`` — SPU, rates, fees and the amounts of a swap (pure, exact, no floats);
* ``model`` — settings, fee schedules, quotes, swaps, daily usage, authorizations;
* clearing records (what settlement aggregates) are written through the clearing port,
  ``jifen.platform.clearing``;
* ``settings``, ``swaps``, ``acceptance`` — the use cases;
* ``api``, ``schemas`` — the endpoints; ``jobs`` — authorization expiry; ``audit`` — the
  exchange's invariants for ``jifen audit``.
"""
