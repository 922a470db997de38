"""The id of the request (or task) being served, for every log line and the SCIM log.

commandcenter.middleware.RequestIdMiddleware gives every request a fresh uuid4, returned
in the X-Request-ID response header; the SCIM gate makes it the provisioning log entry's
id; a Celery task enqueued while it is set carries it in its headers, and the worker
sets it again while the task runs (commandcenter.celery). RequestIdFilter puts it on
every log record as `request_id` ("" outside a request)."""

from __future__ import annotations

import logging
import uuid
from contextvars import ContextVar

request_id: ContextVar[uuid.UUID | None] = ContextVar("request_id", default=None)
# The X-Request-ID a proxy in front sent, if well-formed: logged beside ours, never used
# as an id of ours.
upstream_request_id: ContextVar[str | None] = ContextVar("upstream_request_id", default=None)


# The LOG_FORMAT=json formatter (logging.config's dict form), for Django's LOGGING and
# gunicorn's own log lines (commandcenter.gunicorn_conf): one JSON object a line.
JSON_FORMATTER = {
    "()": "pythonjsonlogger.json.JsonFormatter",
    "fmt": ["levelname", "name", "message", "request_id", "process"],
    "rename_fields": {
        "levelname": "level",
        "name": "logger",
        "exc_info": "exception",
        "process": "pid",
    },
    "timestamp": "time",
}


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            current = request_id.get()
            record.request_id = str(current) if current is not None else ""
        upstream = upstream_request_id.get()
        if upstream is not None:
            record.upstream_request_id = upstream
        return True
