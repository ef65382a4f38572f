"""Structured JSON logs. Each line carries the request id and the caller's tenant id."""

from __future__ import annotations

import logging
import sys

from flask import g, has_request_context
from pythonjsonlogger.json import JsonFormatter


class RequestContext(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = None
        record.tenant_id = None
        if has_request_context():
            record.request_id = g.get("request_id")
            caller = g.get("caller")
            record.tenant_id = caller.tenant_id if caller is not None else g.get("tenant_id")
        return True


def configure_logging(*, json_lines: bool, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestContext())
    if json_lines:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(tenant_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
        )
    root = logging.getLogger()
    for existing in [h for h in root.handlers if getattr(h, "_jifen", False)]:
        root.removeHandler(existing)
    handler._jifen = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
