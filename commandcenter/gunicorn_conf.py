"""The gunicorn settings every way of serving Command Center shares.

    gunicorn commandcenter.wsgi:application -c python:commandcenter.gunicorn_conf ...

The Dockerfile, `manage.py serve` (so `make run`), bench/run.sh and the README's
production commands all pass it; each keeps its own bind, worker count and logging on
its command line, which takes precedence over this file. It sets what a request may
look like before Django sees it, and who answers when it may not (docs/scim.md, "Limits").
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

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


# Metrics (commandcenter.metrics): each worker writes its counters to files in
# PROMETHEUS_MULTIPROC_DIR and /metrics adds up every worker's, the dead ones' too (a
# counter never goes down while the master runs). A directory given is emptied of the
# last run's files at start; without one, the master makes a private one and removes
# it when it exits. Workers inherit the variable: they fork after on_starting.
_private_metrics_dir = ""


def on_starting(server: object) -> None:
    global _private_metrics_dir
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if path:
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(path):
            if name.endswith(".db"):
                os.remove(os.path.join(path, name))
    else:
        _private_metrics_dir = tempfile.mkdtemp(prefix="commandcenter-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = _private_metrics_dir
    # prometheus-client chooses how values are kept (in memory or in those files) when it
    # is first imported, which loading this module may have done (the commandcenter
    # package imports the Celery app, which imports directory.metrics): choose again,
    # before any worker makes a value.
    from prometheus_client import values

    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


def child_exit(server: object, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: object) -> None:
    if _private_metrics_dir:
        shutil.rmtree(_private_metrics_dir, ignore_errors=True)


# LOG_FORMAT=json (the Docker image): gunicorn's own lines are JSON too, and each access
# line's request_id is its request's (the X-Request-ID response header).
if os.environ.get("LOG_FORMAT") == "json":
    logger_class = "commandcenter.gunicorn_workers.RequestIdLogger"
    access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
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
