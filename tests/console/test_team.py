"""A tenant's team in the merchant console: owners and admins invite people by email with
a role, the link works once and for 7 days, the invitee chooses a password (or confirms
the one they have) and is signed in; roles change, members are disabled, enabled and
removed, the last owner stays, and every change signs the person out and is logged.

The first test mails its invitation through a real SMTP server (aiosmtpd on loopback);
the others read it from the outbox, where it is held when no mail server is set."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from console_helpers import OWNER_PASSWORD, PASSWORD, Console, html, make_staff, text_of
from factories import drain_jobs, unique
from sqlalchemy import select

from jifen.platform import clock
from jifen.platform.auth.model import Role, StaffInvitation
from jifen.platform.db import unit_of_work
from jifen.platform.messages.model import Message
from jifen.platform.shell.console import activity

sys.path.append(str(Path(__file__).parent.parent / "messages"))
from message_servers import MailServer  # noqa: E402
from message_servers import text_of as mail_text  # noqa: E402
from team_helpers import (  # noqa: E402
    LINK,
    NEW_PASSWORD,
    accept,
    held_link,
    signed_in,
    stranger,
    user_id_of,
)


@pytest.fixture
def mail(app):
    """A real mail server, and the app's config pointed at it (and at a public URL that
    is not the test client's host) for the test's length."""
    server = MailServer().start()
    config = app.extensions["jifen.config"]
    app.extensions["jifen.config"] = dataclasses.replace(
        config, smtp_url=f"smtp://127.0.0.1:{server.port}", base_url="https://jifen.test"
    )
    yield server
    app.extensions["jifen.config"] = config
    server.stop()


def invite(browser: Console, email: str, role: str = "finance", **extra):
    return browser.post("/console/team/invitations", {"email": email, "role": role, **extra})


def team_row(owner: Console, email: str) -> str:
    page = html(owner.get("/console/team"))
    row = re.search(rf'data-email="{re.escape(email)}">(.*?)</tr>', page, re.S)
    return row.group(1) if row else ""


def activity_of(tenant_id: str, action: str) -> list:
    rows = activity.list_activity(activity.Filters(action=action), tenant_id=tenant_id)["data"]
    return [(row.actor_email, row.outcome) for row in rows]


# --- inviting and accepting -----------------------------------------------------------------


def test_an_owner_invites_a_finance_clerk_whose_mail_arrives_and_who_signs_in(
    app, shop, owner, mail
):
    clerk = f"{unique('clerk-')}@example.test"
    sent = invite(owner, clerk, "finance", language="en")
    assert sent.status_code == 303
    assert clerk in text_of(owner.get(sent.headers["Location"]))  # listed as waiting
    drain_jobs()

    received = next(r for r in mail.received if clerk in r.rcpt_tos)
    body = mail_text(received.message)
    assert received.message["Subject"] == f"You are invited to Tenant {shop.tenant.slug} on Jifen"
    assert "finance" in body and "7 days" in body
    link = LINK.search(body)
    assert link and link.group(0).startswith("https://jifen.test/console/invitations/inv_")
    token = link.group(1)
    with unit_of_work(platform=True) as uow:
        stored = uow.session.scalar(select(StaffInvitation).where(StaffInvitation.email == clerk))
        assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in str(stored.__dict__)
        sent_body = uow.session.scalar(select(Message.body).where(Message.recipient == clerk))
        assert token not in sent_body  # the sent message's text was removed

    path = f"/console/invitations/{token}"
    browser = stranger(app)
    page = browser.get(path)
    assert page.status_code == 200 and clerk in html(page)
    assert browser.post(path, {"password": "short", "password_again": "short"}).status_code == 422
    differ = browser.post(path, {"password": NEW_PASSWORD, "password_again": "other passphrase"})
    assert differ.status_code == 422
    accepted = browser.post(path, {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert accepted.status_code == 303 and accepted.headers["Location"].endswith("/console/")
    statements = browser.get("/console/statements")
    assert statements.status_code == 200
    assert browser.get("/console/team").status_code == 403  # finance may not

    again = Console(app.test_client())
    assert again.login(clerk, NEW_PASSWORD).status_code == 302
    assert again.get("/console/statements").status_code == 200
    assert "finance" in team_row(owner, clerk).lower()
    assert (shop.owner_email, "ok") in activity_of(shop.tenant.id, "team.manage")
    assert (clerk, "ok") in activity_of(shop.tenant.id, activity.ACCEPT_INVITATION)


def test_an_invitation_link_works_once(app, owner):
    email = f"{unique('once-')}@example.test"
    invite(owner, email)
    path = held_link(email)
    _browser, first = accept(app, path)
    assert first.status_code == 303
    someone = stranger(app)
    reused = someone.get(path)
    assert reused.status_code == 404 and 'id="invitation-invalid"' in html(reused)
    posted = someone.post(path, {"password": "another passphrase", "password_again": "x"})
    assert posted.status_code == 404
    assert not signed_in(someone)


def test_an_expired_invitation_is_refused(app, owner):
    email = f"{unique('late-')}@example.test"
    invite(owner, email)
    path = held_link(email)
    with clock.frozen_at(clock.now() + timedelta(days=7, minutes=1)):
        browser = stranger(app)
        assert browser.get(path).status_code == 404
        refused = browser.post(path, {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
        assert refused.status_code == 404
        assert not signed_in(browser)
    assert user_id_of(email) is None


def test_inviting_again_withdraws_the_first_link_and_withdrawing_kills_the_second(app, owner):
    email = f"{unique('twice-')}@example.test"
    invite(owner, email, "support")
    first = held_link(email)
    invite(owner, email, "admin")
    second = held_link(email)
    assert first != second
    assert stranger(app).get(first).status_code == 404
    page = html(owner.get("/console/team"))
    invitation_id = re.search(r'id="invitation-(inv_[A-Za-z0-9]+)"', page).group(1)
    assert owner.post(f"/console/team/invitations/{invitation_id}/revoke").status_code == 303
    assert stranger(app).get(second).status_code == 404


def test_wrong_links_are_throttled_like_sign_ins(app):
    browser = stranger(app)
    statuses = [
        browser.get(f"/console/invitations/inv_{unique('guess')}xxxxxxxxxxxxxxxx").status_code
        for _ in range(6)
    ]
    assert statuses[:5] == [404] * 5 and statuses[5] == 429


def test_an_existing_user_confirms_with_their_password_and_gets_the_role_added(
    app, api, shop, owner
):
    other = api.signup()
    _, email = make_staff({other.id: Role.ADMIN})
    invite(owner, email, "support")
    path = held_link(email)
    browser = stranger(app)
    page = browser.get(path)
    assert 'name="password_again"' not in html(page)  # no new password: their own
    wrong = browser.post(path, {"password": "not their password"})
    assert wrong.status_code == 401
    accepted = browser.post(path, {"password": PASSWORD})
    assert accepted.status_code == 303
    assert browser.get("/console/members").status_code == 200  # support, in this tenant
    from jifen.platform.auth.services import roles_of

    assert roles_of(user_id_of(email)) == {other.id: Role.ADMIN, shop.tenant.id: Role.SUPPORT}


def test_someone_already_on_the_team_is_not_invited_again(owner, shop):
    refused = invite(owner, shop.staff[Role.SUPPORT], "admin")
    assert refused.status_code == 422
    assert "already has a role here" in text_of(refused)


# --- roles, disabling, removing -------------------------------------------------------------


def test_only_an_owner_makes_or_changes_an_owner(app, shop, owner):
    admin = Console(app.test_client())
    admin.login(shop.staff[Role.ADMIN])
    refused = invite(admin, f"{unique('boss-')}@example.test", "owner")
    assert refused.status_code == 422 and "Only an owner" in text_of(refused)
    owner_id = user_id_of(shop.owner_email)
    demoted = admin.post(f"/console/team/{owner_id}/role", {"role": "support"})
    assert demoted.status_code == 303
    assert "Only an owner" in text_of(admin.get("/console/team"))
    assert "Owner" in team_row(owner, shop.owner_email)

    support_id = user_id_of(shop.staff[Role.SUPPORT])
    assert admin.post(f"/console/team/{support_id}/role", {"role": "owner"}).status_code == 303
    assert "Support" in team_row(owner, shop.staff[Role.SUPPORT])
    assert owner.post(f"/console/team/{support_id}/role", {"role": "owner"}).status_code == 303
    assert "Owner" in team_row(owner, shop.staff[Role.SUPPORT])


def test_the_last_owner_can_be_neither_demoted_disabled_nor_removed(app, shop, owner):
    owner_id = user_id_of(shop.owner_email)
    for action, form in (("role", {"role": "admin"}), ("disable", {}), ("remove", {})):
        owner.post(f"/console/team/{owner_id}/{action}", form)
        page = owner.get("/console/team")
        assert "The last owner cannot be demoted, disabled or removed" in text_of(page), action
    assert "Owner" in team_row(owner, shop.owner_email)
    assert ("owner@" + shop.tenant.slug + ".example", "error") in activity_of(
        shop.tenant.id, "team.manage"
    )

    second_id, second = make_staff({shop.tenant.id: Role.OWNER})
    assert owner.post(f"/console/team/{owner_id}/role", {"role": "admin"}).status_code == 303
    assert not signed_in(owner)  # their own role changed: signed out
    other = Console(app.test_client())
    other.login(second)
    assert "Administrator" in team_row(other, shop.owner_email)
    refused = other.post(f"/console/team/{second_id}/remove")
    assert refused.status_code == 303
    assert "The last owner" in text_of(other.get("/console/team"))


def test_a_role_change_ends_the_members_sessions_and_is_logged(app, shop, owner):
    member_id, email = make_staff({shop.tenant.id: Role.SUPPORT})
    member = Console(app.test_client())
    member.login(email)
    assert member.get("/console/members").status_code == 200
    assert owner.post(f"/console/team/{member_id}/role", {"role": "finance"}).status_code == 303
    assert not signed_in(member)
    member.login(email)
    assert member.get("/console/members").status_code == 403
    assert member.get("/console/statements").status_code == 200
    rows = activity.list_activity(activity.Filters(action="team.manage"), tenant_id=shop.tenant.id)[
        "data"
    ]
    assert any(row.target == member_id and row.outcome == "ok" for row in rows)


def test_a_disabled_member_cannot_sign_in_until_enabled_and_a_removed_one_not_at_all(
    app, shop, owner
):
    member_id, email = make_staff({shop.tenant.id: Role.OPERATOR})
    member = Console(app.test_client())
    member.login(email)
    assert owner.post(f"/console/team/{member_id}/disable").status_code == 303
    assert not signed_in(member)
    assert "disabled" in team_row(owner, email)
    refused = member.login(email)
    assert refused.status_code == 403 and 'id="refused"' in html(refused)
    assert owner.post(f"/console/team/{member_id}/enable").status_code == 303
    assert member.login(email).status_code == 302
    assert member.get("/console/program").status_code == 200

    assert owner.post(f"/console/team/{member_id}/remove").status_code == 303
    assert not signed_in(member)
    assert team_row(owner, email) == ""
    assert member.login(email).status_code == 403


def test_the_owner_signs_in_with_the_signup_password(app, shop):
    """The fixtures' owner is a real owner: the Team page is theirs."""
    browser = Console(app.test_client())
    assert browser.login(shop.owner_email, OWNER_PASSWORD).status_code == 302
    assert browser.get("/console/team").status_code == 200


def test_another_tenants_members_and_invitations_are_not_found(app, api, owner):
    other = api.signup()
    other_owner = Console(app.test_client())
    other_owner.login(f"owner@{other.slug}.example", OWNER_PASSWORD)
    email = f"{unique('theirs-')}@example.test"
    invite(other_owner, email)
    page = html(other_owner.get("/console/team"))
    theirs = re.search(r'id="invitation-(inv_[A-Za-z0-9]+)"', page)
    their_owner = user_id_of(f"owner@{other.slug}.example")
    assert owner.post(f"/console/team/invitations/{theirs.group(1)}/revoke").status_code == 404
    assert owner.post(f"/console/team/{their_owner}/role", {"role": "admin"}).status_code == 404
    assert owner.post(f"/console/team/{their_owner}/remove").status_code == 404
    assert email not in html(owner.get("/console/team"))
    assert stranger(app).get(held_link(email)).status_code == 200  # still live
