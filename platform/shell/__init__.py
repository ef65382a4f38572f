"""The composition root: the one package that imports every area.

``areas`` is the manifest: each area's blueprints, table modules, periodic jobs, audit
checks and Stripe event handlers, imported and named once. ``app.create_app`` builds the
base app (``platform.app``) and registers what the manifest lists; the ``jifen`` command
(``cli``), ``jifen serve`` (``server``), the consoles (``console``) and the demo data
(``demo``) sit here too, because each of them reaches into every area.

Nothing else in ``platform`` imports an area: the base registries (``jobs``, ``audit``,
``billing.stripe_webhooks``) are filled from here at app creation, and import-linter
holds the line (pyproject.toml, ``[tool.importlinter]``).
"""
