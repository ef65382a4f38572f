"""HTML error pages for ``/console`` (the API keeps its JSON envelope).

flask-smorest answers every ``HTTPException`` in the app with JSON; ``create_app`` asks
``page_for`` first and falls back to the API's handler when the request is not a
console page (PITFALLS.md, flask-smorest).
"""

from __future__ import annotations

import logging

from flask import Response, render_template
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from . import is_console_request, security

log = logging.getLogger(__name__)


def _titles() -> dict[int, str]:
    return {
        400: _("The request could not be understood (was the form open too long?)."),
        401: _("Please sign in."),
        403: _("You do not have permission to do this."),
        404: _("This page does not exist."),
        405: _("This action is not available here."),
        429: _("Too many attempts. Please wait and try again."),
        500: _("Something went wrong on our side."),
    }


def page(status: int, retry_after: int | None = None) -> Response:
    message = _titles().get(status, _titles()[500] if status >= 500 else _titles()[400])
    body = render_template("console/error.html", status=status, message=message)
    response = Response(body, status=status, mimetype="text/html")
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return security.add_security_headers(response)


def page_for(error: BaseException) -> Response | None:
    """The HTML page for ``error`` on a console request, or None (not a console page)."""
    if not is_console_request():
        return None
    if isinstance(error, HTTPException):
        status = error.code or 500
        if status >= 500:
            log.exception("console error", exc_info=getattr(error, "original_exception", error))
        return page(status, getattr(error, "retry_after", None))
    status = getattr(error, "status", None)  # a JifenError the view did not handle
    if isinstance(status, int) and status < 500:
        return page(status)
    log.exception("unhandled console error", exc_info=error)
    return page(500)
