"""The outbox of messages to people (``platform.messages``), for platform operators.

Newest first, filtered by status, cursor pages. Each message shows its channel,
recipient, template, attempts and last error; a ``held`` message (no mail server or SMS
gateway configured) also shows its text, so with no channel set up an operator can
still read a sign-in code to the person who asked for it. Sent sensitive messages have
had their text removed and show none.
"""

from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _

from jifen.platform.messages import channels
from jifen.platform.messages.model import Status
from jifen.platform.messages.services import list_outbox

from . import blp
from .security import require

PAGE = 50


def status_labels() -> dict[str, str]:
    return {
        Status.PENDING.value: _("pending"),
        Status.SENT.value: _("sent"),
        Status.FAILED.value: _("failed"),
        Status.HELD.value: _("held"),
    }


@blp.get("/outbox")
@require("outbox.view", tenant=False)
def outbox():
    status = request.args.get("status", "")
    if status not in status_labels():
        status = ""
    page = list_outbox(
        {"limit": PAGE, "starting_after": request.args.get("after") or None, "status": status}
    )
    config = channels.settings()
    return render_template(
        "console/outbox.html",
        page=page,
        status=status,
        statuses=status_labels(),
        channel_labels={"email": _("email"), "sms": _("SMS")},
        email_ready=bool(config.smtp_url),
        sms_ready=bool(config.sms_url),
    )
