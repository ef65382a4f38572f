"""Small helpers of the messages tests: send a code, load a message."""

from __future__ import annotations

import secrets

from factories import drain_jobs

from jifen.platform.db import unit_of_work
from jifen.platform.messages import services
from jifen.platform.messages.model import Message


def new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def send(
    *,
    code: str,
    channel: str = "email",
    to: str = "holder@example.com",
    locale: str = "en",
    sensitive: bool = True,
    tenant_id: str | None = None,
) -> str:
    with unit_of_work(platform=True) as uow:
        message_id = services.send(
            uow,
            channel=channel,
            to=to,
            template="holder_code",
            locale=locale,
            context={"code": code, "minutes": 10},
            tenant_id=tenant_id,
            sensitive=sensitive,
        )
        uow.commit()
    drain_jobs()
    return message_id


def load(message_id: str) -> Message | None:
    with unit_of_work(platform=True) as uow:
        return uow.session.get(Message, message_id)
