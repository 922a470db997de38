"""The gunicorn settings every way of serving Command Center shares.

    gunicorn commandcenter.wsgi:application -c python:commandcenter.gunicorn_conf ...

The Dockerfile, `manage.py serve` (so `make run`), bench/run.sh and the README's
production commands all pass it; each keeps its own bind, worker count and logging on
its command line, which takes precedence over this file. It sets what a request may
look like before Django sees it, and who answers when it may not (docs/scim.md, "Limits").
"""

from __future__ import annotations

import os

from directory.request_ids import JSON_FORMATTER

# Workers that answer the requests gunicorn refuses itself (an overlong request line,
# an oversized header, a malformed body framing) with SCIM Error JSON on /scim/ and the
# admin API's error JSON on /api/, instead of gunicorn's HTML page. bench/run.sh uses
# the threaded one, commandcenter.gunicorn_workers.ThreadWorker.
worker_class = "commandcenter.gunicorn_workers.SyncWorker"

# gunicorn's maximum (its default is 4094). A SCIM filter goes in the query string,
# percent-encoded: the 4,096 characters scim.filters accepts (a chain of `userName eq
# "..." or ...`, say) take more than 4,094 bytes on the wire, and gunicorn's default
# answered them 414 before the filter parser could. Up to this size the request reaches
# Django and gets a SCIM answer; longer request lines are refused with 414.
limit_request_line = 8190

# gunicorn's defaults, kept on purpose: they bound what one connection makes a worker
# hold in memory. No IdP sends more than a dozen header fields, and a bearer token is
# under 100 bytes. More fields, or one longer field, is refused with 431.
limit_request_fields = 100
limit_request_field_size = 8190


# LOG_FORMAT=json (the Docker image): gunicorn's own lines are JSON too, and each access
# line names the request's id (its X-Request-ID response header).
if os.environ.get("LOG_FORMAT") == "json":
    access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'
    logconfig_dict = {
        "formatters": {"json": dict(JSON_FORMATTER)},
        "filters": {"request_id": {"()": "directory.request_ids.RequestIdFilter"}},
        "handlers": {
            "json": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["request_id"],
                "stream": "ext://sys.stdout",
            }
        },
        "root": {"level": "INFO", "handlers": ["json"]},
        "loggers": {
            name: {"level": "INFO", "handlers": ["json"], "propagate": False, "qualname": name}
            for name in ("gunicorn.error", "gunicorn.access")
        },
    }
