"""The gunicorn settings every way of serving Command Center shares.

    gunicorn commandcenter.wsgi:application -c python:commandcenter.gunicorn_conf ...

The Dockerfile, `manage.py serve` (so `make run`), bench/run.sh and the README's
production commands all pass it; each keeps its own bind, worker count and logging on
its command line, which takes precedence over this file. It sets what a request may
look like before Django sees it, and who answers when it may not (docs/scim.md, "Limits").
"""

from __future__ import annotations

# Workers that answer the requests gunicorn refuses itself (an overlong request line,
# an oversized header, a malformed body framing) with SCIM Error JSON on /scim/ and the
# admin API's error JSON on /api/, instead of gunicorn's HTML page. bench/run.sh uses
# the threaded one, commandcenter.gunicorn_workers.ThreadWorker.
worker_class = "commandcenter.gunicorn_workers.SyncWorker"

# gunicorn's maximum (its default is 4094): a SCIM filter such as Entra's
# `members[value eq "..."]` over many ids, or a long `attributes=` list, goes in the
# query string, and up to this size it reaches Django and gets a SCIM answer.
# Longer request lines are refused with 414.
limit_request_line = 8190

# gunicorn's defaults, kept on purpose: they bound what one connection makes a worker
# hold in memory. No IdP sends more than a dozen header fields, and a bearer token is
# under 100 bytes. More fields, or one longer field, is refused with 431.
limit_request_fields = 100
limit_request_field_size = 8190
