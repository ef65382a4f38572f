"""Settings, read once from the environment (names fixed by API.md, Command line).

``Config.from_env()`` is what ``jifen`` commands use; tests build a ``Config`` directly.
Everything has a default that runs the embedded platform: a SQLite file under
``instance/`` and jobs run inline in the process.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_INSTANCE_DIR = Path.cwd() / "instance"


def _default_database_url() -> str:
    return f"sqlite:///{DEFAULT_INSTANCE_DIR / 'jifen.sqlite3'}"


@dataclass(frozen=True)
class Config:
    database_url: str = field(default_factory=_default_database_url)
    # Migrations run as the schema owner; the app may connect as a role that owns nothing.
    migrate_database_url: str | None = None
    # On PostgreSQL the app switches to this role on connect, so row-level security applies
    # even when the login role owns the tables. Empty: stay the login role.
    database_role: str = "jifen_app"
    redis_url: str | None = None
    # Prefix of RQ queue names, so several deployments or test runs can share one Redis.
    queue_prefix: str = ""
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32))
    stripe_api_key: str | None = None
    stripe_api_base: str | None = None
    # Verifies incoming Stripe webhooks (the endpoint's ``whsec_...`` signing secret).
    stripe_webhook_secret: str | None = None
    # Billing: days a past-due account keeps working, days of trial on a paid plan.
    billing_grace_days: int = 7
    billing_trial_days: int = 14
    # Per-plan API rate limits. None: on, except when testing (tests switch them on).
    rate_limits: bool | None = None
    access_token_ttl_seconds: int = 3600
    idempotency_ttl_hours: int = 24
    max_body_bytes: int = 1024 * 1024
    log_json: bool = True
    # Let webhook endpoints point at loopback/private addresses (tests, local development).
    webhooks_allow_private: bool = False
    # Seconds a worker owns a webhook delivery it is sending (see platform.webhooks).
    webhook_lease_seconds: int = 60
    # Where Jifen is reached from outside (links in messages are built from it, never
    # from a request's Host header). None: http://127.0.0.1:8000 (the embedded default).
    base_url: str | None = None
    # Messages to people (platform.messages). Unset: messages stay in the outbox.
    smtp_url: str | None = None
    mail_from: str = "Jifen <no-reply@jifen.localhost>"
    sms_url: str | None = None
    sms_token: str | None = None
    # A settlement line marked paid by hand for more than this (minor units of the
    # batch's currency) is paid only once a second platform staff user confirms it.
    manual_payment_approval_threshold: int = 1_000_000
    testing: bool = False

    @classmethod
    def from_env(cls, **overrides: object) -> Config:
        env = os.environ
        config = cls(
            database_url=env.get("JIFEN_DATABASE_URL") or _default_database_url(),
            migrate_database_url=env.get("JIFEN_MIGRATE_DATABASE_URL") or None,
            database_role=env.get("JIFEN_DATABASE_ROLE", "jifen_app"),
            redis_url=env.get("JIFEN_REDIS_URL") or None,
            queue_prefix=env.get("JIFEN_QUEUE_PREFIX", ""),
            secret_key=env.get("JIFEN_SECRET_KEY") or _instance_secret_key(),
            stripe_api_key=env.get("STRIPE_API_KEY") or None,
            stripe_api_base=env.get("JIFEN_STRIPE_API_BASE") or None,
            stripe_webhook_secret=env.get("JIFEN_STRIPE_WEBHOOK_SECRET") or None,
            billing_grace_days=int(env.get("JIFEN_BILLING_GRACE_DAYS") or 7),
            billing_trial_days=int(env.get("JIFEN_BILLING_TRIAL_DAYS") or 14),
            rate_limits=env.get("JIFEN_RATE_LIMITS", "on") != "off",
            log_json=env.get("JIFEN_LOG_FORMAT", "json") == "json",
            webhooks_allow_private=env.get("JIFEN_WEBHOOKS_ALLOW_PRIVATE") == "1",
            webhook_lease_seconds=int(env.get("JIFEN_WEBHOOK_LEASE_SECONDS") or 60),
            base_url=env.get("JIFEN_BASE_URL") or None,
            smtp_url=env.get("JIFEN_SMTP_URL") or None,
            mail_from=env.get("JIFEN_MAIL_FROM") or Config.mail_from,
            sms_url=env.get("JIFEN_SMS_URL") or None,
            sms_token=env.get("JIFEN_SMS_TOKEN") or None,
            manual_payment_approval_threshold=int(
                env.get("JIFEN_MANUAL_PAYMENT_APPROVAL_THRESHOLD") or 1_000_000
            ),
        )
        return replace(config, **overrides)  # type: ignore[arg-type]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def enforces_rate_limits(self) -> bool:
        return self.rate_limits if self.rate_limits is not None else not self.testing

    @property
    def public_url(self) -> str:
        """The base of links sent to people: ``JIFEN_BASE_URL``, else the default serve
        address."""
        return (self.base_url or "http://127.0.0.1:8000").rstrip("/")

    @property
    def migration_url(self) -> str:
        return self.migrate_database_url or self.database_url


def _instance_secret_key() -> str:
    """A development key kept in ``instance/`` so sessions survive restarts.

    Production sets ``JIFEN_SECRET_KEY``; this only saves a newcomer from choosing one.
    """
    path = DEFAULT_INSTANCE_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    DEFAULT_INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key
