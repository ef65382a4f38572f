"""Messages to people through one outbox: ``send`` records, ``deliver`` sends.

``send`` renders a template in the recipient's language and adds the message to the
caller's unit of work, so it exists exactly when the change that caused it commits; after
the commit ``deliver`` is enqueued (inline without Redis: it runs right then, in this
process). Without a configured channel (no ``JIFEN_SMTP_URL`` for email, no
``JIFEN_SMS_URL`` for SMS) the message is ``held`` at once: nothing is sent, and the
operator console's outbox shows it, body included, so a person can still read a code.

``deliver`` is idempotent, as RQ delivers at least once. It claims the row in its own
platform unit of work (pending, due, lease free or run out: a 60-second lease and one
more attempt), sends outside any transaction, then records the outcome — only if its
claim still stands. ``sent``: for a sensitive message (a one-time code or sign-in link)
the body is replaced by ``REMOVED``. A failure keeps the reason (never the body) and
waits ``BACKOFF`` before the next attempt; after ``MAX_ATTEMPTS`` the message is
``failed``. The periodic job ``messages`` (every minute) sends what is due again:
retries, and first sends lost to a crash or a lost enqueue. It also removes the bodies of
sensitive messages held longer than ``HELD_SENSITIVE_FOR`` (their codes are long dead).

Logs name the message id, template, channel and status; never a body, code or link.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update

from jifen.platform import clock, jobs
from jifen.platform.db import UnitOfWork, unit_of_work
from jifen.platform.errors import Unprocessable
from jifen.platform.ids import new_id
from jifen.platform.paging import cursor_page

from . import channels, rendering
from .model import Channel, Message, Status

log = logging.getLogger(__name__)

BACKOFF = [timedelta(seconds=s) for s in (10, 60, 300, 900, 3600, 10800, 21600)]
MAX_ATTEMPTS = len(BACKOFF) + 1
LEASE = timedelta(seconds=60)  # longer than a channel's timeout
HELD_SENSITIVE_FOR = timedelta(days=1)
RETRY_BATCH = 500
REMOVED = "[one-time content removed after delivery]"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,19}$")


def send(
    uow: UnitOfWork,
    *,
    channel: str,
    to: str,
    template: str,
    locale: str | None,
    context: dict[str, Any],
    tenant_id: str | None = None,
    sensitive: bool = False,
) -> str:
    """Add a message to ``uow`` and send it after commit; returns its id (``msg_…``).

    ``locale``: ``en`` or ``zh-CN`` (anything else reads as zh-CN, see ``rendering``).
    ``sensitive``: the body holds a one-time code or link (removed once delivered).

    Raises Unprocessable (param ``to``) for a recipient that is no email address or
    phone number; ValueError for an unknown channel or template; jinja2's
    UndefinedError when ``context`` lacks a value the template uses.
    """
    kind = Channel(channel)
    recipient = _recipient(kind, to)
    language = rendering.normalize_locale(locale)
    rendered = rendering.render(template, language, kind.value, context)
    held = channels.for_channel(kind.value) is None
    now = clock.now()
    message = Message(
        id=new_id("msg"),
        tenant_id=tenant_id,
        channel=kind.value,
        recipient=recipient,
        template=template,
        locale=language,
        subject=rendered.subject[:255] if rendered.subject else None,
        body=rendered.body,
        sensitive=sensitive,
        status=(Status.HELD if held else Status.PENDING).value,
        attempts=0,
        next_attempt_at=None if held else now,
        created=now,
    )
    uow.session.add(message)
    log.info("message %s (%s by %s) recorded: %s", message.id, template, kind.value, message.status)
    if not held:
        jobs.enqueue_after_commit(uow, deliver, message.id, job_id=f"msg-{message.id}-0")
    return message.id


def _recipient(channel: Channel, to: str) -> str:
    value = (to or "").strip()
    pattern = EMAIL if channel is Channel.EMAIL else PHONE
    if len(value) > 254 or not pattern.match(value):
        kind = "an email address" if channel is Channel.EMAIL else "a phone number"
        raise Unprocessable(f"The recipient is not {kind}.", param="to")
    return value


def deliver(message_id: str) -> str:
    """Make one attempt at sending a message; returns its status afterwards. A message
    already sent, failed or held, not yet due, or being sent by another worker is left
    alone (``sent`` is a no-op, so a repeated job never sends twice)."""
    now = clock.now()
    with unit_of_work(platform=True) as uow:
        message = uow.session.get(Message, message_id)
        if message is None:
            log.warning("message %s: no such message", message_id)
            return "missing"
        sender = channels.for_channel(message.channel)
        if sender is None:
            status = _hold(uow, message_id, now)
            uow.commit()
            return status
        claimed = uow.session.execute(
            update(Message)
            .where(Message.id == message_id, *_due(now))
            .values(lease_until=now + LEASE, attempts=Message.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            return message.status
        uow.session.expire(message)
        uow.session.refresh(message)
        uow.commit()
    try:
        sender.send(_outgoing(message))
    except channels.ChannelError as exc:
        return _record_failure(message, _scrub(str(exc), message.body))
    return _record_sent(message)


def _due(now) -> tuple:
    return (
        Message.status == Status.PENDING.value,
        or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now),
        or_(Message.lease_until.is_(None), Message.lease_until < now),
    )


def _hold(uow: UnitOfWork, message_id: str, now) -> str:
    """The channel was unset after the message was recorded: keep it for the console."""
    held = uow.session.execute(
        update(Message)
        .where(Message.id == message_id, *_due(now))
        .values(status=Status.HELD.value, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if held:
        log.info("message %s held: its channel is not configured", message_id)
        return Status.HELD.value
    return uow.session.get(Message, message_id).status


def _outgoing(message: Message) -> channels.Outgoing:
    return channels.Outgoing(
        id=message.id,
        recipient=message.recipient,
        subject=message.subject,
        body=message.body,
        locale=message.locale,
    )


def _record_sent(message: Message) -> str:
    now = clock.now()
    changes: dict[str, Any] = {
        "status": Status.SENT.value,
        "sent_at": now,
        "lease_until": None,
        "next_attempt_at": None,
        "last_error": None,
    }
    if message.sensitive:
        changes["body"] = REMOVED
    _finish(message, changes)
    log.info(
        "message %s (%s by %s) sent on attempt %s",
        message.id,
        message.template,
        message.channel,
        message.attempts,
    )
    return Status.SENT.value


def _record_failure(message: Message, error: str) -> str:
    now = clock.now()
    changes: dict[str, Any] = {"lease_until": None, "last_error": error[:500]}
    if message.attempts >= MAX_ATTEMPTS:
        changes.update(status=Status.FAILED.value, next_attempt_at=None)
        if message.sensitive:
            changes["body"] = REMOVED
    else:
        changes["next_attempt_at"] = now + BACKOFF[message.attempts - 1]
    _finish(message, changes)
    status = changes.get("status", Status.PENDING.value)
    log.warning(
        "message %s (%s by %s) attempt %s failed, now %s: %s",
        message.id,
        message.template,
        message.channel,
        message.attempts,
        status,
        error,
    )
    return status


def _finish(message: Message, changes: dict[str, Any]) -> None:
    """Record an attempt's outcome, if this attempt's claim still stands (a worker that
    outlived its lease must not overwrite the next one's result)."""
    with unit_of_work(platform=True) as uow:
        uow.session.execute(
            update(Message)
            .where(
                Message.id == message.id,
                Message.status == Status.PENDING.value,
                Message.attempts == message.attempts,
            )
            .values(**changes)
            .execution_options(synchronize_session=False)
        )
        uow.commit()


def _scrub(error: str, body: str) -> str:
    """The reason without any piece of the body that could be a code or a link."""
    secrets = {body.strip(), *(word for word in body.split() if _is_secretish(word))}
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            error = error.replace(secret, "[redacted]")
    return error


def _is_secretish(word: str) -> bool:
    return len(word) >= 4 and (any(c.isdigit() for c in word) or "://" in word)


@jobs.periodic("messages", cron="* * * * *")
def retry_due() -> dict:
    """Send every message that is due: retries after a failure, and first sends lost to a
    crash (their lease ran out). Removes the bodies of sensitive messages held for long."""
    now = clock.now()
    with unit_of_work(platform=True) as uow:
        due = uow.session.execute(
            select(Message.id, Message.attempts)
            .where(*_due(now))
            .order_by(Message.next_attempt_at)
            .limit(RETRY_BATCH)
        ).all()
        scrubbed = uow.session.execute(
            update(Message)
            .where(
                Message.status == Status.HELD.value,
                Message.sensitive.is_(True),
                Message.created < now - HELD_SENSITIVE_FOR,
                Message.body != REMOVED,
            )
            .values(body=REMOVED)
            .execution_options(synchronize_session=False)
        ).rowcount
        uow.commit()
    # The minute is part of the job id: an earlier job of the same attempt may linger in
    # RQ's registries, and this one must not be taken for its duplicate.
    minute = now.strftime("%Y%m%d%H%M")
    for message_id, attempts in due:
        jobs.enqueue(deliver, message_id, job_id=f"msg-{message_id}-{attempts}-{minute}")
    return {"due": len(due), "scrubbed": scrubbed}


def list_outbox(args: dict) -> dict:
    """Newest first, a cursor page (``limit``, ``starting_after``; optional ``status``).

    Raises NotFound for a ``starting_after`` that names no message."""
    with unit_of_work(platform=True) as uow:
        statement = select(Message)
        if args.get("status"):
            statement = statement.where(Message.status == Status(args["status"]).value)
        return cursor_page(uow.session, statement, Message, args)


__all__ = ["deliver", "list_outbox", "retry_due", "send"]
