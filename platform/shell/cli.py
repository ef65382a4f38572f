"""The ``jifen`` command (API.md, Command line). Each command is one call into a service."""

from __future__ import annotations

import json
import sys

import click

from jifen.platform.config import Config


def _app(**overrides):
    from .app import create_app

    return create_app(Config.from_env(**overrides))


@click.group()
def main() -> None:
    """Jifen, the points-hosting platform."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the web app (API, docs, consoles, widgets) with gunicorn."""
    from .server import serve as run_server

    run_server(host, port, workers)


@main.command()
def demo() -> None:
    """Load demo tenants and data (safe to run again)."""
    from .demo import load_demo

    app = _app()
    with app.app_context():
        summary = load_demo()
    click.echo(json.dumps(summary, indent=2, ensure_ascii=False))


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.argument("revision", default="heads")
def db_upgrade(revision: str) -> None:
    """Apply migrations (to the latest revision unless told otherwise)."""
    from jifen.migrations import upgrade

    config = Config.from_env()
    upgrade(config.migration_url, revision)
    click.echo(f"database at {revision}")


@main.command()
@click.option("--queue", "queues", multiple=True, help="Queues to listen on (default: all).")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def worker(queues: tuple[str, ...], burst: bool) -> None:
    """Run an RQ worker (needs JIFEN_REDIS_URL)."""
    from jifen.platform import jobs

    app = _app()
    with app.app_context():
        if jobs.is_inline():
            raise click.ClickException(
                "JIFEN_REDIS_URL is not set: jobs run inline, no worker needed"
            )
        jobs.work(list(queues) or None, burst=burst)


@main.command()
def cron() -> None:
    """Run the one scheduler of periodic jobs (needs JIFEN_REDIS_URL)."""
    from jifen.platform import jobs

    app = _app()
    with app.app_context():
        if jobs.is_inline():
            raise click.ClickException("JIFEN_REDIS_URL is not set: run periodic jobs with run-job")
        jobs.run_cron()


@main.command("run-job")
@click.argument("name")
def run_job(name: str) -> None:
    """Run one periodic job now and print its summary."""
    from jifen.platform import jobs

    app = _app()
    with app.app_context():
        click.echo(json.dumps(jobs.run_periodic(name), indent=2, default=str))


@main.command()
def audit() -> None:
    """Check every ledger and platform invariant; exit 1 on any violation."""
    from jifen.platform.audit import run_all

    app = _app()
    with app.app_context():
        results = run_all()
    failed = False
    for name, violations in results.items():
        mark = "ok" if not violations else "FAILED"
        click.echo(f"{mark:6} {name}")
        for violation in violations[:20]:
            click.echo(f"         {violation}")
        failed = failed or bool(violations)
    sys.exit(1 if failed else 0)


@main.group()
def platform() -> None:
    """Platform operator tasks."""


@platform.command("create-client")
@click.option("--name", required=True)
@click.option("--scopes", required=True, help='Space-separated, e.g. "platform:admin exchange".')
def create_client(name: str, scopes: str) -> None:
    """Create an API client for the platform operator and print its credentials once."""
    from jifen.platform.auth.services import create_platform_client
    from jifen.platform.errors import JifenError

    app = _app()
    with app.app_context():
        try:
            issued = create_platform_client(name, scopes.split())
        except JifenError as error:
            raise click.ClickException(error.message) from None
    click.echo(json.dumps({"client_id": issued.client_id, "client_secret": issued.client_secret}))


@platform.command("create-staff")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(["operator", "finance"]))
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password (one line, at least 10 characters) from standard input "
    "instead of sending an invitation.",
)
@click.option(
    "--locale",
    default="zh-CN",
    show_default=True,
    type=click.Choice(["zh-CN", "en"]),
    help="The invitation's language.",
)
def create_staff(email: str, role: str, password_stdin: bool, locale: str) -> None:
    """Create a platform staff user (operator or finance).

    With --password-stdin the user exists at once with that password. Without it an
    invitation is mailed to EMAIL (through the outbox: with no JIFEN_SMTP_URL it waits
    in the operator console's Outbox) and its link is printed too; it works once, for 7
    days, and the person chooses their password (or, if they already have a console
    account, confirms it). Prints one JSON line: {"email", "role"}, plus
    "invitation_link" and "invitation_expires" when an invitation was sent.
    """
    from jifen.platform.auth import staff
    from jifen.platform.errors import JifenError

    password = _password_from_stdin() if password_stdin else None
    app = _app()
    with app.app_context():
        try:
            if password is not None:
                user = staff.create_platform_staff(email, role, password)
                result = {"email": user.email, "role": user.platform_role}
            else:
                invited = staff.invite(
                    tenant_id=None,
                    email=email,
                    role=role,
                    invited_by=None,
                    link_base=app.extensions["jifen.config"].public_url,
                    locale=locale,
                )
                result = {
                    "email": invited.invitation.email,
                    "role": invited.invitation.role,
                    "invitation_link": invited.link,
                    "invitation_expires": invited.invitation.expires_at.isoformat(),
                }
        except JifenError as error:
            raise click.ClickException(error.message) from None
    click.echo(json.dumps(result))


def _password_from_stdin() -> str:
    """The first line of standard input, without its line ending."""
    text = sys.stdin.read()
    lines = text.splitlines()
    if len(lines) > 1 and any(line for line in lines[1:]):
        raise click.ClickException("Give the password as one line on standard input.")
    return lines[0] if lines else ""


if __name__ == "__main__":
    main()
