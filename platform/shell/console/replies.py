"""What views answer besides pages: the flash text for a refused action, and a report
as a download."""

from __future__ import annotations

from flask import Response
from flask_babel import gettext as _

from jifen.platform.errors import JifenError


def error_message(error: JifenError) -> str:
    known = {
        "insufficient_points": _("The member does not have enough available points."),
        "member_frozen": _("The member is frozen."),
        "self_approval": _("A batch must be approved by someone other than who closed it."),
        "invalid_state": _("This is not possible in the object's current state."),
        "batch_not_approved": _("The batch must be approved before it is paid."),
    }
    return known.get(error.code) or error.message


def download(built) -> Response:
    """A report (``settlement.reports.Built``) as an attachment, its Content-Type as built."""
    return Response(
        built.body,
        content_type=built.content_type,
        headers={"Content-Disposition": f'attachment; filename="{built.filename}"'},
    )
