"""Helpers of the team and platform staff tests: invitation links from the outbox, fresh
browsers at addresses of their own, who is signed in."""

from __future__ import annotations

import re
import secrets

from console_helpers import Console
from factories import drain_jobs
from sqlalchemy import select

from jifen.platform.db import unit_of_work
from jifen.platform.messages.model import Message

NEW_PASSWORD = "a long new passphrase"
LINK = re.compile(r"https?://\S+?/console/invitations/(inv_[A-Za-z0-9_-]+)")


def held_link(email: str) -> str:
    """The path of the newest invitation link mailed to ``email`` (from the outbox)."""
    drain_jobs()
    with unit_of_work(platform=True) as uow:
        body = uow.session.scalar(
            select(Message.body)
            .where(Message.recipient == email, Message.template == "staff_invitation")
            .order_by(Message.created.desc())
            .limit(1)
        )
    return "/console/invitations/" + LINK.search(body).group(1)


def stranger(app) -> Console:
    """A fresh browser (no cookie of anyone's) at an address of its own: wrong links are
    throttled per address, and other tests' browsers come from 127.0.0.1."""
    browser = Console(app.test_client())
    octets = [secrets.randbelow(250) + 1 for _ in range(3)]
    browser.client.environ_base["REMOTE_ADDR"] = "10." + ".".join(map(str, octets))
    return browser


def accept(app, path: str, password: str = NEW_PASSWORD, again: str | None = None):
    """A fresh browser answers the invitation at ``path``."""
    browser = stranger(app)
    assert browser.get(path).status_code == 200
    response = browser.post(path, {"password": password, "password_again": again or password})
    return browser, response


def user_id_of(email: str) -> str:
    from jifen.platform.auth.model import StaffUser

    with unit_of_work(platform=True) as uow:
        return uow.session.scalar(select(StaffUser.id).where(StaffUser.email == email))


def signed_in(browser: Console) -> bool:
    """Does the browser's cookie still hold a live session? (A platform user without a
    tenant is sent on from the dashboard to the batches; anyone else signed out, to the
    sign-in page.)"""
    page = browser.get("/console/")
    return page.status_code == 200 or (
        page.status_code == 302 and "/console/login" not in page.headers["Location"]
    )
