"""Plans and billing: what each tenant may do, what it pays, and where it stands.

* ``plans``: the plans (Free, Growth, Scale) and their limits, as data;
* ``limits``, ``states``, ``usage``: pure rules (limits, the account state machine,
  monthly active members), plus the small queries that feed them;
* ``guard``: the per-request checks (API rate, read-only accounts);
* ``stripe_gateway`` and ``stripe_webhooks``: the only code that talks to Stripe;
* ``services``, ``jobs``, ``api``: use cases, background work and endpoints.

With no ``STRIPE_API_KEY`` billing runs in manual mode: plans and limits apply, and
nothing calls Stripe. See docs/billing.md.
"""
