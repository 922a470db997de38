"""Django's PostgreSQL backend with a health check that costs no round trip.

Persistent connections (CONN_MAX_AGE) are checked at the start of each request that uses
one (CONN_HEALTH_CHECKS): Django's check is a `SELECT 1`, one round trip to Postgres per
request, two per user of a SCIM sync. A connection that is idle between requests has
nothing to read; when the server ended it (a restart, a failover, pg_terminate_backend)
it sent its goodbye and closed the socket, which then reads as ready. So the check looks
at the socket first and asks Postgres only when something arrived, or when the connection
is not idle: what Django's check would have found, without asking on every request.
A peer that vanished without closing (a cable cut) is missed by both until the first
statement's TCP timeout; nothing changes there.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        conn = self.connection
        if conn is None or conn.closed:
            return False
        if conn.pgconn.transaction_status != pq.TransactionStatus.IDLE:
            return bool(super().is_usable())
        try:
            readable, _, _ = select.select([conn.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return True if not readable else bool(super().is_usable())
